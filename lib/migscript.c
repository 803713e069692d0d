/*
 * migscript.c — running one migration's script for a step of lib/migrun.c
 * (which describes the whole): the state of a run and the SQL text of its
 * bookkeeping, what lib/parse says about each statement, the hooks around
 * every statement that watch the migrator's transaction, the transactional
 * segments and the held-back statements between them ("units"), and the
 * lock_timeout retries and invalid-index reports both files use.
 */
#include "lib/migrun_int.h"
#include "lib/parse.h"
#include "lib/pg.h"
#include "lib/sqlscript.h"

#include <strings.h>
#include <time.h>

const char *migrun_dir_word(bool down)
{
    return down ? "down" : "up";
}

static void hex_of(const struct sha256_ctx *c, char hex[SHA256_HEX_LEN])
{
    static const char x[] = "0123456789abcdef";
    struct sha256_ctx copy = *c;
    unsigned char d[SHA256_DIGEST_LEN];
    sha256_final(&copy, d);
    for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
        hex[2 * i] = x[d[i] >> 4];
        hex[2 * i + 1] = x[d[i] & 15];
    }
    hex[64] = 0;
}

static const struct done *find_done(const struct run *r, int step)
{
    for (size_t i = 0; i < r->done_nr; i++)
        if (r->done[i].step == step)
            return &r->done[i];
    return NULL;
}

void migrun_add_done(struct run *r, int step, const char *hash)
{
    ALLOC_GROW(r->done, r->done_nr + 1, r->done_alloc);
    r->done[r->done_nr].step = step;
    snprintf(r->done[r->done_nr].hash, SHA256_HEX_LEN, "%s", hash);
    r->done_nr++;
}

/* ---- SQL text of the bookkeeping (also what the dry run prints) ---- */

static char *lit(PGconn *conn, const char *s)
{
    char *q = conn ? PQescapeLiteral(conn, s, strlen(s)) : NULL;
    char *r = q ? xstrdup(q) : pg_quote_literal(s);
    PQfreemem(q);
    return r;
}

/* INSERT (up) or DELETE (down) of the hectic.migration row. */
char *migrun_book_row(const struct run *r)
{
    char *n = lit(r->conn, r->m->name);
    char *sql = r->down ? xasprintf("DELETE FROM hectic.migration WHERE name = %s", n)
                        : xasprintf("INSERT INTO hectic.migration (name, hash) VALUES (%s, '%s')", n, r->hash);
    free(n);
    return sql;
}

static char *book_step(const struct run *r, int step, const char *hash, const char *loc)
{
    char *n = lit(r->conn, r->m->name), *l = lit(r->conn, loc);
    char *sql = xasprintf("INSERT INTO hectic.migration_step (name, direction, step, hash, location) "
                          "VALUES (%s, '%s', %d, '%s', %s)", n, migrun_dir_word(r->down), step, hash, l);
    free(n);
    free(l);
    return sql;
}

char *migrun_book_clear(const struct run *r)
{
    char *n = lit(r->conn, r->m->name);
    char *sql = xasprintf("DELETE FROM hectic.migration_step WHERE name = %s AND direction = '%s'", n,
                          migrun_dir_word(r->down));
    free(n);
    return sql;
}

/* "; SET [LOCAL] lock_timeout = '5s'; ..." for the run's timeouts (may be ""). */
char *migrun_timeouts_sql(const struct run *r, bool local)
{
    struct strbuf sb = STRBUF_INIT;
    const char *kw = local ? "SET LOCAL" : "SET";
    if (r->lock_timeout) {
        char *v = lit(r->conn, r->lock_timeout);
        strbuf_addf(&sb, "; %s lock_timeout = %s", kw, v);
        free(v);
    }
    if (r->statement_timeout) {
        char *v = lit(r->conn, r->statement_timeout);
        strbuf_addf(&sb, "; %s statement_timeout = %s", kw, v);
        free(v);
    }
    return strbuf_detach(&sb, NULL);
}

int migrun_exec_sql(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pg_print_result_error(res, what);
    PQclear(res);
    return ok ? 0 : -1;
}

void migrun_rollback(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(conn, "ROLLBACK");
        PQclear(res);
    }
}

/* ---- lib/parse ---- */

/* Say once per process that FILE:LINE was not analysed, and why. */
static void note_not_analysed(const char *file, const struct parse_stmt *ps)
{
    static struct strvec said = STRVEC_INIT;
    char *key = xasprintf("%s:%u", file, ps->pos.line);
    for (size_t i = 0; i < said.nr; i++)
        if (!strcmp(said.v[i], key)) {
            free(key);
            return;
        }
    notice("%s: not analysed (the PostgreSQL 15 grammar dbtool reads SQL with rejects it: %s); "
           "it runs as written and the server decides", key, ps->error ? ps->error : "syntax error");
    strvec_push(&said, key);
    free(key);
}

