/*
 * migrun.c — running migration steps and the whole `migrate` run (see
 * mig_run_step() and mig_migrate() in migrate.h).
 *
 * A transactional step is one transaction the migrator opens; the script runs
 * inside it through lib/sqlscript with hooks around every statement:
 *   before: lib/parse reads the statement. Transaction control (BEGIN,
 *     COMMIT, ROLLBACK, PREPARE TRANSACTION ...) would end the migrator's
 *     transaction: refused before it is sent, so nothing is committed.
 *     Statements that cannot run in a transaction block are held back and
 *     run after the COMMIT. A statement the PostgreSQL 15 grammar does not
 *     know runs as written; that it was not analysed is said once.
 *   after: the transaction status must still be "in a transaction"; when a
 *     statement ended it anyway (something the parser could not see), the
 *     script stops there and the message says what that committed.
 * Nothing is recorded for work that was rolled back: the bookkeeping row
 * rides in the migration's own transaction, and each held-back statement
 * gets its hectic.migration_step row only after it succeeded.
 */
#include "lib/migrate.h"
#include "lib/parse.h"
#include "lib/pg.h"
#include "lib/progress.h"
#include "lib/sqlscript.h"

#include <strings.h>
#include <time.h>

/* What the hooks are doing for the current run of a script. */
enum phase {
    PH_TX,   /* in the migrator's transaction: run, hold back no-transaction statements */
    PH_WALK, /* resuming: the transactional part committed before; hash it, collect held ones */
    PH_NOTX, /* transaction: false: every statement is a recorded step */
    PH_DRY,  /* print, send nothing (transactional classification) */
    PH_DRY_NOTX,
};

struct held {
    char *sql;
    char *file;
    unsigned long line;
    const char *why; /* "CREATE INDEX CONCURRENTLY" (static, from lib/parse) */
    char hash[SHA256_HEX_LEN];
};

struct done {
    int step;
    char hash[SHA256_HEX_LEN];
};

struct run {
    PGconn *conn; /* the migrator's connection: bookkeeping always goes here */
    const struct mig *m;
    bool down;
    const char *path;
    const struct mig_opts *o;
    FILE *out;
    enum phase phase;
    struct held *held;
    size_t held_nr, held_alloc;
    struct sha256_ctx txhash;
    unsigned long nstmt; /* statements seen in this run of the script */
    /* the statements that ran in the transaction, for "what was committed" */
    char *first_loc, *last_loc;
    unsigned long ran;
    struct done *done; /* steps committed (by an earlier run or this one) */
    size_t done_nr, done_alloc;
    bool stopped; /* a hook stopped the script and said why */
    const char *lock_timeout, *statement_timeout;
};

static const char *dir_word(bool down)
{
    return down ? "down" : "up";
}

static void hex_of(struct sha256_ctx *c, char hex[SHA256_HEX_LEN])
{
    static const char x[] = "0123456789abcdef";
    unsigned char d[SHA256_DIGEST_LEN];
    sha256_final(c, d);
    for (int i = 0; i < SHA256_DIGEST_LEN; i++) {
        hex[2 * i] = x[d[i] >> 4];
        hex[2 * i + 1] = x[d[i] & 15];
    }
    hex[64] = 0;
}

static void run_reset(struct run *r)
{
    for (size_t i = 0; i < r->held_nr; i++) {
        free(r->held[i].sql);
        free(r->held[i].file);
    }
    r->held_nr = 0;
    sha256_init(&r->txhash);
    r->nstmt = r->ran = 0;
    free(r->first_loc);
    free(r->last_loc);
    r->first_loc = r->last_loc = NULL;
    r->stopped = false;
}

static void run_release(struct run *r)
{
    run_reset(r);
    free(r->held);
    free(r->done);
}

static const struct done *find_done(const struct run *r, int step)
{
    for (size_t i = 0; i < r->done_nr; i++)
        if (r->done[i].step == step)
            return &r->done[i];
    return NULL;
}

static void add_done(struct run *r, int step, const char *hash)
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
static char *book_row(const struct run *r, const char *hash)
{
    char *n = lit(r->conn, r->m->name);
    char *sql = r->down ? xasprintf("DELETE FROM hectic.migration WHERE name = %s", n)
                        : xasprintf("INSERT INTO hectic.migration (name, hash) VALUES (%s, '%s')", n, hash);
    free(n);
    return sql;
}

