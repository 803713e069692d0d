/*
 * catalog_read.c — fill the model from pg_catalog: one query per object
 * class inside one read-only REPEATABLE READ transaction, then pg_depend
 * mapped onto the objects read. Values are kept as pointers into the query
 * results (kept alive with the model), so reading copies almost nothing.
 *
 * The queries are written against PostgreSQL 13's catalogs. Where a later
 * major differs, the branch is on PQserverVersion() and commented (search
 * for "PG 1" here and in catalog_code.c and catalog_links.c, which read the
 * objects holding code and what ties objects together).
 */
#include "lib/catalog_int.h"
#include "lib/pg.h"

PGresult *catr_query(struct reader *r, const char *what, const char *sql)
{
    double t0 = now_monotonic();
    trace("catalog", "%s:\n%s", what, sql);
    PGresult *res = PQexec(r->conn, sql);
    debug("catalog", "%s: %d rows in %.1f ms", what, PQntuples(res), (now_monotonic() - t0) * 1e3);
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_print_result_error(res, what);
        PQclear(res);
        return NULL;
    }
    catalog_keep_result(r->cat, res);
    return res;
}


void catr_add_ref(struct reader *r, char cls, uint32_t oid, struct cat_object *obj)
{
    if (!oid)
        return;
    ALLOC_GROW(r->refs, r->nrefs + 1, r->arefs);
    r->refs[r->nrefs++] = (struct oidref){oid, cls, obj};
}

static int cmp_ref(const void *a, const void *b)
{
    const struct oidref *x = a, *y = b;
    if (x->cls != y->cls)
        return x->cls < y->cls ? -1 : 1;
    return x->oid < y->oid ? -1 : x->oid > y->oid;
}

struct cat_object *catr_find_ref(struct reader *r, char cls, uint32_t oid)
{
    struct oidref key = {oid, cls, NULL};
    struct oidref *hit = bsearch(&key, r->refs, r->nsorted, sizeof(key), cmp_ref);
    return hit ? hit->obj : NULL;
}

static void sort_refs(struct reader *r)
{
    qsort(r->refs, r->nrefs, sizeof(*r->refs), cmp_ref);
    r->nsorted = r->nrefs;
}

/* Split "a\x1eb" into *OUT (arena); NULL gives none. */
size_t catr_split(struct catalog *cat, const char *s, char sep, const char ***out)
{
    size_t n = 1, i = 0;
    *out = NULL;
    if (!s)
        return 0;
    for (const char *p = s; *p; p++)
        n += *p == sep;
    const char **v = catalog_alloc(cat, n * sizeof(*v));
    char *copy = catalog_strdup(cat, s);
    for (char *p = copy;; p++) {
        char *e = strchr(p, sep);
        v[i++] = p;
        if (!e)
            break;
        *e = 0;
        p = e;
    }
    *out = v;
    return n;
}

static int cmp_acl_item(const void *a, const void *b)
{
    const struct cat_acl_item *x = a, *y = b;
    int c = strcmp(x->grantee, y->grantee);
    if (!c)
        c = strcmp(x->privilege, y->privilege);
    if (!c)
        c = strcmp(x->grantor ? x->grantor : "", y->grantor ? y->grantor : "");
    if (!c)
        c = (int)x->grantable - (int)y->grantable;
    return c;
}

/* TEXT as ACL() returns it; NULL is the default DEF (may be NULL: none). */
void catr_parse_acl(struct catalog *cat, const char *text, struct cat_acl *acl,
                      const struct cat_acl *def)
{
    const char **items;
    if (!text) {
        *acl = def ? *def : (struct cat_acl){NULL, 0};
        return;
    }
    size_t n = catr_split(cat, text, '\x1e', &items);
    acl->nr = 0;
    acl->v = n ? catalog_alloc(cat, n * sizeof(*acl->v)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char **f;
        if (catr_split(cat, items[i], '\x1f', &f) != 4)
            continue;
        acl->v[acl->nr++] = (struct cat_acl_item){f[0], f[1], *f[3] ? f[3] : NULL, f[2][0] == 't'};
    }
    qsort(acl->v, acl->nr, sizeof(*acl->v), cmp_acl_item);
}

void *catr_new_object(struct reader *r, size_t size, enum cat_kind kind, const char *schema,
                        const char *name)
{
    struct cat_object *o = catalog_alloc(r->cat, size);
    o->kind = kind;
    o->schema = schema;
    o->name = name;
    o->ident = schema ? catalog_printf(r->cat, "%s.%s", schema, name) : name;
    return o;
}

