/*
 * code_catalog.c — what the catalog says: where code objects are (lookups), what
 * exists for the references the parse found, the pg_depend closure of what
 * changes, and the dependencies of what was created (see code.h).
 */
#include "ops/code.h"
#include "ops/code_int.h"
#include "lib/pg.h"

#define NS "code"

static int cmp_ckey(const void *a, const void *b)
{
    return strcmp(((const struct code_ckey *)a)->key, ((const struct code_ckey *)b)->key);
}

/* The unit whose catalog object is KEY ("type identity"), or -1. */
long code_unit_by_ckey(const struct code_plan *p, const char *key)
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

void code_index_ckeys(struct code_plan *p)
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
int code_lookup_units(PGconn *conn, struct code_plan *p, const size_t *which, size_t n,
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
        code_array_lit(&one, &u->addr_names);
        strvec_push(&nv, one.buf);
        strbuf_reset(&one);
        code_array_lit(&one, &u->addr_args);
        strvec_push(&av, one.buf);
    }
    code_array_lit(&t, &tv);
    code_array_lit(&nm, &nv);
    code_array_lit(&ar, &av);
    int ret = 0;
    if (m) {
        const char *params[3] = {t.buf, nm.buf, ar.buf};
        PGresult *r = code_query(conn, LOOKUP_SQL, 3, params, PGRES_TUPLES_OK,
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
                    x->nclassid = code_oid(PQgetvalue(r, i, 1));
                    x->nobjid = code_oid(PQgetvalue(r, i, 2));
                    free(x->nctype);
                    free(x->ncid);
                    free(x->natype);
                    x->nctype = xstrdup(ctype);
                    x->ncid = xstrdup(PQgetvalue(r, i, 4));
                    x->natype = xstrdup(ctype);
                    strvec_clear(&x->nnames);
                    strvec_clear(&x->nargs);
                    code_array_parse(PQgetvalue(r, i, 5), &x->nnames);
                    code_array_parse(PQgetvalue(r, i, 6), &x->nargs);
                } else {
                    x->exists = true;
                    x->classid = code_oid(PQgetvalue(r, i, 1));
                    x->objid = code_oid(PQgetvalue(r, i, 2));
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
int code_check_external(PGconn *conn, struct code_plan *p)
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
        code_array_lit(&k, &kv);
        code_array_lit(&s, &sv);
        code_array_lit(&n, &nv);
        const char *params[3] = {k.buf, s.buf, n.buf};
        PGresult *r = code_query(
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

void code_walk_push(struct walk **v, size_t *nr, size_t *alloc, struct walk w)
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
int code_closure(PGconn *conn, struct code_plan *p, struct walk *front, size_t nfront)
{
    /* walked once from starts of each kind: a target's dependents may be dropped before the
     * migrations all the same, when something else needs it */
    struct seen seen[2] = {{NULL, 0, 0}, {NULL, 0, 0}};
    size_t afront = nfront;
    int errors = 0;
    for (size_t i = 0; i < nfront; i++)
        seen_add(&seen[front[i].via_target], front[i].classid, front[i].objid);
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
        PGresult *r = code_query(conn, CLOSURE_SQL, 3, params, PGRES_TUPLES_OK,
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
            unsigned classid = code_oid(PQgetvalue(r, i, 1)), objid = code_oid(PQgetvalue(r, i, 2));
            char dt = PQgetvalue(r, i, 3)[0];
            char *key = xasprintf("%s %s", PQgetvalue(r, i, 4), PQgetvalue(r, i, 5));
            long u = code_unit_by_ckey(p, key);
            if (u >= 0 && p->cs.units[u].status == CODE_REMOVED && !p->ui[u].exists)
                u = -1;
            if (u >= 0 && par->owner >= 0 && u != par->owner)
                add_extra(p, (size_t)par->owner, (size_t)u);
            if (!seen_add(&seen[par->via_target], classid, objid)) {
                free(key);
                continue;
            }
            if (u >= 0) {
                struct code_uinfo *x = &p->ui[u];
                x->exists = true;
                x->classid = classid;
                x->objid = objid;
                if (!par->via_target && !x->affected) {
                    /* dropped before the migrations */
                    x->affected = true;
                    free(x->reason);
                    x->reason = xasprintf("depends on %s", par->desc);
                } else if (par->via_target && !x->affected && !x->target) {
                    /* left to the migration, dropped (if still there) after it */
                    x->target = true;
                    x->reason = xasprintf("depends on %s", par->desc);
                }
                code_walk_push(&next, &nnext, &anext,
                          (struct walk){classid, objid, 0, true, u,
                                        xstrdup(p->cs.units[u].identity), par->via_target});
            } else if (dt == 'i' || dt == 'a') {
                code_walk_push(&next, &nnext, &anext,
                          (struct walk){classid, objid, 0, par->from_code, par->owner,
                                        xstrdup(par->desc), par->via_target});
            } else if (par->from_code && !par->via_target) {
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
    free(seen[0].v);
    free(seen[1].v);
    return errors;
}

/* The catalog objects the pending migrations break, as walk starts. */
int code_migration_starts(PGconn *conn, struct code_plan *p, struct walk **front, size_t *nfront,
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
        code_array_lit(&k, &kv);
        code_array_lit(&q, &qv);
        code_array_lit(&c, &cv);
        const char *params[3] = {k.buf, q.buf, c.buf};
        PGresult *r = code_query(
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
                long u = code_unit_by_ckey(p, key);
                unsigned classid = code_oid(PQgetvalue(r, i, 1)), objid = code_oid(PQgetvalue(r, i, 2));
                char *desc = xasprintf("%s (%s in migration %s)", key, t->what,
                                       p->steps.v[at[j].step].m->name);
                if (u >= 0) {
                    /* the migration itself changes a code object: created again after it */
                    struct code_uinfo *x = &p->ui[u];
                    x->acted = x->target = true;
                    free(x->reason);
                    x->reason = xasprintf("changed by migration %s (%s)",
                                          p->steps.v[at[j].step].m->name, t->what);
                    code_walk_push(front, nfront, afront,
                              (struct walk){classid, objid, 0, true, u, desc, true});
                } else {
                    code_walk_push(front, nfront, afront,
                              (struct walk){classid, objid, subid, false, -1, desc, false});
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
int code_check_created(PGconn *conn, struct code_plan *p)
{
    struct code_set *cs = &p->cs;
    size_t *which = xcalloc(p->ncreates + 1, sizeof(size_t)), n = 0;
    for (size_t i = 0; i < p->ncreates; i++)
        if (p->ui[p->creates[i]].created && cs->units[p->creates[i]].kind != CODE_STATEMENT)
            which[n++] = p->creates[i];
    int ret = code_lookup_units(conn, p, which, n, true);
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
    code_index_ckeys(p);
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
        PGresult *r = code_query(conn, DEPS_SQL, 2, params, PGRES_TUPLES_OK, "cannot read pg_depend");
        if (!r) {
            ret = -1;
        } else {
            for (int i = 0; i < PQntuples(r); i++) {
                size_t k = (size_t)strtoul(PQgetvalue(r, i, 0), NULL, 10) - 1;
                if (k >= m)
                    continue;
                char *key = xasprintf("%s %s", PQgetvalue(r, i, 1), PQgetvalue(r, i, 2));
                long v = code_unit_by_ckey(p, key);
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

