/*
 * code.c — schema as code: the commands (plan, apply, the migrator and
 * hydrate hooks) and small helpers (see code.h). The model and the order
 * are lib/codeobj's; building a plan is code_plan.c, the catalog's side
 * (lookups, pg_depend) code_catalog.c, showing it code_show.c, running it
 * code_run.c, `database watch` code_watch.c.
 */
#include "ops/code.h"
#include "ops/code_int.h"
#include "lib/bundle.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/settings.h"

#define NS "code"

/* ---- small helpers ---------------------------------------------------------------- */


/* A text[] literal of SV: {"a","b"}. */
void code_array_lit(struct strbuf *sb, const struct strvec *sv)
{
    strbuf_addch(sb, '{');
    for (size_t i = 0; i < sv->nr; i++) {
        if (i)
            strbuf_addch(sb, ',');
        strbuf_addch(sb, '"');
        for (const char *p = sv->v[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                strbuf_addch(sb, '\\');
            strbuf_addch(sb, *p);
        }
        strbuf_addch(sb, '"');
    }
    strbuf_addch(sb, '}');
}

/* Parse a one-dimensional text[] literal as PostgreSQL prints it. 0 or -1. */
int code_array_parse(const char *s, struct strvec *out)
{
    struct strbuf el = STRBUF_INIT;
    if (*s++ != '{')
        return -1;
    if (*s == '}')
        return 0;
    for (;;) {
        strbuf_reset(&el);
        if (*s == '"') {
            for (s++; *s && *s != '"'; s++) {
                if (*s == '\\' && s[1])
                    s++;
                strbuf_addch(&el, *s);
            }
            if (*s++ != '"')
                break;
        } else {
            for (; *s && *s != ',' && *s != '}'; s++)
                strbuf_addch(&el, *s);
        }
        strvec_push(out, el.buf);
        if (*s == ',') {
            s++;
            continue;
        }
        strbuf_release(&el);
        return *s == '}' ? 0 : -1;
    }
    strbuf_release(&el);
    return -1;
}

/* PQexecParams with text parameters; prints the error. NULL on failure. */
PGresult *code_query(PGconn *conn, const char *sql, int n, const char *const *params,
                       ExecStatusType want, const char *what)
{
    PGresult *r = PQexecParams(conn, sql, n, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != want) {
        pg_print_result_error(r, what);
        PQclear(r);
        return NULL;
    }
    return r;
}

unsigned code_oid(const char *s)
{
    return (unsigned)strtoul(s, NULL, 10);
}

/* ---- the commands ------------------------------------------------------------------- */

/* The hectic bundle at this version, with the code part; applied when not. 0 or -1. */
int code_ensure_bundle(PGconn *conn, const char *inheritance_sql)
{
    /* one query in the usual case; a missing hectic.version is an error that says "apply it" */
    PGresult *r = PQexec(conn, "SELECT v.version, to_regclass('hectic.code_object') IS NOT NULL"
                               " FROM hectic.version v WHERE v.name = 'hectic'");
    bool ok = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
              !strcmp(PQgetvalue(r, 0, 0), BUNDLE_VERSION) && !strcmp(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    if (ok)
        return 0;
    debug(NS, "applying the hectic bundle %s", BUNDLE_VERSION);
    return bundle_apply(conn, NULL, inheritance_sql);
}

void code_print_notes(const struct code_plan *p)
{
    struct strvec *said = p->o->said;
    for (size_t i = 0; i < p->notes.nr; i++) {
        bool again = false;
        for (size_t k = 0; said && k < said->nr && !again; k++)
            again = !strcmp(said->v[k], p->notes.v[i]);
        if (again)
            continue;
        notice("%s: %s", p->o->label, p->notes.v[i]);
        if (said)
            strvec_push(said, p->notes.v[i]);
    }
}

int code_plan_cmd(const struct settings *s, const char *url, bool json)
{
    struct code_run_opts o = {.code_dir = set_get(s, SET_CODE_DIR),
                              .migrations = true,
                              .migration_dir = set_get(s, SET_MIGRATION_DIR),
                              .plan_only = true,
                              .label = "plan"};
    PGconn *conn = pg_connect(url);
    if (!conn)
        return CODE_PLAN_EXIT_ERROR;
    struct code_plan p;
    int ce = 0, rc;
    enum mig_status mst = code_plan_build(conn, &p, &o, &ce);
    if (ce < 0 || (mst != MIG_OK && mst != MIG_AT_TARGET)) {
        rc = CODE_PLAN_EXIT_ERROR;
    } else if (ce > 0) {
        error("plan: %d problem%s in the code directory %s (see above)", ce, ce == 1 ? "" : "s",
              p.cs.dir);
        rc = CODE_PLAN_EXIT_ERROR;
    } else {
        if (json)
            code_print_json(&p, stdout);
        else
            code_print_text(&p, stdout);
        rc = code_plan_has_work(&p) ? 1 : 0;
    }
    if (!p.cs.dir && o.code_dir)
        debug(NS, "no code directory at %s", o.code_dir);
    code_plan_release(&p);
    PQfinish(conn);
    return rc;
}

static int run_status_exit(enum code_run_status st)
{
    switch (st) {
    case CODE_RUN_OK:
        return EXIT_OK;
    case CODE_RUN_MIG_FAILED:
    case CODE_RUN_OBJ_FAILED:
        return EXIT_MIGRATION;
    case CODE_RUN_ERROR:
        return EXIT_ERR;
    }
    return EXIT_BUG;
}

int code_apply_cmd(const struct settings *s, const char *url, const struct strvec *vars)
{
    double t0 = now_monotonic();
    struct mig_opts mo = {.vars = vars, .out = stdout};
    struct code_run_opts o = {.code_dir = set_get(s, SET_CODE_DIR),
                              .migrations = true,
                              .migration_dir = set_get(s, SET_MIGRATION_DIR),
                              .mig = &mo,
                              .label = "apply"};
    PGconn *conn = pg_connect(url);
    if (!conn)
        return EXIT_ERR;
    int rc = EXIT_ERR, ce = 0;
    struct code_plan p;
    memset(&p, 0, sizeof(p));
    bool built = false, locked = false, bundle_ok = false;
    char *schema = NULL;
    /* the usual case in one round trip: the lock, the bundle, the schema */
    PGresult *r = PQexec(conn, "SELECT pg_try_advisory_lock(" MIG_LOCK_KEY_STR "), v.version,"
                               " to_regclass('hectic.code_object') IS NOT NULL, current_schema()"
                               " FROM hectic.version v WHERE v.name = 'hectic'");
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1) {
        locked = !strcmp(PQgetvalue(r, 0, 0), "t");
        bundle_ok = !strcmp(PQgetvalue(r, 0, 1), BUNDLE_VERSION) && !strcmp(PQgetvalue(r, 0, 2), "t");
        if (!PQgetisnull(r, 0, 3))
            schema = xstrdup(PQgetvalue(r, 0, 3));
    }
    PQclear(r);
    if (!locked && mig_lock(conn, -1) < 0)
        goto out;
    if (!bundle_ok && code_ensure_bundle(conn, set_get(s, SET_HECTIC_INHERITANCE_SQL)) < 0)
        goto out;
    o.known_schema = bundle_ok ? schema : NULL;
    enum mig_status mst = code_plan_build(conn, &p, &o, &ce);
    built = true;
    if (ce < 0 || mst == MIG_ERROR)
        goto out;
    if (ce > 0) {
        error("apply: %d problem%s in the code directory %s; nothing was changed", ce,
              ce == 1 ? "" : "s", p.cs.dir);
        rc = EXIT_AMBIGUOUS;
        goto out;
    }
    if (mst == MIG_MISMATCH || mst == MIG_CHANGED) {
        rc = EXIT_AMBIGUOUS;
        goto out;
    }
    if (mst != MIG_OK && mst != MIG_AT_TARGET)
        goto out;
    code_print_notes(&p);
    if (!code_plan_has_writes(&p)) {
        info("apply: nothing to do (%zu code objects as in %s, no pending migration)",
             p.cs.units_nr, p.cs.dir ? p.cs.dir : o.code_dir);
        rc = EXIT_OK;
        goto out;
    }
    bool work = code_plan_has_work(&p);
    rc = run_status_exit(code_plan_run(conn, &p));
    if (!rc && !work)
        info("apply: nothing to do (file hashes of %zu unchanged object%s recorded)", p.nrefresh,
             p.nrefresh == 1 ? "" : "s");
    else if (!rc)
        info("apply: done in %.0f ms: %zu dropped, %zu migration%s, %zu created", 
             (now_monotonic() - t0) * 1000, p.ndrops, p.steps.nr, p.steps.nr == 1 ? "" : "s",
             p.ncreates);
out:
    /* the session lock goes with the connection: no round trip for mig_unlock() */
    if (built)
        code_plan_release(&p);
    free(schema);
    PQfinish(conn);
    return rc;
}

enum mig_status code_migrate(PGconn *conn, const char *code_dir, const struct mig_folder *f,
                             const struct mig_request *req, const struct mig_opts *opts,
                             int (*init)(PGconn *conn, void *arg), void *init_arg)
{
    struct code_run_opts o = {.code_dir = code_dir,
                              .migrations = true,
                              .folder = f,
                              .req = req,
                              .mig = opts,
                              .label = "migrate"};
    struct code_plan p;
    int ce = 0;
    enum mig_status st = MIG_ERROR;
    if (mig_lock(conn, -1) < 0)
        return MIG_ERROR;
    if (init && init(conn, init_arg) < 0) {
        mig_unlock(conn);
        return MIG_ERROR;
    }
    enum mig_status mst = code_plan_build(conn, &p, &o, &ce);
    if (ce < 0) {
        st = MIG_ERROR;
    } else if (ce > 0) {
        error("migrate: %d problem%s in the code directory %s; nothing was changed", ce,
              ce == 1 ? "" : "s", p.cs.dir);
        st = MIG_MISMATCH;
    } else if (mst != MIG_OK && mst != MIG_AT_TARGET) {
        st = mst;
    } else {
        code_print_notes(&p);
        double t0 = now_monotonic();
        switch (code_plan_run(conn, &p)) {
        case CODE_RUN_OK:
            st = mst;
            if (code_plan_has_work(&p))
                info("migrate: %zu migration%s with the code directory (%zu dropped, %zu created) in "
                     "%.0f ms", p.steps.nr, p.steps.nr == 1 ? "" : "s", p.ndrops, p.ncreates,
                     (now_monotonic() - t0) * 1000);
            break;
        case CODE_RUN_MIG_FAILED:
        case CODE_RUN_OBJ_FAILED:
            st = MIG_FAILED;
            break;
        case CODE_RUN_ERROR:
            st = MIG_ERROR;
            break;
        }
    }
    code_plan_release(&p);
    mig_unlock(conn);
    return st;
}

int code_hydrate(PGconn *conn, const char *code_dir, bool stateless)
{
    if (!code_dir || !is_dir(code_dir))
        return 0;
    double t0 = now_monotonic();
    struct code_run_opts o = {.code_dir = code_dir, .stateless = stateless, .quiet = true,
                              .label = "hydrate"};
    struct code_plan p;
    int ce = 0, ret = -1;
    enum mig_status mst = code_plan_build(conn, &p, &o, &ce);
    (void)mst;
    if (ce > 0)
        error("hydrate: %d problem%s in the code directory %s", ce, ce == 1 ? "" : "s", p.cs.dir);
    if (ce)
        goto out;
    code_print_notes(&p);
    if (code_plan_run(conn, &p) != CODE_RUN_OK)
        goto out;
    info("hydrate: code directory %s: %zu object%s created%s in %.0f ms", code_dir, p.ncreates,
         p.ncreates == 1 ? "" : "s", p.ndrops ? " again" : "", (now_monotonic() - t0) * 1000);
    ret = 0;
out:
    code_plan_release(&p);
    return ret;
}

