/*
 * code_run.c — running a plan: one transaction (or three, split), pipelines of
 * statements, errors at their file:line, NOTIFY, the state written.
 */
#include "ops/code.h"
#include "ops/code_int.h"
#include "lib/pg.h"
#include "lib/sqlscript.h"

#include <time.h>
#include <unistd.h>

#define NS "code"

/* ---- running a plan ------------------------------------------------------------------ */

/* {"event":EVENT,"pid":N,EXTRA} (malloc'd). */
static char *notify_payload(const char *event, const char *extra)
{
    return xasprintf("{\"event\":\"%s\",\"pid\":%d%s%s}", event, (int)getpid(),
                     extra ? "," : "", extra ? extra : "");
}

static void notify(PGconn *conn, const char *event, const char *extra)
{
    char *payload = notify_payload(event, extra);
    const char *params[1] = {payload};
    PGresult *r = PQexecParams(conn, "SELECT pg_notify('" CODE_NOTIFY_CHANNEL "', $1)", 1, NULL,
                               params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
        debug(NS, "NOTIFY %s failed: %s", event, PQerrorMessage(conn));
    PQclear(r);
    free(payload);
}

static void rollback(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(conn, "ROLLBACK");
        PQclear(r);
    }
}

/* One line about an object: timed on stdout for watch, a log line otherwise. */
static void say(const struct code_plan *p, const char *verb, const struct code_unit *u, double secs)
{
    const struct code_run_opts *o = p->o;
    if (o->watch) {
        /* printed after the commit (code_plan_run), with its time */
        strvec_pushf(&((struct code_plan *)p)->lines, "%-10s %s  %s  %.1f ms", verb, u->identity,
                     code_unit_where(u), secs * 1000);
    } else if (o->quiet) {
        debug(NS, "%s: %s %s (%s)", o->label, verb, u->identity, code_unit_where(u));
    } else {
        info("%s: %s %s (%s)", o->label, verb, u->identity, code_unit_where(u));
    }
}

/* The place in the file of position POS (1-based characters) of statement ST. */
static unsigned stmt_line(const struct code_stmt *st, long pos)
{
    unsigned line = st->line;
    long chars = 0;
    for (const unsigned char *c = (const unsigned char *)st->sql; *c && chars < pos - 1; c++) {
        if ((*c & 0xc0) != 0x80)
            chars++;
        if (*c == '\n')
            line++;
    }
    return line;
}

/* A failed statement of U, psql-style: FILE:LINE: ERROR:  message, DETAIL, HINT. */
static void report_stmt_error(const struct code_plan *p, const struct code_unit *u,
                              const struct code_stmt *st, const PGresult *res)
{
    if (pg_result_interrupted(res)) {
        error("%s/%s:%u: interrupted: the statement was cancelled", p->cs.dir, u->file, st->line);
        return;
    }
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    unsigned line = pos ? stmt_line(st, atol(pos)) : st->line;
    fprintf(stderr, "%s/%s:%u: %s:  %s\n", p->cs.dir, u->file, line, sev ? sev : "ERROR",
            msg ? msg : PQresultErrorMessage(res));
    if (detail)
        fprintf(stderr, "DETAIL:  %s\n", detail);
    if (hint)
        fprintf(stderr, "HINT:  %s\n", hint);
}

/* Run SQL of U (a statement or its drop); 0 or -1 with the error reported. */
static int exec_unit_sql(PGconn *conn, const struct code_plan *p, const struct code_unit *u,
                         const struct code_stmt *st, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType s = PQresultStatus(r);
    if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
        PQclear(r);
        return 0;
    }
    if (st)
        report_stmt_error(p, u, st, r);
    else
        pg_print_result_error(r, sql);
    PQclear(r);
    return -1;
}

static int drop_unit(PGconn *conn, struct code_plan *p, size_t i)
{
    struct code_unit *u = &p->cs.units[i];
    double t = now_monotonic();
    if (exec_unit_sql(conn, p, u, NULL, u->drop_sql) < 0) {
        error("dropping %s (%s) failed", u->identity, code_unit_where(u));
        return -1;
    }
    say(p, "dropped", u, now_monotonic() - t);
    return 0;
}

/*
 * Objects of the kinds code creates whose catalog row this transaction
 * wrote: what a statement dbtool could not analyse created is the
 * difference before and after it.
 */
