/*
 * migrate.c — the migration folder, migration.yaml, hectic.migration, the
 * history and hash checks, the advisory lock, planning, baseline and status.
 * Running steps is lib/migrun.c.
 *
 * Speed matters here (bench/migrator.sh): a no-op run over 5000 applied
 * migrations is one readdir, one query for the applied list and one
 * open+read per applied up file (its hash); nothing else is looked at until
 * something needs it (mig_resolve()).
 */
#include "lib/migrate.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/settings.h"
#include "lib/sqlscript.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <strings.h>
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

static void resolve_up(struct mig_folder *f, struct mig *m)
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

static void resolve_down(struct mig_folder *f, struct mig *m)
{
    if (m->down_known)
        return;
    resolve_up(f, m);
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
    resolve_up(f, m);
    resolve_down(f, m);
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
        resolve_up(f, m);
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

/* ---- hectic.migration ---- */

static int cmp_applied(const void *a, const void *b)
{
    return strcmp(((const struct mig_applied *)a)->name, ((const struct mig_applied *)b)->name);
}

static bool missing_relation(const PGresult *r)
{
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
    /* undefined_table / invalid_schema_name: the bundle is not applied (yet) */
    return state && (!strcmp(state, "42P01") || !strcmp(state, "3F000"));
}

#define READ_SQL                                                                                   \
    "SELECT name, hash FROM hectic.migration;"                                                     \
    " SELECT name, direction = 'down', step, hash, location FROM hectic.migration_step"           \
    " ORDER BY name, direction, step"
#define READ_SQL_TIMES                                                                             \
    "SELECT name, hash, applied_at::text FROM hectic.migration;"                                   \
    " SELECT name, direction = 'down', step, hash, location FROM hectic.migration_step"           \
    " ORDER BY name, direction, step"

/* Take R, the result of READ_SQL's statement I (0: hectic.migration, 1: the steps), into DB. */
static int take_result(PGresult *r, int i, struct mig_db *db, bool with_times)
{
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        if (missing_relation(r))
            return 0;
        pg_print_result_error(r, i ? "cannot read hectic.migration_step" : "cannot read hectic.migration");
        return -1;
    }
    int n = PQntuples(r);
    if (i == 0) {
        db->has_table = true;
        db->v = xcalloc(n ? (size_t)n : 1, sizeof(*db->v));
        db->alloc = n ? (size_t)n : 1;
        for (int k = 0; k < n; k++) {
            db->v[k].name = xstrdup(PQgetvalue(r, k, 0));
            db->v[k].hash = xstrdup(PQgetvalue(r, k, 1));
            if (with_times)
                db->v[k].applied_at = xstrdup(PQgetvalue(r, k, 2));
        }
        db->nr = (size_t)n;
    } else {
        db->has_steps = true;
        for (int k = 0; k < n; k++) {
            ALLOC_GROW(db->steps, db->steps_nr + 1, db->steps_alloc);
            db->steps[db->steps_nr++] = (struct mig_progress){
                xstrdup(PQgetvalue(r, k, 0)), !strcmp(PQgetvalue(r, k, 1), "t"), atoi(PQgetvalue(r, k, 2)),
                xstrdup(PQgetvalue(r, k, 3)), xstrdup(PQgetvalue(r, k, 4))};
        }
    }
    return 0;
}

int mig_db_read(PGconn *conn, struct mig_db *db, bool with_times)
{
    memset(db, 0, sizeof(*db));
    /* both tables in one round trip; the second fails alone on a database whose
     * bundle predates hectic.migration_step */
    if (!PQsendQuery(conn, with_times ? READ_SQL_TIMES : READ_SQL))
        return error("cannot read hectic.migration: %s", PQerrorMessage(conn));
    int ret = 0;
    int i = 0;
    for (PGresult *r; (r = PQgetResult(conn)); i++) {
        if (!ret && take_result(r, i, db, with_times) < 0)
            ret = -1;
        PQclear(r);
    }
    if (db->nr > 1)
        qsort(db->v, db->nr, sizeof(*db->v), cmp_applied);
    return ret;
}

