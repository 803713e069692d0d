/*
 * code.c — plan and apply the code directory with the pending migrations
 * (see code.h). The model and the order are lib/codeobj's; this file reads
 * and writes hectic.code_object, asks the catalog what exists and what
 * depends on what (pg_depend), and runs the result in one transaction.
 * `database watch` is in code_watch.c.
 */
#include "ops/code.h"
#include "ops/code_int.h"
#include "lib/bundle.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/settings.h"
#include "lib/sqlscript.h"

#include <time.h>
#include <unistd.h>

#define NS "code"

/* ---- small helpers ---------------------------------------------------------------- */

void code_json_str(struct strbuf *sb, const char *s)
{
    strbuf_addch(sb, '"');
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        switch (*p) {
        case '"':
            strbuf_addstr(sb, "\\\"");
            break;
        case '\\':
            strbuf_addstr(sb, "\\\\");
            break;
        case '\n':
            strbuf_addstr(sb, "\\n");
            break;
        case '\t':
            strbuf_addstr(sb, "\\t");
            break;
        case '\r':
            strbuf_addstr(sb, "\\r");
            break;
        default:
            if (*p < 0x20)
                strbuf_addf(sb, "\\u%04x", *p);
            else
                strbuf_addch(sb, (char)*p);
        }
    }
    strbuf_addch(sb, '"');
}

/* A text[] literal of SV: {"a","b"}. */
static void array_lit(struct strbuf *sb, const struct strvec *sv)
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
static int array_parse(const char *s, struct strvec *out)
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
static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *params,
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

static unsigned oid_of(const char *s)
{
    return (unsigned)strtoul(s, NULL, 10);
}

/* ---- the state table -------------------------------------------------------------- */

static void row_release(struct code_row *r)
{
    free(r->identity);
    free(r->kind);
    free(r->file);
    free(r->schema);
    free(r->name);
    strvec_clear(&r->depends);
    strvec_clear(&r->body_depends);
    free(r->ctype);
    free(r->cidentity);
    free(r->atype);
    strvec_clear(&r->anames);
    strvec_clear(&r->aargs);
    free(r->drop_sql);
}

/*
 * Whether a row's object is still in the catalog (someone may have dropped
 * it by hand): a missing one is created again. A routine whose argument
 * types are gone is missing too (to_regprocedure would raise).
 */
#define PRESENT_SQL                                                                                \
    "CASE WHEN catalog_type IS NULL THEN true"                                                    \
    " WHEN catalog_type IN ('view', 'materialized view', 'index', 'table')"                       \
    "   THEN to_regclass(catalog_identity) IS NOT NULL"                                           \
    " WHEN catalog_type IN ('type', 'composite type', 'domain')"                                  \
    "   THEN to_regtype(catalog_identity) IS NOT NULL"                                            \
    " WHEN catalog_type IN ('function', 'procedure', 'aggregate')"                                \
    "   THEN NOT EXISTS (SELECT FROM unnest(address_args) a WHERE to_regtype(a) IS NULL)"         \
    "     AND to_regprocedure(catalog_identity) IS NOT NULL"                                      \
    " WHEN catalog_type = 'trigger' THEN EXISTS (SELECT FROM pg_trigger t WHERE t.tgrelid ="      \
    "   to_regclass(quote_ident(address_names[1]) || '.' || quote_ident(address_names[2]))"       \
    "   AND t.tgname = address_names[3])"                                                         \
    " WHEN catalog_type = 'policy' THEN EXISTS (SELECT FROM pg_policy t WHERE t.polrelid ="       \
    "   to_regclass(quote_ident(address_names[1]) || '.' || quote_ident(address_names[2]))"       \
    "   AND t.polname = address_names[3])"                                                        \
    " ELSE true END"

static int read_state(PGconn *conn, struct code_plan *p)
{
    PGresult *r = query(conn,
                        "SELECT identity, kind, file, line, sha256, file_sha256, depends, body_depends,"
                        " catalog_type, catalog_identity, address_type, address_names, address_args,"
                        " drop_sql, object_schema, object_name, " PRESENT_SQL
                        " FROM hectic.code_object ORDER BY file, line, identity",
                        0, NULL, PGRES_TUPLES_OK, "cannot read hectic.code_object");
    if (!r)
        return -1;
    int n = PQntuples(r);
    p->rows = xcalloc((size_t)n + 1, sizeof(*p->rows));
    p->rows_nr = (size_t)n;
    for (int i = 0; i < n; i++) {
        struct code_row *w = &p->rows[i];
        w->identity = xstrdup(PQgetvalue(r, i, 0));
        w->kind = xstrdup(PQgetvalue(r, i, 1));
        w->file = xstrdup(PQgetvalue(r, i, 2));
        w->line = (unsigned)strtoul(PQgetvalue(r, i, 3), NULL, 10);
        snprintf(w->sha, sizeof(w->sha), "%s", PQgetvalue(r, i, 4));
        snprintf(w->file_sha, sizeof(w->file_sha), "%s", PQgetvalue(r, i, 5));
        array_parse(PQgetvalue(r, i, 6), &w->depends);
        array_parse(PQgetvalue(r, i, 7), &w->body_depends);
        w->ctype = PQgetisnull(r, i, 8) ? NULL : xstrdup(PQgetvalue(r, i, 8));
        w->cidentity = PQgetisnull(r, i, 9) ? NULL : xstrdup(PQgetvalue(r, i, 9));
        w->atype = PQgetisnull(r, i, 10) ? NULL : xstrdup(PQgetvalue(r, i, 10));
        if (!PQgetisnull(r, i, 11))
            array_parse(PQgetvalue(r, i, 11), &w->anames);
        if (!PQgetisnull(r, i, 12))
            array_parse(PQgetvalue(r, i, 12), &w->aargs);
        w->drop_sql = xstrdup(PQgetvalue(r, i, 13));
        w->schema = PQgetisnull(r, i, 14) ? NULL : xstrdup(PQgetvalue(r, i, 14));
        w->name = PQgetisnull(r, i, 15) ? NULL : xstrdup(PQgetvalue(r, i, 15));
        w->missing = strcmp(PQgetvalue(r, i, 16), "t") != 0;
    }
    PQclear(r);
    return 0;
}

/* A unit of CS described by state row W (status left to the caller). */
static struct code_unit *unit_from_row(struct code_set *cs, const struct code_row *w)
{
    int k = code_kind_lookup(w->kind);
    struct code_unit *u = code_unit_new(cs, w->identity, k < 0 ? CODE_STATEMENT : (enum code_kind)k);
    u->file = xstrdup(w->file);
    u->line = w->line;
    memcpy(u->sha256, w->sha, sizeof(u->sha256));
    memcpy(u->file_sha256, w->file_sha, sizeof(u->file_sha256));
    for (size_t i = 0; i < w->depends.nr; i++)
        strvec_push(&u->depends, w->depends.v[i]);
    for (size_t i = 0; i < w->body_depends.nr; i++)
        strvec_push(&u->body_depends, w->body_depends.v[i]);
    u->drop_sql = xstrdup(w->drop_sql);
    if (w->schema && w->name) {
        u->schema = xstrdup(w->schema);
        u->name = xstrdup(w->name);
    }
    if (w->atype) {
        u->addr_type = xstrdup(w->atype);
        for (size_t i = 0; i < w->anames.nr; i++)
            strvec_push(&u->addr_names, w->anames.v[i]);
        for (size_t i = 0; i < w->aargs.nr; i++)
            strvec_push(&u->addr_args, w->aargs.v[i]);
    }
    return u;
}

/* ---- plan --------------------------------------------------------------------------- */

void code_plan_release(struct code_plan *p)
{
    for (size_t i = 0; i < p->ui_nr; i++) {
        struct code_uinfo *x = &p->ui[i];
        free(x->ckey);
        free(x->reason);
        free(x->nctype);
        free(x->ncid);
        free(x->natype);
        strvec_clear(&x->nnames);
        strvec_clear(&x->nargs);
        strvec_clear(&x->learnt);
    }
    free(p->ui);
    for (size_t i = 0; i < p->rows_nr; i++)
        row_release(&p->rows[i]);
    free(p->rows);
    code_set_release(&p->cs);
    for (size_t i = 0; i < p->steps.nr; i++)
        code_mig_release(&p->eff[i]);
    free(p->eff);
    mig_plan_release(&p->steps);
    mig_db_release(&p->db);
    if (p->own_folder_set)
        mig_folder_release(&p->own_folder);
    strvec_clear(&p->accept_names);
    strvec_clear(&p->accept_hashes);
    free(p->drops);
    free(p->creates);
    free(p->extra);
    free(p->drop_edges);
    free(p->ckeys);
    free(p->split_why);
    strvec_clear(&p->notes);
    strvec_clear(&p->lines);
    memset(p, 0, sizeof(*p));
}