static char *book_step(const struct run *r, int step, const char *hash, const char *loc)
{
    char *n = lit(r->conn, r->m->name), *l = lit(r->conn, loc);
    char *sql = xasprintf("INSERT INTO hectic.migration_step (name, direction, step, hash, location) "
                          "VALUES (%s, '%s', %d, '%s', %s)", n, dir_word(r->down), step, hash, l);
    free(n);
    free(l);
    return sql;
}

static char *book_clear(const struct run *r)
{
    char *n = lit(r->conn, r->m->name);
    char *sql = xasprintf("DELETE FROM hectic.migration_step WHERE name = %s AND direction = '%s'", n,
                          dir_word(r->down));
    free(n);
    return sql;
}

/* "SET [LOCAL] lock_timeout = '5s'; ..." for the run's timeouts (may be ""). */
static char *timeouts_sql(const struct run *r, bool local)
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

static int exec_sql(PGconn *conn, const char *sql, const char *what)
{
    PGresult *res = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(res);
    int ok = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK;
    if (!ok)
        pg_print_result_error(res, what);
    PQclear(res);
    return ok ? 0 : -1;
}

static void rollback(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *res = PQexec(conn, "ROLLBACK");
        PQclear(res);
    }
}

/* ---- the hooks ---- */

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
 * it), 0 run it in the transaction, -1 refused (message printed).
 */
static int classify(struct run *r, const struct sql_stmt *st, const char **why)
{
    struct parse_list pl = PARSE_LIST_INIT;
    parse_sql(&pl, st->sql, (unsigned)st->line, 1);
    int ret = 0;
    for (size_t i = 0; i < pl.nr && ret >= 0; i++) {
        const struct parse_stmt *ps = &pl.v[i];
        const char *w;
        if (ps->status == PARSE_UNKNOWN) {
            note_not_analysed(st->file, ps);
        } else if ((w = tx_word(ps->tx))) {
            error("%s:%u: %s in migration '%s' (%s) would end the transaction the migrator runs it in "
                  "(with its hectic.migration row): nothing of it was committed, nothing recorded. Remove "
                  "the transaction control from the script (each migration is already one transaction), "
                  "or declare 'transaction: false' in %s/" MIG_META_FILE " if it must manage its own",
                  st->file, ps->pos.line, w, r->m->name, dir_word(r->down), r->m->name);
            ret = -1;
        } else if (ps->no_transaction) {
            *why = ps->no_transaction_why;
            ret = 1;
        }
    }
    parse_list_release(&pl);
    return ret;
}

static void hold(struct run *r, const struct sql_stmt *st, const char *why)
{
    ALLOC_GROW(r->held, r->held_nr + 1, r->held_alloc);
    struct held *h = &r->held[r->held_nr++];
    h->sql = xstrndup(st->sql, st->len);
    h->file = xstrdup(st->file);
    h->line = st->line;
    h->why = why;
    sha256_hex(st->sql, st->len, h->hash);
}

/* The dry run's text of ST: a location comment and the statement with its ';'. */
static void dry_print(struct run *r, const char *file, unsigned long line, const char *sql, size_t len)
{
    while (len && (sql[len - 1] == ' ' || sql[len - 1] == '\n' || sql[len - 1] == '\t'))
        len--;
    fprintf(r->out, "-- %s:%lu\n%.*s%s\n", file, line, (int)len, sql, len && sql[len - 1] == ';' ? "" : ";");
}

