/*
 * catalog_links.c — reading what ties objects together or to roles:
 * default privileges (and the built-in ones of new objects), comments, and
 * pg_depend mapped onto the model's objects.
 */
#include "lib/catalog_int.h"

/* ---- privileges ---- */

static const char *defacl_word(char objtype)
{
    switch (objtype) {
    case 'r': return "TABLES";
    case 'S': return "SEQUENCES";
    case 'f': return "FUNCTIONS";
    case 'T': return "TYPES";
    case 'n': return "SCHEMAS";
    }
    return "UNKNOWN";
}

int catr_read_defacls(struct reader *r)
{
    struct strbuf sql = STRBUF_INIT;
    strbuf_addf(&sql,
        "SELECT d.oid, CASE WHEN %s OR d.defaclrole <> (SELECT oid FROM pg_roles"
        " WHERE rolname = current_user) THEN " OWNER("d.defaclrole") " END,"
        " quote_ident(n.nspname), d.defaclobjtype, " ACL_ITEMS("d.defaclacl", "d.defaclrole") "\n"
        "FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace",
        r->owner ? "true" : "false");
    PGresult *res = catr_query(r, "reading default privileges", sql.buf);
    strbuf_release(&sql);
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->ndefacls = PQntuples(res);
    ARENA_ARRAY(r, cat->defacls, cat->ndefacls);
    for (size_t i = 0; i < cat->ndefacls; i++) {
        struct cat_defacl *d = catalog_alloc(cat, sizeof(*d));
        struct strbuf id = STRBUF_INIT;
        d->obj.kind = CAT_DEFACL;
        d->role = val(res, i, 1);
        d->in_schema = val(res, i, 2);
        d->objtype = cval(res, i, 3);
        if (d->role)
            strbuf_addf(&id, "FOR ROLE %s ", d->role);
        if (d->in_schema)
            strbuf_addf(&id, "IN SCHEMA %s ", d->in_schema);
        strbuf_addf(&id, "ON %s", defacl_word(d->objtype));
        d->obj.ident = d->obj.name = catalog_strdup(cat, id.buf);
        strbuf_release(&id);
        catr_parse_acl(cat, val(res, i, 4), &d->obj.acl, NULL);
        d->obj.oid = oval(res, i, 0);
        cat->defacls[i] = d;
    }
    return 0;
}

int catr_read_acldefaults(struct reader *r)
{
    /* in catalog_acl_kind() order; the owner is role 10 here, any role would do */
    PGresult *res = catr_query(r, "reading default privileges of new objects",
        "SELECT k, " ACL_ITEMS("acldefault(k, 10)", "10") "\n"
        "FROM unnest('{r,s,f,T,n}'::\"char\"[]) WITH ORDINALITY AS u(k, i) ORDER BY i");
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res) && i < (int)ARRAY_SIZE(r->cat->acldefault); i++)
        catr_parse_acl(r->cat, val(res, i, 1), &r->cat->acldefault[i], NULL);
    return 0;
}

/* ---- comments ---- */

/*
 * Every comment of a user object in one query (plus those of schemas and
 * extensions: public and plpgsql have low OIDs), mapped onto the objects read. Domain constraints
 * carry their own (read_domain_checks): here a constraint OID is a table's.
 */
int catr_read_comments(struct reader *r)
{
    PGresult *res = catr_query(r, "reading comments",
        "SELECT CASE ds.classoid WHEN 'pg_class'::regclass THEN 'c' WHEN 'pg_type'::regclass THEN 't'"
        " WHEN 'pg_proc'::regclass THEN 'f' WHEN 'pg_constraint'::regclass THEN 'k'"
        " WHEN 'pg_trigger'::regclass THEN 'g' WHEN 'pg_policy'::regclass THEN 'p'"
        " WHEN 'pg_event_trigger'::regclass THEN 'e' WHEN 'pg_extension'::regclass THEN 'x'"
        " WHEN 'pg_namespace'::regclass THEN 'n' END, ds.objoid, ds.objsubid, ds.description\n"
        "FROM pg_description ds WHERE ds.objoid >= 16384"
        " OR ds.classoid IN ('pg_namespace'::regclass, 'pg_extension'::regclass)");
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        char cls = cval(res, i, 0);
        uint32_t oid = oval(res, i, 1);
        int sub = atoi(val(res, i, 2));
        struct cat_object *o = cls ? catr_find_ref(r, cls, oid) : NULL;
        if (!o)
            continue;
        if (sub > 0) { /* a column of a table or view, an attribute of a composite type */
            struct cat_column *cols = NULL;
            size_t n = 0;
            if (o->kind == CAT_TABLE || o->kind == CAT_VIEW || o->kind == CAT_MATVIEW) {
                cols = ((struct cat_relation *)o)->columns;
                n = ((struct cat_relation *)o)->ncolumns;
            } else if (o->kind == CAT_TYPE && ((struct cat_type *)o)->relid == oid) {
                cols = ((struct cat_type *)o)->attrs;
                n = ((struct cat_type *)o)->nattrs;
            }
            for (size_t k = 0; k < n; k++)
                if (cols[k].attnum == sub)
                    cols[k].comment = val(res, i, 3);
        } else if (o->oid == oid) { /* not a row type, array type or index standing for another */
            o->comment = val(res, i, 3);
        }
    }
    return 0;
}

/* ---- dependencies ---- */

