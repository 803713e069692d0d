/*
 * migrate.c — the migration folder, hectic.migration, the history and hash
 * checks, the advisory lock, planning and running up/down steps through the
 * in-process script runner on one connection.
 *
 * Speed matters here (bench/migrator.sh): a no-op run is one query for the
 * applied list plus a readdir and a few fstatat per entry; a step is three
 * round trips for a one-statement script (BEGIN+SET LOCAL, the statement,
 * bookkeeping+COMMIT), one fewer than `psql` running BEGIN; \i; INSERT; COMMIT.
 */
#include "lib/migrate.h"
#include "lib/pg.h"
#include "lib/sqlscript.h"

#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
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

int mig_meta_parse(const char *name, const char *text, size_t len, bool *transaction)
{
    yaml_parser_t p;
    yaml_event_t ev;
    int ret = 0;
    /* 0 before the mapping, 1 expecting a key, 2 expecting a value, 3 after the mapping */
    int state = 0;
    bool seen = false;
    *transaction = true;
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
            if (strcmp(k, "transaction"))
                ret = meta_err(name, ev.start_mark, "unknown key '%s' (the only key is 'transaction')", k);
            else if (seen)
                ret = meta_err(name, ev.start_mark, "duplicate key 'transaction'");
            seen = true;
            state = 2;
        } else if (state == 2 && t == YAML_SCALAR_EVENT) {
            const char *v = (const char *)ev.data.scalar.value;
            if (meta_bool(v, transaction) < 0)
                ret = meta_err(name, ev.start_mark, "'transaction' expects true or false, got '%s'", v);
            state = 1;
        } else if (state == 2) {
            ret = meta_err(name, ev.start_mark, "'transaction' expects true or false, got a %s",
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
    return ret;
}

int mig_meta_load(const char *path, bool *transaction)
{
    struct strbuf sb = STRBUF_INIT;
    int ret;
    if (strbuf_read_file(&sb, path) < 0)
        ret = error_errno("cannot read '%s'", path);
    else
        ret = mig_meta_parse(path, sb.buf, sb.len, transaction);
    strbuf_release(&sb);
    return ret;
}

/* ---- the folder ---- */

static bool is_file_at(int dfd, const char *rel)
{
    struct stat st;
    return fstatat(dfd, rel, &st, 0) == 0 && S_ISREG(st.st_mode);
}

static int cmp_mig(const void *a, const void *b)
{
    return strcmp(((const struct mig *)a)->name, ((const struct mig *)b)->name);
}

int mig_scan(const char *dir, struct mig_folder *f)
{
    memset(f, 0, sizeof(*f));
    f->dir = xstrdup(dir);
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0)
        return error_errno("cannot open the migration folder '%s'", dir);
    DIR *d = fdopendir(dfd); /* owns dfd from here on */
    if (!d) {
        close(dfd);
        return error_errno("cannot read the migration folder '%s'", dir);
    }
    int ret = 0;
    struct strbuf rel = STRBUF_INIT;
    struct dirent *de;
    errno = 0;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!mig_name_valid(n))
            continue;
        if (de->d_type != DT_DIR && de->d_type != DT_UNKNOWN && de->d_type != DT_LNK)
            continue;
        int fd = dirfd(d);
        struct mig m = {0};
        strbuf_reset(&rel);
        strbuf_addf(&rel, "%s/up.sql", n);
        if (is_file_at(fd, rel.buf)) {
            m.up = xasprintf("%s/%s/up.sql", dir, n);
        } else {
            strbuf_reset(&rel);
            strbuf_addf(&rel, "%s/up/entrypoint.sql", n);
            if (is_file_at(fd, rel.buf)) {
                m.up = xasprintf("%s/%s/up/entrypoint.sql", dir, n);
                m.multi = true;
            }
        }
        static const char *const downs[2][2] = {{"down.sql", "down/entrypoint.sql"},
                                                {"down/entrypoint.sql", "down.sql"}};
        for (int i = 0; i < 2 && !m.down; i++) {
            strbuf_reset(&rel);
            strbuf_addf(&rel, "%s/%s", n, downs[m.multi][i]);
            if (is_file_at(fd, rel.buf))
                m.down = xasprintf("%s/%s/%s", dir, n, downs[m.multi][i]);
        }
        if (!m.up && !m.down) {
            struct stat st;
            if (fstatat(fd, n, &st, 0) < 0 || !S_ISDIR(st.st_mode))
                continue; /* a file that happens to look like a migration name */
        }
        strbuf_reset(&rel);
        strbuf_addf(&rel, "%s/" MIG_META_FILE, n);
        if (faccessat(fd, rel.buf, F_OK, 0) == 0) {
            bool tx = true;
            char *path = xasprintf("%s/%s", dir, rel.buf);
            m.has_meta = true;
            if (mig_meta_load(path, &tx) < 0)
                ret = -1;
            m.no_tx = !tx;
            free(path);
        }
        m.name = xstrdup(n);
        ALLOC_GROW(f->v, f->nr + 1, f->alloc);
        f->v[f->nr++] = m;
        errno = 0;
    }
    if (errno && !ret)
        ret = error_errno("cannot read the migration folder '%s'", dir);
    closedir(d);
    strbuf_release(&rel);
    if (f->nr > 1)
        qsort(f->v, f->nr, sizeof(*f->v), cmp_mig);
    return ret;
}

