/*
 * snapshot.c — the snapshot cache (see snapshot.h).
 */
#include "lib/snapshot.h"
#include "lib/fs.h"
#include "lib/sha256.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS "snapshot"
#define SNAP_FORMAT "1" /* bump when the entry layout changes */

/* ---- sizes ---- */

int snap_parse_size(const char *s, uint64_t *out)
{
    char *end;
    errno = 0;
    if (!s || !*s || *s == '-')
        return -1;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || end == s)
        return -1;
    uint64_t mul = 1;
    switch (*end) {
    case 0:
        break;
    case 'k': case 'K':
        mul = 1ULL << 10;
        break;
    case 'm': case 'M':
        mul = 1ULL << 20;
        break;
    case 'g': case 'G':
        mul = 1ULL << 30;
        break;
    case 't': case 'T':
        mul = 1ULL << 40;
        break;
    default:
        return -1;
    }
    if (*end && end[1] && strcmp(end + 1, "B") && strcmp(end + 1, "iB"))
        return -1;
    if (v > UINT64_MAX / mul)
        return -1;
    *out = (uint64_t)v * mul;
    return 0;
}

/* ---- the cache root ---- */

/* Is DIR a directory of ours that nobody else may write? WHY gets the reason when not. */
static bool private_dir(const char *dir, const char **why)
{
    struct stat st;
    *why = NULL;
    if (lstat(dir, &st) < 0)
        *why = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        *why = "not a directory (a symlink?)";
    else if (st.st_uid != geteuid())
        *why = "owned by another user";
    else if (st.st_mode & 022)
        *why = "writable by other users";
    return !*why;
}

int snap_open(struct snap_cache *sc, const char *cache_dir, uint64_t budget)
{
    memset(sc, 0, sizeof(*sc));
    const char *why;
    if (!cache_dir)
        return -1;
    if (mkdir_p(cache_dir, 0700) < 0 || !private_dir(cache_dir, &why)) {
        debug(NS, "not using the snapshot cache in %s: %s", cache_dir,
              errno ? strerror(errno) : why);
        return -1;
    }
    char *root = path_join(cache_dir, SNAP_DIR);
    if (mkdir(root, 0700) < 0 && errno != EEXIST) {
        debug(NS, "cannot create %s: %s", root, strerror(errno));
        free(root);
        return -1;
    }
    if (!private_dir(root, &why)) {
        warn("not using the snapshot cache %s: %s (remove it, or set DBTOOL_CACHE_DIR to a private "
             "directory)", root, why);
        free(root);
        return -1;
    }
    sc->root = root;
    sc->budget = budget;
    return 0;
}

void snap_close(struct snap_cache *sc)
{
    free(sc->root);
    memset(sc, 0, sizeof(*sc));
}

bool snap_same_fs(struct snap_cache *sc, const char *near)
{
    struct stat a, b;
    return stat(sc->root, &a) == 0 && stat(near, &b) == 0 && a.st_dev == b.st_dev;
}

/* ---- keys ---- */

static void hex(const unsigned char *d, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", d[i]);
}

void snap_key_init(struct snap_key *k, const char *kind)
{
    k->material = (struct strbuf)STRBUF_INIT;
    k->id[0] = 0;
    strbuf_addf(&k->material, "format=%s\nkind=%s\n", SNAP_FORMAT, kind);
}

void snap_key_add(struct snap_key *k, const char *name, const char *value)
{
    strbuf_addf(&k->material, "%s=", name);
    /* one line per value: newlines would let two keys collide */
    for (const char *p = value ? value : "(unset)"; *p; p++)
        if (*p == '\n')
            strbuf_addstr(&k->material, "\\n");
        else if (*p == '\\')
            strbuf_addstr(&k->material, "\\\\");
        else
            strbuf_addch(&k->material, *p);
    strbuf_addch(&k->material, '\n');
}