#define NEW_OBJECTS_SQL                                                                            \
    "SELECT o.classid, o.objid, io.type, io.identity, a.object_names, a.object_args FROM ("      \
    " SELECT 'pg_class'::regclass::oid AS classid, c.oid AS objid FROM pg_class c"               \
    "  WHERE c.xmin = pg_current_xact_id()::xid AND c.relkind IN ('v', 'm', 'c', 'i')"          \
    " UNION ALL SELECT 'pg_proc'::regclass::oid, f.oid FROM pg_proc f"                            \
    "  WHERE f.xmin = pg_current_xact_id()::xid"                                                  \
    " UNION ALL SELECT 'pg_type'::regclass::oid, t.oid FROM pg_type t"                            \
    "  WHERE t.xmin = pg_current_xact_id()::xid AND t.typtype IN ('b', 'e', 'd', 'r')"            \
    "  AND t.typcategory <> 'A' AND t.typrelid = 0"                                                \
    " UNION ALL SELECT 'pg_trigger'::regclass::oid, t.oid FROM pg_trigger t"                      \
    "  WHERE t.xmin = pg_current_xact_id()::xid AND NOT t.tgisinternal"                          \
    " UNION ALL SELECT 'pg_policy'::regclass::oid, t.oid FROM pg_policy t"                        \
    "  WHERE t.xmin = pg_current_xact_id()::xid) o"                                               \
    " CROSS JOIN LATERAL pg_identify_object(o.classid, o.objid, 0) io"                             \
    " CROSS JOIN LATERAL pg_identify_object_as_address(o.classid, o.objid, 0) a"                   \
    " ORDER BY o.classid, o.objid"

/* After a statement unit ran: take the first object it created (BEFORE: the rows before it). */
static void learn_statement(struct code_plan *p, size_t i, const PGresult *before,
                            const PGresult *after)
{
    struct code_unit *u = &p->cs.units[i];
    struct code_uinfo *x = &p->ui[i];
    for (int k = 0; k < PQntuples(after); k++) {
        bool old = false;
        for (int j = 0; j < PQntuples(before) && !old; j++)
            old = !strcmp(PQgetvalue(before, j, 0), PQgetvalue(after, k, 0)) &&
                  !strcmp(PQgetvalue(before, j, 1), PQgetvalue(after, k, 1));
        if (old)
            continue;
        if (x->nctype) {
            debug(NS, "%s also created %s %s", code_unit_where(u), PQgetvalue(after, k, 2),
                  PQgetvalue(after, k, 3));
            continue;
        }
        const char *type = PQgetvalue(after, k, 2);
        x->nclassid = code_oid(PQgetvalue(after, k, 0));
        x->nobjid = code_oid(PQgetvalue(after, k, 1));
        x->nctype = xstrdup(type);
        x->ncid = xstrdup(PQgetvalue(after, k, 3));
        x->natype = xstrdup(type);
        code_array_parse(PQgetvalue(after, k, 4), &x->nnames);
        code_array_parse(PQgetvalue(after, k, 5), &x->nargs);
        struct strbuf d = STRBUF_INIT;
        strbuf_addstr(&d, "DROP ");
        const char *t = !strcmp(type, "composite type") ? "type" : type;
        for (const char *c = t; *c; c++)
            strbuf_addch(&d, *c >= 'a' && *c <= 'z' ? *c - 'a' + 'A' : *c);
        strbuf_addf(&d, " %s", x->ncid);
        free(u->drop_sql);
        u->drop_sql = strbuf_detach(&d, NULL);
        info("%s: %s was not analysed; it created %s %s (its dependencies come from pg_depend)",
             p->o->label, code_unit_where(u), type, x->ncid);
    }
}

static const char *create_verb(const struct code_plan *p, size_t i);

static int create_unit(PGconn *conn, struct code_plan *p, size_t i)
{
    struct code_unit *u = &p->cs.units[i];
    struct code_uinfo *x = &p->ui[i];
    double t = now_monotonic();
    PGresult *before = NULL;
    if (u->kind == CODE_STATEMENT && !p->o->stateless) {
        before = code_query(conn, NEW_OBJECTS_SQL, 0, NULL, PGRES_TUPLES_OK, "cannot read the catalog");
        if (!before)
            return -1;
    }
    for (size_t k = 0; k < u->stmts_nr; k++) {
        if (exec_unit_sql(conn, p, u, &u->stmts[k], u->stmts[k].sql) < 0) {
            PQclear(before);
            return error("creating %s (%s) failed", u->identity, code_unit_where(u));
        }
    }
    if (before) {
        PGresult *after = code_query(conn, NEW_OBJECTS_SQL, 0, NULL, PGRES_TUPLES_OK,
                                "cannot read the catalog");
        if (!after) {
            PQclear(before);
            return -1;
        }
        learn_statement(p, i, before, after);
        PQclear(before);
        PQclear(after);
    }
    x->created = true;
    say(p, create_verb(p, i), u, now_monotonic() - t);
    return 0;
}

