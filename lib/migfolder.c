/*
 * migfolder.c — the migration folder (see migrate.h): migration names and
 * labels, migration.yaml, the scan, each migration's files, the hashes of
 * the up files with their stat cache, and which applied migrations no
 * longer hash to what was recorded. The database side (hectic.migration,
 * the history check, the lock, planning, status and baseline) is
 * lib/migrate.c.
 *
 * Speed matters here (bench/migrator.sh): a no-op run over 5000 applied
 * migrations is one readdir, one query for the applied list and one
 * open+read per applied up file (its hash); nothing else is looked at until
 * something needs it (mig_resolve()).
 */
#include "lib/migrate_int.h"
#include "lib/fs.h"
#include "lib/settings.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <yaml.h>

/* ---- names ---- */

bool mig_name_valid(const char *name)
{
    for (int i = 0; i < 14; i++)
        if (!isdigit((unsigned char)name[i]))
            return false;
    return name[14] == '-' && name[15] != 0;
}

bool mig_label_valid(const char *label, const char **why)
{
    const char *w = NULL;
    if (!*label)
        w = "it is empty";
    else if (strchr(label, '/'))
        w = "it contains '/'";
    else
        for (const unsigned char *p = (const unsigned char *)label; *p; p++)
            if (*p < 0x20 || *p == 0x7f) {
                w = "it contains a control character";
                break;
            }
    if (why)
        *why = w;
    return !w;
}

char *mig_random_label(void)
{
    static const char cons[] = "bdfgklmnprstvz";
    static const char vow[] = "aeiou";
    unsigned char rnd[12];
    if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd)) {
        /* no entropy source: time and pid are good enough for a label */
        unsigned long x = (unsigned long)time(NULL) ^ ((unsigned long)getpid() << 16);
        for (size_t i = 0; i < sizeof(rnd); i++, x = x * 6364136223846793005UL + 1442695040888963407UL)
            rnd[i] = (unsigned char)(x >> 33);
    }
    char out[16];
    size_t o = 0;
    for (int i = 0; i < 12; i += 2) {
        if (i == 6)
            out[o++] = '-';
        out[o++] = cons[rnd[i] % (sizeof(cons) - 1)];
        out[o++] = vow[rnd[i + 1] % (sizeof(vow) - 1)];
    }
    out[o] = 0;
    return xstrdup(out);
}

/* ---- migration.yaml ---- */

/* An error at libyaml mark M of migration.yaml NAME. */
#define meta_err(name, m, ...) error_at((name), (m).line + 1, (m).column + 1, __VA_ARGS__)

static int meta_bool(const char *s, bool *out)
{
    static const char *const t[] = {"true", "yes", "on"};
    static const char *const f[] = {"false", "no", "off"};
    for (size_t i = 0; i < ARRAY_SIZE(t); i++)
        if (!strcasecmp(s, t[i]))
            return *out = true, 0;
    for (size_t i = 0; i < ARRAY_SIZE(f); i++)
        if (!strcasecmp(s, f[i]))
            return *out = false, 0;
    return -1;
}

/* The meta file's value errors, at libyaml mark M of NAME. */
static const char *const meta_keys[] = {"transaction", "lock_timeout", "statement_timeout"};

void mig_meta_release(struct mig_meta *meta)
{
    free(meta->lock_timeout);
    free(meta->statement_timeout);
    meta->lock_timeout = meta->statement_timeout = NULL;
    meta->transaction = true;
}