int mig_lock_and_read(PGconn *conn, struct mig_db *db, struct strbuf *version)
{
    memset(db, 0, sizeof(*db));
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return error("migrator lock: the connection is inside a transaction");
    /* the session lock survives the implicit transaction of the query string, even a failed one */
    if (!PQsendQuery(conn, "SELECT pg_try_advisory_lock(" MIG_LOCK_KEY_STR ");"
                           " SELECT coalesce(version, '') FROM hectic.version WHERE name = 'hectic'; " READ_SQL))
        return error("cannot take the migrator lock: %s", PQerrorMessage(conn));
    int ret = 1, i = 0;
    bool got = false, versioned = false;
    for (PGresult *r; (r = PQgetResult(conn)); i++) {
        if (ret < 0) {
            PQclear(r);
            continue;
        }
        if (i == 0) {
            if (PQresultStatus(r) != PGRES_TUPLES_OK) {
                pg_print_result_error(r, "cannot take the migrator lock");
                ret = -1;
            } else {
                got = !strcmp(PQgetvalue(r, 0, 0), "t");
            }
        } else if (i == 1) {
            if (PQresultStatus(r) == PGRES_TUPLES_OK) {
                versioned = true;
                if (PQntuples(r) == 1)
                    strbuf_addstr(version, PQgetvalue(r, 0, 0));
            } else if (!missing_relation(r)) {
                pg_print_result_error(r, "cannot read hectic.version");
                ret = -1;
            }
        } else if (got && take_result(r, i - 2, db, false) < 0) {
            ret = -1;
        }
        PQclear(r);
    }
    if (ret < 0 || !got || !versioned) {
        /* busy, or no bundle yet: the caller goes the long way */
        mig_db_release(db);
        return ret < 0 ? -1 : !got ? 0 : 2;
    }
    if (db->nr > 1)
        qsort(db->v, db->nr, sizeof(*db->v), cmp_applied);
    return 1;
}

void mig_db_release(struct mig_db *db)
{
    for (size_t i = 0; i < db->nr; i++) {
        free(db->v[i].name);
        free(db->v[i].hash);
        free(db->v[i].applied_at);
    }
    for (size_t i = 0; i < db->steps_nr; i++) {
        free(db->steps[i].name);
        free(db->steps[i].hash);
        free(db->steps[i].location);
    }
    free(db->v);
    free(db->steps);
    memset(db, 0, sizeof(*db));
}

const struct mig_applied *mig_db_find(const struct mig_db *db, const char *name)
{
    size_t lo = 0, hi = db->nr;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(db->v[mid].name, name);
        if (!c)
            return &db->v[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

const struct mig_progress *mig_db_progress(const struct mig_db *db, const char *name, bool down, size_t *n)
{
    const struct mig_progress *first = NULL;
    *n = 0;
    for (size_t i = 0; db && i < db->steps_nr; i++) {
        if (strcmp(db->steps[i].name, name) || db->steps[i].down != down)
            continue;
        if (!first)
            first = &db->steps[i];
        (*n)++;
    }
    return first;
}

/* ---- checks ---- */

/* The next folder migration that has an up file, walking with a cursor. */
static const struct mig *next_runnable(struct mig_folder *f, size_t *cursor)
{
    while (*cursor < f->nr) {
        struct mig *m = &f->v[(*cursor)++];
        resolve_up(f, m);
        if (m->up)
            return m;
    }
    return NULL;
}

long mig_history_check(struct mig_folder *f, const struct mig_db *db, const char **applied,
                       const char **folder)
{
    size_t cur = 0;
    for (size_t i = 0; i < db->nr; i++) {
        const struct mig *m = next_runnable(f, &cur);
        if (!m || strcmp(m->name, db->v[i].name)) {
            if (applied)
                *applied = db->v[i].name;
            if (folder)
                *folder = m ? m->name : NULL;
            return (long)i;
        }
    }
    return -1;
}

void mig_history_report(FILE *out, struct mig_folder *f, const struct mig_db *db, long pos)
{
    size_t cur = 0, k = 0;
    const struct mig *at = NULL;
    for (const struct mig *m; (m = next_runnable(f, &cur)); k++)
        if ((long)k == pos)
            at = m;
    fprintf(out, "Migration history mismatch detected!\n");
    fprintf(out, "Position: Migration #%ld\n", pos + 1);
    fprintf(out, "Database has: %s\n", (size_t)pos < db->nr ? db->v[pos].name : "(nothing)");
    fprintf(out, "Filesystem has: %s\n", at ? at->name : "(nothing)");
    fprintf(out, "Full filesystem migrations (in order):\n");
    cur = k = 0;
    for (const struct mig *m; (m = next_runnable(f, &cur)); k++)
        fprintf(out, "  %zu. %s\n", k + 1, m->name);
    fprintf(out, "Full database migrations (in order):\n");
    for (size_t i = 0; i < db->nr; i++)
        fprintf(out, "  %zu. %s\n", i + 1, db->v[i].name);
    fprintf(out, "The applied migrations must be the first ones of %s, in order. Restore the missing "
                 "folders, or use --force to go on anyway.\n", f->dir);
    fflush(out);
}

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
                resolve_up(f, m);
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

/* ---- the lock ---- */

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted)
        ;
}