/* A pending migration inside the transaction: the script, then its hectic.migration row. */
static int run_step_in_tx(PGconn *conn, const struct code_plan *p, const struct mig_step *s)
{
    const struct mig *m = s->m;
    const char *path = code_mig_path(s);
    const struct mig_opts *mo = p->o->mig;
    char hash[SHA256_HEX_LEN] = "";
    if (!path) {
        if (s->down && !m->up)
            return error("cannot revert '%s': it is applied but has no folder (or no files) in the "
                         "migration folder", m->name);
        return error("cannot %s '%s': it has no %s file", s->down ? "revert" : "apply", m->name,
                     s->down ? "down" : "up");
    }
    if (!s->down && sha256_file_hex(m->up, hash) < 0)
        return error_errno("cannot read '%s'", m->up);
    struct sql_opts so = {mo && mo->out ? mo->out : stdout, stderr, !(mo && mo->verbose)};
    struct sql_session *ss = sql_session_new(conn, &so);
    int r = 0;
    for (size_t i = 0; mo && mo->vars && i < mo->vars->nr && !r; i++)
        r = sql_session_assign(ss, mo->vars->v[i]);
    if (!r)
        r = sql_session_run_file(ss, path);
    sql_session_free(ss);
    if (r < 0)
        return error("migration '%s' (%s) %s", m->name, s->down ? "down" : "up",
                     interrupted ? "was interrupted" : "failed");
    if (PQtransactionStatus(conn) != PQTRANS_INTRANS)
        return error("migration '%s' ended the transaction it runs in (COMMIT or ROLLBACK in %s): "
                     "what it did before is committed; remove BEGIN/COMMIT from it", m->name, path);
    const char *params[2] = {m->name, hash};
    PGresult *res = PQexecParams(conn,
                                 s->down ? "DELETE FROM hectic.migration WHERE name = $1"
                                         : "INSERT INTO hectic.migration (name, hash) VALUES ($1, $2)",
                                 s->down ? 1 : 2, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(res) != PGRES_COMMAND_OK) {
        pg_print_result_error(res, "cannot record the migration");
        PQclear(res);
        return -1;
    }
    PQclear(res);
    if (p->o->quiet)
        debug(NS, "%s: migration %s %s", p->o->label, m->name, s->down ? "reverted" : "applied");
    else
        info("%s: migration %s %s", p->o->label, m->name, s->down ? "reverted" : "applied");
    return 0;
}

static int accept_hashes(PGconn *conn, const struct code_plan *p)
{
    for (size_t i = 0; i < p->accept_names.nr; i++) {
        const char *params[2] = {p->accept_names.v[i], p->accept_hashes.v[i]};
        PGresult *r = PQexecParams(conn, "UPDATE hectic.migration SET hash = $2 WHERE name = $1", 2,
                                   NULL, params, NULL, NULL, 0);
        if (PQresultStatus(r) != PGRES_COMMAND_OK) {
            pg_print_result_error(r, "cannot record the new hash");
            PQclear(r);
            return -1;
        }
        PQclear(r);
        warn("%s: recorded the new hash of changed migration %s", p->o->label, p->accept_names.v[i]);
    }
    return 0;
}

/* U's statements and their lines as text[] and int[] literals, pushed on ST and SL. */
static void stmts_lits(const struct code_unit *u, struct strvec *st, struct strvec *sl)
{
    struct strvec sv = STRVEC_INIT;
    struct strbuf lit = STRBUF_INIT;
    for (size_t k = 0; k < u->stmts_nr; k++)
        strvec_push(&sv, u->stmts[k].sql);
    code_array_lit(&lit, &sv);
    strvec_push(st, lit.buf);
    strbuf_reset(&lit);
    strbuf_addch(&lit, '{');
    for (size_t k = 0; k < u->stmts_nr; k++)
        strbuf_addf(&lit, "%s%u", k ? "," : "", u->stmts[k].line);
    strbuf_addch(&lit, '}');
    strvec_push(sl, lit.buf);
    strvec_clear(&sv);
    strbuf_release(&lit);
}