int mig_meta_parse(const char *name, const char *text, size_t len, struct mig_meta *meta)
{
    yaml_parser_t p;
    yaml_event_t ev;
    int ret = 0;
    /* 0 before the mapping, 1 expecting a key, 2 expecting a value, 3 after the mapping */
    int state = 0;
    int key = -1;
    bool seen[ARRAY_SIZE(meta_keys)] = {false};
    memset(meta, 0, sizeof(*meta));
    meta->transaction = true;
    if (!yaml_parser_initialize(&p))
        return error("%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&p, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&p, &ev)) {
            ret = meta_err(name, p.problem_mark, "syntax error: %s%s%s",
                           p.problem ? p.problem : "invalid YAML", p.context ? " " : "",
                           p.context ? p.context : "");
            break;
        }
        yaml_event_type_t t = ev.type;
        if (t == YAML_STREAM_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_START_EVENT || t == YAML_DOCUMENT_END_EVENT) {
            if (t == YAML_DOCUMENT_START_EVENT && state == 3)
                ret = meta_err(name, ev.start_mark, "only one YAML document is allowed");
        } else if (state == 0 && t == YAML_MAPPING_START_EVENT) {
            state = 1;
        } else if (state == 0 && t == YAML_SCALAR_EVENT && ev.data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
                   !ev.data.scalar.length) {
            state = 3; /* an empty file: defaults */
        } else if (state == 1 && t == YAML_MAPPING_END_EVENT) {
            state = 3;
        } else if (state == 1 && t == YAML_SCALAR_EVENT) {
            const char *k = (const char *)ev.data.scalar.value;
            key = -1;
            for (size_t i = 0; i < ARRAY_SIZE(meta_keys); i++)
                if (!strcmp(k, meta_keys[i]))
                    key = (int)i;
            if (key < 0)
                ret = meta_err(name, ev.start_mark,
                               "unknown key '%s' (keys: transaction, lock_timeout, statement_timeout)", k);
            else if (seen[key])
                ret = meta_err(name, ev.start_mark, "duplicate key '%s'", k);
            else
                seen[key] = true;
            state = 2;
        } else if (state == 2 && t == YAML_SCALAR_EVENT) {
            const char *v = (const char *)ev.data.scalar.value;
            if (key == 0) {
                if (meta_bool(v, &meta->transaction) < 0)
                    ret = meta_err(name, ev.start_mark, "'transaction' expects true or false, got '%s'", v);
            } else if (!set_duration_valid(v)) {
                ret = meta_err(name, ev.start_mark,
                               "'%s' expects a duration such as 5s, 500ms, 2min or a number of "
                               "milliseconds, got '%s'", meta_keys[key], v);
            } else {
                char **dst = key == 1 ? &meta->lock_timeout : &meta->statement_timeout;
                free(*dst);
                *dst = xstrdup(v);
            }
            state = 1;
        } else if (state == 2) {
            ret = meta_err(name, ev.start_mark, "'%s' expects a %s, got a %s", meta_keys[key < 0 ? 0 : key],
                           key <= 0 ? "boolean" : "duration",
                           t == YAML_MAPPING_START_EVENT ? "mapping" : t == YAML_SEQUENCE_START_EVENT ? "list" : "non-scalar");
        } else if (state == 1) {
            ret = meta_err(name, ev.start_mark, "keys must be plain strings");
        } else {
            ret = meta_err(name, ev.start_mark, "the top level must be a mapping (e.g. 'transaction: false')");
        }
        yaml_event_delete(&ev);
        if (ret)
            break;
    }
    yaml_parser_delete(&p);
    if (ret)
        mig_meta_release(meta);
    return ret;
}

int mig_meta_load(const char *path, struct mig_meta *meta)
{
    struct strbuf sb = STRBUF_INIT;
    int ret;
    if (strbuf_read_file(&sb, path) < 0) {
        memset(meta, 0, sizeof(*meta));
        meta->transaction = true;
        ret = error_errno("cannot read '%s'", path);
    } else {
        ret = mig_meta_parse(path, sb.buf, sb.len, meta);
    }
    strbuf_release(&sb);
    return ret;
}

/* ---- the folder ---- */

char *mig_name_problem(const char *name)
{
    size_t d = 0;
    while (isdigit((unsigned char)name[d]))
        d++;
    if (d == 14 && name[14] == '-' && name[15])
        return NULL;
    if (d == 14 && name[14] == '-')
        return xstrdup("nothing after the '-': a name is YYYYMMDDHHMMSS-label");
    if (d == 14 && !name[14])
        return xstrdup("no '-label' after the version: a name is YYYYMMDDHHMMSS-label");
    if (d == 14)
        return xasprintf("'%c' after the version: a name is YYYYMMDDHHMMSS-label (with a '-')", name[14]);
    return xasprintf("the version has %zu digit%s, dbtool's has 14: a name is YYYYMMDDHHMMSS-label "
                     "(rename it, or convert another tool's folder with 'migrator import')",
                     d, d == 1 ? "" : "s");
}