/* Fill the owner and the privileges from columns OWNER and ACL (either may be -1). */
void catr_common(struct reader *r, struct cat_object *o, PGresult *res, int row, int owner,
                   int acl)
{
    if (owner >= 0 && r->owner)
        o->owner = val(res, row, owner);
    if (acl >= 0) {
        int k = catalog_acl_kind(o->kind);
        catr_parse_acl(r->cat, val(res, row, acl), &o->acl, k >= 0 ? &r->cat->acldefault[k] : NULL);
    }
}


/* ---- schemas, extensions ---- */

static int read_schemas(struct reader *r)
{
    PGresult *res = catr_query(r, "reading schemas",
        "SELECT n.oid, quote_ident(n.nspname), " OWNER("n.nspowner") ", "
        ACL("n.nspacl", "n.nspowner") "\n"
        "FROM pg_namespace n WHERE " NSP_OK("n") " AND " NOT_EXT("pg_namespace", "n.oid"));
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->nschemas = PQntuples(res);
    ARENA_ARRAY(r, cat->schemas, cat->nschemas);
    for (size_t i = 0; i < cat->nschemas; i++) {
        struct cat_schema *s = catr_new_object(r, sizeof(*s), CAT_SCHEMA, NULL, val(res, i, 1));
        catr_common(r, &s->obj, res, i, 2, 3);
        s->obj.oid = oval(res, i, 0);
        catr_add_ref(r, CL_NAMESPACE, s->obj.oid, &s->obj);
        cat->schemas[i] = s;
    }
    return 0;
}

static int read_extensions(struct reader *r)
{
    PGresult *res = catr_query(r, "reading extensions",
        "SELECT x.oid, quote_ident(x.extname), quote_ident(n.nspname), x.extversion, "
        OWNER("x.extowner") "\n"
        "FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace");
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->nextensions = PQntuples(res);
    ARENA_ARRAY(r, cat->extensions, cat->nextensions);
    for (size_t i = 0; i < cat->nextensions; i++) {
        struct cat_extension *x = catr_new_object(r, sizeof(*x), CAT_EXTENSION, NULL, val(res, i, 1));
        x->in_schema = val(res, i, 2);
        x->version = val(res, i, 3);
        catr_common(r, &x->obj, res, i, 4, -1);
        x->obj.oid = oval(res, i, 0);
        catr_add_ref(r, CL_EXTENSION, x->obj.oid, &x->obj);
        cat->extensions[i] = x;
    }
    return 0;
}

/* ---- types ---- */

