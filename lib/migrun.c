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
 *
 * lib/migscript.c runs the script of a step: the hooks, the units and the
 * SQL text of the bookkeeping (lib/migrun_int.h is what the two share).
 */
#include "lib/migrun_int.h"
#include "lib/pg.h"
#include "lib/progress.h"

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

/* Re-read the committed steps of R's migration (a retry may have rolled some back). */
static int load_done(struct run *r)
{
    r->done_nr = 0;
    if (r->dry)
        return 0;
    const char *params[2] = {r->m->name, migrun_dir_word(r->down)};
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
        migrun_add_done(r, atoi(PQgetvalue(res, i, 0)), PQgetvalue(res, i, 1));
    PQclear(res);
    return 0;
}

/* The final bookkeeping: the hectic.migration row and the step rows cleared, with the open transaction or alone. */
static int finish(struct run *r)
{
    char *row = migrun_book_row(r), *clear = migrun_book_clear(r);
    bool steps = r->done_nr > 0;
    const char *chain = !r->dry && r->next_begin ? r->next_begin : NULL;
    int ret;
    if (r->in_tx) {
        char *sql = steps ? xasprintf("%s; %s; COMMIT%s%s", row, clear, chain ? "; " : "", chain ? chain : "")
                          : xasprintf("%s; COMMIT%s%s", row, chain ? "; " : "", chain ? chain : "");
        if (r->dry)
            fprintf(r->out, "%s;\n%s%sCOMMIT;\n", row, steps ? clear : "", steps ? ";\n" : "");
        ret = r->dry ? 0 : migrun_exec_sql(r->conn, sql, "cannot record the migration");
        free(sql);
    } else {
        char *sql = xasprintf("BEGIN; SET LOCAL hectic.migration_mode = 'on'; %s; %s; COMMIT%s%s", row, clear,
                              chain ? "; " : "", chain ? chain : "");
        if (r->dry)
            fprintf(r->out, "BEGIN;\nSET LOCAL hectic.migration_mode = 'on';\n%s;\n%s;\nCOMMIT;\n", row, clear);
        ret = r->dry ? 0 : migrun_exec_sql(r->conn, sql, "cannot record the migration");
        free(sql);
    }
    free(row);
    free(clear);
    r->in_tx = false;
    if (ret) {
        migrun_rollback(r->conn);
        return error("migration '%s' (%s) ran but could not be recorded in hectic.migration", r->m->name,
                     migrun_dir_word(r->down));
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
            info("resuming '%s' (%s): %zu step%s committed by an earlier run", r->m->name, migrun_dir_word(r->down),
                 before_done, before_done == 1 ? " was" : "s were");
        int rr = migrun_run_script(r, PH_TX, state);
        if (rr == 0 && r->in_tx && !r->dry && PQtransactionStatus(r->conn) != PQTRANS_INTRANS)
            rr = error("%s: the script left the migrator's transaction in a failed state", r->path);
        if (rr == 0) {
            /* a last segment that was done already (the file grew) is checked like the others */
            if (r->seg_open && !r->in_tx && migrun_seg_end(r) < 0)
                rr = -1;
        }
        if (rr == 0)
            return finish(r);
        if (r->dry)
            return -1;
        if (r->in_tx)
            migrun_rollback(r->conn);
        r->in_tx = false;
        char *what = xasprintf("migration '%s' (%s)", r->m->name, migrun_dir_word(r->down));
        bool again = !r->stopped && migrun_retry_lock(r, state, attempt, what);
        free(what);
        if (again)
            continue;
        if (r->stopped && r->ran && PQtransactionStatus(r->conn) == PQTRANS_IDLE && !r->done_nr)
            return error("migration '%s' (%s) stopped", r->m->name, migrun_dir_word(r->down));
        if (r->done_nr)
            return error("migration '%s' (%s) %s: what ran in the transaction it stopped in was rolled back; "
                         "%zu earlier step%s of it stay%s committed (hectic.migration_step): 'migrate %s' "
                         "resumes after %s", r->m->name, migrun_dir_word(r->down),
                         interrupted ? "was interrupted" : "failed", r->done_nr, r->done_nr == 1 ? "" : "s",
                         r->done_nr == 1 ? "s" : "", migrun_dir_word(r->down), r->done_nr == 1 ? "it" : "them");
        return error("migration '%s' (%s) %s", r->m->name, migrun_dir_word(r->down),
                     interrupted ? "was interrupted and rolled back" : "failed and was rolled back");
    }
}

