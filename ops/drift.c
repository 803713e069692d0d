/*
 * drift.c — `database drift` (see drift.h): the live catalog against the
 * sources side's, with the sources side's dump cached by its inputs.
 */
#include "ops/drift.h"
#include "ops/ops.h"
#include "ops/project.h"
#include "ops/side.h"
#include "lib/bundle.h"
#include "lib/catalog.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/pgbin.h"
#include "lib/settings.h"
#include "lib/sqldiff.h"

#include <dirent.h>
#include <sys/stat.h>

#define NS "drift"
#define CACHE_TAG "# dbtool sources schema "

/* ---- the cache key ---- */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every regular file under DIR (REL: its path below the root), sorted, into the hash. */
static int hash_tree(struct sha256_ctx *c, const char *dir, const char *rel, int depth)
{
    if (depth > 32)
        return error("%s: directories nested too deep", dir);
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : error_errno("cannot read '%s'", dir);
    struct strvec names = STRVEC_INIT;
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
            strvec_push(&names, de->d_name);
    closedir(d);
    if (names.nr > 1)
        qsort(names.v, names.nr, sizeof(*names.v), cmp_str);
    int r = 0;
    for (size_t i = 0; i < names.nr && !r; i++) {
        char *p = path_join(dir, names.v[i]);
        char *rp = *rel ? xasprintf("%s/%s", rel, names.v[i]) : xstrdup(names.v[i]);
        struct stat st;
        if (stat(p, &st) < 0) {
            /* a dangling link is no input */
        } else if (S_ISDIR(st.st_mode)) {
            r = hash_tree(c, p, rp, depth + 1);
        } else if (S_ISREG(st.st_mode)) {
            char hex[SHA256_HEX_LEN];
            if (sha256_file_hex(p, hex) < 0) {
                r = error_errno("cannot read '%s'", p);
            } else {
                sha256_update(c, rp, strlen(rp) + 1);
                sha256_update(c, hex, sizeof(hex));
            }
        }
        free(p);
        free(rp);
    }
    strvec_clear(&names);
    return r;
}

static void hash_str(struct sha256_ctx *c, const char *k, const char *v)
{
    sha256_update(c, k, strlen(k) + 1);
    sha256_update(c, v ? v : "", v ? strlen(v) + 1 : 1);
}

int drift_cache_key(const struct settings *s, bool mock, const char *server,
                    char hex[SHA256_HEX_LEN])
{
    struct sha256_ctx c;
    sha256_init(&c);
    hash_str(&c, "dbtool", DBTOOL_VERSION);
    hash_str(&c, "bundle", BUNDLE_VERSION);
    hash_str(&c, "mock", mock ? "1" : "0");
    hash_str(&c, "entrypoint", set_get(s, SET_HYDRATE_ENTRYPOINT));
    if (server) {
        PGconn *conn = pg_connect_quiet(server, NULL);
        if (!conn)
            return -1;
        char *m = pg_mask_url(server);
        hash_str(&c, "server", m);
        free(m);
        hash_str(&c, "version", PQparameterStatus(conn, "server_version"));
        PQfinish(conn);
    } else {
        struct pgbin bin;
        if (pgbin_find(&bin, set_get(s, SET_PG_BINDIR), set_get(s, SET_PG_CLIENT_BINDIR)) < 0)
            return -1;
        struct strbuf id = STRBUF_INIT;
        pgbin_identity(&bin, &id);
        hash_str(&c, "server", id.buf);
        strbuf_release(&id);
        pgbin_release(&bin);
    }
    const char *inh = set_get(s, SET_HECTIC_INHERITANCE_SQL);
    if (inh) {
        char h[SHA256_HEX_LEN];
        if (sha256_file_hex(inh, h) < 0)
            return error_errno("cannot read '%s'", inh);
        hash_str(&c, "inheritance", h);
    }
    const char *src = set_get(s, SET_DATABASE_SOURCE);
    hash_str(&c, "sources", src);
    if (src && hash_tree(&c, src, "", 0) < 0)
        return -1;
    /* the code directory is part of the sources side (hydrate applies it) */
    const char *code = set_get(s, SET_CODE_DIR);
    if (code && is_dir(code)) {
        hash_str(&c, "code", code);
        if (hash_tree(&c, code, "", 0) < 0)
            return -1;
    }
    unsigned char d[SHA256_DIGEST_LEN];
    sha256_final(&c, d);
    for (int i = 0; i < SHA256_DIGEST_LEN; i++)
        snprintf(hex + 2 * i, 3, "%02x", d[i]);
    return 0;
}

