/*
 * catalog_code.c — reading the objects that hold code: functions,
 * procedures and aggregates (CREATE AGGREGATE rebuilt from pg_aggregate),
 * triggers, event triggers and row-level security policies.
 */
#include "lib/catalog_int.h"

/* ---- functions ---- */

static void build_aggregate(struct reader *r, struct cat_function *f, PGresult *res, int i)
{
    /* columns 12..: aggkind transfn transtype transspace finalfn finalextra finalmodify
     * combinefn serialfn deserialfn initval mtransfn minvtransfn mtranstype mtransspace
     * mfinalfn mfinalextra mfinalmodify minitval sortop parallel */
    struct strbuf sb = STRBUF_INIT;
    static const char *modify[] = {"READ_ONLY", "SHAREABLE", "READ_WRITE"};
    const char *v;
#define MOD(c) modify[(c) == 's' ? 1 : (c) == 'w' ? 2 : 0]
    strbuf_addf(&sb, "CREATE AGGREGATE %s.%s(%s) (\n    SFUNC = %s,\n    STYPE = %s", f->obj.schema,
                f->obj.name, *f->identity_args ? f->identity_args : "*", val(res, i, 13),
                val(res, i, 14));
    if (strcmp(val(res, i, 15), "0"))
        strbuf_addf(&sb, ",\n    SSPACE = %s", val(res, i, 15));
    if ((v = val(res, i, 16))) {
        strbuf_addf(&sb, ",\n    FINALFUNC = %s", v);
        if (bval(res, i, 17))
            strbuf_addstr(&sb, ",\n    FINALFUNC_EXTRA");
        strbuf_addf(&sb, ",\n    FINALFUNC_MODIFY = %s", MOD(cval(res, i, 18)));
    }
    if ((v = val(res, i, 19)))
        strbuf_addf(&sb, ",\n    COMBINEFUNC = %s", v);
    if ((v = val(res, i, 20)))
        strbuf_addf(&sb, ",\n    SERIALFUNC = %s", v);
    if ((v = val(res, i, 21)))
        strbuf_addf(&sb, ",\n    DESERIALFUNC = %s", v);
    if ((v = val(res, i, 22)))
        strbuf_addf(&sb, ",\n    INITCOND = %s", v);
    if ((v = val(res, i, 23))) {
        strbuf_addf(&sb, ",\n    MSFUNC = %s,\n    MINVFUNC = %s,\n    MSTYPE = %s", v,
                    val(res, i, 24), val(res, i, 25));
        if (strcmp(val(res, i, 26), "0"))
            strbuf_addf(&sb, ",\n    MSSPACE = %s", val(res, i, 26));
        if ((v = val(res, i, 27))) {
            strbuf_addf(&sb, ",\n    MFINALFUNC = %s", v);
            if (bval(res, i, 28))
                strbuf_addstr(&sb, ",\n    MFINALFUNC_EXTRA");
            strbuf_addf(&sb, ",\n    MFINALFUNC_MODIFY = %s", MOD(cval(res, i, 29)));
        }
        if ((v = val(res, i, 30)))
            strbuf_addf(&sb, ",\n    MINITCOND = %s", v);
    }
    if ((v = val(res, i, 31)))
        strbuf_addf(&sb, ",\n    SORTOP = %s", v);
    if (cval(res, i, 12) == 'h')
        strbuf_addstr(&sb, ",\n    HYPOTHETICAL");
    v = val(res, i, 32);
    if (v && *v != 'u')
        strbuf_addf(&sb, ",\n    PARALLEL = %s", *v == 's' ? "SAFE" : "RESTRICTED");
    strbuf_addstr(&sb, "\n)");
#undef MOD
    f->def = catalog_strdup(r->cat, sb.buf);
    strbuf_release(&sb);
}