void mig_folder_release(struct mig_folder *f)
{
    for (size_t i = 0; i < f->nr; i++) {
        free(f->v[i].name);
        free(f->v[i].up);
        free(f->v[i].down);
    }
    free(f->v);
    free(f->dir);
    memset(f, 0, sizeof(*f));
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

/* ---- hectic.migration ---- */

static int cmp_applied(const void *a, const void *b)
{
    return strcmp(((const struct mig_applied *)a)->name, ((const struct mig_applied *)b)->name);
}

int mig_db_read(PGconn *conn, struct mig_db *db)
{
    memset(db, 0, sizeof(*db));
    PGresult *r = PQexec(conn, "SELECT name, hash FROM hectic.migration");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        /* undefined_table / invalid_schema_name: the bundle is not applied yet */
        if (state && (!strcmp(state, "42P01") || !strcmp(state, "3F000"))) {
            PQclear(r);
            return 0;
        }
        pg_print_result_error(r, "cannot read hectic.migration");
        PQclear(r);
        return -1;
    }
    db->has_table = true;
    int n = PQntuples(r);
    db->v = xcalloc(n ? (size_t)n : 1, sizeof(*db->v));
    db->alloc = n ? (size_t)n : 1;
    for (int i = 0; i < n; i++) {
        db->v[i].name = xstrdup(PQgetvalue(r, i, 0));
        db->v[i].hash = xstrdup(PQgetvalue(r, i, 1));
    }
    db->nr = (size_t)n;
    PQclear(r);
    if (db->nr > 1)
        qsort(db->v, db->nr, sizeof(*db->v), cmp_applied);
    return 0;
}