static const char *tx_word(enum parse_tx tx)
{
    switch (tx) {
    case PARSE_TX_BEGIN:
        return "BEGIN";
    case PARSE_TX_COMMIT:
        return "COMMIT";
    case PARSE_TX_ROLLBACK:
        return "ROLLBACK";
    case PARSE_TX_PREPARE:
        return "PREPARE TRANSACTION";
    case PARSE_TX_COMMIT_PREPARED:
        return "COMMIT PREPARED";
    case PARSE_TX_ROLLBACK_PREPARED:
        return "ROLLBACK PREPARED";
    default:
        return NULL;
    }
}

/*
 * What lib/parse says about ST: 1 hold it back (*why: the server's name for
 * it), 0 run it in the transaction, -1 refused (message printed). With
 * TX_CONTROL_OK (transaction: false) transaction control is the script's own.
 */
static int classify(struct run *r, const struct sql_stmt *st, bool tx_control_ok, const char **why)
{
    struct parse_list pl = PARSE_LIST_INIT;
    parse_sql(&pl, st->sql, (unsigned)st->line, 1);
    int ret = 0;
    for (size_t i = 0; i < pl.nr && ret >= 0; i++) {
        const struct parse_stmt *ps = &pl.v[i];
        const char *w;
        if (ps->status == PARSE_UNKNOWN) {
            note_not_analysed(st->file, ps);
        } else if (!tx_control_ok && (w = tx_word(ps->tx))) {
            error("%s:%u: %s in migration '%s' (%s) would end the transaction the migrator runs it in "
                  "(with its hectic.migration row): nothing of it was committed, nothing recorded. Remove "
                  "the transaction control from the script (each migration is already one transaction), "
                  "or declare 'transaction: false' in %s/" MIG_META_FILE " if it must manage its own",
                  st->file, ps->pos.line, w, r->m->name, migrun_dir_word(r->down), r->m->name);
            ret = -1;
        } else if (ps->no_transaction) {
            *why = ps->no_transaction_why;
            ret = 1;
        }
    }
    parse_list_release(&pl);
    return ret;
}

/* The dry run's text of a statement: a location comment and the statement with its ';'. */
static void dry_print(struct run *r, const char *file, unsigned long line, const char *sql, size_t len)
{
    while (len && (sql[len - 1] == ' ' || sql[len - 1] == '\n' || sql[len - 1] == '\t'))
        len--;
    fprintf(r->out, "-- %s:%lu\n%.*s%s\n", file, line, (int)len, sql, len && sql[len - 1] == ';' ? "" : ";");
}

/* ---- invalid indexes a failed CONCURRENTLY build leaves behind ---- */

int migrun_invalid_indexes(PGconn *conn, struct strvec *oids, struct strvec *names)
{
    PGresult *res = PQexec(conn, "SELECT i.indexrelid::oid::text, format('%I.%I', n.nspname, c.relname)"
                                 " FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                                 " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE NOT i.indisvalid");
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_print_result_error(res, "cannot list invalid indexes");
        PQclear(res);
        return -1;
    }
    for (int i = 0; i < PQntuples(res); i++) {
        strvec_push(oids, PQgetvalue(res, i, 0));
        strvec_push(names, PQgetvalue(res, i, 1));
    }
    PQclear(res);
    return 0;
}

/* Name every INVALID index that is not in BEFORE, with how to drop it. */
void migrun_report_new_invalid(PGconn *conn, const struct strvec *before)
{
    struct strvec oids = STRVEC_INIT, names = STRVEC_INIT;
    if (migrun_invalid_indexes(conn, &oids, &names) == 0) {
        for (size_t i = 0; i < oids.nr; i++) {
            bool old = false;
            for (size_t j = 0; j < before->nr && !old; j++)
                old = !strcmp(before->v[j], oids.v[i]);
            if (!old)
                error("the failed build left the INVALID index %s behind (it is not used for reads but "
                      "slows every write); drop it before migrating again:  DROP INDEX CONCURRENTLY IF "
                      "EXISTS %s;", names.v[i], names.v[i]);
        }
    }
    strvec_clear(&oids);
    strvec_clear(&names);
}

/* ---- lock_timeout retries ---- */

static void sleep_s(double s)
{
    struct timespec ts = {(time_t)s, (long)((s - (double)(time_t)s) * 1e9)};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted)
        ;
}