static int cmp_mig(const void *a, const void *b)
{
    return strcmp(((const struct mig *)a)->name, ((const struct mig *)b)->name);
}

static int cmp_bad(const void *a, const void *b)
{
    return strcmp(((const struct mig_bad *)a)->name, ((const struct mig_bad *)b)->name);
}

static void add_bad(struct mig_folder *f, const char *name, char *why)
{
    ALLOC_GROW(f->bad, f->bad_nr + 1, f->bad_alloc);
    f->bad[f->bad_nr++] = (struct mig_bad){xstrdup(name), why};
}

int mig_scan(const char *dir, struct mig_folder *f)
{
    memset(f, 0, sizeof(*f));
    f->dir = xstrdup(dir);
    f->dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (f->dfd < 0)
        return error_errno("cannot open the migration folder '%s'", dir);
    int rfd = dup(f->dfd);
    DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
    if (!d) {
        if (rfd >= 0)
            close(rfd);
        return error_errno("cannot read the migration folder '%s'", dir);
    }
    /* readdir shares rfd's offset with f->dfd: rewind, another reader may have moved it */
    rewinddir(d);
    int ret = 0;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!isdigit((unsigned char)n[0])) {
            errno = 0;
            continue;
        }
        bool isdir = de->d_type == DT_DIR;
        if (de->d_type == DT_UNKNOWN || de->d_type == DT_LNK) {
            struct stat st;
            if (fstatat(f->dfd, n, &st, 0) < 0) {
                add_bad(f, n, xstrdup("a dangling symbolic link"));
                errno = 0;
                continue;
            }
            isdir = S_ISDIR(st.st_mode);
        }
        char *prob = mig_name_problem(n);
        if (prob) {
            add_bad(f, n, prob);
        } else if (!isdir) {
            add_bad(f, n, xstrdup("not a directory: a migration is a folder NAME/ with up.sql and down.sql"));
        } else {
            ALLOC_GROW(f->v, f->nr + 1, f->alloc);
            f->v[f->nr++] = (struct mig){.name = xstrdup(n), .meta = {.transaction = true}};
        }
        errno = 0;
    }
    if (errno)
        ret = error_errno("cannot read the migration folder '%s'", dir);
    closedir(d);
    if (f->nr > 1)
        qsort(f->v, f->nr, sizeof(*f->v), cmp_mig);
    if (f->bad_nr > 1)
        qsort(f->bad, f->bad_nr, sizeof(*f->bad), cmp_bad);
    return ret;
}

void mig_folder_release(struct mig_folder *f)
{
    for (size_t i = 0; i < f->nr; i++) {
        free(f->v[i].name);
        free(f->v[i].up);
        free(f->v[i].down);
        free(f->v[i].why);
        mig_meta_release(&f->v[i].meta);
    }
    for (size_t i = 0; i < f->bad_nr; i++) {
        free(f->bad[i].name);
        free(f->bad[i].why);
    }
    if (f->dfd > 0)
        close(f->dfd);
    for (size_t i = 0; i < f->cache_nr; i++)
        free(f->cache[i].name);
    free(f->cache);
    free(f->cache_path);
    free(f->v);
    free(f->bad);
    free(f->dir);
    memset(f, 0, sizeof(*f));
    f->dfd = -1;
}

