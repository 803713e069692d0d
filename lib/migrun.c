/*
 * migrun.c — running migration steps and the whole `migrate` run (see
 * mig_run_step() and mig_migrate() in migrate.h).
 *
 * A transactional migration runs in the migrator's transaction, through
 * lib/sqlscript with hooks around every statement:
 *   before: lib/parse reads the statement. Transaction control (BEGIN,
 *     COMMIT, ROLLBACK, PREPARE TRANSACTION ...) would end the migrator's
 *     transaction: refused before it is sent, so nothing of it is committed.
 *     A statement that cannot run inside a transaction block ends the
 *     transaction before it (its work committed with a hectic.migration_step
 *     row), runs on its own (and gets its row), and the statements after it
 *     run in a new transaction: the order of the script is kept, and what is
 *     committed is always recorded, so a failure resumes at the failing
 *     statement. A statement the PostgreSQL 15 grammar does not know runs as
 *     written; that it was not analysed is said once.
 *   after: the transaction status must still be "in a transaction"; when a
 *     statement ended it anyway (something the parser could not see), the
 *     script stops there and the message says what that committed.
 * The last transaction also writes the hectic.migration row (and clears the
 * step rows): nothing is recorded for work that was rolled back. A
 * migration without such statements is exactly one transaction.
 *
 * The steps ("units") of a migration, numbered from 0 in script order: each
 * run of transactional statements up to a held-back one, and each held-back
 * statement. A resumed run walks the script again and skips the units
 * recorded as done, after checking that they did not change.
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
    PH_TX,   /* transactional: segments in transactions, held-back statements between them */
    PH_NOTX, /* transaction: false: every statement is a recorded step */
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
    bool dry;          /* print the SQL instead of sending it */
    char hash[SHA256_HEX_LEN]; /* of the up file (the hectic.migration row) */
    /* where the walk is */
    int unit;          /* the current unit */
    bool seg_open;     /* the current transactional segment has statements */
    bool in_tx;        /* a transaction of ours is open */
    char *seg_loc;     /* FILE:LINE of the segment's first statement */
    struct sha256_ctx seg;
    unsigned long nstmt; /* statements seen (transaction: false: the step number) */
    /* the statements run in the open transaction, for "what was committed" */
    char *first_loc, *last_loc;
    unsigned long ran;
    bool recorded;     /* the hectic.migration row was written */
    int wrote;         /* units committed by this run */
    struct done *done; /* units committed (by an earlier run or this one) */
    size_t done_nr, done_alloc;
    bool stopped;      /* a hook stopped the script and said why */
    const char *lock_timeout, *statement_timeout;
    /* chaining: the next migration's transaction is opened with this one's COMMIT
     * (one round trip less per migration) */
    bool begun;        /* this migration's transaction was opened that way */
    const char *next_begin; /* "BEGIN; SET LOCAL ..." of the next one, or NULL */
    bool *next_begun;  /* set when next_begin was sent and succeeded */
};

static const char *dir_word(bool down)
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

static void run_reset(struct run *r)
{
    r->unit = 0;
    r->seg_open = r->in_tx = false;
    free(r->seg_loc);
    r->seg_loc = NULL;
    sha256_init(&r->seg);
    r->nstmt = r->ran = 0;
    free(r->first_loc);
    free(r->last_loc);
    r->first_loc = r->last_loc = NULL;
    r->recorded = r->stopped = false;
    r->wrote = 0;
}