static enum sql_hook_result before(void *arg, const struct sql_stmt *st)
{
    struct run *r = arg;
    const char *why = NULL;
    r->nstmt++;
    if (r->phase == PH_NOTX || r->phase == PH_DRY_NOTX) {
        struct parse_list pl = PARSE_LIST_INIT;
        parse_sql(&pl, st->sql, (unsigned)st->line, 1);
        for (size_t i = 0; i < pl.nr; i++)
            if (pl.v[i].status == PARSE_UNKNOWN)
                note_not_analysed(st->file, &pl.v[i]);
        parse_list_release(&pl);
        if (r->phase == PH_DRY_NOTX) {
            dry_print(r, st->file, st->line, st->sql, st->len);
            return SQL_HOOK_SKIP;
        }
        char hash[SHA256_HEX_LEN];
        sha256_hex(st->sql, st->len, hash);
        const struct done *d = find_done(r, (int)r->nstmt);
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
    int c = classify(r, st, &why);
    if (c < 0) {
        r->stopped = true;
        return SQL_HOOK_STOP;
    }
    if (c > 0) {
        hold(r, st, why);
        if (r->phase == PH_TX)
            info("%s:%lu: %s cannot run inside a transaction block: it runs after the transaction "
                 "of '%s' commits", st->file, st->line, why, r->m->name);
        return SQL_HOOK_SKIP;
    }
    sha256_update(&r->txhash, st->sql, st->len);
    sha256_update(&r->txhash, "", 1);
    if (r->phase == PH_DRY) {
        dry_print(r, st->file, st->line, st->sql, st->len);
        return SQL_HOOK_SKIP;
    }
    if (r->phase == PH_WALK)
        return SQL_HOOK_SKIP;
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
        int ret = exec_sql(r->conn, sql, "cannot record the step in hectic.migration_step");
        free(sql);
        free(loc);
        if (ret == 0)
            add_done(r, (int)r->nstmt, hash);
        else
            r->stopped = true;
        return ret;
    }
    if (r->phase != PH_TX)
        return 0;
    PGTransactionStatusType ts = PQtransactionStatus(r->conn);
    if (ts == PQTRANS_INTRANS)
        return 0;
    r->stopped = true;
    if (ts == PQTRANS_IDLE && starts_with(tag, "ROLLBACK"))
        return error("%s:%lu: this statement (%s) ended the transaction the migrator runs '%s' (%s) in: it "
                     "rolled back everything the migration ran before it; nothing of it is committed or "
                     "recorded, nothing after it ran",
                     st->file, st->line, tag, r->m->name, dir_word(r->down));
    if (ts == PQTRANS_IDLE)
        return error("%s:%lu: this statement (%s) ended the transaction the migrator runs '%s' (%s) in: the "
                     "%lu statement%s the migration ran up to it (%s to %s) ARE COMMITTED, and the migration is "
                     "NOT recorded as %s; nothing after it ran. Undo that work by hand (or make the script "
                     "safe to run again), and declare 'transaction: false' in " MIG_META_FILE " if it must "
                     "manage its own transactions",
                     st->file, st->line, *tag ? tag : "?", r->m->name, dir_word(r->down), r->ran,
                     r->ran == 1 ? "" : "s", r->first_loc ? r->first_loc : "?", r->last_loc ? r->last_loc : "?",
                     r->down ? "reverted" : "applied");
    return error("%s:%lu: after this statement the migrator's transaction is in an unexpected state (%d)",
                 st->file, st->line, (int)ts);
}

static int on_connect(void *arg, const char *dbname)
{
    struct run *r = arg;
    if (r->phase == PH_NOTX)
        return 0;
    r->stopped = true;
    if (r->phase != PH_TX)
        return error("%s: \\connect %s: a dry run (or a resumed run) does not follow it", r->path, dbname);
    return error("%s: \\connect %s would leave the transaction the migrator runs '%s' in; declare "
                 "'transaction: false' in " MIG_META_FILE " for a migration that changes databases",
                 r->path, dbname, r->m->name);
}

/*
 * Run PATH through a fresh runner session (fresh variables, like one psql
 * run) with the hooks. *STATE (may be NULL) gets the SQLSTATE of the error.
 */