void snap_key_add_file(struct snap_key *k, const char *name, const char *path)
{
    char h[SHA256_HEX_LEN];
    if (!path)
        snap_key_add(k, name, "none");
    else if (sha256_file_hex(path, h) < 0)
        snap_key_add(k, name, "absent");
    else
        snap_key_add(k, name, h);
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file under DIR (relative paths, no symlinks followed) into OUT. */
static void list_tree(const char *dir, const char *rel, struct strvec *out)
{
    char *path = rel ? path_join(dir, rel) : xstrdup(dir);
    DIR *d = opendir(path);
    free(path);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *r = rel ? path_join(rel, de->d_name) : xstrdup(de->d_name);
        char *full = path_join(dir, r);
        struct stat st;
        if (lstat(full, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                list_tree(dir, r, out);
            else if (S_ISREG(st.st_mode))
                strvec_push(out, r);
        }
        free(full);
        free(r);
    }
    closedir(d);
}

void snap_key_add_tree(struct snap_key *k, const char *name, const char *dir)
{
    if (!dir || !is_dir(dir)) {
        snap_key_add(k, name, dir ? "absent" : "none");
        return;
    }
    struct strvec files = STRVEC_INIT;
    list_tree(dir, NULL, &files);
    qsort(files.v, files.nr, sizeof(*files.v), cmp_str);
    struct sha256_ctx c;
    sha256_init(&c);
    for (size_t i = 0; i < files.nr; i++) {
        char h[SHA256_HEX_LEN];
        char *full = path_join(dir, files.v[i]);
        if (sha256_file_hex(full, h) < 0)
            strcpy(h, "unreadable");
        free(full);
        sha256_update(&c, files.v[i], strlen(files.v[i]) + 1);
        sha256_update(&c, h, strlen(h) + 1);
    }
    unsigned char d[SHA256_DIGEST_LEN];
    sha256_final(&c, d);
    char x[SHA256_HEX_LEN];
    hex(d, sizeof(d), x);
    snap_key_add(k, name, x);
    strvec_clear(&files);
}

void snap_key_seal(struct snap_key *k)
{
    char x[SHA256_HEX_LEN];
    sha256_hex(k->material.buf, k->material.len, x);
    memcpy(k->id, x, 16);
    k->id[16] = 0;
    trace(NS, "key %s:\n%s", k->id, k->material.buf);
}

void snap_key_release(struct snap_key *k)
{
    strbuf_release(&k->material);
    k->id[0] = 0;
}

char *snap_entry_name(const struct snap_key *k, const struct strvec *deps)
{
    struct sha256_ctx c;
    sha256_init(&c);
    sha256_update(&c, k->material.buf, k->material.len);
    for (size_t i = 0; deps && i < deps->nr; i++)
        sha256_update(&c, deps->v[i], strlen(deps->v[i]) + 1);
    unsigned char d[SHA256_DIGEST_LEN];
    sha256_final(&c, d);
    char x[SHA256_HEX_LEN];
    hex(d, sizeof(d), x);
    return xasprintf("%s-%.16s", k->id, x);
}

/* Does the deps line L ("SHA LEN EOF PATH") still describe its file? */
static bool dep_current(const char *l)
{
    char want[SHA256_HEX_LEN];
    unsigned long long len;
    int eof, n = 0;
    if (sscanf(l, "%64s %llu %d %n", want, &len, &eof, &n) != 3 || !n || l[n] != '/')
        return false;
    const char *path = l + n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    struct sha256_ctx c;
    sha256_init(&c);
    char buf[65536];
    uint64_t left = len;
    bool ok = true;
    while (left) {
        ssize_t r = read(fd, buf, left < sizeof(buf) ? left : sizeof(buf));
        if (r <= 0) {
            ok = false;
            break;
        }
        sha256_update(&c, buf, (size_t)r);
        left -= (uint64_t)r;
    }
    /* read to its end then: it must end there now too */
    if (ok && eof && read(fd, buf, 1) != 0)
        ok = false;
    close(fd);
    if (!ok)
        return false;
    unsigned char d[SHA256_DIGEST_LEN];
    sha256_final(&c, d);
    char got[SHA256_HEX_LEN];
    hex(d, sizeof(d), got);
    return !strcmp(got, want);
}

/* A file read to its end must still have that size: a stat rejects most changes unhashed. */
static bool dep_size_ok(const char *l)
{
    char want[SHA256_HEX_LEN];
    unsigned long long len;
    int eof, n = 0;
    if (sscanf(l, "%64s %llu %d %n", want, &len, &eof, &n) != 3 || !n)
        return false;
    struct stat st;
    if (stat(l + n, &st) < 0 || !S_ISREG(st.st_mode))
        return false;
    return eof ? (unsigned long long)st.st_size == len : (unsigned long long)st.st_size >= len;
}

bool snap_deps_current(const struct strvec *deps)
{
    /* sizes first (the last file, test-data.sql, changes most often), then contents */
    for (size_t i = deps->nr; i-- > 0;) {
        if (!dep_size_ok(deps->v[i])) {
            debug(NS, "changed since the snapshot: %s", strchrnul(deps->v[i], '/'));
            return false;
        }
    }
    for (size_t i = 0; i < deps->nr; i++) {
        if (!dep_current(deps->v[i])) {
            debug(NS, "changed since the snapshot: %s", strchrnul(deps->v[i], '/'));
            return false;
        }
    }
    return true;
}

/* ---- entries ---- */

static char *entry_file(struct snap_cache *sc, const char *entry, const char *name)
{
    return xasprintf("%s/%s/%s", sc->root, entry, name);
}

int snap_entry_deps(struct snap_cache *sc, const char *entry, struct strvec *deps)
{
    char *p = entry_file(sc, entry, "deps");
    struct strbuf sb = STRBUF_INIT;
    int r = fs_read_regular(p, 16 << 20, &sb, NULL);
    free(p);
    if (r == 0) {
        char *save = NULL;
        for (char *l = strtok_r(sb.buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save))
            strvec_push(deps, l);
    }
    strbuf_release(&sb);
    return r;
}

/* The manifest of ENTRY: its text into SB and its byte total into *BYTES. 0 when complete. */
static int read_manifest(struct snap_cache *sc, const char *entry, struct strbuf *sb, uint64_t *bytes)
{
    char *p = entry_file(sc, entry, "manifest");
    int r = fs_read_regular(p, 64 << 20, sb, NULL);
    free(p);
    if (r < 0)
        return -1;
    /* complete: the last line is "end FILES BYTES" */
    char *last = sb->len > 1 ? memrchr(sb->buf, '\n', sb->len - 1) : NULL;
    last = last ? last + 1 : sb->buf;
    unsigned long long files, total;
    if (sscanf(last, "end %llu %llu", &files, &total) != 2)
        return -1;
    if (bytes)
        *bytes = total;
    return 0;
}

uint64_t snap_entry_bytes(struct snap_cache *sc, const char *entry)
{
    struct strbuf sb = STRBUF_INIT;
    uint64_t b = 0;
    if (read_manifest(sc, entry, &sb, &b) < 0)
        b = 0;
    strbuf_release(&sb);
    return b;
}

/* Does DIR hold every file of MANIFEST with its size? */
static bool manifest_matches(const struct strbuf *m, const char *dir)
{
    const char *p = m->buf;
    while (*p) {
        const char *nl = strchrnul(p, '\n');
        if (starts_with(p, "end "))
            return true;
        unsigned long long size;
        int n = 0;
        if (sscanf(p, "%llu %n", &size, &n) != 1 || !n)
            return false;
        char *rel = xstrndup(p + n, (size_t)(nl - (p + n)));
        char *full = path_join(dir, rel);
        struct stat st;
        bool ok = lstat(full, &st) == 0 && S_ISREG(st.st_mode) && (unsigned long long)st.st_size == size;
        if (!ok)
            debug(NS, "snapshot file %s: %s", rel, errno == ENOENT ? "missing" : "wrong size");
        free(full);
        free(rel);
        if (!ok)
            return false;
        p = *nl ? nl + 1 : nl;
    }
    return false;
}

static void mark_used(struct snap_cache *sc, const char *entry)
{
    char *p = entry_file(sc, entry, "used");
    if (utimensat(AT_FDCWD, p, NULL, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        write_file_atomic(p, "", 0, 0600);
    free(p);
}

/* Move ROOT/NAME out of reach (one rename) and delete it. */
static void remove_name(struct snap_cache *sc, const char *name)
{
    char *src = path_join(sc->root, name);
    char *dst = xasprintf("%s/tmp-gone-%d-%s", sc->root, (int)getpid(), name);
    if (rename(src, dst) == 0)
        rm_rf(dst);
    free(src);
    free(dst);
}

/* Names in ROOT starting with PREFIX. */
static void list_prefixed(struct snap_cache *sc, const char *prefix, struct strvec *out)
{
    DIR *d = opendir(sc->root);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)))
        if (starts_with(de->d_name, prefix))
            strvec_push(out, de->d_name);
    closedir(d);
}