int mig_lock(PGconn *conn, double timeout)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return error("migrator lock: the connection is inside a transaction");
    double start = now_monotonic();
    bool said = false;
    long delay = 10;
    for (;;) {
        struct strbuf v = STRBUF_INIT;
        int r = pg_query_value(conn, "SELECT pg_try_advisory_lock(" MIG_LOCK_KEY_STR ")", 0, NULL, &v);
        bool got = r > 0 && !strcmp(v.buf, "t");
        strbuf_release(&v);
        if (r < 0)
            return -1;
        if (got) {
            if (said)
                info("got the migrator lock after %.1f s", now_monotonic() - start);
            return 0;
        }
        if (!said) {
            struct strbuf pid = STRBUF_INIT;
            pg_query_value(conn,
                           "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = 1751475060"
                           " AND objid = 1768123751 AND objsubid = 1 AND granted LIMIT 1",
                           0, NULL, &pid);
            info("waiting for another migrator%s%s%s to finish (advisory lock " MIG_LOCK_KEY_STR ")",
                 pid.len ? " (server pid " : "", pid.buf, pid.len ? ")" : "");
            strbuf_release(&pid);
            said = true;
        }
        if (interrupted)
            return error("interrupted while waiting for the migrator lock");
        if (timeout >= 0 && now_monotonic() - start >= timeout)
            return error("another migrator still holds the lock after %.0f s", timeout);
        sleep_ms(delay);
        if (delay < 200)
            delay = delay * 3 / 2 + 1;
    }
}

void mig_unlock(PGconn *conn)
{
    if (PQstatus(conn) != CONNECTION_OK)
        return;
    PGresult *r = PQexec(conn, "SELECT pg_advisory_unlock(" MIG_LOCK_KEY_STR ")");
    PQclear(r);
}

/* ---- planning ---- */

static void plan_add(struct mig_plan *p, const struct mig *m, bool down)
{
    ALLOC_GROW(p->v, p->nr + 1, p->alloc);
    p->v[p->nr++] = (struct mig_step){m, down, false};
}

/*
 * A down step may concern an applied migration without a folder (--force):
 * it gets a placeholder entry carrying only the name, owned by the plan.
 */
static void plan_add_down(struct mig_plan *p, struct mig_folder *f, const char *name)
{
    struct mig *m = (struct mig *)mig_find(f, name);
    if (m) {
        resolve_down(f, m);
        plan_add(p, m, true);
        return;
    }
    struct mig *g = xcalloc(1, sizeof(*g));
    g->name = xstrdup(name);
    g->up_known = g->down_known = g->meta_known = true;
    g->meta.transaction = true;
    plan_add(p, g, true);
    p->v[p->nr - 1].owned = true;
}

void mig_plan_release(struct mig_plan *plan)
{
    for (size_t i = 0; i < plan->nr; i++)
        if (plan->v[i].owned) {
            struct mig *g = (struct mig *)plan->v[i].m;
            free(g->name);
            free(g);
        }
    free(plan->v);
    memset(plan, 0, sizeof(*plan));
}

static const char *newest_applied(const struct mig_db *db)
{
    return db->nr ? db->v[db->nr - 1].name : NULL;
}