static char *cache_path(const struct settings *s)
{
    const char *local = set_get(s, SET_LOCAL_DIR);
    return local ? path_join(local, "focus/schema-cache/sources.dump") : NULL;
}

void drift_cache_store(const struct settings *s, const char *key, const struct catalog *cat)
{
    char *p = cache_path(s);
    if (!p)
        return;
    char *dir = xstrndup(p, (size_t)(strrchr(p, '/') - p));
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, CACHE_TAG "%s\n", key);
    catalog_dump(cat, &sb);
    if (mkdir_p(dir, 0755) < 0 || write_file_atomic(p, sb.buf, sb.len, 0644) < 0)
        warn("cannot write the sources schema cache %s: %s", p, strerror(errno));
    else
        debug(NS, "sources schema cached in %s", p);
    strbuf_release(&sb);
    free(dir);
    free(p);
}

/* The cached dump for KEY into OUT: 1 hit, 0 miss. */
static int cache_load(const struct settings *s, const char *key, struct strbuf *out)
{
    char *p = cache_path(s);
    if (!p)
        return 0;
    struct strbuf sb = STRBUF_INIT;
    const char *why;
    int hit = 0;
    if (fs_read_regular(p, 256 << 20, &sb, &why) == 0) {
        size_t tl = strlen(CACHE_TAG);
        if (sb.len > tl + SHA256_HEX_LEN && !memcmp(sb.buf, CACHE_TAG, tl) &&
            !memcmp(sb.buf + tl, key, SHA256_HEX_LEN - 1) && sb.buf[tl + SHA256_HEX_LEN - 1] == '\n') {
            size_t off = tl + SHA256_HEX_LEN;
            strbuf_add(out, sb.buf + off, sb.len - off);
            hit = 1;
        }
    }
    strbuf_release(&sb);
    free(p);
    return hit;
}

/* ---- object-level difference of two dumps ---- */

struct block {
    const char *head;   /* the object's line */
    size_t hlen;
    const char *text;   /* the whole block (head and its indented lines) */
    size_t len;
};

struct blocks {
    struct block *v;
    size_t nr, alloc;
};

static void split_blocks(const char *s, size_t len, struct blocks *b)
{
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(s + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (s + i)) : len - i;
        if (n && s[i] != ' ') {
            ALLOC_GROW(b->v, b->nr + 1, b->alloc);
            b->v[b->nr++] = (struct block){s + i, n, s + i, 0};
        }
        i += n + (nl ? 1 : 0);
        if (b->nr)
            b->v[b->nr - 1].len = (size_t)((s + i) - b->v[b->nr - 1].text);
    }
}

static int cmp_block(const void *x, const void *y)
{
    const struct block *a = x, *b = y;
    size_t n = a->hlen < b->hlen ? a->hlen : b->hlen;
    int c = memcmp(a->head, b->head, n);
    return c ? c : (a->hlen > b->hlen) - (a->hlen < b->hlen);
}

size_t drift_dump_diff(const char *a, size_t alen, const char *b, size_t blen,
                       void (*fn)(void *arg, char op, const char *line, size_t len), void *arg)
{
    struct blocks x = {0}, y = {0};
    split_blocks(a, alen, &x);
    split_blocks(b, blen, &y);
    if (x.nr > 1)
        qsort(x.v, x.nr, sizeof(*x.v), cmp_block);
    if (y.nr > 1)
        qsort(y.v, y.nr, sizeof(*y.v), cmp_block);
    size_t i = 0, j = 0, n = 0;
    while (i < x.nr || j < y.nr) {
        int c = i == x.nr ? 1 : j == y.nr ? -1 : cmp_block(&x.v[i], &y.v[j]);
        if (c < 0) {
            fn(arg, '-', x.v[i].head, x.v[i].hlen);
            i++, n++;
        } else if (c > 0) {
            fn(arg, '+', y.v[j].head, y.v[j].hlen);
            j++, n++;
        } else {
            if (x.v[i].len != y.v[j].len || memcmp(x.v[i].text, y.v[j].text, x.v[i].len)) {
                fn(arg, '~', x.v[i].head, x.v[i].hlen);
                n++;
            }
            i++, j++;
        }
    }
    free(x.v);
    free(y.v);
    return n;
}