static void run_release(struct run *r)
{
    run_reset(r);
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
static char *book_row(const struct run *r)
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

/* "; SET [LOCAL] lock_timeout = '5s'; ..." for the run's timeouts (may be ""). */
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

/* The dry run's text of a statement: a location comment and the statement with its ';'. */
static void dry_print(struct run *r, const char *file, unsigned long line, const char *sql, size_t len)
{
    while (len && (sql[len - 1] == ' ' || sql[len - 1] == '\n' || sql[len - 1] == '\t'))
        len--;
    fprintf(r->out, "-- %s:%lu\n%.*s%s\n", file, line, (int)len, sql, len && sql[len - 1] == ';' ? "" : ";");
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

/* ---- units ---- */

/* Open the transaction of a segment (BEGIN; SET LOCAL ...). */
static int seg_begin(struct run *r)
{
    char *t = timeouts_sql(r, true);
    char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'%s", t);
    int ret;
    if (r->dry) {
        fprintf(r->out, "BEGIN;\nSET LOCAL hectic.migration_mode = 'on'%s;\n", t);
        ret = 0;
    } else {
        ret = exec_sql(r->conn, sql, NULL);
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
static int seg_end(struct run *r)
{
    if (!r->seg_open) {
        /* a transaction opened for nothing (chained in, then a held-back statement first) */
        if (r->in_tx && !r->dry) {
            int ret = exec_sql(r->conn, "COMMIT", NULL);
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
                        "the rows of hectic.migration_step for it", r->m->name, dir_word(r->down),
                        r->seg_loc ? r->seg_loc : r->path);
    } else {
        char *st = book_step(r, r->unit, hex, r->seg_loc ? r->seg_loc : r->path);
        char *sql = xasprintf("%s; COMMIT", st);
        if (r->dry)
            fprintf(r->out, "%s;\nCOMMIT;\n", st);
        else
            ret = exec_sql(r->conn, sql, "cannot record the step in hectic.migration_step");
        free(sql);
        free(st);
        if (!ret) {
            add_done(r, r->unit, hex);
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
        char *t = timeouts_sql(r, false);
        fprintf(r->out, "-- %s cannot run inside a transaction block: on its own\nSET hectic.migration_mode = "
                        "'on'%s;\n", why, t);
        free(t);
        dry_print(r, st->file, st->line, st->sql, st->len);
        char *bs = book_step(r, step, hash, loc);
        fprintf(r->out, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout;\n%s;\n", bs);
        free(bs);
        free(loc);
        add_done(r, step, hash);
        return 0;
    }
    info("%s: %s cannot run inside a transaction block: it runs on its own, after what comes before it "
         "commits", loc, why);
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
            rr = sql_session_run_statement(s, st->file, st->line, st->sql);
            const char *v = sql_session_get(s, "LAST_ERROR_SQLSTATE");
            snprintf(state, sizeof(state), "%s", v ? v : "");
            sql_session_free(s);
        }
        rollback(r->conn);
        exec_sql(r->conn, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout", NULL);
        if (!rr) {
            char *sql = book_step(r, step, hash, loc);
            rr = exec_sql(r->conn, sql, "cannot record the step in hectic.migration_step");
            free(sql);
            if (!rr) {
                add_done(r, step, hash);
                r->wrote++;
            }
        }
        if (!rr) {
            strvec_clear(&before_oid);
            strvec_clear(&before_name);
            break;
        }
        char *what = xasprintf("%s (%s, on its own)", loc, why);
        bool again = retry_lock(r, state, attempt, what);
        free(what);
        if (!again) {
            report_new_invalid(r->conn, &before_oid);
            size_t committed = r->done_nr;
            error("migration '%s' (%s) stopped at %s: %s, which runs on its own, failed. Committed and recorded "
                  "in hectic.migration_step: %zu step%s before it; 'migrate %s' resumes at %s", r->m->name,
                  dir_word(r->down), loc, why, committed, committed == 1 ? "" : "s", dir_word(r->down), loc);
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
        if (seg_end(r) < 0 || run_held(r, st, why) < 0) {
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
        return SQL_HOOK_SKIP; /* committed by an earlier run: seg_end() checks it did not change */
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
        int ret = exec_sql(r->conn, sql, "cannot record the step in hectic.migration_step");
        free(sql);
        free(loc);
        if (ret == 0)
            add_done(r, (int)r->nstmt, hash);
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
                     st->file, st->line, tag, r->m->name, dir_word(r->down));
    if (ts == PQTRANS_IDLE)
        return error("%s:%lu: this statement (%s) ended the transaction the migrator runs '%s' (%s) in: the "
                     "%lu statement%s the migration ran in it (%s to %s) ARE COMMITTED, and the migration is "
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
static int run_script(struct run *r, enum phase ph, char state[6])
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

/* Re-read the committed steps of R's migration (a retry may have rolled some back). */
static int load_done(struct run *r)
{
    r->done_nr = 0;
    if (r->dry)
        return 0;
    const char *params[2] = {r->m->name, dir_word(r->down)};
    PGresult *res = PQexecParams(r->conn,
                                 "SELECT step, hash FROM hectic.migration_step WHERE name = $1 AND direction = $2"
                                 " ORDER BY step",
                                 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        bool missing = state && !strcmp(state, "42P01");
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

/* The final bookkeeping: the hectic.migration row and the step rows cleared, with the open transaction or alone. */
static int finish(struct run *r)
{
    char *row = book_row(r), *clear = book_clear(r);
    bool steps = r->done_nr > 0;
    const char *chain = !r->dry && r->next_begin ? r->next_begin : NULL;
    int ret;
    if (r->in_tx) {
        char *sql = steps ? xasprintf("%s; %s; COMMIT%s%s", row, clear, chain ? "; " : "", chain ? chain : "")
                          : xasprintf("%s; COMMIT%s%s", row, chain ? "; " : "", chain ? chain : "");
        if (r->dry)
            fprintf(r->out, "%s;\n%s%sCOMMIT;\n", row, steps ? clear : "", steps ? ";\n" : "");
        ret = r->dry ? 0 : exec_sql(r->conn, sql, "cannot record the migration");
        free(sql);
    } else {
        char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'; %s; %s; COMMIT%s%s", row, clear,
                              chain ? "; " : "", chain ? chain : "");
        if (r->dry)
            fprintf(r->out, "BEGIN;\nSET LOCAL hectic.migration_mode = 'on';\n%s;\n%s;\nCOMMIT;\n", row, clear);
        ret = r->dry ? 0 : exec_sql(r->conn, sql, "cannot record the migration");
        free(sql);
    }
    free(row);
    free(clear);
    r->in_tx = false;
    if (ret) {
        rollback(r->conn);
        return error("migration '%s' (%s) ran but could not be recorded in hectic.migration", r->m->name,
                     dir_word(r->down));
    }
    r->recorded = true;
    if (chain && r->next_begun && PQtransactionStatus(r->conn) == PQTRANS_INTRANS)
        *r->next_begun = true;
    return 0;
}

static int step_tx(struct run *r)
{
    for (int attempt = 0;; attempt++) {
        if (attempt && load_done(r) < 0)
            return -1;
        size_t before_done = r->done_nr;
        run_reset(r);
        /* chained in: the transaction (BEGIN and SET LOCAL) is open already */
        r->in_tx = attempt == 0 && r->begun;
        char state[6] = "";
        if (before_done && !r->dry)
            info("resuming '%s' (%s): %zu step%s committed by an earlier run", r->m->name, dir_word(r->down),
                 before_done, before_done == 1 ? " was" : "s were");
        int rr = run_script(r, PH_TX, state);
        if (rr == 0 && r->in_tx && !r->dry && PQtransactionStatus(r->conn) != PQTRANS_INTRANS)
            rr = error("%s: the script left the migrator's transaction in a failed state", r->path);
        if (rr == 0) {
            /* a last segment that was done already (the file grew) is checked like the others */
            if (r->seg_open && !r->in_tx && seg_end(r) < 0)
                rr = -1;
        }
        if (rr == 0)
            return finish(r);
        if (r->dry)
            return -1;
        if (r->in_tx)
            rollback(r->conn);
        r->in_tx = false;
        char *what = xasprintf("migration '%s' (%s)", r->m->name, dir_word(r->down));
        bool again = !r->stopped && retry_lock(r, state, attempt, what);
        free(what);
        if (again)
            continue;
        if (r->stopped && r->ran && PQtransactionStatus(r->conn) == PQTRANS_IDLE && !r->done_nr)
            return error("migration '%s' (%s) stopped", r->m->name, dir_word(r->down));
        if (r->done_nr)
            return error("migration '%s' (%s) %s: what ran in the transaction it stopped in was rolled back; "
                         "%zu earlier step%s of it stay%s committed (hectic.migration_step): 'migrate %s' "
                         "resumes after %s", r->m->name, dir_word(r->down),
                         interrupted ? "was interrupted" : "failed", r->done_nr, r->done_nr == 1 ? "" : "s",
                         r->done_nr == 1 ? "s" : "", dir_word(r->down), r->done_nr == 1 ? "it" : "them");
        return error("migration '%s' (%s) %s", r->m->name, dir_word(r->down),
                     interrupted ? "was interrupted and rolled back" : "failed and was rolled back");
    }
}

static int step_notx(struct run *r)
{
    if (r->dry) {
        char *t = timeouts_sql(r, false);
        fprintf(r->out, "-- transaction: false (" MIG_META_FILE "): each statement commits on its own\n"
                        "SET hectic.migration_mode = 'on'%s;\n", t);
        free(t);
        int rr = run_script(r, PH_NOTX, NULL);
        fprintf(r->out, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout;\n");
        return rr < 0 ? -1 : finish(r);
    }
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
    return finish(r);
}

/* The BEGIN; SET LOCAL ... that opens the transaction of STEP (malloc'd). */
static char *begin_sql(PGconn *conn, const struct mig_step *step, const struct mig_opts *opts)
{
    struct run t = {0};
    t.conn = conn;
    t.lock_timeout = step->m->meta.lock_timeout ? step->m->meta.lock_timeout : opts->lock_timeout;
    t.statement_timeout = step->m->meta.statement_timeout ? step->m->meta.statement_timeout : opts->statement_timeout;
    char *tt = timeouts_sql(&t, true);
    char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'%s", tt);
    free(tt);
    return sql;
}

/*
 * mig_run_step() that may open the transaction of NEXT with its own COMMIT
 * (*NEXT_BEGUN set when it did), and may find its own transaction opened so
 * (BEGUN).
 */
static int run_step(PGconn *conn, const struct mig_step *step, const struct mig_db *db,
                    const struct mig_opts *opts, bool begun, const struct mig_step *next, bool *next_begun)
{
    const struct mig *m = step->m;
    if (next_begun)
        *next_begun = false;
    if (!opts->dry_run && !begun && PQtransactionStatus(conn) != PQTRANS_IDLE)
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
    struct run r = {0};
    if (!step->down) {
        if (m->hash[0])
            memcpy(r.hash, m->hash, sizeof(r.hash));
        else if (sha256_file_hex(m->up, r.hash) < 0)
            return error_errno("cannot read '%s'", m->up);
    }
    r.conn = conn;
    r.m = m;
    r.down = step->down;
    r.path = path;
    r.o = opts;
    r.dry = opts->dry_run;
    r.out = opts->out ? opts->out : stdout;
    r.lock_timeout = m->meta.lock_timeout ? m->meta.lock_timeout : opts->lock_timeout;
    r.statement_timeout = m->meta.statement_timeout ? m->meta.statement_timeout : opts->statement_timeout;
    sha256_init(&r.seg);
    size_t np = 0;
    const struct mig_progress *pr = mig_db_progress(db, m->name, step->down, &np);
    for (size_t i = 0; i < np; i++)
        add_done(&r, pr[i].step, pr[i].hash);
    if (r.dry)
        fprintf(r.out, "\n-- %s (%s): %s%s\n", m->name, dir_word(r.down), path,
                np ? " (resumes an earlier, failed run: its committed steps are skipped)" : "");
    r.begun = begun && !m->no_tx;
    char *nb = NULL;
    /* chain into NEXT when it is one plain transaction (not resumed, not transaction: false) */
    if (next && next_begun && !opts->dry_run && !next->m->no_tx && (next->down ? next->m->down : next->m->up)) {
        size_t nn = 0;
        mig_db_progress(db, next->m->name, next->down, &nn);
        if (!nn) {
            nb = begin_sql(conn, next, opts);
            r.next_begin = nb;
            r.next_begun = next_begun;
        }
    }
    int ret = m->no_tx ? step_notx(&r) : step_tx(&r);
    if (ret < 0 && next_begun && *next_begun) {
        rollback(conn);
        *next_begun = false;
    }
    free(nb);
    run_release(&r);
    return ret;
}

int mig_run_step(PGconn *conn, const struct mig_step *step, const struct mig_db *db,
                 const struct mig_opts *opts)
{
    return run_step(conn, step, db, opts, false, NULL, NULL);
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
    bool locked = false, have_db = false;
    if (!opts->dry_run) {
        /* the common case in one round trip: lock, version, applied list */
        struct strbuf ver = STRBUF_INIT;
        int r = mig_lock_and_read(conn, &db, &ver);
        if (r < 0) {
            strbuf_release(&ver);
            return MIG_ERROR;
        }
        if (r == 0 && mig_lock(conn, -1) < 0) {
            strbuf_release(&ver);
            return MIG_ERROR;
        }
        locked = true;
        have_db = r == 1 && opts->bundle_version && !strcmp(ver.buf, opts->bundle_version);
        if (!have_db)
            mig_db_release(&db);
        strbuf_release(&ver);
    }
    double t_lock = now_monotonic();
    if (!have_db && opts->init && opts->init(conn, false, opts->init_arg) < 0)
        goto out;
    double t_init = now_monotonic();
    if (!have_db && mig_db_read(conn, &db, false) < 0)
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
    bool begun = false;
    for (; done < plan.nr; done++) {
        const struct mig_step *s = &plan.v[done];
        if (interrupted) {
            if (begun)
                rollback(conn);
            st = MIG_ERROR;
            break;
        }
        bool idle = !opts->before_step ||
                    (opts->before_step_idle && opts->before_step_idle(s, opts->before_arg));
        if (!idle) {
            /* the hook reads the database (in transactions of its own): none of ours is open,
             * since a step whose hook looks is never chained into */
            if (begun) {
                rollback(conn);
                begun = false;
            }
            if (opts->before_step(conn, s, opts->before_arg)) {
                st = MIG_MISMATCH;
                break;
            }
        }
        const struct mig_step *next = done + 1 < plan.nr ? &plan.v[done + 1] : NULL;
        if (next && opts->before_step && !(opts->before_step_idle && opts->before_step_idle(next, opts->before_arg)))
            next = NULL;
        bool was_begun = begun;
        if (run_step(conn, s, &db, opts, was_begun, next, &begun) < 0) {
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
    if (locked && !opts->close_after)
        mig_unlock(conn);
    return st;
}