int catr_read_functions(struct reader *r)
{
    /*
     * pg_get_functiondef covers everything a function's CREATE needs,
     * PG 14's SQL-standard bodies (prosqlbody) included; aggregates have no
     * such function and are rebuilt from pg_aggregate (columns as in 13).
     */
    PGresult *res = catr_query(r, "reading functions",
        "SELECT p.oid, quote_ident(n.nspname), quote_ident(p.proname), p.prokind,"
        " pg_get_function_arguments(p.oid), pg_get_function_identity_arguments(p.oid),"
        " CASE WHEN p.prokind <> 'p' THEN pg_get_function_result(p.oid) END,"
        " quote_ident(l.lanname), p.provolatile,\n"
        /* 9 */ " CASE WHEN p.prokind <> 'a' THEN pg_get_functiondef(p.oid) END, "
        OWNER("p.proowner") ", " ACL("p.proacl", "p.proowner") ",\n"
        /* 12 */ " ag.aggkind, ag.aggtransfn::regproc::text, format_type(ag.aggtranstype, NULL),"
        " ag.aggtransspace, NULLIF(ag.aggfinalfn, 0)::regproc::text, ag.aggfinalextra,"
        " ag.aggfinalmodify,\n"
        /* 19 */ " NULLIF(ag.aggcombinefn, 0)::regproc::text, NULLIF(ag.aggserialfn, 0)::regproc::text,"
        " NULLIF(ag.aggdeserialfn, 0)::regproc::text, quote_literal(ag.agginitval),\n"
        /* 23 */ " NULLIF(ag.aggmtransfn, 0)::regproc::text, NULLIF(ag.aggminvtransfn, 0)::regproc::text,"
        " format_type(NULLIF(ag.aggmtranstype, 0), NULL), ag.aggmtransspace,"
        " NULLIF(ag.aggmfinalfn, 0)::regproc::text, ag.aggmfinalextra, ag.aggmfinalmodify,"
        " quote_literal(ag.aggminitval),\n"
        /* 31 */ " (SELECT CASE WHEN o.oprnamespace = 'pg_catalog'::regnamespace THEN o.oprname ELSE"
        " 'OPERATOR(' || quote_ident(o.oprnamespace::regnamespace::text) || '.' || o.oprname || ')'"
        " END FROM pg_operator o WHERE o.oid = ag.aggsortop), p.proparallel\n"
        "FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace"
        " JOIN pg_language l ON l.oid = p.prolang\n"
        "LEFT JOIN pg_aggregate ag ON ag.aggfnoid = p.oid\n"
        "WHERE " NSP_OK("n") " AND " NOT_EXT("pg_proc", "p.oid") "\n"
        /* a range type's constructor functions are part of the type */
        " AND NOT EXISTS (SELECT 1 FROM pg_depend it WHERE it.classid = 'pg_proc'::regclass"
        " AND it.objid = p.oid AND it.deptype = 'i')");
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->nfunctions = PQntuples(res);
    ARENA_ARRAY(r, cat->functions, cat->nfunctions);
    for (size_t i = 0; i < cat->nfunctions; i++) {
        struct cat_function *f = catalog_alloc(cat, sizeof(*f));
        f->obj.kind = CAT_FUNCTION;
        f->obj.schema = val(res, i, 1);
        f->obj.name = val(res, i, 2);
        f->prokind = cval(res, i, 3);
        f->args = val(res, i, 4);
        f->identity_args = val(res, i, 5);
        f->obj.ident = catalog_printf(cat, "%s.%s(%s)", f->obj.schema, f->obj.name, f->identity_args);
        f->result = val(res, i, 6);
        f->language = val(res, i, 7);
        f->volatility = cval(res, i, 8);
        f->def = val(res, i, 9);
        catr_common(r, &f->obj, res, i, 10, 11);
        f->obj.oid = oval(res, i, 0);
        if (f->prokind == 'a')
            build_aggregate(r, f, res, i);
        catr_add_ref(r, CL_PROC, f->obj.oid, &f->obj);
        cat->functions[i] = f;
    }
    return 0;
}

/* For objects named "name ON s.t": find the table, set the ident. */
static struct cat_object *on_table(struct reader *r, struct cat_object *o, enum cat_kind kind,
                                   uint32_t relid, const char *name)
{
    struct cat_object *t = catr_find_ref(r, CL_CLASS, relid);
    if (!t || t->kind == CAT_SEQUENCE || t->kind == CAT_INDEX || t->kind == CAT_TYPE ||
        t->kind == CAT_CONSTRAINT)
        return NULL;
    o->kind = kind;
    o->schema = t->schema;
    o->name = name;
    o->ident = catalog_printf(r->cat, "%s ON %s", name, t->ident);
    return t;
}