static int read_types(struct reader *r)
{
    struct strbuf sql = STRBUF_INIT;
    strbuf_addf(&sql,
        "SELECT t.oid, quote_ident(n.nspname), quote_ident(t.typname), t.typtype, "
        OWNER("t.typowner") ", " ACL("t.typacl", "t.typowner") ", t.typarray, t.typrelid,\n"
        /* 8: enum labels in sort order */
        " CASE WHEN t.typtype = 'e' THEN (SELECT string_agg(quote_literal(l.enumlabel), E'\\x1e'"
        " ORDER BY l.enumsortorder) FROM pg_enum l WHERE l.enumtypid = t.oid) END,\n"
        /* 9: domain base type or range subtype */
        " CASE t.typtype WHEN 'd' THEN format_type(t.typbasetype, t.typtypmod)"
        " WHEN 'r' THEN format_type(rg.rngsubtype, NULL) END,\n"
        /* 10: domain default, 11: not null */
        " pg_get_expr(t.typdefaultbin, 0), t.typnotnull,\n"
        /* 12: collation when not the base/subtype's default */
        " (SELECT " QNAME("cn.nspname", "co.collname") " FROM pg_collation co"
        " JOIN pg_namespace cn ON cn.oid = co.collnamespace WHERE co.oid = coalesce(rg.rngcollation,"
        " t.typcollation) AND co.oid <> (SELECT b.typcollation FROM pg_type b WHERE b.oid ="
        " coalesce(rg.rngsubtype, t.typbasetype))),\n"
        /* 13: range opclass when not the subtype's default */
        " (SELECT " QNAME("on2.nspname", "oc.opcname") " FROM pg_opclass oc JOIN pg_namespace on2"
        " ON on2.oid = oc.opcnamespace WHERE oc.oid = rg.rngsubopc AND NOT oc.opcdefault),\n"
        /* 14, 15: canonical, subdiff */
        " CASE WHEN rg.rngcanonical <> 0 THEN rg.rngcanonical::regproc::text END,"
        " CASE WHEN rg.rngsubdiff <> 0 THEN rg.rngsubdiff::regproc::text END,\n"
        /* 16: multirange type name (PG 14+ creates one with every range) */
        " %s\n"
        "FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace\n"
        "LEFT JOIN pg_range rg ON rg.rngtypid = t.oid\n"
        "WHERE (t.typtype IN ('e', 'd', 'r') OR (t.typtype = 'c' AND"
        " (SELECT c.relkind FROM pg_class c WHERE c.oid = t.typrelid) = 'c'))"
        " AND " NSP_OK("n") " AND " NOT_EXT("pg_type", "t.oid"),
        r->version >= 140000 ? "format_type(rg.rngmultitypid, NULL)" : "NULL");
    PGresult *res = catr_query(r, "reading types", sql.buf);
    strbuf_release(&sql);
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->ntypes = PQntuples(res);
    ARENA_ARRAY(r, cat->types, cat->ntypes);
    for (size_t i = 0; i < cat->ntypes; i++) {
        struct cat_type *t = catr_new_object(r, sizeof(*t), CAT_TYPE, val(res, i, 1), val(res, i, 2));
        t->typtype = cval(res, i, 3);
        catr_common(r, &t->obj, res, i, 4, 5);
        t->obj.oid = oval(res, i, 0);
        t->array_oid = oval(res, i, 6);
        t->relid = oval(res, i, 7);
        t->nlabels = catr_split(cat, val(res, i, 8), '\x1e', &t->labels);
        t->base = val(res, i, 9);
        t->default_expr = val(res, i, 10);
        t->not_null = bval(res, i, 11);
        t->collation = val(res, i, 12);
        t->opclass = val(res, i, 13);
        t->canonical = val(res, i, 14);
        t->subdiff = val(res, i, 15);
        t->multirange = val(res, i, 16);
        catr_add_ref(r, CL_TYPE, t->obj.oid, &t->obj);
        catr_add_ref(r, CL_TYPE, t->array_oid, &t->obj);
        catr_add_ref(r, CL_CLASS, t->relid, &t->obj);
        cat->types[i] = t;
    }
    return 0;
}

static int read_domain_checks(struct reader *r)
{
    /* PG 17 adds domain NOT NULL constraints (contype 'n'): read as typnotnull instead. */
    PGresult *res = catr_query(r, "reading domain constraints",
        "SELECT co.oid, co.contypid, quote_ident(co.conname), pg_get_constraintdef(co.oid), ds.description\n"
        "FROM pg_constraint co LEFT JOIN pg_description ds ON ds.objoid = co.oid"
        " AND ds.classoid = 'pg_constraint'::regclass AND ds.objsubid = 0\n"
        "WHERE co.contypid <> 0 AND co.contype = 'c'\n"
        "ORDER BY co.contypid, co.conname COLLATE \"C\"");
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        struct cat_object *o = catr_find_ref(r, CL_TYPE, oval(res, i, 1));
        if (!o || o->kind != CAT_TYPE)
            continue;
        struct cat_type *t = (struct cat_type *)o;
        if (!t->checks)
            t->checks = catalog_alloc(r->cat, PQntuples(res) * sizeof(*t->checks));
        t->checks[t->nchecks++] = (struct cat_domain_check){val(res, i, 2), val(res, i, 3),
                                                            val(res, i, 4)};
        catr_add_ref(r, CL_CONSTRAINT, oval(res, i, 0), o);
    }
    return 0;
}

/* ---- relations and sequences ---- */

static void parse_seqopts(PGresult *res, int row, int col, struct cat_seqopts *o)
{
    o->type = val(res, row, col);
    o->start = val(res, row, col + 1);
    o->increment = val(res, row, col + 2);
    o->max = val(res, row, col + 3);
    o->min = val(res, row, col + 4);
    o->cache = val(res, row, col + 5);
    o->cycle = bval(res, row, col + 6);
}

#define SEQ_COLS(s)                                                                                \
    "format_type(" s ".seqtypid, NULL), " s ".seqstart, " s ".seqincrement, " s ".seqmax, " s      \
    ".seqmin, " s ".seqcache, " s ".seqcycle"