static int step_notx(struct run *r)
{
    if (r->dry) {
        char *t = migrun_timeouts_sql(r, false);
        fprintf(r->out, "-- transaction: false (" MIG_META_FILE "): each statement commits on its own\n"
                        "SET hectic.migration_mode = 'on'%s;\n", t);
        free(t);
        int rr = migrun_run_script(r, PH_NOTX, NULL);
        fprintf(r->out, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout;\n");
        return rr < 0 ? -1 : finish(r);
    }
    for (int attempt = 0;; attempt++) {
        struct strvec before_oid = STRVEC_INIT, before_name = STRVEC_INIT;
        run_reset(r);
        if (attempt && load_done(r) < 0)
            return -1;
        char *t = migrun_timeouts_sql(r, false);
        char *setup = xasprintf("SET hectic.migration_mode = 'on'%s", t);
        free(t);
        int rr = migrun_invalid_indexes(r->conn, &before_oid, &before_name);
        if (!rr)
            rr = migrun_exec_sql(r->conn, setup, NULL);
        free(setup);
        char state[6] = "";
        if (!rr)
            rr = migrun_run_script(r, PH_NOTX, state);
        bool left_open = rr == 0 && PQtransactionStatus(r->conn) != PQTRANS_IDLE;
        migrun_rollback(r->conn);
        migrun_exec_sql(r->conn, "RESET hectic.migration_mode; RESET lock_timeout; RESET statement_timeout", NULL);
        if (rr == 0 && !left_open) {
            strvec_clear(&before_oid);
            strvec_clear(&before_name);
            break;
        }
        if (left_open)
            error("%s: the script left a transaction open; it was rolled back", r->path);
        char *what = xasprintf("migration '%s' (%s, no transaction)", r->m->name, migrun_dir_word(r->down));
        bool again = !left_open && !r->stopped && migrun_retry_lock(r, state, attempt, what);
        free(what);
        if (!again) {
            migrun_report_new_invalid(r->conn, &before_oid);
            load_done(r);
            error("migration '%s' (%s, no transaction) %s at statement %lu: the %zu statement%s before it that "
                  "succeeded are committed and recorded in hectic.migration_step; it is NOT recorded as %s; "
                  "'migrate %s' resumes at the failing statement", r->m->name, migrun_dir_word(r->down),
                  interrupted ? "was interrupted" : "failed", r->nstmt, r->done_nr, r->done_nr == 1 ? "" : "s",
                  r->down ? "reverted" : "applied", migrun_dir_word(r->down));
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
    char *tt = migrun_timeouts_sql(&t, true);
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
        migrun_add_done(&r, pr[i].step, pr[i].hash);
    if (r.dry)
        fprintf(r.out, "\n-- %s (%s): %s%s\n", m->name, migrun_dir_word(r.down), path,
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
        migrun_rollback(conn);
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
    if (migrun_exec_sql(conn, "BEGIN", NULL) < 0)
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
            migrun_rollback(conn);
            return -1;
        }
    }
    if (migrun_exec_sql(conn, "COMMIT", NULL) < 0) {
        migrun_rollback(conn);
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
                migrun_rollback(conn);
            st = MIG_ERROR;
            break;
        }
        bool idle = !opts->before_step ||
                    (opts->before_step_idle && opts->before_step_idle(s, opts->before_arg));
        if (!idle) {
            /* the hook reads the database (in transactions of its own): none of ours is open,
             * since a step whose hook looks is never chained into */
            if (begun) {
                migrun_rollback(conn);
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