/* ---- output ---- */


struct out_ctx {
    bool json;
    struct strbuf *sb;
    size_t n;
};

/* "materialized view s.m" -> kind "materialized view", name "s.m" */
static void split_head(const char *line, size_t len, size_t *kind_len, const char **name,
                       size_t *name_len)
{
    static const char *const two[] = {"materialized view ", "event trigger ", "default privileges "};
    size_t k = 0;
    for (size_t i = 0; i < ARRAY_SIZE(two) && !k; i++)
        if (len > strlen(two[i]) && !memcmp(line, two[i], strlen(two[i])))
            k = strlen(two[i]) - 1;
    if (!k) {
        const char *sp = memchr(line, ' ', len);
        k = sp ? (size_t)(sp - line) : len;
    }
    *kind_len = k;
    *name = k < len ? line + k + 1 : line + len;
    *name_len = k < len ? len - k - 1 : 0;
}

static void on_object(void *arg, char op, const char *line, size_t len)
{
    struct out_ctx *o = arg;
    if (!o->json) {
        strbuf_addf(o->sb, "%c %.*s\n", op, (int)len, line);
    } else {
        size_t kl, nl;
        const char *name;
        split_head(line, len, &kl, &name, &nl);
        strbuf_addstr(o->sb, o->n ? ",\n  {\"kind\":" : "\n  {\"kind\":");
        strbuf_add_json(o->sb, line, kl);
        strbuf_addstr(o->sb, ",\"name\":");
        strbuf_add_json(o->sb, name, nl);
        strbuf_addf(o->sb, ",\"change\":\"%s\"}",
                    op == '+' ? "added" : op == '-' ? "removed" : "changed");
    }
    o->n++;
}

/* ---- the command ---- */

static struct side src_side; /* reachable from the cleanup stack */

/* Build the sources side and read its catalog. 0 or an exit code. */
static int build_sources(const struct settings *s, const struct drift_opts *o, struct catalog **cat)
{
    const char *local = set_get(s, SET_LOCAL_DIR);
    char *logs = path_join(local, "focus/drift-logs");
    char *d = path_join(logs, "sources");
    rm_rf(d);
    free(d);
    int r = side_open(&src_side, s, "drift", "sources", logs, NULL, 0, o->server);
    free(logs);
    if (!r) {
        src_side.build = SIDE_SOURCES;
        src_side.mock = o->mock;
        src_side.quiet = true;
        r = side_start(&src_side);
    }
    if (!r && (r = side_finish(&src_side)))
        error("drift: building the sources side failed (see above; logs in %s)",
              src_side.logdir ? src_side.logdir : "the throwaway cluster");
    if (!r) {
        struct catalog_options co = {.owner = false};
        if (catalog_read_url(src_side.url, &co, cat) < 0) {
            error("drift: cannot read the schema of the sources side");
            r = EXIT_ERR;
        }
    }
    side_stop_begin(&src_side);
    side_close(&src_side, !r);
    if (r && r != EXIT_MISSING && r != EXIT_NO_PROGRAM)
        r = DRIFT_EXIT_FAILED;
    return r;
}