enum mig_status mig_plan(struct mig_folder *f, const struct mig_db *db, const struct mig_request *req,
                         struct mig_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    if (req->kind == MIG_REQ_UP) {
        size_t cur = 0, pending = 0;
        /* pending ones only (a merge walk: both lists are sorted); the applied
         * ones were looked at by the hash check */
        for (size_t i = 0, j = 0; i < f->nr; i++) {
            int c = 1;
            while (j < db->nr && (c = strcmp(db->v[j].name, f->v[i].name)) < 0)
                j++;
            if (j < db->nr && !c)
                continue;
            resolve_up(f, &f->v[i]);
            pending += f->v[i].up != NULL;
        }
        if (!f->nr && !db->nr && req->n <= 0) {
            error("no migrations found");
            return MIG_NONE;
        }
        if (!pending || (req->n > 0 && (size_t)req->n > pending)) {
            if (req->n > 0) {
                error("cannot migrate up %ld step(s): not enough migrations", req->n);
                info("%zu migration%s pending", pending, pending == 1 ? " is" : "s are");
                return MIG_NOT_ENOUGH;
            }
            const char *at = newest_applied(db);
            info("nothing to apply: already at the newest migration%s%s%s", at ? " '" : "", at ? at : "",
                 at ? "'" : " (there are none)");
            return MIG_AT_TARGET;
        }
        for (const struct mig *m; (m = next_runnable(f, &cur)) && (req->n <= 0 || plan->nr < (size_t)req->n);)
            if (!mig_db_find(db, m->name))
                plan_add(plan, m, false);
        return MIG_OK;
    }
    if (req->kind == MIG_REQ_DOWN) {
        if (!db->nr) {
            info("nothing to revert: no migration is applied");
            return MIG_AT_TARGET;
        }
        size_t want = req->n > 0 ? (size_t)req->n : db->nr;
        if (want > db->nr) {
            error("cannot migrate down %ld step(s): not enough migrations", req->n);
            info("only %zu %s applied", db->nr, db->nr == 1 ? "is" : "are");
            return MIG_NOT_ENOUGH;
        }
        for (size_t i = db->nr; i-- > db->nr - want;)
            plan_add_down(plan, f, db->v[i].name);
        return MIG_OK;
    }
    /* MIG_REQ_TO */
    const char *target = req->name;
    if (!target) {
        for (size_t i = f->nr; i-- > 0;) {
            resolve_up(f, &f->v[i]);
            if (f->v[i].up) {
                target = f->v[i].name;
                break;
            }
        }
        if (!target) {
            error("no migrations found");
            return MIG_NO_SUCH;
        }
    } else {
        struct mig *t = (struct mig *)mig_find(f, target);
        if (t)
            resolve_up(f, t);
        if (!t || !t->up) {
            error("no migration named '%s' in '%s'%s", target, f->dir, t ? " (it has no up file)" : "");
            return MIG_NO_SUCH;
        }
    }
    for (size_t i = db->nr; i-- > 0;) {
        if (strcmp(db->v[i].name, target) <= 0)
            break;
        plan_add_down(plan, f, db->v[i].name);
    }
    size_t cur = 0;
    for (const struct mig *m; (m = next_runnable(f, &cur)) && strcmp(m->name, target) <= 0;)
        if (!mig_db_find(db, m->name))
            plan_add(plan, m, false);
    if (!plan->nr) {
        info("nothing to do: already at '%s'", target);
        return MIG_AT_TARGET;
    }
    return MIG_OK;
}

size_t mig_blocking(struct mig_folder *f, const struct mig_plan *plan, bool all)
{
    const char *last = NULL;
    for (size_t i = 0; plan && i < plan->nr; i++)
        if (!plan->v[i].down && (!last || strcmp(plan->v[i].m->name, last) > 0))
            last = plan->v[i].m->name;
    if (!last && !all)
        return 0;
    size_t n = 0;
    for (size_t i = 0; i < f->nr; i++) {
        struct mig *m = &f->v[i];
        if (!all && strcmp(m->name, last) > 0)
            break;
        resolve_up(f, m);
        if (m->up)
            continue;
        error("%s/%s: incomplete migration: %s", f->dir, m->name, m->why ? m->why : "no up file");
        n++;
    }
    for (size_t i = 0; i < f->bad_nr; i++) {
        if (!all && strcmp(f->bad[i].name, last) > 0)
            break;
        error("%s/%s: not a migration: %s", f->dir, f->bad[i].name, f->bad[i].why);
        n++;
    }
    return n;
}

/* ---- status ---- */

const char *mig_state_name(enum mig_state st)
{
    static const char *const names[] = {"applied", "changed", "missing", "pending", "partial", "incomplete", "bad"};
    return names[st];
}


struct status_line {
    const char *name;
    enum mig_state st;
    const char *hash, *recorded, *applied_at;
    char *why;
    bool no_tx, multi;
};

static void status_text(struct strbuf *sb, const struct status_line *l)
{
    strbuf_addf(sb, "%-11s %s", mig_state_name(l->st), l->name);
    if (l->why)
        strbuf_addf(sb, "  (%s)", l->why);
    strbuf_addch(sb, '\n');
}