/* Write hectic.code_object: created objects, moved ones, forgotten ones. */
static int write_state(PGconn *conn, struct code_plan *p)
{
    struct code_set *cs = &p->cs;
    struct strvec gone = STRVEC_INIT;
    struct strvec col[20];
    struct strvec mv[5];
    struct strbuf one = STRBUF_INIT;
    int ret = 0;
    for (size_t i = 0; i < ARRAY_SIZE(col); i++)
        col[i] = (struct strvec)STRVEC_INIT;
    for (size_t i = 0; i < ARRAY_SIZE(mv); i++)
        mv[i] = (struct strvec)STRVEC_INIT;
    for (size_t i = 0; i < cs->units_nr; i++) {
        struct code_unit *u = &cs->units[i];
        struct code_uinfo *x = &p->ui[i];
        const struct code_row *w = u->priv;
        if (u->status == CODE_REMOVED || (x->drop && !x->created)) {
            strvec_push(&gone, u->identity);
            continue;
        }
        if (x->created) {
            struct strvec deps = STRVEC_INIT;
            for (size_t k = 0; k < u->depends.nr; k++)
                strvec_push(&deps, u->depends.v[k]);
            for (size_t k = 0; k < x->learnt.nr; k++)
                strvec_push(&deps, x->learnt.v[k]);
            strvec_push(&col[0], u->identity);
            strvec_push(&col[1], code_kind_name(u->kind));
            strvec_push(&col[2], u->file);
            strvec_pushf(&col[3], "%u", u->line);
            strvec_push(&col[4], u->sha256);
            strvec_push(&col[5], u->file_sha256);
            strbuf_reset(&one);
            code_array_lit(&one, &deps);
            strvec_push(&col[6], one.buf);
            strbuf_reset(&one);
            code_array_lit(&one, &u->body_depends);
            strvec_push(&col[7], one.buf);
            strvec_push(&col[8], x->nctype ? x->nctype : "");
            strvec_push(&col[9], x->ncid ? x->ncid : "");
            strvec_push(&col[10], x->natype ? x->natype : "");
            strbuf_reset(&one);
            code_array_lit(&one, &x->nnames);
            strvec_push(&col[11], one.buf);
            strbuf_reset(&one);
            code_array_lit(&one, &x->nargs);
            strvec_push(&col[12], one.buf);
            strvec_push(&col[13], u->drop_sql ? u->drop_sql : "");
            strvec_push(&col[14], u->kind != CODE_STATEMENT && u->schema ? u->schema : "");
            strvec_push(&col[15], u->kind != CODE_STATEMENT && u->name ? u->name : "");
            stmts_lits(u, &col[16], &col[17]);
            strvec_pushf(&col[18], "%u", x->nctype ? x->nclassid : 0);
            strvec_pushf(&col[19], "%u", x->nctype ? x->nobjid : 0);
            strvec_clear(&deps);
        } else if (w && u->loaded &&
                   (strcmp(w->file, u->file) || w->line != u->line ||
                    strcmp(w->file_sha, u->file_sha256))) {
            strvec_push(&mv[0], u->identity);
            strvec_push(&mv[1], u->file);
            strvec_pushf(&mv[2], "%u", u->line);
            strvec_push(&mv[3], u->file_sha256);
            struct strvec ignore = STRVEC_INIT;
            stmts_lits(u, &ignore, &mv[4]);
            strvec_clear(&ignore);
        }
    }
    struct strbuf a[20];
    const char *params[20];
    if (gone.nr) {
        strbuf_reset(&one);
        code_array_lit(&one, &gone);
        params[0] = one.buf;
        PGresult *r = code_query(conn, "DELETE FROM hectic.code_object WHERE identity = ANY($1::text[])",
                            1, params, PGRES_COMMAND_OK, "cannot update hectic.code_object");
        if (!r)
            ret = -1;
        PQclear(r);
    }
    if (!ret && col[0].nr) {
        for (size_t i = 0; i < 20; i++) {
            a[i] = (struct strbuf)STRBUF_INIT;
            code_array_lit(&a[i], &col[i]);
            params[i] = a[i].buf;
        }
        PGresult *r = code_query(
            conn,
            "INSERT INTO hectic.code_object AS o (identity, kind, file, line, sha256, file_sha256,"
            " depends, body_depends, catalog_type, catalog_identity, address_type, address_names,"
            " address_args, drop_sql, object_schema, object_name, statements, statement_lines,"
            " catalog_classid, catalog_objid, applied_at)"
            " SELECT x.id, x.kind, x.file, x.line::int, x.sha, x.fsha, x.dep::text[], x.bdep::text[],"
            "  NULLIF(x.ct, ''), NULLIF(x.ci, ''), NULLIF(x.at, ''),"
            "  CASE WHEN x.at = '' THEN NULL ELSE x.an::text[] END,"
            "  CASE WHEN x.at = '' THEN NULL ELSE x.aa::text[] END, x.drop, NULLIF(x.os, ''),"
            "  NULLIF(x.oname, ''), x.st::text[], x.sl::int[], NULLIF(x.cc, '0')::oid,"
            "  NULLIF(x.co, '0')::oid, now()"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
            "  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],"
            "  $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[],"
            "  $19::text[], $20::text[])"
            "  AS x(id, kind, file, line, sha, fsha, dep, bdep, ct, ci, at, an, aa, drop, os, oname,"
            "  st, sl, cc, co)"
            " ON CONFLICT (identity) DO UPDATE SET kind = EXCLUDED.kind, file = EXCLUDED.file,"
            "  line = EXCLUDED.line, sha256 = EXCLUDED.sha256, file_sha256 = EXCLUDED.file_sha256,"
            "  depends = EXCLUDED.depends, body_depends = EXCLUDED.body_depends,"
            "  catalog_type = EXCLUDED.catalog_type, catalog_identity = EXCLUDED.catalog_identity,"
            "  address_type = EXCLUDED.address_type, address_names = EXCLUDED.address_names,"
            "  address_args = EXCLUDED.address_args, drop_sql = EXCLUDED.drop_sql,"
            "  object_schema = EXCLUDED.object_schema, object_name = EXCLUDED.object_name,"
            "  statements = EXCLUDED.statements, statement_lines = EXCLUDED.statement_lines,"
            "  catalog_classid = EXCLUDED.catalog_classid, catalog_objid = EXCLUDED.catalog_objid,"
            "  applied_at = EXCLUDED.applied_at",
            20, params, PGRES_COMMAND_OK, "cannot update hectic.code_object");
        if (!r)
            ret = -1;
        PQclear(r);
        for (size_t i = 0; i < 20; i++)
            strbuf_release(&a[i]);
    }
    if (!ret && mv[0].nr) {
        for (size_t i = 0; i < 5; i++) {
            a[i] = (struct strbuf)STRBUF_INIT;
            code_array_lit(&a[i], &mv[i]);
            params[i] = a[i].buf;
        }
        PGresult *r = code_query(conn,
                            "UPDATE hectic.code_object o SET file = x.file, line = x.line::int,"
                            " file_sha256 = x.fsha, statement_lines = x.sl::int[] FROM"
                            " unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[])"
                            " AS x(id, file, line, fsha, sl) WHERE o.identity = x.id",
                            5, params, PGRES_COMMAND_OK, "cannot update hectic.code_object");
        if (!r)
            ret = -1;
        PQclear(r);
        for (size_t i = 0; i < 5; i++)
            strbuf_release(&a[i]);
    }
    for (size_t i = 0; i < ARRAY_SIZE(col); i++)
        strvec_clear(&col[i]);
    for (size_t i = 0; i < ARRAY_SIZE(mv); i++)
        strvec_clear(&mv[i]);
    strvec_clear(&gone);
    strbuf_release(&one);
    return ret;
}