static int read_relations(struct reader *r)
{
    PGresult *res = catr_query(r, "reading tables, views and sequences",
        "SELECT c.oid, quote_ident(n.nspname), quote_ident(c.relname), c.relkind, c.relpersistence, "
        OWNER("c.relowner") ", " ACL("c.relacl", "c.relowner") ",\n"
        /* 7 */ " c.relrowsecurity, c.relforcerowsecurity, array_to_string(c.reloptions, ', '),\n"
        /* 10 */ " CASE WHEN c.relkind = 'p' THEN pg_get_partkeydef(c.oid) END,\n"
        /* 11 */ " CASE WHEN c.relispartition THEN (SELECT " QNAME("pn.nspname", "pc.relname")
        " FROM pg_inherits i JOIN pg_class pc ON pc.oid = i.inhparent"
        " JOIN pg_namespace pn ON pn.oid = pc.relnamespace WHERE i.inhrelid = c.oid) END,\n"
        /* 12 */ " CASE WHEN c.relispartition THEN pg_get_expr(c.relpartbound, c.oid) END,\n"
        /* 13 */ " CASE WHEN NOT c.relispartition THEN (SELECT string_agg("
        QNAME("pn.nspname", "pc.relname") ", E'\\x1e' ORDER BY i.inhseqno) FROM pg_inherits i"
        " JOIN pg_class pc ON pc.oid = i.inhparent JOIN pg_namespace pn ON pn.oid = pc.relnamespace"
        " WHERE i.inhrelid = c.oid) END,\n"
        /* 14 */ " CASE WHEN c.relkind IN ('v', 'm') THEN pg_get_viewdef(c.oid) END, c.relispopulated,"
        " c.reltype,\n"
        /* 17 */ " " SEQ_COLS("s") ",\n"
        /* 24: OWNED BY (deptype a) or identity (i): table \x1f column \x1f deptype */
        " (SELECT " QNAME("on2.nspname", "oc.relname") " || E'\\x1f' || quote_ident(oa.attname)"
        " || E'\\x1f' || d.deptype::text"
        " FROM pg_depend d JOIN pg_class oc ON oc.oid = d.refobjid"
        " JOIN pg_namespace on2 ON on2.oid = oc.relnamespace"
        " JOIN pg_attribute oa ON oa.attrelid = d.refobjid AND oa.attnum = d.refobjsubid"
        " WHERE c.relkind = 'S' AND d.classid = 'pg_class'::regclass AND d.objid = c.oid"
        " AND d.refclassid = 'pg_class'::regclass AND d.refobjsubid > 0 AND d.deptype IN ('a', 'i'))\n"
        "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace\n"
        "LEFT JOIN pg_sequence s ON s.seqrelid = c.oid\n"
        "WHERE c.relkind IN ('r', 'p', 'v', 'm', 'S') AND " NSP_OK("n") " AND "
        NOT_EXT("pg_class", "c.oid"));
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        if (cval(res, i, 3) == 'S')
            cat->nsequences++;
        else
            cat->nrelations++;
    }
    r->idseq_res = res;
    ARENA_ARRAY(r, cat->sequences, cat->nsequences);
    ARENA_ARRAY(r, cat->relations, cat->nrelations);
    cat->nsequences = cat->nrelations = 0;
    for (int i = 0; i < n; i++) {
        char relkind = cval(res, i, 3);
        if (relkind == 'S') {
            const char **owned;
            bool identity = catr_split(cat, val(res, i, 24), '\x1f', &owned) == 3 && owned[2][0] == 'i';
            if (identity) { /* an identity column's sequence belongs to the column */
                ALLOC_GROW(r->idseqs, r->nidseqs + 1, r->aidseqs);
                r->idseqs[r->nidseqs++] = (struct idseq){owned[0], owned[1], i};
                continue;
            }
            struct cat_sequence *s = catr_new_object(r, sizeof(*s), CAT_SEQUENCE, val(res, i, 1),
                                                val(res, i, 2));
            catr_common(r, &s->obj, res, i, 5, 6);
            s->obj.oid = oval(res, i, 0);
            parse_seqopts(res, i, 17, &s->opts);
            if (owned) {
                s->owned_table = owned[0];
                s->owned_column = owned[1];
            }
            catr_add_ref(r, CL_CLASS, s->obj.oid, &s->obj);
            cat->sequences[cat->nsequences++] = s;
            continue;
        }
        enum cat_kind kind = relkind == 'v' ? CAT_VIEW : relkind == 'm' ? CAT_MATVIEW : CAT_TABLE;
        struct cat_relation *rel = catr_new_object(r, sizeof(*rel), kind, val(res, i, 1), val(res, i, 2));
        rel->relkind = relkind;
        rel->unlogged = cval(res, i, 4) == 'u';
        catr_common(r, &rel->obj, res, i, 5, 6);
        rel->obj.oid = oval(res, i, 0);
        rel->rls = bval(res, i, 7);
        rel->force_rls = bval(res, i, 8);
        rel->options = val(res, i, 9);
        if (rel->options && !*rel->options)
            rel->options = NULL;
        rel->partkey = val(res, i, 10);
        rel->parent = val(res, i, 11);
        rel->bound = val(res, i, 12);
        rel->ninherits = catr_split(cat, val(res, i, 13), '\x1e', &rel->inherits);
        rel->def = val(res, i, 14);
        rel->populated = bval(res, i, 15);
        catr_add_ref(r, CL_CLASS, rel->obj.oid, &rel->obj);
        catr_add_ref(r, CL_TYPE, oval(res, i, 16), &rel->obj);
        cat->relations[cat->nrelations++] = rel;
    }
    return 0;
}