static void status_json(struct strbuf *sb, const struct status_line *l, bool first)
{
    strbuf_addstr(sb, first ? "\n    {" : ",\n    {");
    strbuf_addstr(sb, "\"name\": ");
    strbuf_add_json_str(sb, l->name);
    strbuf_addf(sb, ", \"state\": \"%s\"", mig_state_name(l->st));
    if (l->hash) {
        strbuf_addstr(sb, ", \"hash\": ");
        strbuf_add_json_str(sb, l->hash);
    }
    if (l->recorded) {
        strbuf_addstr(sb, ", \"recorded_hash\": ");
        strbuf_add_json_str(sb, l->recorded);
    }
    if (l->applied_at) {
        strbuf_addstr(sb, ", \"applied_at\": ");
        strbuf_add_json_str(sb, l->applied_at);
    }
    if (l->st != MIG_ST_BAD && l->st != MIG_ST_MISSING)
        strbuf_addf(sb, ", \"transaction\": %s, \"multi_file\": %s", l->no_tx ? "false" : "true",
                    l->multi ? "true" : "false");
    if (l->why) {
        strbuf_addstr(sb, ", \"reason\": ");
        strbuf_add_json_str(sb, l->why);
    }
    strbuf_addch(sb, '}');
}

int mig_status_print(FILE *out, struct mig_folder *f, const struct mig_db *db, bool json,
                     struct mig_status_counts *counts)
{
    struct mig_status_counts c = {{0}};
    struct strbuf sb = STRBUF_INIT;
    size_t i = 0, j = 0, b = 0;
    int ret = 0;
    bool first = true;
    if (json) {
        strbuf_addstr(&sb, "{\"migration_dir\": ");
        strbuf_add_json_str(&sb, f->dir);
        strbuf_addf(&sb, ", \"bundle\": %s, \"migrations\": [", db->has_table ? "true" : "false");
    }
    /* merge the three sorted lists: folder, applied, bad entries */
    while (i < f->nr || j < db->nr || b < f->bad_nr) {
        const char *nf = i < f->nr ? f->v[i].name : NULL;
        const char *nd = j < db->nr ? db->v[j].name : NULL;
        const char *nb = b < f->bad_nr ? f->bad[b].name : NULL;
        const char *least = nf;
        if (nd && (!least || strcmp(nd, least) < 0))
            least = nd;
        if (nb && (!least || strcmp(nb, least) < 0))
            least = nb;
        struct status_line l = {least, MIG_ST_PENDING, NULL, NULL, NULL, NULL, false, false};
        if (nb && !strcmp(nb, least) && !(nf && !strcmp(nf, least))) {
            l.st = MIG_ST_BAD;
            l.why = xstrdup(f->bad[b].why);
            b++;
            if (nd && !strcmp(nd, least)) {
                /* an applied migration whose folder became a bad entry */
                j++;
            }
        } else if (nf && !strcmp(nf, least)) {
            struct mig *m = &f->v[i++];
            const struct mig_applied *ap = nd && !strcmp(nd, least) ? &db->v[j++] : NULL;
            if (mig_resolve(f, m) < 0)
                ret = -1;
            l.no_tx = m->no_tx;
            l.multi = m->multi;
            size_t np = 0;
            const struct mig_progress *pr = mig_db_progress(db, m->name, ap != NULL, &np);
            if (ap) {
                l.recorded = ap->hash;
                l.applied_at = ap->applied_at;
                if (!m->up) {
                    l.st = MIG_ST_MISSING;
                    l.why = xasprintf("applied, but its up file is gone: %s", m->why ? m->why : "");
                } else if (mig_hash(f, m) < 0) {
                    ret = -1;
                    break;
                } else if (strcasecmp(m->hash, ap->hash)) {
                    l.st = MIG_ST_CHANGED;
                    l.hash = m->hash;
                    l.why = xasprintf("up file hashes to %.12s..., recorded %.12s...", m->hash, ap->hash);
                } else {
                    l.st = MIG_ST_APPLIED;
                    l.hash = m->hash;
                }
                if (np && l.st == MIG_ST_APPLIED) {
                    l.st = MIG_ST_PARTIAL;
                    l.why = xasprintf("down stopped after %zu committed step%s (last: %s): 'migrate down' resumes it",
                                      np, np == 1 ? "" : "s", pr[np - 1].location);
                }
            } else if (!m->up) {
                l.st = MIG_ST_INCOMPLETE;
                l.why = xstrdup(m->why ? m->why : "no up file");
            } else if (np) {
                l.st = MIG_ST_PARTIAL;
                l.why = xasprintf("%zu step%s committed by a failed run (last: %s): 'migrate up' resumes it",
                                  np, np == 1 ? "" : "s", pr[np - 1].location);
            } else if (m->no_tx) {
                l.why = xstrdup("no transaction");
            }
            if (nb && !strcmp(nb, least))
                b++;
        } else {
            l.st = MIG_ST_MISSING;
            l.recorded = db->v[j].hash;
            l.applied_at = db->v[j].applied_at;
            l.why = xasprintf("applied, but not in %s", f->dir);
            j++;
        }
        c.n[l.st]++;
        if (json)
            status_json(&sb, &l, first);
        else
            status_text(&sb, &l);
        first = false;
        free(l.why);
    }
    if (json) {
        strbuf_addstr(&sb, first ? "],\n  \"summary\": {" : "\n  ],\n  \"summary\": {");
        for (int k = 0; k <= MIG_ST_BAD; k++)
            strbuf_addf(&sb, "%s\"%s\": %zu", k ? ", " : "", mig_state_name((enum mig_state)k), c.n[k]);
        bool clean = !c.n[MIG_ST_PENDING] && !c.n[MIG_ST_CHANGED] && !c.n[MIG_ST_MISSING] &&
                     !c.n[MIG_ST_PARTIAL] && !c.n[MIG_ST_INCOMPLETE] && !c.n[MIG_ST_BAD];
        strbuf_addf(&sb, "},\n  \"up_to_date\": %s\n}\n", clean ? "true" : "false");
    } else {
        strbuf_addf(&sb, "# %zu applied, %zu changed, %zu missing, %zu pending", c.n[MIG_ST_APPLIED],
                    c.n[MIG_ST_CHANGED], c.n[MIG_ST_MISSING], c.n[MIG_ST_PENDING]);
        for (int k = MIG_ST_PARTIAL; k <= MIG_ST_BAD; k++)
            if (c.n[k])
                strbuf_addf(&sb, ", %zu %s", c.n[k], mig_state_name((enum mig_state)k));
        strbuf_addch(&sb, '\n');
    }
    if (!ret)
        fwrite(sb.buf, 1, sb.len, out);
    strbuf_release(&sb);
    if (counts)
        *counts = c;
    return ret;
}