static int exec_plain(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    if (!ok)
        pg_print_result_error(r, sql);
    PQclear(r);
    return ok ? 0 : -1;
}

/* ---- pipelines: many statements, one round trip ---- */

/* One item of a pipeline. */
struct pitem {
    bool sync;                    /* a Sync: ends the implicit transaction of what came before */
    const char *sql;              /* one statement (extended protocol: no ';' lists) */
    const char *param;            /* one text parameter ($1), or NULL */
    long unit;                    /* the unit it belongs to, or -1 */
    const struct code_stmt *stmt; /* the unit's statement (errors at its file:line); NULL: a drop */
    const char *verb;             /* said for UNIT when this item succeeded ("dropped" ...), or NULL */
};

struct pipe {
    struct pitem *v;
    size_t nr, alloc;
};

static void pipe_add(struct pipe *pp, struct pitem it)
{
    ALLOC_GROW(pp->v, pp->nr + 1, pp->alloc);
    pp->v[pp->nr++] = it;
}

static void pipe_sql(struct pipe *pp, const char *sql, const char *param, long unit,
                     const struct code_stmt *st, const char *verb)
{
    pipe_add(pp, (struct pitem){false, sql, param, unit, st, verb});
}

static void pipe_sync(struct pipe *pp)
{
    pipe_add(pp, (struct pitem){true, NULL, NULL, -1, NULL, NULL});
}