void snap_evict(struct snap_cache *sc, const char *entry)
{
    struct strvec spares = STRVEC_INIT;
    char *prefix = xasprintf("spare-%s-", entry);
    list_prefixed(sc, prefix, &spares);
    for (size_t i = 0; i < spares.nr; i++)
        remove_name(sc, spares.v[i]);
    remove_name(sc, entry);
    debug(NS, "evicted snapshot %s", entry);
    strvec_clear(&spares);
    free(prefix);
}

/* An entry name: 16 hex, '-', 16 hex. */
static bool is_entry_name(const char *n)
{
    if (strlen(n) != 33 || n[16] != '-')
        return false;
    for (int i = 0; i < 33; i++)
        if (i != 16 && !((n[i] >= '0' && n[i] <= '9') || (n[i] >= 'a' && n[i] <= 'f')))
            return false;
    return true;
}

char *snap_lookup(struct snap_cache *sc, const struct snap_key *k)
{
    struct strvec cands = STRVEC_INIT;
    char *prefix = xasprintf("%s-", k->id);
    list_prefixed(sc, prefix, &cands);
    free(prefix);
    char *found = NULL;
    for (size_t i = 0; i < cands.nr && !found; i++) {
        const char *e = cands.v[i];
        if (!is_entry_name(e))
            continue;
        struct strbuf m = STRBUF_INIT;
        struct strvec deps = STRVEC_INIT;
        char *pgv = xasprintf("%s/%s/data/PG_VERSION", sc->root, e);
        bool deps_ok = snap_entry_deps(sc, e, &deps) == 0;
        if (deps_ok && !snap_deps_current(&deps)) {
            /* another version of the files: not this one (checked first: cheap, and most are) */
        } else if (!deps_ok || read_manifest(sc, e, &m, NULL) < 0 || !path_exists(pgv)) {
            warn("snapshot %.12s is incomplete or damaged: removing it", e);
            snap_evict(sc, e);
        } else {
            /* the name is the hash of key and deps: a renamed or edited entry is not served */
            char *want = snap_entry_name(k, &deps);
            if (!strcmp(want, e))
                found = xstrdup(e);
            else
                debug(NS, "snapshot %s does not match its name: ignored", e);
            free(want);
        }
        free(pgv);
        strbuf_release(&m);
        strvec_clear(&deps);
    }
    strvec_clear(&cands);
    return found;
}