/* Rows of the columns query in (attrelid, attnum) order: sorted here, not by the server. */
static int cmp_column_row(const void *a, const void *b, void *arg)
{
    PGresult *res = arg;
    int x = *(const int *)a, y = *(const int *)b;
    uint32_t rx = oval(res, x, 0), ry = oval(res, y, 0);
    if (rx != ry)
        return rx < ry ? -1 : 1;
    return atoi(PQgetvalue(res, x, 1)) - atoi(PQgetvalue(res, y, 1));
}

static struct cat_column *column_named(struct cat_relation *rel, const char *name)
{
    for (size_t i = 0; rel && i < rel->ncolumns; i++)
        if (!strcmp(rel->columns[i].name, name))
            return &rel->columns[i];
    return NULL;
}

static struct cat_relation *relation_named(struct reader *r, const char *ident)
{
    for (size_t i = 0; i < r->cat->nrelations; i++)
        if (!strcmp(r->cat->relations[i]->obj.ident, ident))
            return r->cat->relations[i];
    return NULL;
}

static int read_columns(struct reader *r)
{
    struct strbuf sql = STRBUF_INIT;
    strbuf_addf(&sql,
        "SELECT a.attrelid, a.attnum, quote_ident(a.attname), format_type(a.atttypid, a.atttypmod),"
        " a.attnotnull, pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated,\n"
        /* 8 */ " CASE WHEN a.attcollation <> t.typcollation THEN (SELECT "
        QNAME("cn.nspname", "co.collname") " FROM pg_collation co JOIN pg_namespace cn"
        " ON cn.oid = co.collnamespace WHERE co.oid = a.attcollation) END,\n"
        /* 9 */ " a.attislocal, a.attinhcount > 0, c.relispartition,\n"
        /* 12: compression (PG 14+: pg_attribute.attcompression) */ " %s,\n"
        /* 13: column privileges; NULL is none */ " " ACL("a.attacl", "c.relowner") "\n"
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid\n"
        "JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid\n"
        "LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum\n"
        "WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'c')"
        " AND " NSP_OK("n"),
        r->version >= 140000
            ? "CASE a.attcompression WHEN 'p' THEN 'pglz' WHEN 'l' THEN 'lz4' END"
            : "NULL");
    PGresult *res = catr_query(r, "reading columns", sql.buf);
    strbuf_release(&sql);
    if (!res)
        return -1;
    int n = PQntuples(res);
    int *rows = xmalloc((n + 1) * sizeof(*rows));
    for (int i = 0; i < n; i++)
        rows[i] = i;
    qsort_r(rows, n, sizeof(*rows), cmp_column_row, res);
    for (int x = 0; x < n;) {
        uint32_t relid = oval(res, rows[x], 0);
        int y = x;
        while (y < n && oval(res, rows[y], 0) == relid)
            y++;
        struct cat_object *o = catr_find_ref(r, CL_CLASS, relid);
        struct cat_column *cols = NULL;
        size_t *ncols = NULL;
        bool table = false;
        if (o && (o->kind == CAT_TABLE || o->kind == CAT_VIEW || o->kind == CAT_MATVIEW)) {
            struct cat_relation *rel = (struct cat_relation *)o;
            cols = rel->columns = catalog_alloc(r->cat, (y - x) * sizeof(*cols));
            ncols = &rel->ncolumns;
            table = o->kind == CAT_TABLE;
        } else if (o && o->kind == CAT_TYPE) {
            struct cat_type *t = (struct cat_type *)o;
            cols = t->attrs = catalog_alloc(r->cat, (y - x) * sizeof(*cols));
            ncols = &t->nattrs;
        }
        for (; cols && x < y; x++) {
            int i = rows[x];
            /*
             * A partition's columns are its parent's; a child's inherited-only
             * columns are its parents'. Local columns are the table's own.
             */
            if (table && (bval(res, i, 11) || !bval(res, i, 9)))
                continue;
            struct cat_column *c = &cols[(*ncols)++];
            c->attnum = atoi(val(res, i, 1));
            c->name = val(res, i, 2);
            c->type = val(res, i, 3);
            c->not_null = bval(res, i, 4);
            c->default_expr = val(res, i, 5);
            c->identity = cval(res, i, 6);
            c->generated = cval(res, i, 7);
            c->collation = val(res, i, 8);
            c->inherited = bval(res, i, 10);
            c->compression = val(res, i, 12);
            catr_parse_acl(r->cat, val(res, i, 13), &c->acl, NULL);
        }
        x = y;
    }
    free(rows);
    /* identity columns get their sequence's options */
    for (size_t i = 0; i < r->nidseqs; i++) {
        struct cat_column *c = column_named(relation_named(r, r->idseqs[i].table), r->idseqs[i].column);
        if (c)
            parse_seqopts(r->idseq_res, r->idseqs[i].row, 17, &c->idseq);
    }
    return 0;
}