/* The migrations part: folder, history, changed hashes, steps and what each one breaks. */
static enum mig_status plan_migrations(PGconn *conn, struct code_plan *p)
{
    const struct code_run_opts *o = p->o;
    if (!o->migrations)
        return MIG_AT_TARGET;
    if (o->folder) {
        p->folder = o->folder;
    } else {
        if (!o->migration_dir || !is_dir(o->migration_dir))
            return MIG_AT_TARGET;
        if (mig_scan(o->migration_dir, &p->own_folder) < 0)
            return MIG_ERROR;
        p->own_folder_set = true;
        p->folder = &p->own_folder;
    }
    if (mig_db_read(conn, &p->db) < 0)
        return MIG_ERROR;
    const char *a = NULL, *b = NULL;
    long pos = mig_history_check(p->folder, &p->db, &a, &b);
    bool force = o->mig && o->mig->force, accept = o->mig && o->mig->accept_changed;
    if (pos >= 0) {
        error("migration history mismatch at position %ld: applied '%s', folder '%s'", pos + 1,
              a ? a : "(none)", b ? b : "(none)");
        mig_history_report(stderr, p->folder, &p->db, pos);
        if (!force) {
            error("the applied migrations must be the first ones of the folder, in order; nothing was "
                  "changed (restore the missing folders, or pass --force to go on anyway)");
            return MIG_MISMATCH;
        }
        warn("*** --force: going on past the history mismatch at position %ld ***", pos + 1);
    }
    int nchanged = mig_changed(p->folder, &p->db, &p->accept_names, &p->accept_hashes);
    if (nchanged < 0)
        return MIG_ERROR;
    if (nchanged > 0 && !accept) {
        for (size_t i = 0; i < p->accept_names.nr; i++) {
            const struct mig *m = mig_find(p->folder, p->accept_names.v[i]);
            const struct mig_applied *ap = mig_db_find(&p->db, p->accept_names.v[i]);
            error("applied migration '%s' changed: %s hashes to %s, recorded %s",
                  p->accept_names.v[i], m ? m->up : "?", p->accept_hashes.v[i], ap ? ap->hash : "?");
        }
        error("refusing to migrate while %d applied migration%s changed: restore the file%s, or "
              "pass --accept-changed to record the new hash%s",
              nchanged, nchanged == 1 ? " is" : "s are", nchanged == 1 ? "" : "s",
              nchanged == 1 ? "" : "es");
        return MIG_CHANGED;
    }
    if (!accept) {
        strvec_clear(&p->accept_names);
        strvec_clear(&p->accept_hashes);
    }
    struct mig_request up_all = {MIG_REQ_UP, 0, NULL};
    if (!o->req) {
        /* up all: nothing pending is no news here (mig_plan would say so) */
        size_t pending = 0;
        for (size_t i = 0; i < p->folder->nr; i++)
            pending += p->folder->v[i].up && !mig_db_find(&p->db, p->folder->v[i].name);
        if (!pending)
            return MIG_AT_TARGET;
    }
    enum mig_status st = mig_plan(p->folder, &p->db, o->req ? o->req : &up_all, &p->steps);
    if (st != MIG_OK)
        return st == MIG_AT_TARGET && o->plan_only ? MIG_AT_TARGET : st;
    p->eff = xcalloc(p->steps.nr + 1, sizeof(*p->eff));
    for (size_t i = 0; i < p->steps.nr; i++) {
        const struct mig_step *s = &p->steps.v[i];
        const char *path = s->down ? s->m->down : s->m->up;
        if (s->m->no_tx && !p->split) {
            p->split = true;
            p->split_why = xasprintf("migration %s is declared 'transaction: false' in " MIG_META_FILE,
                                     s->m->name);
        }
        if (!path)
            continue; /* mig_run_step says why */
        if (code_mig_analyse(path, &p->eff[i]) < 0)
            return MIG_ERROR;
        for (size_t k = 0; k < p->eff[i].notes.nr; k++)
            strvec_push(&p->notes, p->eff[i].notes.v[k]);
        if (p->eff[i].tx_control && !p->split) {
            p->split = true;
            p->split_why = xasprintf("migration %s controls its transaction itself (%s)", s->m->name,
                                     p->eff[i].tx_control);
        }
    }
    return MIG_OK;
}

static int cmp_ckey(const void *a, const void *b)
{
    return strcmp(((const struct code_ckey *)a)->key, ((const struct code_ckey *)b)->key);
}

/* The unit whose catalog object is KEY ("type identity"), or -1. */
static long unit_by_ckey(const struct code_plan *p, const char *key)
{
    size_t lo = 0, hi = p->nckeys;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(p->ckeys[mid].key, key);
        if (!c)
            return (long)p->ckeys[mid].unit;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static void index_ckeys(struct code_plan *p)
{
    free(p->ckeys);
    p->ckeys = xcalloc(p->cs.units_nr + 1, sizeof(*p->ckeys));
    p->nckeys = 0;
    for (size_t i = 0; i < p->cs.units_nr; i++)
        if (p->ui[i].ckey)
            p->ckeys[p->nckeys++] = (struct code_ckey){p->ui[i].ckey, i};
    qsort(p->ckeys, p->nckeys, sizeof(*p->ckeys), cmp_ckey);
}

/*
 * The catalog lookup of addresses: $1 types, $2 object names, $3 object args
 * (text[] literals), as pg_identify_object_as_address() gives them or as a
 * parse describes a unit. A row type is its relation (pg_class), as pg_depend
 * sees the object.
 */
#define LOOKUP_SQL                                                                                 \
    "SELECT x.i, o.classid, o.objid, io.type, io.identity, a.object_names, a.object_args"         \
    " FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x(t, n, a, i)"           \
    " CROSS JOIN LATERAL (SELECT x.n::text[] AS n, x.a::text[] AS a) p"                          \
    " CROSS JOIN LATERAL (SELECT CASE WHEN cardinality(p.n) = 1 THEN p.n[1]"                     \
    "     ELSE quote_ident(p.n[1]) || '.' || quote_ident(p.n[2]) END AS q,"                        \
    "     CASE WHEN cardinality(p.n) = 3 THEN to_regclass(quote_ident(p.n[1]) || '.' ||"          \
    "     quote_ident(p.n[2])) END AS rel) q"                                                      \
    " CROSS JOIN LATERAL (SELECT"                                                                  \
    "   CASE WHEN x.t IN ('view', 'materialized view', 'index', 'table', 'composite type',"       \
    "          'sequence', 'foreign table') THEN 'pg_class'::regclass::oid"                        \
    "        WHEN x.t IN ('function', 'procedure', 'aggregate') THEN 'pg_proc'::regclass::oid"     \
    "        WHEN x.t IN ('type', 'domain') THEN 'pg_type'::regclass::oid"                         \
    "        WHEN x.t = 'trigger' THEN 'pg_trigger'::regclass::oid"                                \
    "        WHEN x.t = 'policy' THEN 'pg_policy'::regclass::oid END AS classid,"                  \
    "   CASE WHEN x.t IN ('view', 'materialized view', 'index', 'table', 'composite type',"       \
    "          'sequence', 'foreign table') THEN to_regclass(q.q)::oid"                            \
    "        WHEN x.t IN ('function', 'procedure', 'aggregate') AND NOT EXISTS (SELECT"            \
    "          FROM unnest(p.a) y WHERE to_regtype(y) IS NULL) THEN"                               \
    "          to_regprocedure(q.q || '(' || array_to_string(p.a, ',') || ')')::oid"              \
    "        WHEN x.t IN ('type', 'domain') THEN to_regtype(q.q)::oid"                             \
    "        WHEN x.t = 'trigger' THEN (SELECT t.oid FROM pg_trigger t"                            \
    "          WHERE t.tgrelid = q.rel AND t.tgname = p.n[3])"                                     \
    "        WHEN x.t = 'policy' THEN (SELECT t.oid FROM pg_policy t"                              \
    "          WHERE t.polrelid = q.rel AND t.polname = p.n[3]) END AS objid) r"                   \
    " LEFT JOIN pg_type ty ON r.classid = 'pg_type'::regclass AND ty.oid = r.objid"                \
    "   AND ty.typrelid <> 0"                                                                      \
    " CROSS JOIN LATERAL (SELECT CASE WHEN ty.oid IS NOT NULL THEN 'pg_class'::regclass::oid"      \
    "   ELSE r.classid END AS classid, COALESCE(ty.typrelid, r.objid) AS objid) o"                 \
    " CROSS JOIN LATERAL pg_identify_object(o.classid, o.objid, 0) io"                             \
    " CROSS JOIN LATERAL pg_identify_object_as_address(o.classid, o.objid, 0) a"                   \
    " WHERE o.objid IS NOT NULL"

/* Whether catalog type CTYPE is what a unit of KIND creates. */
static bool ctype_fits(enum code_kind kind, const char *ctype)
{
    switch (kind) {
    case CODE_TYPE:
    case CODE_DOMAIN:
        return !strcmp(ctype, "type") || !strcmp(ctype, "composite type") || !strcmp(ctype, "domain");
    case CODE_STATEMENT:
        return true;
    default:
        return !strcmp(ctype, code_kind_name(kind));
    }
}

/*
 * Look up the catalog objects of the units WHICH[0..N) by their addresses
 * (the state's, or the parse's for NEW units); NEW_INFO: store what is
 * found in the new* fields (after creation) instead of classid/objid/ckey.
 */
static int lookup_units(PGconn *conn, struct code_plan *p, const size_t *which, size_t n,
                        bool new_info)
{
    if (!n)
        return 0;
    struct strbuf t = STRBUF_INIT, nm = STRBUF_INIT, ar = STRBUF_INIT, one = STRBUF_INIT;
    struct strvec tv = STRVEC_INIT, nv = STRVEC_INIT, av = STRVEC_INIT;
    size_t *idx = xcalloc(n, sizeof(size_t)), m = 0;
    for (size_t i = 0; i < n; i++) {
        const struct code_unit *u = &p->cs.units[which[i]];
        if (!u->addr_type)
            continue;
        idx[m++] = which[i];
        strvec_push(&tv, u->addr_type);
        strbuf_reset(&one);
        array_lit(&one, &u->addr_names);
        strvec_push(&nv, one.buf);
        strbuf_reset(&one);
        array_lit(&one, &u->addr_args);
        strvec_push(&av, one.buf);
    }
    array_lit(&t, &tv);
    array_lit(&nm, &nv);
    array_lit(&ar, &av);
    int ret = 0;
    if (m) {
        const char *params[3] = {t.buf, nm.buf, ar.buf};
        PGresult *r = query(conn, LOOKUP_SQL, 3, params, PGRES_TUPLES_OK,
                            "cannot look up the code objects in the catalog");
        if (!r) {
            ret = -1;
        } else {
            for (int i = 0; i < PQntuples(r); i++) {
                size_t k = (size_t)strtoul(PQgetvalue(r, i, 0), NULL, 10) - 1;
                if (k >= m)
                    continue;
                const struct code_unit *u = &p->cs.units[idx[k]];
                struct code_uinfo *x = &p->ui[idx[k]];
                const char *ctype = PQgetvalue(r, i, 3);
                if (!ctype_fits(u->kind, ctype))
                    continue; /* a table where the code has a view: the create will say so */
                if (new_info) {
                    x->nclassid = oid_of(PQgetvalue(r, i, 1));
                    x->nobjid = oid_of(PQgetvalue(r, i, 2));
                    free(x->nctype);
                    free(x->ncid);
                    free(x->natype);
                    x->nctype = xstrdup(ctype);
                    x->ncid = xstrdup(PQgetvalue(r, i, 4));
                    x->natype = xstrdup(ctype);
                    strvec_clear(&x->nnames);
                    strvec_clear(&x->nargs);
                    array_parse(PQgetvalue(r, i, 5), &x->nnames);
                    array_parse(PQgetvalue(r, i, 6), &x->nargs);
                } else {
                    x->exists = true;
                    x->classid = oid_of(PQgetvalue(r, i, 1));
                    x->objid = oid_of(PQgetvalue(r, i, 2));
                    if (!x->ckey)
                        x->ckey = xasprintf("%s %s", ctype, PQgetvalue(r, i, 4));
                }
            }
            PQclear(r);
        }
    }
    free(idx);
    strvec_clear(&tv);
    strvec_clear(&nv);
    strvec_clear(&av);
    strbuf_release(&t);
    strbuf_release(&nm);
    strbuf_release(&ar);
    strbuf_release(&one);
    return ret;
}

/* Load the statements of the unloaded unit U from its (unchanged) file. */
static int load_text(struct code_plan *p, struct code_unit *u)
{
    struct code_set tmp;
    code_set_init(&tmp, p->cs.dir, p->cs.schema);
    const struct code_file *f = code_file_find(&p->cs, u->file);
    int ret = -1;
    if (!f) {
        error("%s: the file of %s is gone", u->file, u->identity);
        goto out;
    }
    ALLOC_GROW(tmp.files, 1, tmp.files_alloc);
    tmp.files_nr = 1;
    tmp.files[0] = (struct code_file){xstrdup(f->path), "", false};
    memcpy(tmp.files[0].sha256, f->sha256, sizeof(f->sha256));
    if (code_parse_file(&tmp, 0) != 0)
        goto out;
    struct code_unit *t = code_unit_find(&tmp, u->identity);
    if (!t || strcmp(t->sha256, u->sha256)) {
        error("%s changed while it was read (%s): run again", u->file, u->identity);
        goto out;
    }
    /* take the text and the parse facts over */
    u->stmts = t->stmts, u->stmts_nr = t->stmts_nr, u->stmts_alloc = t->stmts_alloc;
    t->stmts = NULL, t->stmts_nr = t->stmts_alloc = 0;
    u->refs = t->refs, u->refs_nr = t->refs_nr, u->refs_alloc = t->refs_alloc;
    t->refs = NULL, t->refs_nr = t->refs_alloc = 0;
    if (!u->schema && t->schema) {
        u->schema = t->schema, t->schema = NULL;
        u->name = t->name, t->name = NULL;
        u->args = t->args, t->args = NULL;
        u->table = t->table, t->table = NULL;
        u->table_schema = t->table_schema, t->table_schema = NULL;
    }
    if (!u->addr_type && t->addr_type) {
        u->addr_type = t->addr_type, t->addr_type = NULL;
        u->addr_names = t->addr_names, t->addr_names = (struct strvec)STRVEC_INIT;
        u->addr_args = t->addr_args, t->addr_args = (struct strvec)STRVEC_INIT;
    }
    if (!u->note && t->note)
        u->note = t->note, t->note = NULL;
    u->loaded = true;
    ret = 0;
out:
    code_set_release(&tmp);
    return ret;
}

static const char *status_word(const struct code_plan *p, size_t i);

/* Whether the set has statements that could not be analysed. */
static bool unanalysed(const struct code_set *cs)
{
    for (size_t i = 0; i < cs->units_nr; i++)
        if (cs->units[i].kind == CODE_STATEMENT && cs->units[i].status != CODE_REMOVED)
            return true;
    return false;
}

/*
 * The statements of the units to create whose files were not parsed, as the
 * state recorded them (checked against their hash): no parse needed. A unit
 * whose text is not there (an older row) is left to load_text().
 */
static int fetch_texts(PGconn *conn, struct code_plan *p)
{
    struct code_set *cs = &p->cs;
    struct strvec ids = STRVEC_INIT;
    for (size_t i = 0; i < p->ncreates; i++)
        if (!cs->units[p->creates[i]].loaded && cs->units[p->creates[i]].priv)
            strvec_push(&ids, cs->units[p->creates[i]].identity);
    if (!ids.nr)
        return 0;
    struct strbuf lit = STRBUF_INIT;
    array_lit(&lit, &ids);
    strvec_clear(&ids);
    const char *params[1] = {lit.buf};
    PGresult *r = query(conn,
                        "SELECT identity, statements, statement_lines FROM hectic.code_object"
                        " WHERE identity = ANY($1::text[])",
                        1, params, PGRES_TUPLES_OK, "cannot read hectic.code_object");
    strbuf_release(&lit);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        struct code_unit *u = code_unit_find(cs, PQgetvalue(r, i, 0));
        struct strvec st = STRVEC_INIT, sl = STRVEC_INIT;
        struct strbuf lines = STRBUF_INIT;
        if (!u || u->loaded || array_parse(PQgetvalue(r, i, 1), &st) < 0 || !st.nr)
            goto next;
        /* int[] prints like a text[] without quotes */
        if (array_parse(PQgetvalue(r, i, 2), &sl) < 0 || sl.nr != st.nr)
            goto next;
        for (size_t k = 0; k < st.nr; k++) {
            ALLOC_GROW(u->stmts, u->stmts_nr + 1, u->stmts_alloc);
            u->stmts[u->stmts_nr].sql = xstrdup(st.v[k]);
            u->stmts[u->stmts_nr].line = (unsigned)strtoul(sl.v[k], NULL, 10);
            u->stmts[u->stmts_nr].offset = 0;
            u->stmts_nr++;
        }
        char sha[SHA256_HEX_LEN];
        memcpy(sha, u->sha256, sizeof(sha));
        code_unit_hash(u);
        if (strcmp(sha, u->sha256)) {
            /* not what was recorded: parse the file after all */
            for (size_t k = 0; k < u->stmts_nr; k++)
                free(u->stmts[k].sql);
            u->stmts_nr = 0;
            memcpy(u->sha256, sha, sizeof(sha));
        } else {
            u->loaded = true;
        }
    next:
        strvec_clear(&st);
        strvec_clear(&sl);
        strbuf_release(&lines);
    }
    PQclear(r);
    return 0;
}