/*
 * Send the items of PP in one pipeline (ending with a Sync), then read the
 * results in order: each object is said as its last statement succeeds.
 * 0, or -1 after the first failing item was reported (*FAILED: its unit's
 * identity, when it has one); the server skips what follows it up to the
 * next Sync. PP is emptied.
 */
static int pipe_run(PGconn *conn, struct code_plan *p, struct pipe *pp, const char **failed)
{
    int ret = 0;
    if (!pp->nr)
        return 0;
    if (!pp->v[pp->nr - 1].sync)
        pipe_sync(pp);
    if (!PQenterPipelineMode(conn)) {
        pp->nr = 0;
        return error("cannot enter pipeline mode: %s", PQerrorMessage(conn));
    }
    size_t sent = 0;
    for (; sent < pp->nr; sent++) {
        const struct pitem *it = &pp->v[sent];
        int ok = it->sync ? PQpipelineSync(conn)
                          : PQsendQueryParams(conn, it->sql, it->param ? 1 : 0, NULL,
                                              it->param ? &it->param : NULL, NULL, NULL, 0);
        if (!ok) {
            ret = error("cannot send a statement: %s", PQerrorMessage(conn));
            break;
        }
    }
    if (!ret && sent && !pp->v[sent - 1].sync)
        PQpipelineSync(conn);
    double t = now_monotonic();
    bool failed_once = false;
    for (size_t i = 0; i < sent; i++) {
        const struct pitem *it = &pp->v[i];
        PGresult *r = PQgetResult(conn);
        if (!r) {
            ret = error("lost the connection while applying: %s", PQerrorMessage(conn));
            break;
        }
        ExecStatusType s = PQresultStatus(r);
        if (it->sync) {
            if (s != PGRES_PIPELINE_SYNC && !failed_once)
                ret = error("unexpected pipeline result %s", PQresStatus(s));
            PQclear(r);
            continue;
        }
        if (s == PGRES_FATAL_ERROR && !failed_once) {
            const struct code_unit *u = it->unit >= 0 ? &p->cs.units[it->unit] : NULL;
            failed_once = true;
            ret = -1;
            if (u && it->stmt) {
                report_stmt_error(p, u, it->stmt, r);
                error("creating %s (%s) failed", u->identity, code_unit_where(u));
            } else if (u) {
                pg_print_result_error(r, it->sql);
                error("dropping %s (%s) failed", u->identity, code_unit_where(u));
            } else {
                pg_print_result_error(r, it->sql);
            }
            if (u && failed)
                *failed = u->identity;
        } else if (s != PGRES_FATAL_ERROR && s != PGRES_PIPELINE_ABORTED && it->verb && it->unit >= 0) {
            double now = now_monotonic();
            if (!strcmp(it->verb, "created") || !strcmp(it->verb, "re-created") ||
                !strcmp(it->verb, "replaced"))
                p->ui[it->unit].created = true;
            say(p, it->verb, &p->cs.units[it->unit], now - t);
            t = now;
        }
        PQclear(r);
        /* every query result is followed by a NULL */
        while ((r = PQgetResult(conn)))
            PQclear(r);
    }
    if (!PQexitPipelineMode(conn) && !ret)
        ret = error("cannot leave pipeline mode: %s", PQerrorMessage(conn));
    pp->nr = 0;
    return ret;
}

/* The verb for creating unit I. */
static const char *create_verb(const struct code_plan *p, size_t i)
{
    const struct code_unit *u = &p->cs.units[i];
    const struct code_uinfo *x = &p->ui[i];
    return u->status == CODE_NEW && !x->adopt ? "created"
           : x->in_place && !x->drop          ? "replaced"
                                              : "re-created";
}

