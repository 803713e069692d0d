/*
 * t-snapshot.c — the pure parts of lib/snapshot: sizes, keys (one line per
 * value, sealed ids), entry names, and deps lines against files that change,
 * grow or end early; entries stored, looked up, damaged and pruned in a
 * private directory.
 */
#include "lib/common.h"
#include "lib/fs.h"
#include "lib/sha256.h"
#include "lib/snapshot.h"
#include "test/unit/tap.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void size_is(const char *s, long long want)
{
    uint64_t v = 0;
    int r = snap_parse_size(s, &v);
    char *what = xasprintf("size '%s'", s);
    if (want < 0)
        ok(r < 0, "%s is refused", what);
    else
        is_int(r == 0 ? (long long)v : -1, want, what);
    free(what);
}

/* A deps line for PATH read whole (as the runner records it). */
static char *dep_of(const char *path, const char *text, int eof)
{
    char h[SHA256_HEX_LEN];
    sha256_hex(text, strlen(text), h);
    return xasprintf("%s %zu %d %s", h, strlen(text), eof, path);
}

static void write_text(const char *path, const char *text)
{
    write_file_atomic(path, text, strlen(text), 0644);
}

int main(void)
{
    size_is("0", 0);
    size_is("1048576", 1048576);
    size_is("500M", 500LL << 20);
    size_is("2G", 2LL << 30);
    size_is("2GiB", 2LL << 30);
    size_is("3k", 3072);
    size_is("", -1);
    size_is("-1", -1);
    size_is("12X", -1);
    size_is("1GBX", -1);
    size_is("99999999999T", -1);

    struct snap_key a, b;
    snap_key_init(&a, "deploy");
    snap_key_add(&a, "x", "1\ny=2");
    snap_key_seal(&a);
    snap_key_init(&b, "deploy");
    snap_key_add(&b, "x", "1");
    snap_key_add(&b, "y", "2");
    snap_key_seal(&b);
    ok(strcmp(a.id, b.id) != 0, "a newline inside a value cannot forge another key");
    is_int((long long)strlen(a.id), 16, "ids are 16 hex digits");

    char dir[] = "/tmp/t-snapshot-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    char *f = path_join(dir, "f.sql");
    write_text(f, "SELECT 1;\n");
    struct strvec deps = STRVEC_INIT;
    char *d = dep_of(f, "SELECT 1;\n", 1);
    strvec_push(&deps, d);
    free(d);
    ok(snap_deps_current(&deps), "an unchanged file is current");
    write_text(f, "SELECT 2;\n");
    ok(!snap_deps_current(&deps), "a changed byte is not");
    write_text(f, "SELECT 1;\nSELECT 3;\n");
    ok(!snap_deps_current(&deps), "a file read to its end that grew is not");
    strvec_clear(&deps);
    d = dep_of(f, "SELECT 1;\n", 0);
    strvec_push(&deps, d);
    free(d);
    ok(snap_deps_current(&deps), "a file left early (\\q) is current while what was read is the same");
    unlink(f);
    ok(!snap_deps_current(&deps), "a vanished file is not");
    strvec_clear(&deps);
    strvec_push(&deps, "garbage");
    ok(!snap_deps_current(&deps), "a malformed line is not");
    strvec_clear(&deps);

    char *n1 = snap_entry_name(&b, &deps);
    strvec_push(&deps, "x");
    char *n2 = snap_entry_name(&b, &deps);
    ok(strncmp(n1, b.id, 16) == 0 && n1[16] == '-' && strlen(n1) == 33, "entry name is ID-DEPS");
    ok(strcmp(n1, n2) != 0, "other deps, another entry");
    free(n1);
    free(n2);
    strvec_clear(&deps);

    /* a cache in DIR/cache: store, look up, damage, prune */
    char *cache = path_join(dir, "cache");
    struct snap_cache sc;
    ok(snap_open(&sc, cache, 1 << 20) == 0, "a private cache opens");
    char *data = path_join(dir, "data");
    mkdir(data, 0700);
    char *pgv = path_join(data, "PG_VERSION");
    write_text(pgv, "15\n");
    char *rel = path_join(data, "base");
    mkdir(rel, 0700);
    char *r1 = path_join(rel, "1");
    write_text(r1, "0123456789");
    write_text(f, "SELECT 1;\n");
    d = dep_of(f, "SELECT 1;\n", 1);
    strvec_push(&deps, d);
    free(d);
    ok(snap_store(&sc, &b, &deps, data) == 0, "stored");
    char *hit = snap_lookup(&sc, &b);
    char *want = snap_entry_name(&b, &deps);
    is_str(hit, want, "found by its key while the file is the same");
    char *claim = path_join(dir, "claimed");
    bool spare;
    ok(hit && snap_claim(&sc, hit, claim, 0, 0, false, &spare) == 0 && path_exists(claim),
       "claimed a copy");
    free(hit);
    write_text(f, "SELECT 9;\n");
    hit = snap_lookup(&sc, &b);
    ok(!hit, "a changed file misses");
    free(hit);
    write_text(f, "SELECT 1;\n");
    /* a copied file of another size: the manifest check refuses and evicts */
    char *e1 = xasprintf("%s/%s/data/base/1", sc.root, want);
    write_text(e1, "01234");
    rm_rf(claim);
    ok(snap_claim(&sc, want, claim, 0, 0, false, &spare) < 0 && !path_exists(claim),
       "a damaged entry is refused");
    hit = snap_lookup(&sc, &b);
    ok(!hit, "...and gone");
    free(hit);
    snap_close(&sc);
    ok(snap_open(&sc, cache, 0) == 0 && snap_store(&sc, &b, &deps, data) < 0, "budget 0 stores nothing");
    snap_close(&sc);
    char *root = path_join(cache, SNAP_DIR);
    chmod(root, 0777);
    ok(snap_open(&sc, cache, 1 << 20) < 0, "a snapshots dir others may write is refused");
    chmod(root, 0700);

    rm_rf(dir);
    free(root);
    free(e1);
    free(claim);
    free(want);
    free(r1);
    free(rel);
    free(pgv);
    free(data);
    free(cache);
    free(f);
    strvec_clear(&deps);
    snap_key_release(&a);
    snap_key_release(&b);
    return done_testing();
}