const struct mig *mig_find(const struct mig_folder *f, const char *name)
{
    size_t lo = 0, hi = f->nr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(f->v[mid].name, name);
        if (!c)
            return &f->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* stat NAME/REL in F: 1 a regular file, 2 a directory, 3 something else, 0 nothing. */
static int kind_at(const struct mig_folder *f, const char *name, const char *rel)
{
    char path[PATH_MAX];
    struct stat st;
    if (snprintf(path, sizeof(path), "%s/%s", name, rel) >= (int)sizeof(path))
        return 0;
    if (fstatat(f->dfd, path, &st, 0) < 0)
        return 0;
    return S_ISREG(st.st_mode) ? 1 : S_ISDIR(st.st_mode) ? 2 : 3;
}

/* Why M has no up file, for status, list and the errors. */
static char *why_no_up(const struct mig_folder *f, const struct mig *m, int upsql)
{
    if (upsql == 2)
        return xstrdup("up.sql is a directory, not a file");
    if (upsql == 3)
        return xstrdup("up.sql is not a regular file (a FIFO, socket or device)");
    if (m->has_up_dir)
        return xstrdup("up/ has no entrypoint.sql");
    /* a near miss: UP.sql, Up.SQL, up.sql.txt */
    char *found = NULL;
    int fd = openat(f->dfd, m->name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    if (!d && fd >= 0)
        close(fd);
    for (struct dirent *de; d && (de = readdir(d));)
        if (!found && (!strcasecmp(de->d_name, "up.sql") || !strncasecmp(de->d_name, "up.", 3) ||
                       !strcasecmp(de->d_name, "up")))
            found = xstrdup(de->d_name);
    if (d)
        closedir(d);
    char *why;
    if (found)
        why = xasprintf("no up.sql (there is '%s': the up file must be named exactly up.sql)", found);
    else
        why = xstrdup("no up.sql (or up/entrypoint.sql)");
    free(found);
    return why;
}

void mig_resolve_up(struct mig_folder *f, struct mig *m)
{
    if (m->up_known)
        return;
    m->up_known = true;
    int upsql = kind_at(f, m->name, "up.sql");
    m->has_up_dir = kind_at(f, m->name, "up") == 2;
    if (upsql == 1) {
        m->up = xasprintf("%s/%s/up.sql", f->dir, m->name);
    } else if (m->has_up_dir && kind_at(f, m->name, "up/entrypoint.sql") == 1) {
        m->up = xasprintf("%s/%s/up/entrypoint.sql", f->dir, m->name);
        m->multi = true;
    } else {
        m->why = why_no_up(f, m, upsql);
    }
}

void mig_resolve_down(struct mig_folder *f, struct mig *m)
{
    if (m->down_known)
        return;
    mig_resolve_up(f, m);
    m->down_known = true;
    m->has_down_dir = kind_at(f, m->name, "down") == 2;
    static const char *const downs[2][2] = {{"down.sql", "down/entrypoint.sql"},
                                            {"down/entrypoint.sql", "down.sql"}};
    for (int i = 0; i < 2 && !m->down; i++)
        if (kind_at(f, m->name, downs[m->multi][i]) == 1)
            m->down = xasprintf("%s/%s/%s", f->dir, m->name, downs[m->multi][i]);
}

static int resolve_meta(struct mig_folder *f, struct mig *m)
{
    if (m->meta_known)
        return 0;
    m->meta_known = true;
    char rel[PATH_MAX];
    snprintf(rel, sizeof(rel), "%s/" MIG_META_FILE, m->name);
    if (faccessat(f->dfd, rel, F_OK, 0) < 0)
        return 0;
    m->has_meta = true;
    char *path = xasprintf("%s/%s", f->dir, rel);
    int r = mig_meta_load(path, &m->meta);
    free(path);
    m->no_tx = !m->meta.transaction;
    return r;
}

int mig_resolve(struct mig_folder *f, struct mig *m)
{
    mig_resolve_up(f, m);
    mig_resolve_down(f, m);
    return resolve_meta(f, m);
}

int mig_resolve_all(struct mig_folder *f)
{
    int ret = 0;
    for (size_t i = 0; i < f->nr; i++)
        if (mig_resolve(f, &f->v[i]) < 0)
            ret = -1;
    return ret;
}

/* DIR/NAME/REL, malloc'd (hot: once per applied migration in a no-op). */
static char *path3(const char *dir, const char *name, const char *rel)
{
    size_t a = strlen(dir), b = strlen(name), c = strlen(rel);
    char *p = xmalloc(a + b + c + 3);
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b);
    p[a + 1 + b] = '/';
    memcpy(p + a + 2 + b, rel, c + 1);
    return p;
}

/* sha256 of the regular file REL (relative to F's folder) into HEX: 1, 0 when it is no regular file, -1 on error. */
static int hash_at(const struct mig_folder *f, const char *rel, char hex[SHA256_HEX_LEN])
{
    int fd = openat(f->dfd, rel, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ENOTDIR || errno == EISDIR ? 0 : -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return 0;
    }
    int r = sha256_fd_hex(fd, (long long)st.st_size, hex);
    int e = errno;
    close(fd);
    errno = e;
    return r < 0 ? -1 : 1;
}

/* ---- the hash cache ---- */

#define CACHE_MAGIC "dbtool-migrator-hashes 1"

static int cmp_cached(const void *a, const void *b)
{
    return strcmp(((const struct mig_cached_hash *)a)->name, ((const struct mig_cached_hash *)b)->name);
}

char *mig_hash_cache_path(const char *cache_dir, const char *dir)
{
    if (!cache_dir || !*cache_dir)
        return NULL;
    char *abs = realpath(dir, NULL);
    char hex[SHA256_HEX_LEN];
    sha256_hex(abs ? abs : dir, strlen(abs ? abs : dir), hex);
    free(abs);
    return xasprintf("%s/migrator/%.32s.hashes", cache_dir, hex);
}

void mig_hash_cache_open(struct mig_folder *f, const char *path)
{
    free(f->cache_path);
    f->cache_path = path ? xstrdup(path) : NULL;
    if (!path)
        return;
    struct strbuf sb = STRBUF_INIT;
    if (strbuf_read_file(&sb, path) < 0 || !starts_with(sb.buf, CACHE_MAGIC "\n")) {
        strbuf_release(&sb);
        return;
    }
    /* "NAME DEV INO SIZE MTIME CTIME HASH" lines, sorted by name as written */
    bool sorted = true;
    for (char *l = sb.buf + strlen(CACHE_MAGIC) + 1; *l;) {
        char *nl = strchrnul(l, '\n');
        char *next = *nl ? nl + 1 : nl;
        *nl = 0;
        struct mig_cached_hash c = {0};
        char *sp = strchr(l, ' '), *p;
        unsigned long long *num[5] = {&c.dev, &c.ino, &c.size, &c.mtime_ns, &c.ctime_ns};
        bool ok = sp && sp > l;
        p = sp;
        for (int i = 0; ok && i < 5; i++) {
            char *end;
            errno = 0;
            *num[i] = strtoull(p + 1, &end, 10);
            ok = !errno && end > p + 1 && *end == ' ';
            p = end;
        }
        if (ok && strlen(p + 1) == 64) {
            c.name = xstrndup(l, (size_t)(sp - l));
            memcpy(c.hash, p + 1, SHA256_HEX_LEN);
            if (f->cache_nr && strcmp(f->cache[f->cache_nr - 1].name, c.name) >= 0)
                sorted = false;
            ALLOC_GROW(f->cache, f->cache_nr + 1, f->cache_alloc);
            f->cache[f->cache_nr++] = c;
        }
        l = next;
    }
    strbuf_release(&sb);
    if (!sorted)
        qsort(f->cache, f->cache_nr, sizeof(*f->cache), cmp_cached);
}

static struct mig_cached_hash *cache_find(struct mig_folder *f, const char *name)
{
    struct mig_cached_hash key = {.name = (char *)name};
    return f->cache_nr ? bsearch(&key, f->cache, f->cache_nr, sizeof(*f->cache), cmp_cached) : NULL;
}

static unsigned long long ns_of(struct timespec t)
{
    return (unsigned long long)t.tv_sec * 1000000000ULL + (unsigned long long)t.tv_nsec;
}

static bool cache_matches(const struct mig_cached_hash *c, const struct stat *st)
{
    return c->dev == (unsigned long long)st->st_dev && c->ino == (unsigned long long)st->st_ino &&
           c->size == (unsigned long long)st->st_size && c->mtime_ns == ns_of(st->st_mtim) &&
           c->ctime_ns == ns_of(st->st_ctim);
}

static void cache_put(struct mig_folder *f, const char *name, const struct stat *st, const char *hash)
{
    if (!f->cache_path)
        return;
    struct mig_cached_hash *c = cache_find(f, name);
    if (!c) {
        ALLOC_GROW(f->cache, f->cache_nr + 1, f->cache_alloc);
        c = &f->cache[f->cache_nr++];
        memset(c, 0, sizeof(*c));
        c->name = xstrdup(name);
        /* keep it sorted: insertion at the end is the common case (names grow) */
        for (size_t i = f->cache_nr - 1; i > 0 && strcmp(f->cache[i - 1].name, f->cache[i].name) > 0; i--) {
            struct mig_cached_hash t = f->cache[i];
            f->cache[i] = f->cache[i - 1];
            f->cache[i - 1] = t;
            c = &f->cache[i - 1];
        }
    }
    c->dev = (unsigned long long)st->st_dev;
    c->ino = (unsigned long long)st->st_ino;
    c->size = (unsigned long long)st->st_size;
    c->mtime_ns = ns_of(st->st_mtim);
    c->ctime_ns = ns_of(st->st_ctim);
    memcpy(c->hash, hash, SHA256_HEX_LEN);
    f->cache_dirty = true;
}

void mig_hash_cache_save(struct mig_folder *f)
{
    if (!f->cache_path || !f->cache_dirty)
        return;
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    unsigned long long racy = ns_of(now) - 2000000000ULL;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addstr(&sb, CACHE_MAGIC "\n");
    for (size_t i = 0; i < f->cache_nr; i++) {
        const struct mig_cached_hash *c = &f->cache[i];
        if (c->mtime_ns >= racy || c->ctime_ns >= racy || !mig_find(f, c->name))
            continue;
        strbuf_addf(&sb, "%s %llu %llu %llu %llu %llu %s\n", c->name, c->dev, c->ino, c->size, c->mtime_ns,
                    c->ctime_ns, c->hash);
    }
    char *dir = xstrdup(f->cache_path);
    *strrchr(dir, '/') = 0;
    if (mkdir_p(dir, 0755) < 0 || write_file_atomic(f->cache_path, sb.buf, sb.len, 0644) < 0)
        debug("migrate", "cannot write the hash cache %s: %s", f->cache_path, strerror(errno));
    else
        f->cache_dirty = false;
    free(dir);
    strbuf_release(&sb);
}

int mig_hash(struct mig_folder *f, struct mig *m)
{
    if (m->hash[0])
        return 0;
    char rel[PATH_MAX];
    int r = 0;
    if (!m->up_known) {
        /* the common case in one open: NAME/up.sql */
        snprintf(rel, sizeof(rel), "%s/up.sql", m->name);
        r = hash_at(f, rel, m->hash);
        if (r > 0) {
            m->up_known = true;
            m->up = xasprintf("%s/%s/up.sql", f->dir, m->name);
            return 0;
        }
        if (r < 0)
            return error_errno("cannot read '%s/%s'", f->dir, rel);
        mig_resolve_up(f, m);
    }
    if (!m->up)
        return error("migration '%s' has no up file: %s", m->name, m->why ? m->why : "?");
    snprintf(rel, sizeof(rel), "%s/%s", m->name, m->multi ? "up/entrypoint.sql" : "up.sql");
    r = hash_at(f, rel, m->hash);
    if (r <= 0) {
        m->hash[0] = 0;
        return error_errno("cannot read '%s'", m->up);
    }
    return 0;
}

/* ---- the hash check ---- */

int mig_changed(struct mig_folder *f, const struct mig_db *db, struct strvec *changed,
                struct strvec *hashes)
{
    int n = 0;
    size_t fi = 0, ci = 0;
    char rel[PATH_MAX];
    /* both lists (and the cache) are sorted by name: one merge walk */
    for (size_t i = 0; i < db->nr; i++) {
        const char *name = db->v[i].name;
        int c = 1;
        while (fi < f->nr && (c = strcmp(f->v[fi].name, name)) < 0)
            fi++;
        if (fi >= f->nr || c)
            continue;
        struct mig *m = &f->v[fi];
        if (m->up_known && !m->up)
            continue;
        if (!m->up_known && f->cache_path) {
            /* the cache: one stat instead of open, read, close */
            struct stat st;
            size_t nl = strlen(m->name);
            if (nl + 8 > sizeof(rel))
                continue;
            memcpy(rel, m->name, nl);
            memcpy(rel + nl, "/up.sql", 8);
            if (fstatat(f->dfd, rel, &st, 0) == 0 && S_ISREG(st.st_mode)) {
                m->up_known = true;
                m->up = path3(f->dir, m->name, "up.sql");
                int cc = 1;
                while (ci < f->cache_nr && (cc = strcmp(f->cache[ci].name, name)) < 0)
                    ci++;
                if (ci < f->cache_nr && !cc && cache_matches(&f->cache[ci], &st)) {
                    memcpy(m->hash, f->cache[ci].hash, SHA256_HEX_LEN);
                } else {
                    int r = hash_at(f, rel, m->hash);
                    if (r <= 0)
                        return error_errno("cannot read '%s/%s'", f->dir, rel);
                    /* remembered only when the file did not change while it was read */
                    struct stat st2;
                    if (fstatat(f->dfd, rel, &st2, 0) == 0 && ns_of(st2.st_ctim) == ns_of(st.st_ctim) &&
                        ns_of(st2.st_mtim) == ns_of(st.st_mtim) && st2.st_size == st.st_size &&
                        st2.st_ino == st.st_ino) {
                        cache_put(f, m->name, &st, m->hash);
                        /* the entry went in at its place: the first not below NAME is after it */
                        while (ci < f->cache_nr && strcmp(f->cache[ci].name, name) <= 0)
                            ci++;
                    }
                }
            }
        }
        if (!m->up_known) {
            snprintf(rel, sizeof(rel), "%s/up.sql", m->name);
            int r = hash_at(f, rel, m->hash);
            if (r < 0)
                return error_errno("cannot read '%s/%s'", f->dir, rel);
            if (r > 0) {
                m->up_known = true;
                m->up = xasprintf("%s/%s/up.sql", f->dir, m->name);
            } else {
                mig_resolve_up(f, m);
                if (!m->up)
                    continue; /* "missing": the history check says so */
            }
        }
        if (mig_hash(f, m) < 0)
            return -1;
        if (strcasecmp(m->hash, db->v[i].hash)) {
            n++;
            if (changed)
                strvec_push(changed, m->name);
            if (hashes)
                strvec_push(hashes, m->hash);
        }
    }
    return n;
}

/* The time of a migration name's "YYYYMMDDHHMMSS" prefix, 0 when it is none. */
static time_t name_stamp(const char *s)
{
    struct tm tm = {0};
    char buf[15];
    memcpy(buf, s, 14);
    buf[14] = 0;
    if (!strptime(buf, "%Y%m%d%H%M%S", &tm))
        return 0;
    return timegm(&tm);
}

int mig_create_folder(const char *dir, const char *label, char **path, int *lock_fd)
{
    *path = NULL;
    *lock_fd = -1;
    if (mkdir_p(dir, 0755) < 0)
        return error_errno("cannot create the migration folder '%s'", dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || flock(dfd, LOCK_EX) < 0) {
        if (dfd >= 0)
            close(dfd);
        return error_errno("cannot lock the migration folder '%s'", dir);
    }
    int rfd = dup(dfd);
    DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
    if (!d) {
        error_errno("cannot read the migration folder '%s'", dir);
        if (rfd >= 0)
            close(rfd);
        close(dfd);
        return -1;
    }
    time_t t = time(NULL), newest = 0;
    for (struct dirent *de; (de = readdir(d));) {
        time_t s = mig_name_valid(de->d_name) ? name_stamp(de->d_name) : 0;
        if (s > newest)
            newest = s;
    }
    closedir(d);
    if (newest >= t)
        t = newest + 1;
    for (int tries = 0;; tries++, t++) {
        char ts[15];
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(ts, sizeof(ts), "%Y%m%d%H%M%S", &tm);
        free(*path);
        *path = xasprintf("%s/%s-%s", dir, ts, label);
        if (mkdir(*path, 0755) == 0)
            break;
        if (errno != EEXIST || tries > 1000) {
            error_errno("cannot create '%s'", *path);
            free(*path);
            *path = NULL;
            close(dfd);
            return -1;
        }
    }
    *lock_fd = dfd;
    return 0;
}