static int cmp_constraint_ptr(const void *a, const void *b)
{
    const struct cat_constraint *x = *(struct cat_constraint *const *)a;
    const struct cat_constraint *y = *(struct cat_constraint *const *)b;
    return strcmp(x->obj.name, y->obj.name);
}

static int read_constraints(struct reader *r)
{
    /*
     * p u c f x only: constraint triggers ('t') are read as triggers, and the
     * NOT NULL constraints PG 18 stores here ('n') as the column's not_null.
     * Inherited-only constraints are the parent's.
     */
    PGresult *res = catr_query(r, "reading constraints",
        "SELECT co.oid, co.conrelid, quote_ident(co.conname), co.contype,"
        " pg_get_constraintdef(co.oid), co.conindid\n"
        "FROM pg_constraint co JOIN pg_class c ON c.oid = co.conrelid"
        " JOIN pg_namespace n ON n.oid = c.relnamespace\n"
        "WHERE co.contype IN ('p', 'u', 'c', 'f', 'x') AND co.conislocal AND " NSP_OK("n"));
    if (!res)
        return -1;
    int n = PQntuples(res);
    /* two passes: count each table's constraints, then fill arrays of that size */
    for (int pass = 0; pass < 2; pass++) {
        for (int i = 0; i < n; i++) {
            struct cat_object *o = catr_find_ref(r, CL_CLASS, oval(res, i, 1));
            if (!o || o->kind != CAT_TABLE)
                continue;
            struct cat_relation *rel = (struct cat_relation *)o;
            if (!pass) {
                rel->nconstraints++;
                continue;
            }
            if (!rel->constraints) {
                rel->constraints = catalog_alloc(r->cat, rel->nconstraints * sizeof(*rel->constraints));
                rel->nconstraints = 0;
            }
            struct cat_constraint *k = catalog_alloc(r->cat, sizeof(*k));
            k->obj.kind = CAT_CONSTRAINT;
            k->obj.schema = rel->obj.schema;
            k->obj.name = val(res, i, 2);
            k->obj.ident = catalog_printf(r->cat, "%s ON %s", k->obj.name, rel->obj.ident);
            k->obj.oid = oval(res, i, 0);
            k->table = rel->obj.ident;
            k->type = cval(res, i, 3);
            k->def = val(res, i, 4);
            rel->constraints[rel->nconstraints++] = k;
            catr_add_ref(r, CL_CONSTRAINT, k->obj.oid, &k->obj);
            /* what depends on the index behind a key (a foreign key) depends on the key */
            if (k->type == 'p' || k->type == 'u' || k->type == 'x')
                catr_add_ref(r, CL_CLASS, oval(res, i, 5), &k->obj);
        }
    }
    for (size_t i = 0; i < r->cat->nrelations; i++) {
        struct cat_relation *rel = r->cat->relations[i];
        if (rel->nconstraints)
            qsort(rel->constraints, rel->nconstraints, sizeof(*rel->constraints), cmp_constraint_ptr);
    }
    return 0;
}