void mig_db_release(struct mig_db *db)
{
    for (size_t i = 0; i < db->nr; i++) {
        free(db->v[i].name);
        free(db->v[i].hash);
    }
    free(db->v);
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

/* ---- checks ---- */

/* The I-th folder migration that has an up file, walking with a cursor. */
static const struct mig *next_runnable(const struct mig_folder *f, size_t *cursor)
{
    while (*cursor < f->nr && !f->v[*cursor].up)
        (*cursor)++;
    return *cursor < f->nr ? &f->v[(*cursor)++] : NULL;
}

long mig_history_check(const struct mig_folder *f, const struct mig_db *db, const char **applied,
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

void mig_history_report(FILE *out, const struct mig_folder *f, const struct mig_db *db, long pos)
{
    size_t nf = 0;
    for (size_t i = 0; i < f->nr; i++)
        nf += f->v[i].up != NULL;
    fprintf(out, "applied migrations (hectic.migration, %zu):\n", db->nr);
    for (size_t i = 0; i < db->nr; i++)
        fprintf(out, "  %5zu  %s%s\n", i + 1, db->v[i].name, (long)i == pos ? "   <-- differs" : "");
    fprintf(out, "folder migrations (%s, %zu):\n", f->dir, nf);
    size_t cur = 0, k = 0;
    for (const struct mig *m; (m = next_runnable(f, &cur)); k++)
        fprintf(out, "  %5zu  %s%s\n", k + 1, m->name, (long)k == pos ? "   <-- differs" : "");
}

int mig_changed(const struct mig_folder *f, const struct mig_db *db, struct strvec *changed,
                struct strvec *hashes)
{
    int n = 0;
    char hex[SHA256_HEX_LEN];
    for (size_t i = 0; i < db->nr; i++) {
        const struct mig *m = mig_find(f, db->v[i].name);
        if (!m || !m->up)
            continue;
        if (sha256_file_hex(m->up, hex) < 0)
            return error_errno("cannot read '%s'", m->up);
        if (strcasecmp(hex, db->v[i].hash)) {
            n++;
            if (changed)
                strvec_push(changed, m->name);
            if (hashes)
                strvec_push(hashes, hex);
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
static void plan_add_down(struct mig_plan *p, const struct mig_folder *f, const char *name)
{
    const struct mig *m = mig_find(f, name);
    if (m) {
        plan_add(p, m, true);
        return;
    }
    struct mig *g = xcalloc(1, sizeof(*g));
    g->name = xstrdup(name);
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

enum mig_status mig_plan(const struct mig_folder *f, const struct mig_db *db,
                         const struct mig_request *req, struct mig_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    if (req->kind == MIG_REQ_UP) {
        size_t cur = 0, pending = 0;
        for (const struct mig *m; (m = next_runnable(f, &cur));)
            if (!mig_db_find(db, m->name))
                pending++;
        if (!pending) {
            const char *at = newest_applied(db);
            info("nothing to apply: already at the newest migration%s%s%s", at ? " '" : "", at ? at : "",
                 at ? "'" : " (there are none)");
            return MIG_AT_TARGET;
        }
        if (req->n > 0 && (size_t)req->n > pending) {
            error("cannot apply %ld migration%s: only %zu %s pending", req->n, req->n == 1 ? "" : "s",
                  pending, pending == 1 ? "is" : "are");
            return MIG_NOT_ENOUGH;
        }
        cur = 0;
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
            error("cannot revert %ld migration%s: only %zu %s applied", req->n, req->n == 1 ? "" : "s", db->nr,
                  db->nr == 1 ? "is" : "are");
            return MIG_NOT_ENOUGH;
        }
        for (size_t i = db->nr; i-- > db->nr - want;)
            plan_add_down(plan, f, db->v[i].name);
        return MIG_OK;
    }
    /* MIG_REQ_TO */
    const char *target = req->name;
    if (!target) {
        for (size_t i = f->nr; i-- > 0;)
            if (f->v[i].up) {
                target = f->v[i].name;
                break;
            }
        if (!target) {
            error("there are no migrations in '%s'", f->dir);
            return MIG_NO_SUCH;
        }
    } else {
        const struct mig *t = mig_find(f, target);
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

/* ---- running ---- */

static void rollback(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(conn, "ROLLBACK");
        PQclear(r);
    }
}

/* Run the script PATH on CONN through a fresh runner session (fresh variables, like one psql run). */
static int run_script(PGconn *conn, const char *path, const struct mig_opts *opts)
{
    struct sql_opts so = {opts && opts->out ? opts->out : stdout, stderr, !(opts && opts->verbose)};
    struct sql_session *s = sql_session_new(conn, &so);
    int r = 0;
    for (size_t i = 0; opts && opts->vars && i < opts->vars->nr && !r; i++)
        r = sql_session_assign(s, opts->vars->v[i]);
    if (!r)
        r = sql_session_run_file(s, path);
    sql_session_free(s);
    return r;
}

/* "INSERT ..." or "DELETE ..." of the bookkeeping row, SQL literals escaped by libpq. */
static char *bookkeeping_sql(PGconn *conn, const char *name, const char *hash, bool down)
{
    char *n = PQescapeLiteral(conn, name, strlen(name));
    char *sql;
    if (!n)
        return NULL;
    if (down) {
        sql = xasprintf("DELETE FROM hectic.migration WHERE name = %s", n);
    } else {
        char *h = PQescapeLiteral(conn, hash, strlen(hash));
        sql = h ? xasprintf("INSERT INTO hectic.migration (name, hash) VALUES (%s, %s)", n, h) : NULL;
        PQfreemem(h);
    }
    PQfreemem(n);
    return sql;
}

static int exec_report(PGconn *conn, const char *sql, const char *what)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pg_print_result_error(r, what);
    PQclear(r);
    return ok ? 0 : -1;
}

/* Invalid indexes: oid -> qualified name, as two parallel strvecs. */
static int invalid_indexes(PGconn *conn, struct strvec *oids, struct strvec *names)
{
    PGresult *r = PQexec(conn, "SELECT i.indexrelid::oid::text, format('%I.%I', n.nspname, c.relname)"
                               " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                               " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_print_result_error(r, "cannot list invalid indexes");
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        strvec_push(oids, PQgetvalue(r, i, 0));
        strvec_push(names, PQgetvalue(r, i, 1));
    }
    PQclear(r);
    return 0;
}

static bool in_strvec(const struct strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->nr; i++)
        if (!strcmp(sv->v[i], s))
            return true;
    return false;
}

static int run_no_tx(PGconn *conn, const struct mig_step *step, const char *path, const char *hash,
                     const struct mig_opts *opts)
{
    const struct mig *m = step->m;
    const char *dir = step->down ? "down" : "up";
    struct strvec before_oid = STRVEC_INIT, before_name = STRVEC_INIT;
    int ret = -1;
    if (invalid_indexes(conn, &before_oid, &before_name) < 0)
        goto out;
    if (exec_report(conn, "SET hectic.migration_mode = 'on'", NULL) < 0)
        goto out;
    int r = run_script(conn, path, opts);
    bool left_open = r == 0 && PQtransactionStatus(conn) != PQTRANS_IDLE;
    rollback(conn);
    exec_report(conn, "RESET hectic.migration_mode", NULL);
    if (r < 0 || left_open) {
        if (left_open)
            error("%s: the script left a transaction open; it was rolled back", path);
        error("migration '%s' (%s, no transaction) %s: statements before the %s one stay "
              "committed; it is NOT recorded as %s",
              m->name, dir, interrupted ? "was interrupted" : "failed", interrupted ? "interrupted" : "failing",
              step->down ? "reverted" : "applied");
        struct strvec after_oid = STRVEC_INIT, after_name = STRVEC_INIT;
        if (invalid_indexes(conn, &after_oid, &after_name) == 0) {
            for (size_t i = 0; i < after_oid.nr; i++) {
                if (in_strvec(&before_oid, after_oid.v[i]))
                    continue;
                char *sql = xasprintf("DROP INDEX CONCURRENTLY IF EXISTS %s", after_name.v[i]);
                if (exec_report(conn, sql, "cannot drop the invalid index") == 0)
                    warn("dropped the INVALID index %s the failed migration left behind", after_name.v[i]);
                else
                    warn("the INVALID index %s is still there: drop it with DROP INDEX CONCURRENTLY",
                         after_name.v[i]);
                free(sql);
            }
        }
        strvec_clear(&after_oid);
        strvec_clear(&after_name);
        if (interrupted)
            error("make sure '%s' can run again (e.g. IF NOT EXISTS) before migrating again", path);
        else
            error("fix '%s' so it can run again (e.g. IF NOT EXISTS), then migrate again", path);
        goto out;
    }
    char *book = bookkeeping_sql(conn, m->name, hash, step->down);
    char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'; %s; COMMIT", book ? book : "");
    if (!book || exec_report(conn, sql, "cannot record the migration") < 0) {
        rollback(conn);
        error("migration '%s' (%s, no transaction) ran but could not be recorded in hectic.migration", m->name,
              dir);
    } else {
        ret = 0;
    }
    free(sql);
    free(book);
out:
    strvec_clear(&before_oid);
    strvec_clear(&before_name);
    return ret;
}

int mig_run_step(PGconn *conn, const struct mig_step *step, const struct mig_opts *opts)
{
    const struct mig *m = step->m;
    const char *dir = step->down ? "down" : "up";
    char hash[SHA256_HEX_LEN] = "";
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return error("migration '%s': the connection is inside a transaction", m->name);
    const char *path = step->down ? m->down : m->up;
    if (!path) {
        if (step->down && !m->up)
            return error("cannot revert '%s': it is applied but has no folder (or no files) in the "
                         "migration folder", m->name);
        return error("cannot %s '%s': it has no %s file", step->down ? "revert" : "apply", m->name,
                     step->down ? (m->multi ? "down/entrypoint.sql" : "down.sql") : "up");
    }
    if (!step->down && sha256_file_hex(m->up, hash) < 0)
        return error_errno("cannot read '%s'", m->up);
    if (m->no_tx)
        return run_no_tx(conn, step, path, hash, opts);

    if (exec_report(conn, "BEGIN; SET LOCAL hectic.migration_mode = 'on'", NULL) < 0) {
        rollback(conn);
        return -1;
    }
    if (run_script(conn, path, opts) < 0) {
        rollback(conn);
        return error("migration '%s' (%s) %s", m->name, dir,
                     interrupted ? "was interrupted and rolled back" : "failed and was rolled back");
    }
    char *book = bookkeeping_sql(conn, m->name, hash, step->down);
    int ret = -1;
    PGTransactionStatusType ts = PQtransactionStatus(conn);
    if (!book) {
        error("cannot quote the migration name '%s'", m->name);
        rollback(conn);
    } else if (ts == PQTRANS_INTRANS) {
        char *sql = xasprintf("%s; COMMIT", book);
        ret = exec_report(conn, sql, "cannot record the migration");
        free(sql);
    } else if (ts == PQTRANS_IDLE) {
        /* the script ran COMMIT/END itself: its work is committed, so record it too */
        warn("migration '%s' (%s) ended the migrator's transaction itself (COMMIT in %s): it is no "
             "longer atomic; remove BEGIN/COMMIT from it or declare 'transaction: false' in " MIG_META_FILE,
             m->name, dir, path);
        char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'; %s; COMMIT", book);
        ret = exec_report(conn, sql, "cannot record the migration");
        free(sql);
    } else {
        error("%s: the script left the transaction in a failed state", path);
    }
    free(book);
    if (ret < 0) {
        rollback(conn);
        return error("migration '%s' (%s) failed and was rolled back", m->name, dir);
    }
    return 0;
}

/* ---- the whole run ---- */

static int accept_changed(PGconn *conn, const struct strvec *names, const struct strvec *hashes)
{
    if (exec_report(conn, "BEGIN", NULL) < 0)
        return -1;
    for (size_t i = 0; i < names->nr; i++) {
        const char *params[2] = {names->v[i], hashes->v[i]};
        PGresult *r = PQexecParams(conn, "UPDATE hectic.migration SET hash = $2 WHERE name = $1", 2, NULL,
                                   params, NULL, NULL, 0);
        int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
        if (!ok)
            pg_print_result_error(r, "cannot record the new hash");
        PQclear(r);
        if (!ok) {
            rollback(conn);
            return -1;
        }
    }
    if (exec_report(conn, "COMMIT", NULL) < 0) {
        rollback(conn);
        return -1;
    }
    for (size_t i = 0; i < names->nr; i++)
        warn("accepted the changed up file of applied migration '%s': recorded hash %s", names->v[i],
             hashes->v[i]);
    return 0;
}

enum mig_status mig_migrate(PGconn *conn, const struct mig_folder *f, const struct mig_request *req,
                            const struct mig_opts *opts, int (*init)(PGconn *conn, void *arg),
                            void *init_arg)
{
    struct mig_db db = {0};
    struct mig_plan plan = {0};
    struct strvec changed = STRVEC_INIT, hashes = STRVEC_INIT;
    enum mig_status st = MIG_ERROR;
    double t_start = now_monotonic();
    if (mig_lock(conn, -1) < 0)
        return MIG_ERROR;
    double t_lock = now_monotonic();
    if (init && init(conn, init_arg) < 0)
        goto out;
    double t_init = now_monotonic();
    if (mig_db_read(conn, &db) < 0)
        goto out;
    double t_read = now_monotonic();
    const char *a = NULL, *b = NULL;
    long pos = mig_history_check(f, &db, &a, &b);
    if (pos >= 0) {
        error("migration history mismatch at position %ld: applied '%s', folder '%s'", pos + 1,
              a ? a : "(none)", b ? b : "(none)");
        mig_history_report(stderr, f, &db, pos);
        if (!opts->force) {
            error("the applied migrations must be the first ones of the folder, in order; nothing was "
                  "changed (restore the missing folders, or pass --force to go on anyway)");
            st = MIG_MISMATCH;
            goto out;
        }
        warn("*** --force: going on past the history mismatch at position %ld: 'up' applies the "
             "folder's unapplied migrations in name order, even those older than applied ones; 'down' "
             "reverts the newest applied ones; migrations without a folder cannot be reverted ***",
             pos + 1);
    }
    int nchanged = mig_changed(f, &db, &changed, &hashes);
    if (nchanged < 0)
        goto out;
    debug("migrate", "lock %.1f ms, init %.1f ms, read %zu applied %.1f ms, hash check %.1f ms",
          (t_lock - t_start) * 1000, (t_init - t_lock) * 1000, db.nr, (t_read - t_init) * 1000,
          (now_monotonic() - t_read) * 1000);
    if (nchanged > 0) {
        if (!opts->accept_changed) {
            for (size_t i = 0; i < changed.nr; i++) {
                const struct mig *m = mig_find(f, changed.v[i]);
                const struct mig_applied *ap = mig_db_find(&db, changed.v[i]);
                error("applied migration '%s' changed: %s hashes to %s, recorded %s", changed.v[i], m->up,
                      hashes.v[i], ap->hash);
            }
            error("refusing to migrate while %d applied migration%s changed: restore the file%s, or "
                  "pass --accept-changed to record the new hash%s",
                  nchanged, nchanged == 1 ? " is" : "s are", nchanged == 1 ? "" : "s", nchanged == 1 ? "" : "es");
            st = MIG_CHANGED;
            goto out;
        }
        if (accept_changed(conn, &changed, &hashes) < 0)
            goto out;
    }
    st = mig_plan(f, &db, req, &plan);
    if (st != MIG_OK)
        goto out;
    double t0 = now_monotonic();
    size_t done = 0;
    bool ran = false; /* the step plan.v[done] was started */
    for (; done < plan.nr; done++) {
        const struct mig_step *s = &plan.v[done];
        if (interrupted) {
            st = MIG_ERROR;
            break;
        }
        if (opts->before_step && opts->before_step(conn, s, opts->before_arg)) {
            st = MIG_MISMATCH;
            break;
        }
        if (mig_run_step(conn, s, opts) < 0) {
            /* a cancelled step exits like an interruption between steps */
            st = interrupted ? MIG_ERROR : MIG_FAILED;
            ran = true;
            break;
        }
        info("%s %s", s->down ? "reverted" : "applied", s->m->name);
    }
    double ms = (now_monotonic() - t0) * 1000;
    if (st == MIG_OK) {
        info("%zu migration%s %s in %.0f ms", done, done == 1 ? "" : "s",
             req->kind == MIG_REQ_DOWN ? "reverted" : "done", ms);
    } else {
        const char *how = !interrupted ? "stopped at" : ran ? "interrupted at" : "interrupted before";
        error("%s '%s': %zu earlier step%s of this run stay%s committed, %zu not run", how,
              plan.v[done].m->name, done, done == 1 ? "" : "s", done == 1 ? "s" : "", plan.nr - done - ran);
    }
out:
    mig_plan_release(&plan);
    strvec_clear(&changed);
    strvec_clear(&hashes);
    mig_db_release(&db);
    mig_unlock(conn);
    return st;
}

/* ---- status ---- */

int mig_status_print(FILE *out, const struct mig_folder *f, const struct mig_db *db)
{
    size_t na = 0, np = 0, nc = 0, nm = 0, ni = 0;
    size_t i = 0, j = 0;
    char hex[SHA256_HEX_LEN];
    /* merge the two sorted lists */
    while (i < f->nr || j < db->nr) {
        int c = i >= f->nr ? 1 : j >= db->nr ? -1 : strcmp(f->v[i].name, db->v[j].name);
        if (c > 0) {
            fprintf(out, "missing     %s  (applied, but not in %s)\n", db->v[j].name, f->dir);
            nm++;
            j++;
            continue;
        }
        const struct mig *m = &f->v[i];
        if (c < 0) {
            if (!m->up) {
                fprintf(out, "incomplete  %s  (no up file: ignored)\n", m->name);
                ni++;
            } else {
                fprintf(out, "pending     %s%s\n", m->name, m->no_tx ? "  (no transaction)" : "");
                np++;
            }
            i++;
            continue;
        }
        if (!m->up) {
            fprintf(out, "missing     %s  (applied, but its up file is gone)\n", m->name);
            nm++;
        } else if (sha256_file_hex(m->up, hex) < 0) {
            return error_errno("cannot read '%s'", m->up);
        } else if (strcasecmp(hex, db->v[j].hash)) {
            fprintf(out, "changed     %s  (up file hashes to %.12s..., recorded %.12s...)\n", m->name, hex,
                    db->v[j].hash);
            nc++;
        } else {
            fprintf(out, "applied     %s\n", m->name);
            na++;
        }
        i++;
        j++;
    }
    fprintf(out, "# %zu applied, %zu changed, %zu missing, %zu pending", na, nc, nm, np);
    if (ni)
        fprintf(out, ", %zu incomplete", ni);
    fprintf(out, "\n");
    return (int)(nc + nm);
}