int snap_claim(struct snap_cache *sc, const char *entry, const char *dir, uid_t uid, gid_t gid,
               bool do_chown, bool *spare)
{
    struct strbuf m = STRBUF_INIT;
    int ret = -1;
    *spare = false;
    if (read_manifest(sc, entry, &m, NULL) < 0) {
        snap_evict(sc, entry);
        goto out;
    }
    char *parent = xstrdup(dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent)
        *slash = 0;
    bool same = snap_same_fs(sc, parent);
    free(parent);
    if (same) {
        struct strvec spares = STRVEC_INIT;
        char *prefix = xasprintf("spare-%s-", entry);
        list_prefixed(sc, prefix, &spares);
        free(prefix);
        for (size_t i = 0; i < spares.nr && !*spare; i++) {
            char *src = path_join(sc->root, spares.v[i]);
            struct stat st;
            /* a spare made for another server user is not ours to use */
            if (lstat(src, &st) == 0 && S_ISDIR(st.st_mode) && (!do_chown || st.st_uid == uid) &&
                rename(src, dir) == 0)
                *spare = true;
            free(src);
        }
        strvec_clear(&spares);
    }
    if (!*spare) {
        char *data = xasprintf("%s/%s/data", sc->root, entry);
        int r = copy_tree(data, dir, uid, gid, do_chown);
        free(data);
        if (r < 0) {
            int e = errno;
            rm_rf(dir);
            errno = e;
            goto out;
        }
    }
    if (!manifest_matches(&m, dir)) {
        warn("snapshot %.12s is damaged (a file is missing or has another size): removing it, "
             "replaying instead", entry);
        rm_rf(dir);
        snap_evict(sc, entry);
        errno = EINVAL;
        goto out;
    }
    mark_used(sc, entry);
    ret = 0;
out:
    strbuf_release(&m);
    return ret;
}