static int run_creates(PGconn *conn, struct code_plan *p, const char **failed)
{
    /* in pipelines, but a statement that was not analysed alone (the catalog is read around it) */
    struct pipe pp = {NULL, 0, 0};
    struct strvec dropx = STRVEC_INIT;
    int ret = 0;
    /* what the migrations acted on, and what depends on it: dropped if still there,
     * dependents first */
    for (size_t i = p->ncreates; i-- > 0;) {
        size_t k = p->creates[i];
        const struct code_unit *u = &p->cs.units[k];
        if (!p->ui[k].target || !u->drop_sql)
            continue;
        char *d = code_drop_if_exists(u->drop_sql);
        strvec_push(&dropx, d);
        free(d);
    }
    for (size_t i = 0; i < dropx.nr; i++)
        pipe_sql(&pp, dropx.v[i], NULL, -1, NULL, NULL);
    for (size_t i = 0; i < p->ncreates && !ret; i++) {
        size_t k = p->creates[i];
        struct code_unit *u = &p->cs.units[k];
        if (interrupted) {
            ret = error("interrupted");
            break;
        }
        if (u->kind == CODE_STATEMENT && !p->o->stateless) {
            if ((ret = pipe_run(conn, p, &pp, failed)) < 0)
                break;
            if (create_unit(conn, p, k) < 0) {
                *failed = u->identity;
                ret = -1;
            }
            continue;
        }
        for (size_t j = 0; j < u->stmts_nr; j++)
            pipe_sql(&pp, u->stmts[j].sql, NULL, (long)k, &u->stmts[j],
                     j + 1 == u->stmts_nr ? create_verb(p, k) : NULL);
    }
    if (!ret)
        ret = pipe_run(conn, p, &pp, failed);
    free(pp.v);
    strvec_clear(&dropx);
    if (ret < 0)
        return -1;
    if (p->o->stateless)
        return 0;
    if (code_check_created(conn, p) < 0 || write_state(conn, p) < 0)
        return -1;
    for (size_t i = 0; i < p->cs.units_nr; i++)
        if (p->cs.units[i].status == CODE_MOVED && !p->ui[i].created)
            say(p, "moved", &p->cs.units[i], 0);
    return 0;
}

static char *summary(const struct code_plan *p, size_t dropped, size_t migs, size_t created)
{
    return xasprintf("\"dropped\":%zu,\"migrations\":%zu,\"created\":%zu", dropped, migs, created);
}

/* watch: the lines of what was committed, with the time of the commit. */
static void print_lines(struct code_plan *p)
{
    struct timespec ts;
    struct tm tm;
    char clock[16];
    clock_gettime(CLOCK_REALTIME, &ts);
    localtime_r(&ts.tv_sec, &tm);
    strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
    for (size_t i = 0; i < p->lines.nr; i++)
        printf("%s.%03ld %s\n", clock, ts.tv_nsec / 1000000, p->lines.v[i]);
    fflush(stdout);
    strvec_clear(&p->lines);
}