/* After a failure with SQLSTATE STATE on attempt ATTEMPT (0-based): wait and say so, or false. */
bool migrun_retry_lock(const struct run *r, const char *state, int attempt, const char *what)
{
    if (strcmp(state, "55P03") || attempt >= r->o->lock_retries || interrupted)
        return false;
    double delay = (r->o->retry_delay > 0 ? r->o->retry_delay : 0.5);
    for (int i = 0; i < attempt; i++)
        delay *= 2;
    if (delay > 30)
        delay = 30;
    warn("%s could not get its lock (lock_timeout%s%s): retry %d of %d in %.1f s", what,
         r->lock_timeout ? " " : "", r->lock_timeout ? r->lock_timeout : "", attempt + 1, r->o->lock_retries,
         delay);
    sleep_s(delay);
    return !interrupted;
}

/* ---- units ---- */

/* Open the transaction of a segment (BEGIN; SET LOCAL ...). */
static int seg_begin(struct run *r)
{
    char *t = migrun_timeouts_sql(r, true);
    char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'%s", t);
    int ret;
    if (r->dry) {
        fprintf(r->out, "BEGIN;\nSET LOCAL hectic.migration_mode = 'on'%s;\n", t);
        ret = 0;
    } else {
        ret = migrun_exec_sql(r->conn, sql, NULL);
    }
    free(t);
    free(sql);
    if (!ret)
        r->in_tx = true;
    return ret;
}

/*
 * The transactional segment that just ended (a held-back statement follows):
 * a done one is checked, a run one committed with its step row.
 */
int migrun_seg_end(struct run *r)
{
    if (!r->seg_open) {
        /* a transaction opened for nothing (chained in, then a held-back statement first) */
        if (r->in_tx && !r->dry) {
            int ret = migrun_exec_sql(r->conn, "COMMIT", NULL);
            r->in_tx = false;
            return ret;
        }
        return 0;
    }
    char hex[SHA256_HEX_LEN];
    hex_of(&r->seg, hex);
    const struct done *d = find_done(r, r->unit);
    int ret = 0;
    if (d && !r->in_tx) {
        if (strcasecmp(d->hash, hex))
            ret = error("migration '%s' (%s): the statements from %s on were committed by an earlier run and "
                        "have changed since: put them back as they were, or undo that work by hand and DELETE "
                        "the rows of hectic.migration_step for it", r->m->name, migrun_dir_word(r->down),
                        r->seg_loc ? r->seg_loc : r->path);
    } else {
        char *st = book_step(r, r->unit, hex, r->seg_loc ? r->seg_loc : r->path);
        char *sql = xasprintf("%s; COMMIT", st);
        if (r->dry)
            fprintf(r->out, "%s;\nCOMMIT;\n", st);
        else
            ret = migrun_exec_sql(r->conn, sql, "cannot record the step in hectic.migration_step");
        free(sql);
        free(st);
        if (!ret) {
            migrun_add_done(r, r->unit, hex);
            r->wrote++;
        }
        r->in_tx = false;
    }
    r->unit++;
    r->seg_open = false;
    free(r->seg_loc);
    r->seg_loc = NULL;
    sha256_init(&r->seg);
    return ret;
}