/* ---- indexes, triggers, policies, event triggers ---- */

static int read_indexes(struct reader *r)
{
    PGresult *res = catr_query(r, "reading indexes",
        "SELECT i.indexrelid, quote_ident(n.nspname), quote_ident(ic.relname), i.indrelid,"
        " pg_get_indexdef(i.indexrelid)\n"
        "FROM pg_index i JOIN pg_class ic ON ic.oid = i.indexrelid"
        " JOIN pg_namespace n ON n.oid = ic.relnamespace\n"
        /* a partition's copy of its parent's index is the parent's */
        "WHERE NOT ic.relispartition AND " NSP_OK("n") "\n"
        " AND NOT EXISTS (SELECT 1 FROM pg_constraint co WHERE co.conindid = i.indexrelid"
        " AND co.conrelid = i.indrelid AND co.contype IN ('p', 'u', 'x'))");
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    int n = PQntuples(res);
    ARENA_ARRAY(r, cat->indexes, n);
    for (int i = 0; i < n; i++) {
        struct cat_object *t = catr_find_ref(r, CL_CLASS, oval(res, i, 3));
        if (!t || (t->kind != CAT_TABLE && t->kind != CAT_MATVIEW))
            continue;
        struct cat_index *x = catr_new_object(r, sizeof(*x), CAT_INDEX, val(res, i, 1), val(res, i, 2));
        x->table = t->ident;
        x->def = val(res, i, 4);
        x->obj.oid = oval(res, i, 0);
        catr_add_ref(r, CL_CLASS, x->obj.oid, &x->obj);
        cat->indexes[cat->nindexes++] = x;
    }
    return 0;
}

/* ---- the whole read ---- */

int catalog_read(PGconn *conn, const struct catalog_options *opts, struct catalog **out)
{
    static const struct catalog_options defaults = {0};
    struct reader r = {.conn = conn, .version = PQserverVersion(conn)};
    int ret = -1;
    opts = opts ? opts : &defaults;
    r.owner = opts->owner;
    *out = NULL;
    if (r.version < 130000)
        return error("PostgreSQL %d.%d is not supported for schema reading (13 or later)",
                     r.version / 10000, r.version % 10000 / 100);
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return error("catalog_read: the connection is inside a transaction");
    /* an empty search_path makes every name in deparsed text schema-qualified */
    if (pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY;"
                      " SET LOCAL search_path = ''") < 0)
        return -1;
    r.cat = catalog_new();
    r.cat->server_version = r.version;
    r.cat->owner = opts->owner;
    if (catr_read_acldefaults(&r) || read_schemas(&r) || read_extensions(&r) || read_types(&r) ||
        read_relations(&r))
        goto out;
    sort_refs(&r);
    if (read_columns(&r) || read_domain_checks(&r) || read_constraints(&r) || catr_read_functions(&r))
        goto out;
    sort_refs(&r);
    if (read_indexes(&r))
        goto out;
    sort_refs(&r);
    if (catr_read_triggers(&r) || catr_read_policies(&r) || catr_read_event_triggers(&r) || catr_read_defacls(&r))
        goto out;
    sort_refs(&r);
    if (catr_read_comments(&r) || catr_read_depends(&r))
        goto out;
    catalog_finish(r.cat);
    catr_finish_deps(r.cat);
    ret = 0;
out:
    free(r.refs);
    free(r.idseqs);
    if (pg_exec(conn, ret ? "ROLLBACK" : "COMMIT") < 0)
        ret = -1;
    if (ret) {
        catalog_free(r.cat);
        return -1;
    }
    *out = r.cat;
    return 0;
}

int catalog_read_url(const char *url, const struct catalog_options *opts, struct catalog **out)
{
    PGconn *conn = pg_connect(url);
    *out = NULL;
    if (!conn)
        return -1;
    int ret = catalog_read(conn, opts, out);
    PQfinish(conn);
    return ret;
}