/* The code part: files, state, parse, match, resolve. Returns the number of errors, -1 on I/O. */
static int plan_code(struct code_plan *p)
{
    struct code_set *cs = &p->cs;
    int errors = 0;
    if (code_scan(cs) < 0)
        return -1;
    /* a file whose hash the state knows is not parsed: its units are the rows */
    bool *known = xcalloc(cs->files_nr + 1, sizeof(bool));
    bool *stale = xcalloc(cs->files_nr + 1, sizeof(bool));
    for (size_t i = 0; i < p->rows_nr; i++) {
        struct code_file *f = code_file_find(cs, p->rows[i].file);
        if (f && !strcmp(f->sha256, p->rows[i].file_sha))
            known[f - cs->files] = true;
        else if (f)
            stale[f - cs->files] = true;
    }
    /* every row of the file must say so */
    for (size_t i = 0; i < cs->files_nr; i++)
        known[i] = known[i] && !stale[i];
    free(stale);
    for (size_t i = 0; i < p->rows_nr; i++) {
        struct code_row *w = &p->rows[i];
        struct code_file *f = code_file_find(cs, w->file);
        if (f && known[f - cs->files]) {
            struct code_unit *u = unit_from_row(cs, w);
            u->status = CODE_UNCHANGED;
            u->priv = w;
            w->used = true;
        }
    }
    size_t nfiles = cs->files_nr;
    for (size_t i = 0; i < nfiles; i++) {
        if (known[i])
            continue;
        int e = code_parse_file(cs, i);
        if (e < 0) {
            free(known);
            return -1;
        }
        errors += e;
    }
    free(known);
    /* match the parsed units with the rows left */
    size_t nunits = cs->units_nr;
    for (size_t i = 0; i < nunits; i++) {
        struct code_unit *u = &cs->units[i];
        if (!u->loaded)
            continue;
        for (size_t k = 0; k < p->rows_nr; k++) {
            struct code_row *w = &p->rows[k];
            if (w->used || strcmp(w->identity, u->identity))
                continue;
            w->used = true;
            u->priv = w;
            if (strcmp(w->sha, u->sha256))
                u->status = CODE_CHANGED;
            else if (strcmp(w->file, u->file) || w->line != u->line)
                u->status = CODE_MOVED;
            else
                u->status = CODE_UNCHANGED;
            /* the file changed around it: only its file hash is recorded */
            if (u->status == CODE_UNCHANGED && strcmp(w->file_sha, u->file_sha256))
                p->nrefresh++;
            /* a statement's catalog object is only known from the state */
            if (u->kind == CODE_STATEMENT && w->atype && !u->addr_type) {
                u->addr_type = xstrdup(w->atype);
                for (size_t j = 0; j < w->anames.nr; j++)
                    strvec_push(&u->addr_names, w->anames.v[j]);
                for (size_t j = 0; j < w->aargs.nr; j++)
                    strvec_push(&u->addr_args, w->aargs.v[j]);
            }
            break;
        }
    }
    /* in the state, not in the catalog (dropped by hand): created again */
    for (size_t i = 0; i < cs->units_nr; i++) {
        struct code_unit *u = &cs->units[i];
        const struct code_row *w = u->priv;
        if (w && w->missing && (u->status == CODE_UNCHANGED || u->status == CODE_MOVED))
            u->status = CODE_CHANGED, p->nmissing++;
    }
    /* rows of no unit: removed */
    for (size_t k = 0; k < p->rows_nr; k++) {
        struct code_row *w = &p->rows[k];
        if (w->used)
            continue;
        struct code_unit *u = unit_from_row(cs, w);
        u->status = CODE_REMOVED;
        u->priv = w;
        w->used = true;
    }
    /* nothing parsed, nothing removed: what the state says was checked when it was applied */
    bool news = p->nmissing > 0;
    for (size_t i = 0; i < cs->units_nr && !news; i++)
        news = cs->units[i].loaded || cs->units[i].status == CODE_REMOVED;
    if (!news)
        return errors;
    int e = code_resolve(cs);
    bool dbg = log_enabled(NS, LOG_DEBUG);
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        if (dbg)
            debug(NS, "%s: %s (%s)%s", u->identity,
                  (const char *[]){"unchanged", "new", "changed", "moved", "removed"}[u->status],
                  code_unit_where(u), u->loaded ? ", parsed" : "");
        /* an unchanged object (not parsed again) that needs one removed: an error, unless a
         * statement that could not be analysed may define it again (the server will tell) */
        for (size_t k = 0; !u->loaded && u->status != CODE_REMOVED && k < u->depends.nr; k++) {
            const struct code_unit *t = code_unit_find(cs, u->depends.v[k]);
            if (!t || t->status != CODE_REMOVED)
                continue;
            if (unanalysed(cs)) {
                strvec_pushf(&p->notes, "%s/%s:%u: %s needs %s, whose definition was removed (a "
                             "statement that could not be analysed may create it)", cs->dir,
                             u->file, u->line, u->identity, t->identity);
                continue;
            }
            e++;
            error("%s/%s:%u: %s needs %s, whose definition was removed (from %s)", cs->dir,
                  u->file, u->line, u->identity, t->identity, t->file);
        }
    }
    return errors + e;
}