/* A held-back statement, as its own unit: skipped when done, else run and recorded. */
static int run_held(struct run *r, const struct sql_stmt *st, const char *why)
{
    char hash[SHA256_HEX_LEN];
    sha256_hex(st->sql, st->len, hash);
    char *loc = xasprintf("%s:%lu", st->file, st->line);
    int step = r->unit++;
    const struct done *d = find_done(r, step);
    int ret = 0;
    if (d) {
        if (!strcasecmp(d->hash, hash))
            info("%s: committed by an earlier run of '%s': skipped", loc, r->m->name);
        else
            ret = error("%s: %s ran in an earlier run of '%s' and has changed since: put it back as it was, or "
                        "undo that run's work by hand and DELETE its rows from hectic.migration_step",
                        loc, why, r->m->name);
        free(loc);
        return ret;
    }
    if (r->dry) {
        char *t = migrun_timeouts_sql(r, false);
        fprintf(r->out, "-- %s cannot run inside a transaction block: on its own\nSET hectic.migration_mode = "
                        "'on'%s;\n", why, t);
        free(t);
        dry_print(r, st->file, st->line, st->sql, st->len);
        char *bs = book_step(r, step, hash, loc);
        fprintf(r->out, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout;\n%s;\n", bs);
        free(bs);
        free(loc);
        migrun_add_done(r, step, hash);
        return 0;
    }
    info("%s: %s cannot run inside a transaction block: it runs on its own, after what comes before it "
         "commits", loc, why);
    for (int attempt = 0;; attempt++) {
        struct strvec before_oid = STRVEC_INIT, before_name = STRVEC_INIT;
        char *t = migrun_timeouts_sql(r, false);
        char *setup = xasprintf("SET hectic.migration_mode = 'on'%s", t);
        free(t);
        int rr = migrun_invalid_indexes(r->conn, &before_oid, &before_name);
        if (!rr)
            rr = migrun_exec_sql(r->conn, setup, NULL);
        free(setup);
        char state[6] = "";
        if (!rr) {
            struct sql_opts so = {r->out, stderr, !r->o->verbose};
            struct sql_session *s = sql_session_new(r->conn, &so);
            rr = sql_session_run_statement(s, st->file, st->line, st->sql);
            const char *v = sql_session_get(s, "LAST_ERROR_SQLSTATE");
            snprintf(state, sizeof(state), "%s", v ? v : "");
            sql_session_free(s);
        }
        migrun_rollback(r->conn);
        migrun_exec_sql(r->conn, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout", NULL);
        if (!rr) {
            char *sql = book_step(r, step, hash, loc);
            rr = migrun_exec_sql(r->conn, sql, "cannot record the step in hectic.migration_step");
            free(sql);
            if (!rr) {
                migrun_add_done(r, step, hash);
                r->wrote++;
            }
        }
        if (!rr) {
            strvec_clear(&before_oid);
            strvec_clear(&before_name);
            break;
        }
        char *what = xasprintf("%s (%s, on its own)", loc, why);
        bool again = migrun_retry_lock(r, state, attempt, what);
        free(what);
        if (!again) {
            migrun_report_new_invalid(r->conn, &before_oid);
            size_t committed = r->done_nr;
            error("migration '%s' (%s) stopped at %s: %s, which runs on its own, failed. Committed and recorded "
                  "in hectic.migration_step: %zu step%s before it; 'migrate %s' resumes at %s", r->m->name,
                  migrun_dir_word(r->down), loc, why, committed, committed == 1 ? "" : "s", migrun_dir_word(r->down), loc);
            ret = -1;
        }
        strvec_clear(&before_oid);
        strvec_clear(&before_name);
        if (ret)
            break;
    }
    free(loc);
    return ret;
}

/* ---- the hooks ---- */

static enum sql_hook_result before(void *arg, const struct sql_stmt *st)
{
    struct run *r = arg;
    const char *why = NULL;
    r->nstmt++;
    if (r->phase == PH_NOTX) {
        if (classify(r, st, true, &why) < 0) {
            r->stopped = true;
            return SQL_HOOK_STOP;
        }
        char hash[SHA256_HEX_LEN];
        sha256_hex(st->sql, st->len, hash);
        const struct done *d = find_done(r, (int)r->nstmt);
        if (r->dry && !d) {
            char *loc = xasprintf("%s:%lu", st->file, st->line);
            char *bs = book_step(r, (int)r->nstmt, hash, loc);
            dry_print(r, st->file, st->line, st->sql, st->len);
            fprintf(r->out, "%s;\n", bs);
            free(bs);
            free(loc);
            return SQL_HOOK_SKIP;
        }
        if (d && !strcasecmp(d->hash, hash)) {
            info("%s:%lu: committed by an earlier run of '%s': skipped", st->file, st->line, r->m->name);
            return SQL_HOOK_SKIP;
        }
        if (d) {
            error("%s:%lu: statement %lu of '%s' changed since an earlier run committed it: put it back as it "
                  "was, or undo that run's work by hand and DELETE its rows from hectic.migration_step",
                  st->file, st->line, r->nstmt, r->m->name);
            r->stopped = true;
            return SQL_HOOK_STOP;
        }
        return SQL_HOOK_RUN;
    }
    int c = classify(r, st, false, &why);
    if (c < 0) {
        r->stopped = true;
        return SQL_HOOK_STOP;
    }
    if (c > 0) {
        if (migrun_seg_end(r) < 0 || run_held(r, st, why) < 0) {
            r->stopped = true;
            return SQL_HOOK_STOP;
        }
        return SQL_HOOK_SKIP;
    }
    /* a statement of the current segment */
    if (!r->seg_open) {
        r->seg_open = true;
        r->seg_loc = xasprintf("%s:%lu", st->file, st->line);
    }
    sha256_update(&r->seg, st->sql, st->len);
    sha256_update(&r->seg, "", 1);
    if (find_done(r, r->unit))
        return SQL_HOOK_SKIP; /* committed by an earlier run: migrun_seg_end() checks it did not change */
    if (!r->in_tx && seg_begin(r) < 0) {
        r->stopped = true;
        return SQL_HOOK_STOP;
    }
    if (r->dry) {
        dry_print(r, st->file, st->line, st->sql, st->len);
        return SQL_HOOK_SKIP;
    }
    char *loc = xasprintf("%s:%lu", st->file, st->line);
    if (!r->first_loc)
        r->first_loc = xstrdup(loc);
    free(r->last_loc);
    r->last_loc = loc;
    r->ran++;
    return SQL_HOOK_RUN;
}

static int after(void *arg, const struct sql_stmt *st, const char *tag)
{
    struct run *r = arg;
    if (r->phase == PH_NOTX) {
        char hash[SHA256_HEX_LEN];
        char *loc = xasprintf("%s:%lu", st->file, st->line);
        sha256_hex(st->sql, st->len, hash);
        char *sql = book_step(r, (int)r->nstmt, hash, loc);
        int ret = migrun_exec_sql(r->conn, sql, "cannot record the step in hectic.migration_step");
        free(sql);
        free(loc);
        if (ret == 0)
            migrun_add_done(r, (int)r->nstmt, hash);
        else
            r->stopped = true;
        return ret;
    }
    PGTransactionStatusType ts = PQtransactionStatus(r->conn);
    if (ts == PQTRANS_INTRANS)
        return 0;
    r->stopped = true;
    r->in_tx = false;
    if (ts == PQTRANS_IDLE && starts_with(tag, "ROLLBACK"))
        return error("%s:%lu: this statement (%s) ended the transaction the migrator runs '%s' (%s) in: it "
                     "rolled back what the migration ran in it; nothing of that is committed or recorded, "
                     "nothing after it ran",
                     st->file, st->line, tag, r->m->name, migrun_dir_word(r->down));
    if (ts == PQTRANS_IDLE)
        return error("%s:%lu: this statement (%s) ended the transaction the migrator runs '%s' (%s) in: the "
                     "%lu statement%s the migration ran in it (%s to %s) ARE COMMITTED, and the migration is "
                     "NOT recorded as %s; nothing after it ran. Undo that work by hand (or make the script "
                     "safe to run again), and declare 'transaction: false' in " MIG_META_FILE " if it must "
                     "manage its own transactions",
                     st->file, st->line, *tag ? tag : "?", r->m->name, migrun_dir_word(r->down), r->ran,
                     r->ran == 1 ? "" : "s", r->first_loc ? r->first_loc : "?", r->last_loc ? r->last_loc : "?",
                     r->down ? "reverted" : "applied");
    return error("%s:%lu: after this statement the migrator's transaction is in an unexpected state (%d)",
                 st->file, st->line, (int)ts);
}

static int on_connect(void *arg, const char *dbname)
{
    struct run *r = arg;
    if (r->phase == PH_NOTX && !r->dry)
        return 0;
    r->stopped = true;
    if (r->dry)
        return error("%s: \\connect %s: a dry run does not follow it", r->path, dbname);
    return error("%s: \\connect %s would leave the transaction the migrator runs '%s' in; declare "
                 "'transaction: false' in " MIG_META_FILE " for a migration that changes databases",
                 r->path, dbname, r->m->name);
}

/*
 * Run PATH through a fresh runner session (fresh variables, like one psql
 * run) with the hooks. STATE (may be NULL) gets the SQLSTATE of the error.
 */
int migrun_run_script(struct run *r, enum phase ph, char state[6])
{
    const struct mig_opts *o = r->o;
    r->phase = ph;
    static FILE *devnull;
    if (r->dry && !devnull)
        devnull = fopen("/dev/null", "we");
    struct sql_opts so = {r->dry && devnull ? devnull : r->out, stderr, !o->verbose};
    struct sql_session *s = sql_session_new(r->conn, &so);
    struct sql_hooks h = {r, before, after, on_connect};
    sql_session_set_hooks(s, &h);
    int ret = 0;
    for (size_t i = 0; o->vars && i < o->vars->nr && !ret; i++)
        ret = sql_session_assign(s, o->vars->v[i]);
    if (!ret)
        ret = sql_session_run_file(s, r->path);
    if (state) {
        const char *v = sql_session_get(s, "LAST_ERROR_SQLSTATE");
        snprintf(state, 6, "%s", v && !r->stopped ? v : "");
    }
    sql_session_free(s);
    return ret;
}