static int run_script(struct run *r, enum phase ph, char state[6])
{
    const struct mig_opts *o = r->o;
    r->phase = ph;
    bool dry = ph == PH_DRY || ph == PH_DRY_NOTX || ph == PH_WALK;
    static FILE *devnull;
    if (dry && !devnull)
        devnull = fopen("/dev/null", "we");
    struct sql_opts so = {dry && devnull ? devnull : r->out, stderr, !o->verbose};
    /* a walk or a dry run sends nothing: its hooks skip every statement */
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

/* ---- invalid indexes a failed CONCURRENTLY build leaves behind ---- */

static int invalid_indexes(PGconn *conn, struct strvec *oids, struct strvec *names)
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
static void report_new_invalid(PGconn *conn, const struct strvec *before)
{
    struct strvec oids = STRVEC_INIT, names = STRVEC_INIT;
    if (invalid_indexes(conn, &oids, &names) == 0) {
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
static bool retry_lock(const struct run *r, const char *state, int attempt, const char *what)
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

/* ---- one step ---- */

/* Re-read the committed steps of R's migration (a retry may have rolled some back). */
static int load_done(struct run *r)
{
    r->done_nr = 0;
    const char *params[2] = {r->m->name, dir_word(r->down)};
    PGresult *res = PQexecParams(r->conn,
                                 "SELECT step, hash FROM hectic.migration_step WHERE name = $1 AND direction = $2"
                                 " ORDER BY step",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        int missing = PQresultErrorField(res, PG_DIAG_SQLSTATE) &&
                      !strcmp(PQresultErrorField(res, PG_DIAG_SQLSTATE), "42P01");
        if (!missing)
            pg_print_result_error(res, "cannot read hectic.migration_step");
        PQclear(res);
        return missing ? 0 : -1;
    }
    for (int i = 0; i < PQntuples(res); i++)
        add_done(r, atoi(PQgetvalue(res, i, 0)), PQgetvalue(res, i, 1));
    PQclear(res);
    return 0;
}

/* The statements held back, one by one after the COMMIT; then the final row. */
static int run_held(struct run *r, const char *upfile_hash)
{
    int ret = 0;
    for (size_t i = 0; i < r->held_nr && !ret; i++) {
        struct held *h = &r->held[i];
        int step = (int)i + 1;
        char *loc = xasprintf("%s:%lu", h->file, h->line);
        const struct done *d = find_done(r, step);
        if (d && !strcasecmp(d->hash, h->hash)) {
            info("%s: committed by an earlier run of '%s': skipped", loc, r->m->name);
            free(loc);
            continue;
        }
        if (d) {
            ret = error("%s: the statement held back from the transaction of '%s' changed since an earlier run "
                        "committed it: put it back as it was, or undo that run's work by hand and DELETE its "
                        "rows from hectic.migration_step", loc, r->m->name);
            free(loc);
            break;
        }
        for (int attempt = 0;; attempt++) {
            struct strvec before_oid = STRVEC_INIT, before_name = STRVEC_INIT;
            char *t = timeouts_sql(r, false);
            char *setup = xasprintf("SET hectic.migration_mode = 'on'%s", t);
            free(t);
            int rr = invalid_indexes(r->conn, &before_oid, &before_name);
            if (!rr)
                rr = exec_sql(r->conn, setup, NULL);
            free(setup);
            char state[6] = "";
            if (!rr) {
                struct sql_opts so = {r->out, stderr, !r->o->verbose};
                struct sql_session *s = sql_session_new(r->conn, &so);
                rr = sql_session_run_statement(s, h->file, h->line, h->sql);
                const char *v = sql_session_get(s, "LAST_ERROR_SQLSTATE");
                snprintf(state, sizeof(state), "%s", v ? v : "");
                sql_session_free(s);
            }
            rollback(r->conn);
            exec_sql(r->conn, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout", NULL);
            if (!rr) {
                char *sql = book_step(r, step, h->hash, loc);
                rr = exec_sql(r->conn, sql, "cannot record the step in hectic.migration_step");
                free(sql);
                if (!rr)
                    add_done(r, step, h->hash);
            }
            if (!rr) {
                strvec_clear(&before_oid);
                strvec_clear(&before_name);
                break;
            }
            char *what = xasprintf("%s (%s, after the transaction)", loc, h->why);
            bool again = retry_lock(r, state, attempt, what);
            free(what);
            if (!again) {
                report_new_invalid(r->conn, &before_oid);
                error("migration '%s' (%s) stopped at %s: %s, which runs after the transaction, failed. "
                      "Committed and recorded in hectic.migration_step: the transactional part and %zu "
                      "statement%s after it; 'migrate %s' resumes at %s", r->m->name, dir_word(r->down), loc,
                      h->why, i, i == 1 ? "" : "s", dir_word(r->down), loc);
                ret = -1;
            }
            strvec_clear(&before_oid);
            strvec_clear(&before_name);
            if (ret)
                break;
        }
        free(loc);
    }
    if (ret)
        return -1;
    char *row = book_row(r, upfile_hash), *clear = book_clear(r);
    char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'; %s; %s; COMMIT", row, clear);
    ret = exec_sql(r->conn, sql, "cannot record the migration");
    if (ret) {
        rollback(r->conn);
        error("migration '%s' (%s) ran completely but could not be recorded in hectic.migration", r->m->name,
              dir_word(r->down));
    }
    free(sql);
    free(row);
    free(clear);
    return ret;
}

static int step_tx(struct run *r, const char *hash)
{
    const struct done *d0 = find_done(r, 0);
    if (d0) {
        /* an earlier run committed the transactional part: find what was held back */
        run_reset(r);
        if (run_script(r, PH_WALK, NULL) < 0)
            return error("migration '%s' (%s): cannot read it again to resume it", r->m->name, dir_word(r->down));
        char txh[SHA256_HEX_LEN];
        hex_of(&r->txhash, txh);
        if (strcasecmp(txh, d0->hash))
            return error("migration '%s' (%s): its transactional part was committed by an earlier run (%s) and "
                         "has changed since: put the statements back as they were, or undo that work by hand "
                         "and DELETE its rows from hectic.migration_step", r->m->name, dir_word(r->down),
                         r->path);
        info("resuming '%s' (%s): its transactional part was committed by an earlier run", r->m->name,
             dir_word(r->down));
        return run_held(r, hash);
    }
    for (int attempt = 0;; attempt++) {
        run_reset(r);
        char *t = timeouts_sql(r, true);
        char *begin = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'%s", t);
        free(t);
        int rr = exec_sql(r->conn, begin, NULL);
        free(begin);
        if (rr < 0) {
            rollback(r->conn);
            return -1;
        }
        char state[6] = "";
        rr = run_script(r, PH_TX, state);
        if (rr == 0 && PQtransactionStatus(r->conn) != PQTRANS_INTRANS)
            rr = error("%s: the script left the migrator's transaction in a failed state", r->path);
        if (rr < 0) {
            rollback(r->conn);
            char *what = xasprintf("migration '%s' (%s)", r->m->name, dir_word(r->down));
            bool again = !r->stopped && retry_lock(r, state, attempt, what);
            free(what);
            if (again)
                continue;
            if (r->stopped && PQtransactionStatus(r->conn) == PQTRANS_IDLE && r->ran)
                return error("migration '%s' (%s) stopped", r->m->name, dir_word(r->down));
            return error("migration '%s' (%s) %s", r->m->name, dir_word(r->down),
                         interrupted ? "was interrupted and rolled back" : "failed and was rolled back");
        }
        break;
    }
    int ret;
    if (!r->held_nr) {
        char *row = book_row(r, hash);
        char *sql = xasprintf("%s; COMMIT", row);
        ret = exec_sql(r->conn, sql, "cannot record the migration");
        free(sql);
        free(row);
    } else {
        char txh[SHA256_HEX_LEN];
        hex_of(&r->txhash, txh);
        char *st = book_step(r, 0, txh, r->path);
        char *sql = xasprintf("%s; COMMIT", st);
        ret = exec_sql(r->conn, sql, "cannot record the transactional part in hectic.migration_step");
        free(sql);
        free(st);
        if (!ret)
            add_done(r, 0, txh);
    }
    if (ret < 0) {
        rollback(r->conn);
        return error("migration '%s' (%s) failed and was rolled back", r->m->name, dir_word(r->down));
    }
    if (r->held_nr)
        return run_held(r, hash);
    return 0;
}

static int step_notx(struct run *r, const char *hash)
{
    for (int attempt = 0;; attempt++) {
        struct strvec before_oid = STRVEC_INIT, before_name = STRVEC_INIT;
        run_reset(r);
        if (attempt && load_done(r) < 0)
            return -1;
        char *t = timeouts_sql(r, false);
        char *setup = xasprintf("SET hectic.migration_mode = 'on'%s", t);
        free(t);
        int rr = invalid_indexes(r->conn, &before_oid, &before_name);
        if (!rr)
            rr = exec_sql(r->conn, setup, NULL);
        free(setup);
        char state[6] = "";
        if (!rr)
            rr = run_script(r, PH_NOTX, state);
        bool left_open = rr == 0 && PQtransactionStatus(r->conn) != PQTRANS_IDLE;
        rollback(r->conn);
        exec_sql(r->conn, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout", NULL);
        if (rr == 0 && !left_open) {
            strvec_clear(&before_oid);
            strvec_clear(&before_name);
            break;
        }
        if (left_open)
            error("%s: the script left a transaction open; it was rolled back", r->path);
        char *what = xasprintf("migration '%s' (%s, no transaction)", r->m->name, dir_word(r->down));
        bool again = !left_open && !r->stopped && retry_lock(r, state, attempt, what);
        free(what);
        if (!again) {
            report_new_invalid(r->conn, &before_oid);
            load_done(r);
            error("migration '%s' (%s, no transaction) %s at statement %lu: the %zu statement%s before it that "
                  "succeeded are committed and recorded in hectic.migration_step; it is NOT recorded as %s; "
                  "'migrate %s' resumes at the failing statement", r->m->name, dir_word(r->down),
                  interrupted ? "was interrupted" : "failed", r->nstmt, r->done_nr, r->done_nr == 1 ? "" : "s",
                  r->down ? "reverted" : "applied", dir_word(r->down));
        }
        strvec_clear(&before_oid);
        strvec_clear(&before_name);
        if (!again)
            return -1;
    }
    char *row = book_row(r, hash), *clear = book_clear(r);
    char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'; %s; %s; COMMIT", row, clear);
    int ret = exec_sql(r->conn, sql, "cannot record the migration");
    if (ret) {
        rollback(r->conn);
        error("migration '%s' (%s, no transaction) ran but could not be recorded in hectic.migration", r->m->name,
              dir_word(r->down));
    }
    free(sql);
    free(row);
    free(clear);
    return ret;
}

/* The dry run of one step: the SQL in order, with its transaction boundaries. */
static int step_dry(struct run *r, const char *hash, size_t ndone)
{
    FILE *o = r->out;
    fprintf(o, "\n-- %s (%s): %s%s\n", r->m->name, dir_word(r->down), r->path,
            ndone ? " (resumes an earlier, failed run: committed steps are skipped)" : "");
    char *t = timeouts_sql(r, !r->m->no_tx);
    if (r->m->no_tx) {
        fprintf(o, "-- transaction: false (" MIG_META_FILE "): each statement commits on its own\n");
        fprintf(o, "SET hectic.migration_mode = 'on'%s;\n", t);
        free(t);
        if (run_script(r, PH_DRY_NOTX, NULL) < 0)
            return -1;
        fprintf(o, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout;\n");
    } else {
        fprintf(o, "BEGIN;\nSET LOCAL hectic.migration_mode = 'on'%s;\n", t);
        free(t);
        if (run_script(r, PH_DRY, NULL) < 0) {
            fprintf(o, "-- (refused: see the error)\nROLLBACK;\n");
            return -1;
        }
        if (!r->held_nr) {
            char *row = book_row(r, hash);
            fprintf(o, "%s;\nCOMMIT;\n", row);
            free(row);
            return 0;
        }
        char txh[SHA256_HEX_LEN];
        hex_of(&r->txhash, txh);
        char *st = book_step(r, 0, txh, r->path);
        fprintf(o, "%s;\nCOMMIT;\n", st);
        free(st);
        fprintf(o, "-- after the COMMIT, each on its own (they cannot run inside a transaction block):\n");
        for (size_t i = 0; i < r->held_nr; i++) {
            struct held *h = &r->held[i];
            char *loc = xasprintf("%s:%lu", h->file, h->line);
            char *tt = timeouts_sql(r, false);
            fprintf(o, "SET hectic.migration_mode = 'on'%s;\n", tt);
            free(tt);
            dry_print(r, h->file, h->line, h->sql, strlen(h->sql));
            char *bs = book_step(r, (int)i + 1, h->hash, loc);
            fprintf(o, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout;\n%s;\n", bs);
            free(bs);
            free(loc);
        }
    }
    char *row = book_row(r, hash), *clear = book_clear(r);
    fprintf(o, "BEGIN;\nSET LOCAL hectic.migration_mode = 'on';\n%s;\n%s;\nCOMMIT;\n", row, clear);
    free(row);
    free(clear);
    return 0;
}

int mig_run_step(PGconn *conn, const struct mig_step *step, const struct mig_db *db,
                 const struct mig_opts *opts)
{
    const struct mig *m = step->m;
    char hash[SHA256_HEX_LEN] = "";
    if (!opts->dry_run && PQtransactionStatus(conn) != PQTRANS_IDLE)
        return error("migration '%s': the connection is inside a transaction", m->name);
    const char *path = step->down ? m->down : m->up;
    if (!path) {
        if (step->down && !m->up)
            return error("cannot revert '%s': it is applied but has no folder (or no files) in the "
                         "migration folder", m->name);
        if (step->down)
            return error("cannot revert '%s': it has no %s", m->name,
                         m->multi ? "down/entrypoint.sql" : "down.sql");
        return error("cannot apply '%s': %s", m->name, m->why ? m->why : "it has no up file");
    }
    if (!step->down) {
        if (m->hash[0])
            memcpy(hash, m->hash, sizeof(hash));
        else if (sha256_file_hex(m->up, hash) < 0)
            return error_errno("cannot read '%s'", m->up);
    }
    struct run r = {0};
    r.conn = conn;
    r.m = m;
    r.down = step->down;
    r.path = path;
    r.o = opts;
    r.out = opts->out ? opts->out : stdout;
    r.lock_timeout = m->meta.lock_timeout ? m->meta.lock_timeout : opts->lock_timeout;
    r.statement_timeout = m->meta.statement_timeout ? m->meta.statement_timeout : opts->statement_timeout;
    sha256_init(&r.txhash);
    size_t np = 0;
    const struct mig_progress *pr = mig_db_progress(db, m->name, step->down, &np);
    for (size_t i = 0; i < np; i++)
        add_done(&r, pr[i].step, pr[i].hash);
    int ret;
    if (opts->dry_run)
        ret = step_dry(&r, hash, np);
    else if (m->no_tx)
        ret = step_notx(&r, hash);
    else
        ret = step_tx(&r, hash);
    run_release(&r);
    return ret;
}

/* ---- the whole run ---- */

static int accept_changed(PGconn *conn, const struct strvec *names, const struct strvec *hashes)
{
    if (exec_sql(conn, "BEGIN", NULL) < 0)
        return -1;
    for (size_t i = 0; i < names->nr; i++) {
        const char *params[2] = {names->v[i], hashes->v[i]};
        PGresult *res = PQexecParams(conn, "UPDATE hectic.migration SET hash = $2 WHERE name = $1", 2, NULL,
                                     params, NULL, NULL, 0);
        int ok = PQresultStatus(res) == PGRES_COMMAND_OK;
        if (!ok)
            pg_print_result_error(res, "cannot record the new hash");
        PQclear(res);
        if (!ok) {
            rollback(conn);
            return -1;
        }
    }
    if (exec_sql(conn, "COMMIT", NULL) < 0) {
        rollback(conn);
        return -1;
    }
    for (size_t i = 0; i < names->nr; i++)
        warn("accepted the changed up file of applied migration '%s': recorded hash %s", names->v[i],
             hashes->v[i]);
    return 0;
}

enum mig_status mig_migrate(PGconn *conn, struct mig_folder *f, const struct mig_request *req,
                            const struct mig_opts *opts)
{
    struct mig_db db = {0};
    struct mig_plan plan = {0};
    struct strvec changed = STRVEC_INIT, hashes = STRVEC_INIT;
    enum mig_status st = MIG_ERROR;
    double t_start = now_monotonic();
    bool locked = false;
    if (!opts->dry_run) {
        if (mig_lock(conn, -1) < 0)
            return MIG_ERROR;
        locked = true;
    }
    double t_lock = now_monotonic();
    if (opts->init && opts->init(conn, false, opts->init_arg) < 0)
        goto out;
    double t_init = now_monotonic();
    if (mig_db_read(conn, &db, false) < 0)
        goto out;
    double t_read = now_monotonic();
    int nchanged = mig_changed(f, &db, &changed, &hashes);
    if (nchanged < 0)
        goto out;
    double t_hash = now_monotonic();
    const char *a = NULL, *b = NULL;
    long pos = mig_history_check(f, &db, &a, &b);
    if (pos >= 0) {
        mig_history_report(stderr, f, &db, pos);
        if (!opts->force) {
            error("migration history mismatch at position %ld: nothing was changed", pos + 1);
            st = MIG_MISMATCH;
            goto out;
        }
        warn("*** --force: going on past the history mismatch at position %ld: 'up' applies the "
             "folder's unapplied migrations in name order, even those older than applied ones; 'down' "
             "reverts the newest applied ones; migrations without a folder cannot be reverted ***",
             pos + 1);
    }
    debug("migrate", "lock %.1f ms, version check %.1f ms, read %zu applied %.1f ms, hash check %.1f ms",
          (t_lock - t_start) * 1000, (t_init - t_lock) * 1000, db.nr, (t_read - t_init) * 1000,
          (t_hash - t_read) * 1000);
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
        if (opts->dry_run) {
            for (size_t i = 0; i < changed.nr; i++)
                fprintf(opts->out ? opts->out : stdout, "UPDATE hectic.migration SET hash = '%s' WHERE name = '%s';\n",
                        hashes.v[i], changed.v[i]);
        } else if (accept_changed(conn, &changed, &hashes) < 0) {
            goto out;
        }
    }
    st = mig_plan(f, &db, req, &plan);
    bool all = (req->kind == MIG_REQ_UP && req->n <= 0) || (req->kind == MIG_REQ_TO && !req->name);
    if ((st == MIG_OK || st == MIG_NONE || st == MIG_AT_TARGET) && mig_blocking(f, &plan, all)) {
        error("nothing was changed: the entries above lie in the way of this migrate (fix or remove them)");
        st = MIG_BLOCKED;
        goto out;
    }
    if (st != MIG_OK)
        goto out;
    /* every migration.yaml of the plan is read before anything runs */
    for (size_t i = 0; i < plan.nr; i++) {
        struct mig *m = (struct mig *)mig_find(f, plan.v[i].m->name);
        if (m && mig_resolve(f, m) < 0) {
            st = MIG_CONFIG;
            goto out;
        }
    }
    if (opts->dry_run) {
        FILE *o = opts->out ? opts->out : stdout;
        fprintf(o, "-- migrator migrate --dry-run: %zu step%s, in this order; nothing is sent\n", plan.nr,
                plan.nr == 1 ? "" : "s");
        for (size_t i = 0; i < plan.nr; i++)
            if (mig_run_step(conn, &plan.v[i], &db, opts) < 0) {
                st = MIG_FAILED;
                goto out;
            }
        fflush(o);
        st = MIG_OK;
        goto out;
    }
    if (opts->init && opts->init(conn, true, opts->init_arg) < 0) {
        st = MIG_ERROR;
        goto out;
    }
    double t0 = now_monotonic();
    size_t done = 0;
    bool ran = false; /* the step plan.v[done] was started */
    struct progress *pg = opts->progress ? progress_start("migrate", plan.nr, PROGRESS_ITEMS) : NULL;
    bool lines = !pg || plan.nr <= 20;
    for (; done < plan.nr; done++) {
        const struct mig_step *s = &plan.v[done];
        if (interrupted) {
            st = MIG_ERROR;
            break;
        }
        if (mig_run_step(conn, s, &db, opts) < 0) {
            /* a cancelled step exits like an interruption between steps */
            st = interrupted ? MIG_ERROR : MIG_FAILED;
            ran = true;
            break;
        }
        if (lines)
            info("%s %s", s->down ? "reverted" : "applied", s->m->name);
        progress_update_detail(pg, done + 1, s->m->name);
    }
    progress_stop(&pg);
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
    if (locked)
        mig_unlock(conn);
    return st;
}