/* Whether a pending migration creates what REF names. */
static bool created_by_migration(const struct code_plan *p, const struct code_ref *r)
{
    for (size_t i = 0; i < p->steps.nr; i++) {
        if (p->steps.v[i].down)
            continue;
        const struct code_mig *m = &p->eff[i];
        for (size_t k = 0; k < m->creates_nr; k++) {
            const struct code_ref *c = &m->creates[k];
            /* a relation has a row type of its name */
            bool kind_ok = c->kind == r->kind ||
                           (r->kind == PARSE_REF_TYPE && c->kind == PARSE_REF_RELATION);
            if (!kind_ok || strcmp(c->name, r->name))
                continue;
            if (r->schema && c->schema && strcmp(r->schema, c->schema))
                continue;
            return true;
        }
    }
    return false;
}

/* Refs to nothing in the code directory: the database or a pending migration must have them. */
static int check_external(PGconn *conn, struct code_plan *p)
{
    struct code_set *cs = &p->cs;
    struct strvec kv = STRVEC_INIT, sv = STRVEC_INIT, nv = STRVEC_INIT;
    struct { size_t unit, ref; } *at = NULL;
    size_t nat = 0, aat = 0;
    int errors = 0;
    bool statements = false;
    for (size_t i = 0; i < cs->units_nr; i++)
        statements |= cs->units[i].kind == CODE_STATEMENT && cs->units[i].status != CODE_REMOVED;
    for (size_t i = 0; i < cs->units_nr; i++) {
        struct code_unit *u = &cs->units[i];
        if (!u->loaded || u->status == CODE_REMOVED)
            continue;
        for (size_t k = 0; k < u->external_nr; k++) {
            const struct code_ref *r = &u->external[k];
            const struct code_unit *gone = code_ref_removed(cs, r);
            if (gone && !statements) {
                errors++;
                error("%s/%s:%u: %s needs %s, whose definition was removed (from %s)", cs->dir,
                      u->file, r->line, u->identity, gone->identity, gone->file);
                continue;
            }
            if (created_by_migration(p, r))
                continue;
            ALLOC_GROW(at, nat + 1, aat);
            at[nat].unit = i, at[nat].ref = k;
            nat++;
            strvec_push(&kv, r->kind == PARSE_REF_RELATION ? "r" : r->kind == PARSE_REF_TYPE ? "t" : "f");
            strvec_push(&sv, r->schema ? r->schema : "");
            strvec_push(&nv, r->name);
        }
    }
    if (nat) {
        struct strbuf k = STRBUF_INIT, s = STRBUF_INIT, n = STRBUF_INIT;
        array_lit(&k, &kv);
        array_lit(&s, &sv);
        array_lit(&n, &nv);
        const char *params[3] = {k.buf, s.buf, n.buf};
        PGresult *r = query(
            conn,
            "SELECT x.i FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x(k, s, n, i)"
            " CROSS JOIN LATERAL (SELECT CASE WHEN x.s = '' THEN quote_ident(x.n)"
            "   ELSE quote_ident(x.s) || '.' || quote_ident(x.n) END AS q) q"
            " WHERE NOT CASE x.k"
            "   WHEN 'r' THEN to_regclass(q.q) IS NOT NULL"
            "   WHEN 't' THEN to_regtype(q.q) IS NOT NULL"
            "   ELSE EXISTS (SELECT 1 FROM pg_proc f WHERE f.proname = x.n AND CASE WHEN x.s = ''"
            "     THEN pg_function_is_visible(f.oid) ELSE f.pronamespace = to_regnamespace(x.s) END)"
            " END",
            3, params, PGRES_TUPLES_OK, "cannot look up the objects the code refers to");
        strbuf_release(&k);
        strbuf_release(&s);
        strbuf_release(&n);
        if (!r) {
            errors = -1;
        } else {
            for (int i = 0; i < PQntuples(r); i++) {
                size_t j = (size_t)strtoul(PQgetvalue(r, i, 0), NULL, 10) - 1;
                if (j >= nat)
                    continue;
                const struct code_unit *u = &cs->units[at[j].unit];
                const struct code_ref *ref = &u->external[at[j].ref];
                const char *what = ref->kind == PARSE_REF_RELATION ? "relation"
                                   : ref->kind == PARSE_REF_TYPE   ? "type"
                                                                   : "function";
                struct strbuf nm = STRBUF_INIT;
                code_qualified(&nm, ref->schema, ref->name);
                if (ref->in_body || statements) {
                    /* a body runs later; a statement not analysed may create it */
                    strvec_pushf(&p->notes, "%s/%s:%u: %s names %s %s, which is neither in the code "
                                 "directory nor in the database%s",
                                 cs->dir, u->file, ref->line, u->identity, what, nm.buf,
                                 statements ? " (a statement that could not be analysed may create it)"
                                            : " (inside a function body: only a call will fail)");
                    if (statements && !ref->in_body) {
                        for (size_t s2 = 0; s2 < cs->units_nr; s2++)
                            if (cs->units[s2].kind == CODE_STATEMENT &&
                                cs->units[s2].status != CODE_REMOVED) {
                                ALLOC_GROW(p->extra, p->nextra + 1, p->aextra);
                                p->extra[p->nextra][0] = s2;
                                p->extra[p->nextra][1] = at[j].unit;
                                p->nextra++;
                            }
                    }
                } else {
                    errors++;
                    error("%s/%s:%u: %s references %s %s, which is neither in the code directory, nor "
                          "in the database, nor created by a pending migration",
                          cs->dir, u->file, ref->line, u->identity, what, nm.buf);
                }
                strbuf_release(&nm);
            }
            PQclear(r);
        }
    }
    free(at);
    strvec_clear(&kv);
    strvec_clear(&sv);
    strvec_clear(&nv);
    return errors;
}

/* One object being walked in the pg_depend closure. */
struct walk {
    unsigned classid, objid;
    int subid;
    bool from_code; /* a code object or a part of one: its outside dependents are errors */
    long owner;     /* the unit it is (a part of), -1 */
    char *desc;     /* for reasons: "table public.orders (ALTER COLUMN amount TYPE in migration X)" */
};

struct seen {
    uint64_t *v;
    size_t size, nr;
};

static bool seen_add(struct seen *s, unsigned classid, unsigned objid)
{
    uint64_t key = ((uint64_t)classid << 32 | objid) + 1;
    if (s->nr * 2 >= s->size) {
        struct seen n = {xcalloc(s->size ? s->size * 2 : 64, sizeof(uint64_t)),
                         s->size ? s->size * 2 : 64, 0};
        for (size_t i = 0; i < s->size; i++)
            if (s->v[i])
                seen_add(&n, (unsigned)((s->v[i] - 1) >> 32), (unsigned)(s->v[i] - 1));
        free(s->v);
        *s = n;
    }
    size_t i = (size_t)((key * 11400714819323198485ULL) >> 7) % s->size;
    while (s->v[i]) {
        if (s->v[i] == key)
            return false;
        i = (i + 1) % s->size;
    }
    s->v[i] = key;
    s->nr++;
    return true;
}

#define CLOSURE_SQL                                                                                \
    "WITH f AS (SELECT * FROM unnest($1::oid[], $2::oid[], $3::int[]) WITH ORDINALITY"            \
    "   AS f(classid, objid, subid, i)),"                                                          \
    " g AS (SELECT i, classid, objid, subid, classid AS oc, objid AS oo FROM f"                   \
    "   UNION ALL SELECT f.i, 'pg_type'::regclass::oid, c.reltype, 0, f.classid, f.objid FROM f"  \
    "   JOIN pg_class c ON f.classid = 'pg_class'::regclass AND c.oid = f.objid"                   \
    "   WHERE c.reltype <> 0 AND f.subid = 0)"                                                     \
    " SELECT g.i, n.classid, n.objid, d.deptype, io.type, io.identity"                             \
    " FROM g JOIN pg_depend d ON d.refclassid = g.classid AND d.refobjid = g.objid"                \
    "   AND (g.subid = 0 OR d.refobjsubid = g.subid)"                                              \
    " LEFT JOIN pg_rewrite r ON d.classid = 'pg_rewrite'::regclass AND r.oid = d.objid"            \
    " LEFT JOIN pg_type t ON d.classid = 'pg_type'::regclass AND t.oid = d.objid"                  \
    "   AND t.typrelid <> 0"                                                                       \
    " CROSS JOIN LATERAL (SELECT CASE WHEN r.oid IS NOT NULL OR t.oid IS NOT NULL"                 \
    "   THEN 'pg_class'::regclass::oid ELSE d.classid END AS classid,"                             \
    "   COALESCE(r.ev_class, t.typrelid, d.objid) AS objid) n"                                     \
    " CROSS JOIN LATERAL pg_identify_object(n.classid, n.objid, 0) io"                             \
    " WHERE d.deptype IN ('n', 'a', 'i') AND NOT (n.classid = g.oc AND n.objid = g.oo)"           \
    " ORDER BY g.i, n.classid, n.objid"

static void walk_push(struct walk **v, size_t *nr, size_t *alloc, struct walk w)
{
    ALLOC_GROW(*v, *nr + 1, *alloc);
    (*v)[(*nr)++] = w;
}

static void add_extra(struct code_plan *p, size_t before, size_t after)
{
    ALLOC_GROW(p->drop_edges, p->ndrop_edges + 1, p->adrop_edges);
    p->drop_edges[p->ndrop_edges][0] = before;
    p->drop_edges[p->ndrop_edges][1] = after;
    p->ndrop_edges++;
}

/*
 * Walk pg_depend from the starts: the units found are re-created (affected),
 * parts of objects (rules, row types, array types, constraints, defaults:
 * internal and automatic dependencies) are walked through, anything else
 * depending on a code object is an outside dependent: an error. Returns the
 * number of errors, -1 on a query failure.
 */