/* The column name of attnum SUB of relation/composite O, or NULL. */
static const char *column_name(struct cat_object *o, int sub)
{
    const struct cat_column *cols = NULL;
    size_t n = 0;
    if (sub <= 0 || !o)
        return NULL;
    if (o->kind == CAT_TABLE || o->kind == CAT_VIEW || o->kind == CAT_MATVIEW) {
        cols = ((struct cat_relation *)o)->columns;
        n = ((struct cat_relation *)o)->ncolumns;
    } else if (o->kind == CAT_TYPE) {
        cols = ((struct cat_type *)o)->attrs;
        n = ((struct cat_type *)o)->nattrs;
    }
    for (size_t i = 0; i < n; i++)
        if (cols[i].attnum == sub)
            return cols[i].name;
    return NULL;
}

static int cmp_str0(const char *a, const char *b)
{
    return strcmp(a ? a : "", b ? b : "");
}

static int cmp_dep(const void *a, const void *b)
{
    const struct cat_dep *x = a, *y = b;
    int c = (int)x->ref->kind - (int)y->ref->kind;
    if (!c)
        c = strcmp(x->ref->ident, y->ref->ident);
    if (!c)
        c = cmp_str0(x->ref_column, y->ref_column);
    if (!c)
        c = cmp_str0(x->column, y->column);
    return c;
}

#define DEP_CLASS(cls)                                                                             \
    "CASE " cls " WHEN 'pg_class'::regclass THEN 'c' WHEN 'pg_rewrite'::regclass THEN 'c'"        \
    " WHEN 'pg_attrdef'::regclass THEN 'c' WHEN 'pg_type'::regclass THEN 't'"                      \
    " WHEN 'pg_proc'::regclass THEN 'f' WHEN 'pg_constraint'::regclass THEN 'k'"                   \
    " WHEN 'pg_trigger'::regclass THEN 'g' WHEN 'pg_policy'::regclass THEN 'p'"                    \
    " WHEN 'pg_event_trigger'::regclass THEN 'e' WHEN 'pg_extension'::regclass THEN 'x'"           \
    " WHEN 'pg_namespace'::regclass THEN 'n' END"

int catr_read_depends(struct reader *r)
{
    /*
     * Normal and automatic dependencies of user objects (OID >= 16384),
     * with a view's _RETURN rule standing for the view, a column default
     * for its column, and members of an extension for the extension.
     */
    PGresult *res = catr_query(r, "reading dependencies",
        "SELECT " DEP_CLASS("d.classid") ",\n"
        " CASE d.classid WHEN 'pg_rewrite'::regclass THEN rw.ev_class"
        " WHEN 'pg_attrdef'::regclass THEN ad.adrelid ELSE d.objid END,\n"
        " CASE d.classid WHEN 'pg_attrdef'::regclass THEN ad.adnum"
        " WHEN 'pg_rewrite'::regclass THEN 0 ELSE d.objsubid END,\n"
        " CASE WHEN x.refobjid IS NOT NULL THEN 'x' ELSE " DEP_CLASS("d.refclassid") " END,\n"
        " coalesce(x.refobjid, d.refobjid), CASE WHEN x.refobjid IS NOT NULL THEN 0"
        " ELSE d.refobjsubid END\n"
        "FROM pg_depend d\n"
        "LEFT JOIN pg_rewrite rw ON d.classid = 'pg_rewrite'::regclass AND rw.oid = d.objid\n"
        "LEFT JOIN pg_attrdef ad ON d.classid = 'pg_attrdef'::regclass AND ad.oid = d.objid\n"
        "LEFT JOIN pg_depend x ON x.classid = d.refclassid AND x.objid = d.refobjid"
        " AND x.objsubid = 0 AND x.deptype = 'e'\n"
        "WHERE d.objid >= 16384 AND d.deptype IN ('n', 'a')"
        " AND (d.classid <> 'pg_rewrite'::regclass OR rw.rulename = '_RETURN')");
    if (!res)
        return -1;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        char cls = cval(res, i, 0), rcls = cval(res, i, 3);
        if (!cls || !rcls)
            continue;
        struct cat_object *o = catr_find_ref(r, cls, oval(res, i, 1));
        struct cat_object *ref = catr_find_ref(r, rcls, oval(res, i, 4));
        if (!o || !ref || o == ref)
            continue;
        /* an owned sequence "depends" on its column: that is OWNED BY, not an order */
        if (o->kind == CAT_SEQUENCE && ref->kind == CAT_TABLE)
            continue;
        struct cat_dep dep = {ref, column_name(ref, atoi(val(res, i, 5))),
                              cls == CL_CLASS ? column_name(o, atoi(val(res, i, 2))) : NULL};
        GROW_PUSH(o->deps, o->ndeps, dep);
    }
    return 0;
}

/* Sort and deduplicate every object's dependencies; hand them to the arena. */
void catr_finish_deps(struct catalog *cat)
{
    for (size_t i = 0; i < cat->nall; i++) {
        struct cat_object *o = cat->all[i];
        if (!o->ndeps)
            continue;
        qsort(o->deps, o->ndeps, sizeof(*o->deps), cmp_dep);
        size_t k = 0;
        for (size_t j = 0; j < o->ndeps; j++)
            if (!k || cmp_dep(&o->deps[k - 1], &o->deps[j]))
                o->deps[k++] = o->deps[j];
        o->ndeps = k;
        catalog_track(cat, o->deps);
    }
}

