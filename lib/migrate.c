/*
 * migrate.c — the database side of the migrator: hectic.migration and
 * hectic.migration_step read (a no-op run's one query: mig_lock_and_read()),
 * the history check, the advisory lock, planning, baseline and status. The
 * folder (names, migration.yaml, files, hashes) is lib/migfolder.c;
 * running steps is lib/migrun.c.
 */
#include "lib/migrate_int.h"
#include "lib/pg.h"

#include <strings.h>
#include <time.h>

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
        mig_resolve_up(f, m);
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
        mig_resolve_down(f, m);
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
            mig_resolve_up(f, &f->v[i]);
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
            mig_resolve_up(f, &f->v[i]);
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
            mig_resolve_up(f, t);
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
        mig_resolve_up(f, m);
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