static int closure(PGconn *conn, struct code_plan *p, struct walk *front, size_t nfront)
{
    struct seen seen = {NULL, 0, 0};
    size_t afront = nfront;
    int errors = 0;
    for (size_t i = 0; i < nfront; i++)
        seen_add(&seen, front[i].classid, front[i].objid);
    while (nfront && errors >= 0) {
        struct strbuf c = STRBUF_INIT, o = STRBUF_INIT, s = STRBUF_INIT;
        strbuf_addch(&c, '{');
        strbuf_addch(&o, '{');
        strbuf_addch(&s, '{');
        for (size_t i = 0; i < nfront; i++) {
            strbuf_addf(&c, "%s%u", i ? "," : "", front[i].classid);
            strbuf_addf(&o, "%s%u", i ? "," : "", front[i].objid);
            strbuf_addf(&s, "%s%d", i ? "," : "", front[i].subid);
        }
        strbuf_addch(&c, '}');
        strbuf_addch(&o, '}');
        strbuf_addch(&s, '}');
        const char *params[3] = {c.buf, o.buf, s.buf};
        PGresult *r = query(conn, CLOSURE_SQL, 3, params, PGRES_TUPLES_OK,
                            "cannot read pg_depend");
        strbuf_release(&c);
        strbuf_release(&o);
        strbuf_release(&s);
        if (!r) {
            errors = -1;
            break;
        }
        struct walk *next = NULL;
        size_t nnext = 0, anext = 0;
        for (int i = 0; i < PQntuples(r); i++) {
            size_t pi = (size_t)strtoul(PQgetvalue(r, i, 0), NULL, 10) - 1;
            if (pi >= nfront)
                continue;
            const struct walk *par = &front[pi];
            unsigned classid = oid_of(PQgetvalue(r, i, 1)), objid = oid_of(PQgetvalue(r, i, 2));
            char dt = PQgetvalue(r, i, 3)[0];
            char *key = xasprintf("%s %s", PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
            long u = unit_by_ckey(p, key);
            if (u >= 0 && p->cs.units[u].status == CODE_REMOVED && !p->ui[u].exists)
                u = -1;
            if (u >= 0 && par->owner >= 0 && u != par->owner)
                add_extra(p, (size_t)par->owner, (size_t)u);
            if (!seen_add(&seen, classid, objid)) {
                free(key);
                continue;
            }
            if (u >= 0) {
                struct code_uinfo *x = &p->ui[u];
                x->exists = true;
                x->classid = classid;
                x->objid = objid;
                if (!x->affected && !x->target) {
                    x->affected = true;
                    x->reason = xasprintf("depends on %s", par->desc);
                }
                walk_push(&next, &nnext, &anext,
                          (struct walk){classid, objid, 0, true, u,
                                        xstrdup(p->cs.units[u].identity)});
            } else if (dt == 'i' || dt == 'a') {
                walk_push(&next, &nnext, &anext,
                          (struct walk){classid, objid, 0, par->from_code, par->owner,
                                        xstrdup(par->desc)});
            } else if (par->from_code) {
                const struct code_unit *ow = par->owner >= 0 ? &p->cs.units[par->owner] : NULL;
                errors++;
                error("%s depends on %s (%s), which must be dropped and created again; %s is not "
                      "in the code directory: change or drop it in a migration first",
                      key, ow ? ow->identity : par->desc, ow ? code_unit_where(ow) : "?",
                      PQgetvalue(r, i, 4));
            }
            free(key);
        }
        PQclear(r);
        for (size_t i = 0; i < nfront; i++)
            free(front[i].desc);
        free(front);
        front = next;
        nfront = nnext;
        afront = anext;
    }
    (void)afront;
    for (size_t i = 0; i < nfront; i++)
        free(front[i].desc);
    free(front);
    free(seen.v);
    return errors;
}

/* The catalog objects the pending migrations break, as walk starts. */
static int migration_starts(PGconn *conn, struct code_plan *p, struct walk **front, size_t *nfront,
                            size_t *afront)
{
    struct strvec kv = STRVEC_INIT, qv = STRVEC_INIT, cv = STRVEC_INIT;
    struct { size_t step, t; } *at = NULL;
    size_t nat = 0, aat = 0;
    for (size_t i = 0; i < p->steps.nr; i++) {
        const struct code_mig *m = &p->eff[i];
        for (size_t k = 0; k < m->targets_nr; k++) {
            const struct code_target *t = &m->targets[k];
            struct strbuf q = STRBUF_INIT;
            code_qualified(&q, t->schema, t->name);
            if (t->kind == 'f' && t->args)
                strbuf_addf(&q, "(%s)", t->args);
            strvec_push(&kv, t->kind == 'f' && !t->args ? "F" : (char[]){t->kind, 0});
            strvec_push(&qv, t->kind == 'f' && !t->args ? t->name : q.buf);
            strvec_push(&cv, t->kind == 'f' && !t->args ? (t->schema ? t->schema : "")
                                                        : (t->column ? t->column : ""));
            strbuf_release(&q);
            ALLOC_GROW(at, nat + 1, aat);
            at[nat].step = i, at[nat].t = k;
            nat++;
        }
    }
    int ret = 0;
    if (nat) {
        struct strbuf k = STRBUF_INIT, q = STRBUF_INIT, c = STRBUF_INIT;
        array_lit(&k, &kv);
        array_lit(&q, &qv);
        array_lit(&c, &cv);
        const char *params[3] = {k.buf, q.buf, c.buf};
        PGresult *r = query(
            conn,
            "SELECT x.i, o.classid, o.objid,"
            "  CASE WHEN x.k IN ('r', 't') AND x.c <> '' THEN COALESCE((SELECT a.attnum FROM"
            "    pg_attribute a WHERE a.attrelid = o.objid AND a.attname = x.c"
            "    AND NOT a.attisdropped), -1) ELSE 0 END, io.type, io.identity"
            " FROM unnest($1::text[], $2::text[], $3::text[]) WITH ORDINALITY AS x(k, q, c, i)"
            " CROSS JOIN LATERAL ("
            "   SELECT 'pg_class'::regclass::oid, to_regclass(x.q)::oid WHERE x.k = 'r'"
            "   UNION ALL SELECT CASE WHEN ty.typrelid <> 0 THEN 'pg_class'::regclass::oid"
            "     ELSE 'pg_type'::regclass::oid END, CASE WHEN ty.typrelid <> 0 THEN ty.typrelid"
            "     ELSE ty.oid END FROM pg_type ty WHERE x.k = 't' AND ty.oid = to_regtype(x.q)"
            "   UNION ALL SELECT 'pg_proc'::regclass::oid, to_regprocedure(x.q)::oid WHERE x.k = 'f'"
            "   UNION ALL SELECT 'pg_proc'::regclass::oid, f.oid FROM pg_proc f WHERE x.k = 'F'"
            "     AND f.proname = x.q AND CASE WHEN x.c = '' THEN pg_function_is_visible(f.oid)"
            "     ELSE f.pronamespace = to_regnamespace(x.c) END"
            " ) o(classid, objid)"
            " CROSS JOIN LATERAL pg_identify_object(o.classid, o.objid, 0) io"
            " WHERE o.objid IS NOT NULL",
            3, params, PGRES_TUPLES_OK, "cannot look up what the pending migrations change");
        strbuf_release(&k);
        strbuf_release(&q);
        strbuf_release(&c);
        if (!r) {
            ret = -1;
        } else {
            for (int i = 0; i < PQntuples(r); i++) {
                size_t j = (size_t)strtoul(PQgetvalue(r, i, 0), NULL, 10) - 1;
                if (j >= nat)
                    continue;
                int subid = atoi(PQgetvalue(r, i, 3));
                if (subid < 0)
                    continue; /* no such column (yet): nothing depends on it */
                const struct code_target *t = &p->eff[at[j].step].targets[at[j].t];
                char *key = xasprintf("%s %s", PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
                long u = unit_by_ckey(p, key);
                unsigned classid = oid_of(PQgetvalue(r, i, 1)), objid = oid_of(PQgetvalue(r, i, 2));
                char *desc = xasprintf("%s (%s in migration %s)", key, t->what,
                                       p->steps.v[at[j].step].m->name);
                if (u >= 0) {
                    /* the migration itself changes a code object: created again after it */
                    struct code_uinfo *x = &p->ui[u];
                    x->target = true;
                    free(x->reason);
                    x->reason = xasprintf("changed by migration %s (%s)",
                                          p->steps.v[at[j].step].m->name, t->what);
                    walk_push(front, nfront, afront,
                              (struct walk){classid, objid, 0, true, u, desc});
                } else {
                    walk_push(front, nfront, afront,
                              (struct walk){classid, objid, subid, false, -1, desc});
                }
                free(key);
            }
            PQclear(r);
        }
    }
    free(at);
    strvec_clear(&kv);
    strvec_clear(&qv);
    strvec_clear(&cv);
    return ret;
}

/*
 * Build the plan on CONN (read-only): what changes, what depends on it, in
 * which order. Returns the migration status (MIG_OK: steps to run,
 * MIG_AT_TARGET: none, else an error status); *CODE_ERRORS gets the number
 * of problems of the code directory (printed), -1 when something else failed.
 */
enum mig_status code_plan_build(PGconn *conn, struct code_plan *p, const struct code_run_opts *o,
                                int *code_errors)
{
    memset(p, 0, sizeof(*p));
    p->o = o;
    *code_errors = 0;
    PGresult *r = query(conn,
                        "SELECT current_schema(), to_regclass('hectic.code_object') IS NOT NULL,"
                        " to_regclass('hectic.version') IS NOT NULL",
                        0, NULL, PGRES_TUPLES_OK, "cannot read the database");
    if (!r) {
        *code_errors = -1;
        code_set_init(&p->cs, NULL, "public");
        return MIG_ERROR;
    }
    const char *schema = PQgetisnull(r, 0, 0) ? "public" : PQgetvalue(r, 0, 0);
    code_set_init(&p->cs, o->code_dir && is_dir(o->code_dir) ? o->code_dir : NULL, schema);
    p->cs.hash_cache = o->hash_cache;
    p->have_state = !strcmp(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    if (p->have_state && !o->stateless && read_state(conn, p) < 0) {
        *code_errors = -1;
        return MIG_ERROR;
    }
    double t0 = now_monotonic();
    enum mig_status mst = plan_migrations(conn, p);
    if (mst != MIG_OK && mst != MIG_AT_TARGET)
        return mst;
    double t1 = now_monotonic();
    int e = plan_code(p);
    debug(NS, "plan: state %zu rows, migrations %.1f ms, files %.1f ms (%zu files)", p->rows_nr,
          (t1 - t0) * 1000, (now_monotonic() - t1) * 1000, p->cs.files_nr);
    if (e < 0) {
        *code_errors = -1;
        return mst;
    }
    struct code_set *cs = &p->cs;
    p->ui = xcalloc(cs->units_nr + 1, sizeof(*p->ui));
    p->ui_nr = cs->units_nr;
    bool same = !e && !p->steps.nr && !p->nmissing;
    for (size_t i = 0; i < cs->units_nr && same; i++)
        same = cs->units[i].status == CODE_UNCHANGED && !cs->units[i].loaded;
    if (same && !o->stateless)
        return mst; /* the fast path: nothing to do */
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_row *w = cs->units[i].priv;
        if (w && w->ctype && w->cidentity)
            p->ui[i].ckey = xasprintf("%s %s", w->ctype, w->cidentity);
    }
    int x = check_external(conn, p);
    if (x < 0) {
        *code_errors = -1;
        return mst;
    }
    e += x;
    /* the order of everything: cycles are errors now, not in the middle of an apply */
    bool *live = xcalloc(cs->units_nr + 1, sizeof(bool));
    for (size_t i = 0; i < cs->units_nr; i++)
        live[i] = cs->units[i].status != CODE_REMOVED;
    size_t *all = NULL, nall = 0;
    if (code_order(cs, live, (const size_t(*)[2])p->extra, p->nextra, &all, &nall) < 0)
        e++;
    free(live);
    if (e) {
        free(all);
        *code_errors = e;
        return mst;
    }
    /* which of them exist: changed, new (adopted if there), removed */
    size_t *look = xcalloc(cs->units_nr + 1, sizeof(size_t)), nlook = 0;
    for (size_t i = 0; i < cs->units_nr; i++) {
        enum code_status st = cs->units[i].status;
        if (o->stateless)
            continue;
        if (st == CODE_CHANGED || st == CODE_NEW || st == CODE_REMOVED)
            look[nlook++] = i;
    }
    if (lookup_units(conn, p, look, nlook, false) < 0) {
        free(look);
        free(all);
        *code_errors = -1;
        return mst;
    }
    free(look);
    for (size_t i = 0; i < cs->units_nr; i++) {
        if (cs->units[i].status == CODE_NEW && p->ui[i].exists)
            p->ui[i].adopt = true;
        /* CREATE OR REPLACE of an object that is there: its dependents stay */
        if (cs->units[i].status == CODE_CHANGED && p->ui[i].exists && cs->units[i].or_replace)
            p->ui[i].in_place = true;
    }
    index_ckeys(p);
    /* what depends on what changes */
    struct walk *front = NULL;
    size_t nfront = 0, afront = 0;
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        struct code_uinfo *xi = &p->ui[i];
        if (!xi->exists || xi->in_place ||
            !(u->status == CODE_CHANGED || u->status == CODE_REMOVED || xi->adopt))
            continue;
        walk_push(&front, &nfront, &afront,
                  (struct walk){xi->classid, xi->objid, 0, true, (long)i,
                                xasprintf("%s, which %s", u->identity,
                                          u->status == CODE_REMOVED ? "is removed"
                                          : xi->adopt             ? "is created from its file"
                                                                  : "changes")});
    }
    if (p->steps.nr && migration_starts(conn, p, &front, &nfront, &afront) < 0) {
        for (size_t i = 0; i < nfront; i++)
            free(front[i].desc);
        free(front);
        free(all);
        *code_errors = -1;
        return mst;
    }
    double t2 = now_monotonic();
    x = nfront ? closure(conn, p, front, nfront) : (free(front), 0);
    debug(NS, "plan: closure %.1f ms", (now_monotonic() - t2) * 1000);
    if (x) {
        free(all);
        *code_errors = x < 0 ? -1 : x;
        return mst;
    }
    /* the sets and their orders */
    bool *drop = xcalloc(cs->units_nr + 1, sizeof(bool));
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        struct code_uinfo *xi = &p->ui[i];
        xi->drop = xi->exists && !xi->target &&
                   ((u->status == CODE_CHANGED && !xi->in_place) || u->status == CODE_REMOVED ||
                    xi->adopt || xi->affected);
        xi->create = u->status != CODE_REMOVED &&
                     (o->stateless || u->status == CODE_NEW || u->status == CODE_CHANGED ||
                      xi->affected || xi->target);
        drop[i] = xi->drop;
    }
    size_t *dorder = NULL, nd = 0;
    if (code_order(cs, drop, (const size_t(*)[2])p->drop_edges, p->ndrop_edges, &dorder, &nd) < 0) {
        free(drop);
        free(all);
        *code_errors = 1;
        return mst;
    }
    free(drop);
    p->drops = xcalloc(nd + 1, sizeof(size_t));
    for (size_t i = 0; i < nd; i++)
        p->drops[i] = dorder[nd - 1 - i];
    p->ndrops = nd;
    free(dorder);
    p->creates = xcalloc(nall + 1, sizeof(size_t));
    for (size_t i = 0; i < nall; i++)
        if (p->ui[all[i]].create)
            p->creates[p->ncreates++] = all[i];
    free(all);
    if (fetch_texts(conn, p) < 0) {
        *code_errors = -1;
        return mst;
    }
    for (size_t i = 0; i < p->ncreates; i++) {
        struct code_unit *u = &cs->units[p->creates[i]];
        if (!u->loaded && load_text(p, u) < 0) {
            *code_errors = -1;
            return mst;
        }
    }
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        p->nnew += u->status == CODE_NEW;
        p->nchanged += u->status == CODE_CHANGED && strcmp(status_word(p, i), "missing");
        p->nmoved += u->status == CODE_MOVED;
        p->nremoved += u->status == CODE_REMOVED;
        p->naffected += p->ui[i].affected && u->status != CODE_CHANGED && u->status != CODE_REMOVED;
        if (u->note && u->loaded && (u->kind == CODE_STATEMENT || u->status != CODE_UNCHANGED))
            strvec_push(&p->notes, u->note);
    }
    return mst;
}