int drift_run(const struct settings *s, const struct drift_opts *o)
{
    double t0 = now_monotonic();
    const char *local = set_get(s, SET_LOCAL_DIR);
    char *live = NULL, *masked = NULL;
    struct catalog *lcat = NULL, *scat = NULL;
    struct strbuf ldump = STRBUF_INIT, sdump = STRBUF_INIT, out = STRBUF_INIT;
    char key[SHA256_HEX_LEN] = "";
    bool cached = false;
    int r = 0;

    if (!local) {
        error("LOCAL_DIR is not set: export LOCAL_DIR to the project root");
        return EXIT_MISSING;
    }
    if (o->against) {
        if (!pg_url_supported(o->against)) {
            char *m = pg_mask_url(o->against);
            error("unsupported database URL '%s' for --against (expected postgresql://... or key=value)", m);
            free(m);
            return EXIT_MISSING;
        }
        live = xstrdup(o->against);
    } else if (!(live = proj_url(s))) {
        error("no database to check: pass --against URL, -u URL, or set DB_URL (or PGURL)");
        return EXIT_MISSING;
    }
    masked = pg_mask_url(live);

    /* the live side first: cheap, and a wrong URL is said before a build */
    {
        struct catalog_options co = {.owner = false};
        if (catalog_read_url(live, &co, &lcat) < 0) {
            error("drift: cannot read the schema of %s", masked);
            r = DRIFT_EXIT_FAILED;
            goto out;
        }
        catalog_dump(lcat, &ldump);
    }
    double t_live = now_monotonic();
    if (drift_cache_key(s, o->mock, o->server, key) < 0) {
        r = DRIFT_EXIT_FAILED;
        goto out;
    }
    if (!o->sql && !o->no_cache && cache_load(s, key, &sdump)) {
        cached = true;
        debug(NS, "sources schema from the cache (key %.12s)", key);
    } else {
        if ((r = build_sources(s, o, &scat)))
            goto out;
        catalog_dump(scat, &sdump);
        drift_cache_store(s, key, scat);
    }
    if (lcat->server_version / 10000 != (scat ? scat->server_version / 10000 : lcat->server_version / 10000))
        warn("drift: the live server is PostgreSQL %d, the sources were built on %d: some "
             "expressions may print differently", lcat->server_version / 10000,
             scat->server_version / 10000);

    char lh[SHA256_HEX_LEN], sh[SHA256_HEX_LEN];
    sha256_hex(ldump.buf, ldump.len, lh);
    sha256_hex(sdump.buf, sdump.len, sh);
    bool drift = strcmp(lh, sh) != 0;
    if (o->sql) {
        struct sqldiff d;
        sqldiff_compute(lcat, scat, NULL, &d);
        sqldiff_format_sql(&d, &out);
        struct strbuf rep = STRBUF_INIT;
        sqldiff_format_hazards(&d, &rep);
        fwrite(out.buf, 1, out.len, stdout);
        fflush(stdout);
        fwrite(rep.buf, 1, rep.len, stderr);
        strbuf_release(&rep);
        drift = drift || d.nr;
        sqldiff_release(&d);
    } else if (o->json) {
        struct out_ctx oc = {true, &out, 0};
        strbuf_addstr(&out, "{\"drift\":");
        strbuf_addstr(&out, drift ? "true" : "false");
        strbuf_addstr(&out, ",\"live\":");
        strbuf_add_json(&out, masked, strlen(masked));
        strbuf_addf(&out, ",\"live_hash\":\"%s\",\"sources_hash\":\"%s\",\"cached\":%s,\"objects\":[",
                    lh, sh, cached ? "true" : "false");
        if (drift)
            drift_dump_diff(ldump.buf, ldump.len, sdump.buf, sdump.len, on_object, &oc);
        strbuf_addstr(&out, oc.n ? "\n]}\n" : "]}\n");
        fwrite(out.buf, 1, out.len, stdout);
    } else {
        struct out_ctx oc = {false, &out, 0};
        size_t n = drift ? drift_dump_diff(ldump.buf, ldump.len, sdump.buf, sdump.len, on_object, &oc) : 0;
        if (drift)
            strbuf_addf(&out, "drift: %zu object%s differ%s between %s (-) and the sources (+)\n", n,
                        n == 1 ? "" : "s", n == 1 ? "s" : "", masked);
        else
            strbuf_addstr(&out, "no drift\n");
        fwrite(out.buf, 1, out.len, stdout);
    }
    debug(NS, "live schema read in %s; sources %s; done in %s", proj_duration(t_live - t0),
          cached ? "cached" : "built", proj_duration(now_monotonic() - t0));
    r = drift ? 1 : 0;
out:
    catalog_free(lcat);
    catalog_free(scat);
    strbuf_release(&ldump);
    strbuf_release(&sdump);
    strbuf_release(&out);
    free(live);
    free(masked);
    return r;
}