/* ---- baseline ---- */

enum mig_status mig_baseline(PGconn *conn, struct mig_folder *f, const char *upto, size_t *n)
{
    struct mig_db db = {0};
    struct mig_plan plan = {0};
    enum mig_status st = MIG_ERROR;
    *n = 0;
    if (mig_lock(conn, -1) < 0)
        return MIG_ERROR;
    if (mig_db_read(conn, &db, false) < 0)
        goto out;
    if (!db.has_table) {
        error("no hectic.migration table: apply the bundle first ('migrator init')");
        goto out;
    }
    const char *a = NULL, *b = NULL;
    long pos = mig_history_check(f, &db, &a, &b);
    if (pos >= 0) {
        mig_history_report(stderr, f, &db, pos);
        st = MIG_MISMATCH;
        goto out;
    }
    struct mig_request req = {MIG_REQ_TO, 0, upto};
    if (upto && mig_db_find(&db, upto)) {
        info("nothing to record: '%s' is already applied", upto);
        st = MIG_AT_TARGET;
        goto out;
    }
    st = mig_plan(f, &db, &req, &plan);
    if (st != MIG_OK)
        goto out;
    if (mig_blocking(f, &plan, upto == NULL)) {
        error("nothing was recorded: fix the entries above first");
        st = MIG_BLOCKED;
        goto out;
    }
    struct strbuf sql = STRBUF_INIT;
    strbuf_addstr(&sql, "BEGIN; INSERT INTO hectic.migration (name, hash) VALUES ");
    for (size_t i = 0; i < plan.nr; i++) {
        struct mig *m = (struct mig *)plan.v[i].m;
        if (mig_hash(f, m) < 0) {
            strbuf_release(&sql);
            st = MIG_ERROR;
            goto out;
        }
        char *ln = PQescapeLiteral(conn, m->name, strlen(m->name));
        strbuf_addf(&sql, "%s(%s, '%s')", i ? ", " : "", ln ? ln : "NULL", m->hash);
        PQfreemem(ln);
    }
    strbuf_addstr(&sql, "; COMMIT");
    if (pg_exec(conn, sql.buf) < 0) {
        PGresult *r = PQexec(conn, "ROLLBACK");
        PQclear(r);
        st = MIG_ERROR;
    } else {
        *n = plan.nr;
        st = MIG_OK;
    }
    strbuf_release(&sql);
out:
    mig_plan_release(&plan);
    mig_db_release(&db);
    mig_unlock(conn);
    return st;
}