bool code_plan_has_work(const struct code_plan *p)
{
    return p->steps.nr || p->ndrops || p->ncreates || p->nmoved || p->nremoved ||
           p->accept_names.nr;
}

bool code_plan_has_writes(const struct code_plan *p)
{
    return code_plan_has_work(p) || (p->nrefresh && !p->o->stateless);
}

/* ---- showing a plan ---------------------------------------------------------------- */

static const char *status_word(const struct code_plan *p, size_t i)
{
    const struct code_unit *u = &p->cs.units[i];
    const struct code_uinfo *x = &p->ui[i];
    switch (u->status) {
    case CODE_NEW:
        return x->adopt ? "adopt" : "new";
    case CODE_CHANGED: {
        const struct code_row *w = u->priv;
        if (w && w->missing && !strcmp(w->sha, u->sha256))
            return "missing";
        return x->in_place && !x->affected ? "replace" : "changed";
    }
    case CODE_MOVED:
        return x->affected || x->target ? "re-create" : "moved";
    case CODE_REMOVED:
        return "removed";
    case CODE_UNCHANGED:
        return x->affected || x->target ? "re-create" : NULL;
    }
    return NULL;
}

/* "DROP VIEW x" -> "DROP VIEW IF EXISTS x" (the kind words are upper case, the name is not). */
static char *drop_if_exists(const char *drop_sql)
{
    const char *p = drop_sql + 5; /* after "DROP " */
    while (*p && ((*p >= 'A' && *p <= 'Z') || (*p == ' ' && p[1] >= 'A' && p[1] <= 'Z')))
        p++;
    return xasprintf("%.*s IF EXISTS%s", (int)(p - drop_sql), drop_sql, p);
}

static const char *mig_path(const struct mig_step *s)
{
    return s->down ? s->m->down : s->m->up;
}