/* Append "SIZE PATH" lines of every regular file under DIR to SB; totals in *FILES, *BYTES. */
static void make_manifest(const char *dir, struct strbuf *sb)
{
    struct strvec files = STRVEC_INIT;
    list_tree(dir, NULL, &files);
    qsort(files.v, files.nr, sizeof(*files.v), cmp_str);
    uint64_t total = 0;
    for (size_t i = 0; i < files.nr; i++) {
        char *full = path_join(dir, files.v[i]);
        struct stat st;
        if (lstat(full, &st) == 0) {
            strbuf_addf(sb, "%llu %s\n", (unsigned long long)st.st_size, files.v[i]);
            total += (uint64_t)st.st_size;
        }
        free(full);
    }
    strbuf_addf(sb, "end %zu %llu\n", files.nr, (unsigned long long)total);
    strvec_clear(&files);
}

int snap_store_lock(struct snap_cache *sc, const char *entry)
{
    char *path = xasprintf("%s/.store-%s.lock", sc->root, entry);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

char *snap_job_lock(struct snap_cache *sc, const char *entry)
{
    /* beside the template cache's: whoever waits for dbtool's background work waits for these too */
    char *jobs = xasprintf("%s/../jobs", sc->root);
    if (mkdir(jobs, 0700) < 0 && errno != EEXIST) {
        free(jobs);
        return xasprintf("%s/.job-%s.lock", sc->root, entry);
    }
    char *p = xasprintf("%s/snap-%s.lock", jobs, entry);
    free(jobs);
    return p;
}

int snap_store(struct snap_cache *sc, const struct snap_key *k, const struct strvec *deps,
               const char *data)
{
    char *entry = snap_entry_name(k, deps);
    char *final = path_join(sc->root, entry);
    char *tmp = xasprintf("%s/tmp-store-%d-%s", sc->root, (int)getpid(), entry);
    char *tdata = path_join(tmp, "data");
    struct strbuf m = STRBUF_INIT, d = STRBUF_INIT;
    int ret = -1;
    if (is_dir(final)) {
        debug(NS, "snapshot %s is stored already", entry);
        ret = 0;
        goto out;
    }
    make_manifest(data, &m);
    uint64_t bytes = 0;
    {
        char *last = m.len > 1 ? memrchr(m.buf, '\n', m.len - 1) : NULL;
        unsigned long long files;
        unsigned long long b;
        if (sscanf(last ? last + 1 : m.buf, "end %llu %llu", &files, &b) == 2)
            bytes = b;
    }
    if (!sc->budget) {
        debug(NS, "snapshot not stored: DBTOOL_SNAPSHOT_BUDGET is 0");
        goto out;
    }
    if (bytes > sc->budget) {
        info("snapshot not stored: it holds %llu MB, more than the budget of %llu MB "
             "(DBTOOL_SNAPSHOT_BUDGET)", (unsigned long long)(bytes >> 20),
             (unsigned long long)(sc->budget >> 20));
        goto out;
    }
    rm_rf(tmp);
    if (mkdir(tmp, 0700) < 0) {
        warn("snapshot not stored: cannot create %s: %s", tmp, strerror(errno));
        goto out;
    }
    /* the data dir keeps its owner (the server user, as root) */
    struct stat st;
    bool chown_it = geteuid() == 0 && stat(data, &st) == 0;
    if (copy_tree(data, tdata, chown_it ? st.st_uid : 0, chown_it ? st.st_gid : 0, chown_it) < 0) {
        int e = errno;
        rm_rf(tmp);
        warn("snapshot not stored in %s: %s", sc->root,
             e == ENOSPC || e == EDQUOT ? "no space left (the deploy itself is fine; free some "
                                          "space or lower DBTOOL_SNAPSHOT_BUDGET)"
                                        : strerror(e));
        goto out;
    }
    for (size_t i = 0; i < deps->nr; i++)
        strbuf_addf(&d, "%s\n", deps->v[i]);
    char *pk = path_join(tmp, "key"), *pd = path_join(tmp, "deps"), *pm = path_join(tmp, "manifest"),
         *pu = path_join(tmp, "used");
    int w = write_file_atomic(pk, k->material.buf, k->material.len, 0600) < 0 ||
            write_file_atomic(pd, d.buf, d.len, 0600) < 0 ||
            write_file_atomic(pu, "", 0, 0600) < 0 ||
            /* the manifest last: an entry without its "end" line is incomplete */
            write_file_atomic(pm, m.buf, m.len, 0600) < 0;
    int e = errno;
    free(pk);
    free(pd);
    free(pm);
    free(pu);
    if (w) {
        rm_rf(tmp);
        warn("snapshot not stored in %s: %s", sc->root,
             e == ENOSPC || e == EDQUOT ? "no space left" : strerror(e));
        goto out;
    }
    if (rename(tmp, final) < 0) {
        e = errno;
        rm_rf(tmp);
        if (e == EEXIST || e == ENOTEMPTY) {
            debug(NS, "snapshot %s was stored by another run meanwhile", entry);
            ret = 0;
        } else {
            warn("snapshot not stored: cannot rename into %s: %s", final, strerror(e));
        }
        goto out;
    }
    debug(NS, "stored snapshot %s (%llu MB)", entry, (unsigned long long)(bytes >> 20));
    ret = 0;
    snap_prune(sc, entry);
out:
    strbuf_release(&m);
    strbuf_release(&d);
    free(tdata);
    free(tmp);
    free(final);
    free(entry);
    return ret;
}

void snap_refill(struct snap_cache *sc, const char *entry, const char *near, uid_t uid, gid_t gid,
                 bool do_chown)
{
    if (!snap_same_fs(sc, near))
        return;
    struct strvec spares = STRVEC_INIT;
    char *prefix = xasprintf("spare-%s-", entry);
    list_prefixed(sc, prefix, &spares);
    bool have = spares.nr > 0;
    strvec_clear(&spares);
    free(prefix);
    char *final = path_join(sc->root, entry);
    if (have || !is_dir(final)) {
        free(final);
        return;
    }
    free(final);
    char *data = xasprintf("%s/%s/data", sc->root, entry);
    char *tmp = xasprintf("%s/tmp-spare-%d-%s", sc->root, (int)getpid(), entry);
    char *dst = xasprintf("%s/spare-%s-%d-%ld", sc->root, entry, (int)getpid(), (long)time(NULL));
    rm_rf(tmp);
    if (copy_tree(data, tmp, uid, gid, do_chown) == 0 && rename(tmp, dst) == 0)
        debug(NS, "refilled a spare of %s", entry);
    rm_rf(tmp);
    free(data);
    free(tmp);
    free(dst);
    snap_prune(sc, entry);
}

/*
 * Whether ENTRY's key names a server binary that is still the same file
 * (pgbin_identity's "bin=PATH\nsize=..\nmtime=..\nino=.." in the "server"
 * line): an entry of a binary gone or replaced (an upgrade, a Nix garbage
 * collection) can never be served again.
 */
static bool server_current(struct snap_cache *sc, const char *entry)
{
    char *p = entry_file(sc, entry, "key");
    struct strbuf k = STRBUF_INIT;
    bool cur = true;
    if (fs_read_regular(p, 1 << 20, &k, NULL) == 0) {
        const char *l = strstr(k.buf, "\nserver=bin=");
        if (l) {
            l += strlen("\nserver=bin=");
            const char *end = strchrnul(l, '\n');
            /* the value's newlines are written as the two characters \n */
            struct strbuf id = STRBUF_INIT;
            for (const char *q = l; q < end; q++) {
                if (q[0] == '\\' && q + 1 < end && q[1] == 'n') {
                    strbuf_addch(&id, '\n');
                    q++;
                } else {
                    strbuf_addch(&id, *q);
                }
            }
            char *bin = xstrndup(id.buf, strchrnul(id.buf, '\n') - id.buf);
            struct stat st;
            if (stat(bin, &st) < 0) {
                cur = false;
            } else {
                char *want = xasprintf("%s\nsize=%lld\nmtime=%lld.%09ld\nino=%llu\n", bin,
                                       (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                                       st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
                cur = !strncmp(id.buf, want, strlen(want));
                free(want);
            }
            free(bin);
            strbuf_release(&id);
        }
    }
    strbuf_release(&k);
    free(p);
    return cur;
}

struct lru {
    char *name;
    time_t used;
    uint64_t bytes;
};

static int cmp_lru(const void *a, const void *b)
{
    const struct lru *x = a, *y = b;
    return (x->used > y->used) - (x->used < y->used);
}

void snap_prune(struct snap_cache *sc, const char *keep)
{
    DIR *d = opendir(sc->root);
    if (!d)
        return;
    time_t now = time(NULL);
    struct lru *v = NULL;
    size_t nr = 0, alloc = 0;
    struct strvec junk = STRVEC_INIT, spares = STRVEC_INIT;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        char *path = path_join(sc->root, n);
        struct stat st;
        if (starts_with(n, "tmp-")) {
            /* what a killed run left: nobody writes one for an hour */
            if (lstat(path, &st) == 0 && now - st.st_mtime > 3600)
                strvec_push(&junk, n);
        } else if (starts_with(n, "spare-")) {
            strvec_push(&spares, n);
        } else if (is_entry_name(n) && (!keep || strcmp(n, keep)) && !server_current(sc, n)) {
            debug(NS, "pruning snapshot %s: its server binary is gone or changed", n);
            strvec_push(&junk, n);
        } else if (is_entry_name(n)) {
            char *u = path_join(path, "used");
            ALLOC_GROW(v, nr + 1, alloc);
            v[nr].name = xstrdup(n);
            v[nr].used = lstat(u, &st) == 0 ? st.st_mtime : 0;
            v[nr].bytes = snap_entry_bytes(sc, n);
            free(u);
            /* no complete manifest after an hour: never finished, never served */
            if (!v[nr].bytes && lstat(path, &st) == 0 && now - st.st_mtime > 3600) {
                free(v[nr].name);
                strvec_push(&junk, n);
            } else {
                nr++;
            }
        }
        free(path);
    }
    closedir(d);
    for (size_t i = 0; i < junk.nr; i++) {
        if (is_entry_name(junk.v[i])) {
            snap_evict(sc, junk.v[i]);
            continue;
        }
        char *p = path_join(sc->root, junk.v[i]);
        rm_rf(p);
        free(p);
    }
    /* a spare weighs what its entry does; a spare without its entry goes */
    uint64_t total = 0;
    for (size_t i = 0; i < nr; i++)
        total += v[i].bytes;
    for (size_t i = 0; i < spares.nr; i++) {
        const char *s = spares.v[i] + strlen("spare-");
        bool found = false;
        for (size_t j = 0; j < nr && !found; j++)
            if (starts_with(s, v[j].name) && s[33] == '-') {
                total += v[j].bytes;
                found = true;
            }
        if (!found) {
            char *p = path_join(sc->root, spares.v[i]);
            struct stat st;
            if (lstat(p, &st) == 0 && now - st.st_mtime > 60)
                remove_name(sc, spares.v[i]);
            free(p);
        }
    }
    qsort(v, nr, sizeof(*v), cmp_lru);
    for (size_t i = 0; i < nr && total > sc->budget; i++) {
        if (keep && !strcmp(v[i].name, keep))
            continue;
        debug(NS, "pruning snapshot %s (least recently used; the cache is over its budget)", v[i].name);
        uint64_t spare_bytes = 0;
        {
            char *prefix = xasprintf("spare-%s-", v[i].name);
            for (size_t j = 0; j < spares.nr; j++)
                if (starts_with(spares.v[j], prefix))
                    spare_bytes += v[i].bytes;
            free(prefix);
        }
        snap_evict(sc, v[i].name);
        total -= v[i].bytes + spare_bytes > total ? total : v[i].bytes + spare_bytes;
    }
    for (size_t i = 0; i < nr; i++)
        free(v[i].name);
    free(v);
    strvec_clear(&junk);
    strvec_clear(&spares);
}