int catr_read_triggers(struct reader *r)
{
    /* tgparentid (PG 13+): a partition's clone of its parent's trigger is the parent's */
    PGresult *res = catr_query(r, "reading triggers",
        "SELECT tg.oid, tg.tgrelid, quote_ident(tg.tgname), pg_get_triggerdef(tg.oid), tg.tgenabled\n"
        "FROM pg_trigger tg WHERE NOT tg.tgisinternal AND tg.tgparentid = 0");
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    int n = PQntuples(res);
    ARENA_ARRAY(r, cat->triggers, n);
    for (int i = 0; i < n; i++) {
        struct cat_trigger *tg = catalog_alloc(cat, sizeof(*tg));
        struct cat_object *t = on_table(r, &tg->obj, CAT_TRIGGER, oval(res, i, 1), val(res, i, 2));
        if (!t)
            continue;
        tg->table = t->ident;
        tg->def = val(res, i, 3);
        tg->enabled = cval(res, i, 4);
        tg->obj.oid = oval(res, i, 0);
        catr_add_ref(r, CL_TRIGGER, tg->obj.oid, &tg->obj);
        cat->triggers[cat->ntriggers++] = tg;
    }
    return 0;
}

int catr_read_policies(struct reader *r)
{
    PGresult *res = catr_query(r, "reading policies",
        "SELECT pol.oid, pol.polrelid, quote_ident(pol.polname), pol.polpermissive,"
        " CASE pol.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE'"
        " WHEN 'd' THEN 'DELETE' ELSE 'ALL' END,\n"
        " (SELECT string_agg(x, ', ' ORDER BY x COLLATE \"C\") FROM (SELECT CASE WHEN ro = 0"
        " THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(ro)) END AS x FROM unnest(pol.polroles) ro) s),\n"
        " pg_get_expr(pol.polqual, pol.polrelid), pg_get_expr(pol.polwithcheck, pol.polrelid)\n"
        "FROM pg_policy pol");
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    int n = PQntuples(res);
    ARENA_ARRAY(r, cat->policies, n);
    for (int i = 0; i < n; i++) {
        struct cat_policy *p = catalog_alloc(cat, sizeof(*p));
        struct cat_object *t = on_table(r, &p->obj, CAT_POLICY, oval(res, i, 1), val(res, i, 2));
        if (!t)
            continue;
        p->table = t->ident;
        p->permissive = bval(res, i, 3);
        p->command = val(res, i, 4);
        p->roles = val(res, i, 5);
        p->using_expr = val(res, i, 6);
        p->check_expr = val(res, i, 7);
        p->obj.oid = oval(res, i, 0);
        catr_add_ref(r, CL_POLICY, p->obj.oid, &p->obj);
        cat->policies[cat->npolicies++] = p;
    }
    return 0;
}

int catr_read_event_triggers(struct reader *r)
{
    PGresult *res = catr_query(r, "reading event triggers",
        "SELECT e.oid, quote_ident(e.evtname), e.evtevent, e.evtfoid::regproc::text,"
        " (SELECT string_agg(quote_literal(tag), ', ' ORDER BY tag COLLATE \"C\")"
        " FROM unnest(e.evttags) tag), e.evtenabled, " OWNER("e.evtowner") "\n"
        "FROM pg_event_trigger e WHERE " NOT_EXT("pg_event_trigger", "e.oid"));
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->nevent_triggers = PQntuples(res);
    ARENA_ARRAY(r, cat->event_triggers, cat->nevent_triggers);
    for (size_t i = 0; i < cat->nevent_triggers; i++) {
        struct cat_event_trigger *e = catr_new_object(r, sizeof(*e), CAT_EVENT_TRIGGER, NULL,
                                                 val(res, i, 1));
        e->event = val(res, i, 2);
        e->function = val(res, i, 3);
        e->tags = val(res, i, 4);
        e->enabled = cval(res, i, 5);
        catr_common(r, &e->obj, res, i, 6, -1);
        e->obj.oid = oval(res, i, 0);
        catr_add_ref(r, CL_EVTRIGGER, e->obj.oid, &e->obj);
        cat->event_triggers[i] = e;
    }
    return 0;
}