static void print_text(const struct code_plan *p, FILE *f)
{
    const struct code_set *cs = &p->cs;
    size_t nunchanged = 0;
    for (size_t i = 0; i < cs->units_nr; i++)
        nunchanged += !status_word(p, i);
    if (!code_plan_has_work(p)) {
        fprintf(f, "Nothing to do: %zu code object%s as in %s, no pending migration.\n",
                nunchanged, nunchanged == 1 ? "" : "s", cs->dir ? cs->dir : "(no code directory)");
        for (size_t i = 0; i < p->notes.nr; i++)
            fprintf(f, "note: %s\n", p->notes.v[i]);
        return;
    }
    if (p->steps.nr) {
        fprintf(f, "Pending migrations (%zu):\n", p->steps.nr);
        for (size_t i = 0; i < p->steps.nr; i++) {
            const struct mig_step *s = &p->steps.v[i];
            fprintf(f, "  %-4s %s\n", s->down ? "down" : "up", s->m->name);
            for (size_t k = 0; k < p->eff[i].targets_nr; k++) {
                const struct code_target *t = &p->eff[i].targets[k];
                struct strbuf q = STRBUF_INIT;
                code_qualified(&q, t->schema, t->name);
                fprintf(f, "         %s of %s (%s:%u)\n", t->what, q.buf, t->file, t->line);
                strbuf_release(&q);
            }
        }
    }
    fprintf(f, "Code objects (%s): %zu new, %zu changed, %zu moved, %zu removed, %zu re-created, "
               "%zu unchanged",
            cs->dir ? cs->dir : "no code directory", p->nnew, p->nchanged, p->nmoved, p->nremoved,
            p->naffected, nunchanged);
    if (p->nmissing)
        fprintf(f, ", %zu missing from the database", p->nmissing);
    fputc('\n', f);
    size_t w = 0;
    for (size_t i = 0; i < cs->units_nr; i++)
        if (status_word(p, i) && strlen(cs->units[i].identity) > w)
            w = strlen(cs->units[i].identity);
    if (w > 60)
        w = 60;
    for (size_t i = 0; i < cs->units_nr; i++) {
        const char *sw = status_word(p, i);
        const struct code_unit *u = &cs->units[i];
        if (!sw)
            continue;
        const struct code_row *row = u->priv;
        if (u->status == CODE_REMOVED)
            fprintf(f, "  %-9s %-*s  (was %s:%u)\n", sw, (int)w, u->identity, u->file, u->line);
        else if (u->status == CODE_MOVED && row)
            fprintf(f, "  %-9s %-*s  %s (was %s:%u)\n", sw, (int)w, u->identity,
                    code_unit_where(u), row->file, row->line);
        else
            fprintf(f, "  %-9s %-*s  %s\n", sw, (int)w, u->identity, code_unit_where(u));
        if (p->ui[i].reason && (p->ui[i].affected || p->ui[i].target))
            fprintf(f, "            %s\n", p->ui[i].reason);
    }
    for (size_t i = 0; i < p->notes.nr; i++)
        fprintf(f, "note: %s\n", p->notes.v[i]);
    if (p->split)
        fprintf(f, "\nNot in one transaction: %s. Drops commit first, then the migrations run as "
                   "the migrator runs them, then the creates.\n", p->split_why);
    fprintf(f, "\nSQL, in order%s:\n", p->split ? "" : " (one transaction)");
    size_t n = 0;
    if (!p->split)
        fprintf(f, "BEGIN;\n");
    if (p->steps.nr && !p->split)
        fprintf(f, "SET LOCAL hectic.migration_mode = 'on';\n");
    for (size_t i = 0; i < p->ndrops; i++) {
        const struct code_unit *u = &cs->units[p->drops[i]];
        fprintf(f, "-- %zu. drop %s%s\n%s;\n", ++n, u->identity,
                u->status == CODE_REMOVED ? " (removed)" : " (created again below)", u->drop_sql);
    }
    for (size_t i = 0; i < p->accept_names.nr; i++)
        fprintf(f, "-- %zu. record the new hash of changed migration %s\n", ++n, p->accept_names.v[i]);
    for (size_t i = 0; i < p->steps.nr; i++) {
        const struct mig_step *s = &p->steps.v[i];
        fprintf(f, "-- %zu. migration %s (%s)\n\\i %s\n", ++n, s->m->name, s->down ? "down" : "up",
                mig_path(s) ? mig_path(s) : "(missing)");
    }
    for (size_t i = 0; i < p->ncreates; i++) {
        const struct code_unit *u = &cs->units[p->creates[i]];
        fprintf(f, "-- %zu. create %s (%s)\n", ++n, u->identity, code_unit_where(u));
        if (p->ui[p->creates[i]].target && u->drop_sql) {
            char *d = drop_if_exists(u->drop_sql);
            fprintf(f, "%s;\n", d);
            free(d);
        }
        struct strbuf sb = STRBUF_INIT;
        code_unit_sql(u, &sb);
        fputs(sb.buf, f);
        strbuf_release(&sb);
    }
    if (!p->o->stateless)
        fprintf(f, "-- %zu. record them in hectic.code_object\n", ++n);
    if (!p->split)
        fprintf(f, "COMMIT;\n");
}

static void json_unit(struct strbuf *sb, const struct code_plan *p, size_t i)
{
    const struct code_unit *u = &p->cs.units[i];
    strbuf_addstr(sb, "\"identity\":");
    code_json_str(sb, u->identity);
    strbuf_addstr(sb, ",\"kind\":");
    code_json_str(sb, code_kind_name(u->kind));
    strbuf_addstr(sb, ",\"file\":");
    code_json_str(sb, u->file);
    strbuf_addf(sb, ",\"line\":%u", u->line);
}