enum code_run_status code_plan_run(PGconn *conn, struct code_plan *p)
{
    const struct code_run_opts *o = p->o;
    if (!code_plan_has_writes(p))
        return CODE_RUN_OK;
    bool work = code_plan_has_work(p);
    enum code_run_status st = CODE_RUN_ERROR;
    const char *failed = NULL;
    size_t migs = 0;
    if (!p->split) {
        /* one round trip: NOTIFY start (its own transaction), BEGIN, the drops */
        struct pipe pp = {NULL, 0, 0};
        char *start = notify_payload("start", NULL);
        if (work && !o->stateless) {
            pipe_sql(&pp, "SELECT pg_notify('" CODE_NOTIFY_CHANNEL "', $1)", start, -1, NULL, NULL);
            pipe_sync(&pp);
        }
        pipe_sql(&pp, "BEGIN", NULL, -1, NULL, NULL);
        if (p->steps.nr)
            pipe_sql(&pp, "SET LOCAL hectic.migration_mode = 'on'", NULL, -1, NULL, NULL);
        for (size_t i = 0; i < p->ndrops; i++)
            pipe_sql(&pp, p->cs.units[p->drops[i]].drop_sql, NULL, (long)p->drops[i], NULL, "dropped");
        int r = pipe_run(conn, p, &pp, &failed);
        free(pp.v);
        pp = (struct pipe){NULL, 0, 0};
        free(start);
        if (r < 0) {
            st = failed ? CODE_RUN_OBJ_FAILED : CODE_RUN_ERROR;
            goto fail;
        }
        if (accept_hashes(conn, p) < 0)
            goto fail;
        for (size_t i = 0; i < p->steps.nr; i++, migs++) {
            if (interrupted) {
                error("interrupted");
                goto fail;
            }
            if (run_step_in_tx(conn, p, &p->steps.v[i]) < 0) {
                failed = p->steps.v[i].m->name;
                st = interrupted ? CODE_RUN_ERROR : CODE_RUN_MIG_FAILED;
                goto fail;
            }
        }
        if (run_creates(conn, p, &failed) < 0) {
            st = failed && !interrupted ? CODE_RUN_OBJ_FAILED : CODE_RUN_ERROR;
            goto fail;
        }
        /* one round trip: NOTIFY success (delivered at the commit), COMMIT */
        char *sum = summary(p, p->ndrops, migs, p->ncreates);
        char *success = notify_payload("success", sum);
        if (work && !o->stateless)
            pipe_sql(&pp, "SELECT pg_notify('" CODE_NOTIFY_CHANNEL "', $1)", success, -1, NULL, NULL);
        pipe_sql(&pp, "COMMIT", NULL, -1, NULL, NULL);
        r = pipe_run(conn, p, &pp, &failed);
        free(pp.v);
        free(sum);
        free(success);
        if (r < 0 || PQtransactionStatus(conn) != PQTRANS_IDLE)
            goto fail;
        print_lines(p);
        return CODE_RUN_OK;
    }
    /* split: drops (and their rows) first, the migrations as the migrator runs them, creates */
    if (work && !o->stateless)
        notify(conn, "start", NULL);
    if (exec_plain(conn, "BEGIN") < 0)
        goto fail;
    for (size_t i = 0; i < p->ndrops; i++)
        if (drop_unit(conn, p, p->drops[i]) < 0) {
            failed = p->cs.units[p->drops[i]].identity;
            st = CODE_RUN_OBJ_FAILED;
            goto fail;
        }
    if (p->ndrops && !o->stateless) {
        struct strvec ids = STRVEC_INIT;
        struct strbuf lit = STRBUF_INIT;
        for (size_t i = 0; i < p->ndrops; i++)
            strvec_push(&ids, p->cs.units[p->drops[i]].identity);
        code_array_lit(&lit, &ids);
        const char *params[1] = {lit.buf};
        /* forget them, and make their files be read again next time (they are no longer
         * all in the state) */
        PGresult *r = code_query(conn,
                            "WITH gone AS (DELETE FROM hectic.code_object"
                            "  WHERE identity = ANY($1::text[]) RETURNING file)"
                            " UPDATE hectic.code_object SET file_sha256 = repeat('0', 64)"
                            " WHERE file IN (SELECT file FROM gone) AND identity <> ALL($1::text[])",
                            1, params, PGRES_COMMAND_OK, "cannot update hectic.code_object");
        strvec_clear(&ids);
        strbuf_release(&lit);
        if (!r)
            goto fail;
        PQclear(r);
    }
    if (accept_hashes(conn, p) < 0 || exec_plain(conn, "COMMIT") < 0)
        goto fail;
    for (size_t i = 0; i < p->steps.nr; i++, migs++) {
        if (interrupted) {
            error("interrupted");
            goto fail;
        }
        if (mig_run_step(conn, &p->steps.v[i], &p->db, o->mig) < 0) {
            failed = p->steps.v[i].m->name;
            st = interrupted ? CODE_RUN_ERROR : CODE_RUN_MIG_FAILED;
            if (p->ndrops)
                error("%zu code object%s dropped before the migrations stay%s dropped: run it again "
                      "once the migration is fixed", p->ndrops, p->ndrops == 1 ? "" : "s",
                      p->ndrops == 1 ? "s" : "");
            goto fail;
        }
        info("%s: migration %s %s", o->label, p->steps.v[i].m->name,
             p->steps.v[i].down ? "reverted" : "applied");
    }
    if (exec_plain(conn, "BEGIN") < 0)
        goto fail;
    if (run_creates(conn, p, &failed) < 0) {
        st = failed && !interrupted ? CODE_RUN_OBJ_FAILED : CODE_RUN_ERROR;
        goto fail;
    }
    if (work && !o->stateless) {
        char *s = summary(p, p->ndrops, migs, p->ncreates);
        notify(conn, "success", s);
        free(s);
    }
    if (exec_plain(conn, "COMMIT") < 0)
        goto fail;
    print_lines(p);
    return CODE_RUN_OK;
fail:
    rollback(conn);
    if (work && !o->stateless) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addstr(&sb, "\"failed\":");
        strbuf_add_json_str(&sb, failed ? failed : "");
        notify(conn, "failure", sb.buf);
        strbuf_release(&sb);
    }
    error("%s: %s%s%s; %s", o->label, failed ? "stopped at " : "failed",
          failed ? failed : "", "", p->split ? "what ran before it in its own transaction stays"
                                              : "nothing was changed (rolled back)");
    return st;
}