static void print_json(const struct code_plan *p, FILE *f)
{
    const struct code_set *cs = &p->cs;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "{\"changes\":%s,\"one_transaction\":%s,\"code_dir\":",
                code_plan_has_work(p) ? "true" : "false", p->split ? "false" : "true");
    code_json_str(&sb, cs->dir);
    strbuf_addstr(&sb, ",\"migrations\":[");
    for (size_t i = 0; i < p->steps.nr; i++) {
        const struct mig_step *s = &p->steps.v[i];
        strbuf_addstr(&sb, i ? ",{\"name\":" : "{\"name\":");
        code_json_str(&sb, s->m->name);
        strbuf_addf(&sb, ",\"direction\":\"%s\",\"file\":", s->down ? "down" : "up");
        code_json_str(&sb, mig_path(s));
        strbuf_addstr(&sb, ",\"alters\":[");
        for (size_t k = 0; k < p->eff[i].targets_nr; k++) {
            const struct code_target *t = &p->eff[i].targets[k];
            struct strbuf q = STRBUF_INIT;
            code_qualified(&q, t->schema, t->name);
            strbuf_addstr(&sb, k ? ",{\"object\":" : "{\"object\":");
            code_json_str(&sb, q.buf);
            strbuf_addstr(&sb, ",\"what\":");
            code_json_str(&sb, t->what);
            strbuf_addstr(&sb, ",\"file\":");
            code_json_str(&sb, t->file);
            strbuf_addf(&sb, ",\"line\":%u}", t->line);
            strbuf_release(&q);
        }
        strbuf_addstr(&sb, "]}");
    }
    strbuf_addstr(&sb, "],\"objects\":[");
    bool first = true;
    for (size_t i = 0; i < cs->units_nr; i++) {
        const char *sw = status_word(p, i);
        if (!sw)
            continue;
        strbuf_addstr(&sb, first ? "{" : ",{");
        first = false;
        json_unit(&sb, p, i);
        strbuf_addstr(&sb, ",\"status\":");
        code_json_str(&sb, sw);
        if (p->ui[i].reason && (p->ui[i].affected || p->ui[i].target)) {
            strbuf_addstr(&sb, ",\"reason\":");
            code_json_str(&sb, p->ui[i].reason);
        }
        strbuf_addch(&sb, '}');
    }
    strbuf_addstr(&sb, "],\"steps\":[");
    first = true;
    for (size_t i = 0; i < p->ndrops; i++) {
        strbuf_addstr(&sb, first ? "{\"action\":\"drop\"," : ",{\"action\":\"drop\",");
        first = false;
        json_unit(&sb, p, p->drops[i]);
        strbuf_addstr(&sb, ",\"sql\":");
        code_json_str(&sb, cs->units[p->drops[i]].drop_sql);
        strbuf_addch(&sb, '}');
    }
    for (size_t i = 0; i < p->steps.nr; i++) {
        strbuf_addstr(&sb, first ? "{\"action\":\"migrate\",\"name\":"
                                 : ",{\"action\":\"migrate\",\"name\":");
        first = false;
        code_json_str(&sb, p->steps.v[i].m->name);
        strbuf_addstr(&sb, ",\"file\":");
        code_json_str(&sb, mig_path(&p->steps.v[i]));
        strbuf_addch(&sb, '}');
    }
    for (size_t i = 0; i < p->ncreates; i++) {
        const struct code_unit *u = &cs->units[p->creates[i]];
        strbuf_addstr(&sb, first ? "{\"action\":\"create\"," : ",{\"action\":\"create\",");
        first = false;
        json_unit(&sb, p, p->creates[i]);
        struct strbuf q = STRBUF_INIT;
        if (p->ui[p->creates[i]].target && u->drop_sql) {
            char *d = drop_if_exists(u->drop_sql);
            strbuf_addf(&q, "%s;\n", d);
            free(d);
        }
        code_unit_sql(u, &q);
        strbuf_addstr(&sb, ",\"sql\":");
        code_json_str(&sb, q.buf);
        strbuf_release(&q);
        strbuf_addch(&sb, '}');
    }
    strbuf_addstr(&sb, "],\"notes\":[");
    for (size_t i = 0; i < p->notes.nr; i++) {
        if (i)
            strbuf_addch(&sb, ',');
        code_json_str(&sb, p->notes.v[i]);
    }
    strbuf_addstr(&sb, "]}\n");
    fputs(sb.buf, f);
    strbuf_release(&sb);
}

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
        x->nclassid = oid_of(PQgetvalue(after, k, 0));
        x->nobjid = oid_of(PQgetvalue(after, k, 1));
        x->nctype = xstrdup(type);
        x->ncid = xstrdup(PQgetvalue(after, k, 3));
        x->natype = xstrdup(type);
        array_parse(PQgetvalue(after, k, 4), &x->nnames);
        array_parse(PQgetvalue(after, k, 5), &x->nargs);
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
    if (x->target && u->drop_sql) {
        char *d = drop_if_exists(u->drop_sql);
        int r = exec_unit_sql(conn, p, u, NULL, d);
        free(d);
        if (r < 0)
            return error("dropping %s (%s) before creating it again failed", u->identity,
                         code_unit_where(u));
    }
    if (u->kind == CODE_STATEMENT && !p->o->stateless) {
        before = query(conn, NEW_OBJECTS_SQL, 0, NULL, PGRES_TUPLES_OK, "cannot read the catalog");
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
        PGresult *after = query(conn, NEW_OBJECTS_SQL, 0, NULL, PGRES_TUPLES_OK,
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
    const char *path = mig_path(s);
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

#define DEPS_SQL                                                                                   \
    "WITH c AS (SELECT * FROM unnest($1::oid[], $2::oid[]) WITH ORDINALITY AS c(classid, objid, i)),"\
    " parts AS (SELECT i, classid, objid FROM c"                                                   \
    "   UNION ALL SELECT c.i, 'pg_rewrite'::regclass::oid, r.oid FROM c JOIN pg_rewrite r"        \
    "     ON c.classid = 'pg_class'::regclass AND r.ev_class = c.objid"                            \
    "   UNION ALL SELECT c.i, 'pg_type'::regclass::oid, k.reltype FROM c JOIN pg_class k"         \
    "     ON c.classid = 'pg_class'::regclass AND k.oid = c.objid AND k.reltype <> 0"             \
    "   UNION ALL SELECT c.i, 'pg_constraint'::regclass::oid, k.oid FROM c JOIN pg_constraint k"  \
    "     ON c.classid = 'pg_type'::regclass AND k.contypid = c.objid)"                            \
    " SELECT DISTINCT p.i, io.type, io.identity"                                                   \
    " FROM parts p JOIN c ON c.i = p.i"                                                            \
    " JOIN pg_depend d ON d.classid = p.classid AND d.objid = p.objid AND d.deptype = 'n'"       \
    " LEFT JOIN pg_type e ON d.refclassid = 'pg_type'::regclass AND e.oid = d.refobjid"            \
    "   AND e.typcategory = 'A' AND e.typelem <> 0"                                                \
    " CROSS JOIN LATERAL (SELECT COALESCE(e.typelem, d.refobjid) AS objid) a"                      \
    " LEFT JOIN pg_type t ON d.refclassid = 'pg_type'::regclass AND t.oid = a.objid"               \
    "   AND t.typrelid <> 0"                                                                       \
    " CROSS JOIN LATERAL (SELECT CASE WHEN t.oid IS NOT NULL THEN 'pg_class'::regclass::oid"       \
    "   ELSE d.refclassid END AS classid, COALESCE(t.typrelid, a.objid) AS objid) n"               \
    " CROSS JOIN LATERAL pg_identify_object(n.classid, n.objid, 0) io"                             \
    " WHERE NOT (n.classid = c.classid AND n.objid = c.objid)"                                     \
    "   AND n.classid IN ('pg_class'::regclass, 'pg_proc'::regclass, 'pg_type'::regclass,"        \
    "     'pg_trigger'::regclass, 'pg_policy'::regclass)"

static bool in_vec(const struct strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->nr; i++)
        if (!strcmp(sv->v[i], s))
            return true;
    return false;
}

/*
 * After the creates: the catalog identity of each created object, and its
 * dependencies (pg_depend) on other code objects the parse did not give.
 */
static int check_created(PGconn *conn, struct code_plan *p)
{
    struct code_set *cs = &p->cs;
    size_t *which = xcalloc(p->ncreates + 1, sizeof(size_t)), n = 0;
    for (size_t i = 0; i < p->ncreates; i++)
        if (p->ui[p->creates[i]].created && cs->units[p->creates[i]].kind != CODE_STATEMENT)
            which[n++] = p->creates[i];
    int ret = lookup_units(conn, p, which, n, true);
    free(which);
    if (ret < 0)
        return -1;
    /* the catalog keys as they are now */
    for (size_t i = 0; i < cs->units_nr; i++) {
        struct code_uinfo *x = &p->ui[i];
        if (x->created && x->nctype) {
            free(x->ckey);
            x->ckey = xasprintf("%s %s", x->nctype, x->ncid);
        }
    }
    index_ckeys(p);
    struct strbuf c = STRBUF_INIT, o = STRBUF_INIT;
    size_t *at = xcalloc(p->ncreates + 1, sizeof(size_t)), m = 0;
    strbuf_addch(&c, '{');
    strbuf_addch(&o, '{');
    for (size_t i = 0; i < p->ncreates; i++) {
        const struct code_uinfo *x = &p->ui[p->creates[i]];
        if (!x->created || !x->nctype)
            continue;
        strbuf_addf(&c, "%s%u", m ? "," : "", x->nclassid);
        strbuf_addf(&o, "%s%u", m ? "," : "", x->nobjid);
        at[m++] = p->creates[i];
    }
    strbuf_addch(&c, '}');
    strbuf_addch(&o, '}');
    if (m) {
        const char *params[2] = {c.buf, o.buf};
        PGresult *r = query(conn, DEPS_SQL, 2, params, PGRES_TUPLES_OK, "cannot read pg_depend");
        if (!r) {
            ret = -1;
        } else {
            for (int i = 0; i < PQntuples(r); i++) {
                size_t k = (size_t)strtoul(PQgetvalue(r, i, 0), NULL, 10) - 1;
                if (k >= m)
                    continue;
                char *key = xasprintf("%s %s", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
                long v = unit_by_ckey(p, key);
                free(key);
                if (v < 0 || (size_t)v == at[k] || cs->units[v].status == CODE_REMOVED)
                    continue;
                struct code_unit *u = &cs->units[at[k]];
                struct code_uinfo *x = &p->ui[at[k]];
                const char *dep = cs->units[v].identity;
                if (in_vec(&u->depends, dep) || in_vec(&x->learnt, dep))
                    continue;
                strvec_push(&x->learnt, dep);
                if (u->kind == CODE_STATEMENT)
                    debug(NS, "pg_depend: %s (%s) depends on %s", u->identity, code_unit_where(u), dep);
                else
                {
                    char *where = xstrdup(code_unit_where(u));
                    notice("%s: pg_depend: %s (%s) depends on %s (%s), which the parse did not see; "
                           "recorded for the next order", p->o->label, u->identity, where, dep,
                           code_unit_where(&cs->units[v]));
                    free(where);
                }
            }
            PQclear(r);
        }
    }
    free(at);
    strbuf_release(&c);
    strbuf_release(&o);
    return ret;
}

/* U's statements and their lines as text[] and int[] literals, pushed on ST and SL. */
static void stmts_lits(const struct code_unit *u, struct strvec *st, struct strvec *sl)
{
    struct strvec sv = STRVEC_INIT;
    struct strbuf lit = STRBUF_INIT;
    for (size_t k = 0; k < u->stmts_nr; k++)
        strvec_push(&sv, u->stmts[k].sql);
    array_lit(&lit, &sv);
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
    struct strvec col[18];
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
            array_lit(&one, &deps);
            strvec_push(&col[6], one.buf);
            strbuf_reset(&one);
            array_lit(&one, &u->body_depends);
            strvec_push(&col[7], one.buf);
            strvec_push(&col[8], x->nctype ? x->nctype : "");
            strvec_push(&col[9], x->ncid ? x->ncid : "");
            strvec_push(&col[10], x->natype ? x->natype : "");
            strbuf_reset(&one);
            array_lit(&one, &x->nnames);
            strvec_push(&col[11], one.buf);
            strbuf_reset(&one);
            array_lit(&one, &x->nargs);
            strvec_push(&col[12], one.buf);
            strvec_push(&col[13], u->drop_sql ? u->drop_sql : "");
            strvec_push(&col[14], u->kind != CODE_STATEMENT && u->schema ? u->schema : "");
            strvec_push(&col[15], u->kind != CODE_STATEMENT && u->name ? u->name : "");
            stmts_lits(u, &col[16], &col[17]);
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
    struct strbuf a[18];
    const char *params[18];
    if (gone.nr) {
        strbuf_reset(&one);
        array_lit(&one, &gone);
        params[0] = one.buf;
        PGresult *r = query(conn, "DELETE FROM hectic.code_object WHERE identity = ANY($1::text[])",
                            1, params, PGRES_COMMAND_OK, "cannot update hectic.code_object");
        if (!r)
            ret = -1;
        PQclear(r);
    }
    if (!ret && col[0].nr) {
        for (size_t i = 0; i < 18; i++) {
            a[i] = (struct strbuf)STRBUF_INIT;
            array_lit(&a[i], &col[i]);
            params[i] = a[i].buf;
        }
        PGresult *r = query(
            conn,
            "INSERT INTO hectic.code_object AS o (identity, kind, file, line, sha256, file_sha256,"
            " depends, body_depends, catalog_type, catalog_identity, address_type, address_names,"
            " address_args, drop_sql, object_schema, object_name, statements, statement_lines,"
            " applied_at)"
            " SELECT x.id, x.kind, x.file, x.line::int, x.sha, x.fsha, x.dep::text[], x.bdep::text[],"
            "  NULLIF(x.ct, ''), NULLIF(x.ci, ''), NULLIF(x.at, ''),"
            "  CASE WHEN x.at = '' THEN NULL ELSE x.an::text[] END,"
            "  CASE WHEN x.at = '' THEN NULL ELSE x.aa::text[] END, x.drop, NULLIF(x.os, ''),"
            "  NULLIF(x.oname, ''), x.st::text[], x.sl::int[], now()"
            " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[],"
            "  $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::text[],"
            "  $13::text[], $14::text[], $15::text[], $16::text[], $17::text[], $18::text[])"
            "  AS x(id, kind, file, line, sha, fsha, dep, bdep, ct, ci, at, an, aa, drop, os, oname,"
            "  st, sl)"
            " ON CONFLICT (identity) DO UPDATE SET kind = EXCLUDED.kind, file = EXCLUDED.file,"
            "  line = EXCLUDED.line, sha256 = EXCLUDED.sha256, file_sha256 = EXCLUDED.file_sha256,"
            "  depends = EXCLUDED.depends, body_depends = EXCLUDED.body_depends,"
            "  catalog_type = EXCLUDED.catalog_type, catalog_identity = EXCLUDED.catalog_identity,"
            "  address_type = EXCLUDED.address_type, address_names = EXCLUDED.address_names,"
            "  address_args = EXCLUDED.address_args, drop_sql = EXCLUDED.drop_sql,"
            "  object_schema = EXCLUDED.object_schema, object_name = EXCLUDED.object_name,"
            "  statements = EXCLUDED.statements, statement_lines = EXCLUDED.statement_lines,"
            "  applied_at = EXCLUDED.applied_at",
            18, params, PGRES_COMMAND_OK, "cannot update hectic.code_object");
        if (!r)
            ret = -1;
        PQclear(r);
        for (size_t i = 0; i < 18; i++)
            strbuf_release(&a[i]);
    }
    if (!ret && mv[0].nr) {
        for (size_t i = 0; i < 5; i++) {
            a[i] = (struct strbuf)STRBUF_INIT;
            array_lit(&a[i], &mv[i]);
            params[i] = a[i].buf;
        }
        PGresult *r = query(conn,
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
        if (p->ui[k].target && u->drop_sql) {
            char *d = drop_if_exists(u->drop_sql);
            strvec_push(&dropx, d);
            free(d);
            pipe_sql(&pp, dropx.v[dropx.nr - 1], NULL, (long)k, NULL, NULL);
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
    if (check_created(conn, p) < 0 || write_state(conn, p) < 0)
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
        array_lit(&lit, &ids);
        const char *params[1] = {lit.buf};
        /* forget them, and make their files be read again next time (they are no longer
         * all in the state) */
        PGresult *r = query(conn,
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
        if (mig_run_step(conn, &p->steps.v[i], o->mig) < 0) {
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
        code_json_str(&sb, failed ? failed : "");
        notify(conn, "failure", sb.buf);
        strbuf_release(&sb);
    }
    error("%s: %s%s%s; %s", o->label, failed ? "stopped at " : "failed",
          failed ? failed : "", "", p->split ? "what ran before it in its own transaction stays"
                                              : "nothing was changed (rolled back)");
    return st;
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
            print_json(&p, stdout);
        else
            print_text(&p, stdout);
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
    struct mig_opts mo = {vars, false, false, false, stdout};
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
    bool built = false;
    if (mig_lock(conn, -1) < 0)
        goto out;
    if (code_ensure_bundle(conn, set_get(s, SET_HECTIC_INHERITANCE_SQL)) < 0)
        goto out;
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
    mig_unlock(conn);
    if (built)
        code_plan_release(&p);
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
