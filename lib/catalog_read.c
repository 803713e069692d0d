/*
 * catalog_read.c — fill the model from pg_catalog: one query per object
 * class inside one read-only REPEATABLE READ transaction, then pg_depend
 * mapped onto the objects read. Values are kept as pointers into the query
 * results (kept alive with the model), so reading copies almost nothing.
 *
 * The queries are written against PostgreSQL 13's catalogs. Where a later
 * major differs, the branch is on PQserverVersion() and commented (search
 * for "PG 1").
 */
#include "lib/catalog.h"
#include "lib/pg.h"

/* Schemas we never read: pg_catalog, pg_toast, pg_temp_N ... (pg_ is reserved) and information_schema. */
#define NSP_OK(n) "(" n ".nspname !~ '^pg_' AND " n ".nspname <> 'information_schema')"
/* Objects that belong to an extension (pg_depend deptype 'e') are the extension's. */
#define NOT_EXT(cls, oid)                                                                          \
    "NOT EXISTS (SELECT 1 FROM pg_depend xd WHERE xd.classid = '" cls "'::regclass AND xd.objid = " oid \
    " AND xd.deptype = 'e')"
/*
 * Privileges as "grantee \x1f privilege \x1f grantable \x1f grantor" items
 * joined by \x1e; the owner is OWNER (grantee) or '' (grantor), so the model
 * does not depend on who owns the database. ACL_ITEMS gives NULL for no
 * items; ACL gives NULL for a NULL ACL (the kind's default, which the model
 * fills in from acldefault: exploding it for every object costs) and '' for
 * an empty one.
 */
#define ACL_ITEMS(acl, owner)                                                                      \
    "(SELECT string_agg(CASE WHEN a.grantee = 0 THEN 'PUBLIC' WHEN a.grantee = " owner             \
    " THEN 'OWNER' ELSE quote_ident(pg_get_userbyid(a.grantee)) END || E'\\x1f' || "               \
    "a.privilege_type || E'\\x1f' || CASE WHEN a.is_grantable THEN 't' ELSE 'f' END || E'\\x1f' " \
    "|| CASE WHEN a.grantor = " owner " THEN '' ELSE quote_ident(pg_get_userbyid(a.grantor)) END, " \
    "E'\\x1e') FROM aclexplode(" acl ") a)"
#define ACL(acl, owner) "CASE WHEN " acl " IS NOT NULL THEN coalesce(" ACL_ITEMS(acl, owner) ", '') END"
#define OWNER(col) "quote_ident(pg_get_userbyid(" col "))"
#define QNAME(nsp, name) "quote_ident(" nsp ") || '.' || quote_ident(" name ")"

/* ---- the reader ---- */

/* Class codes of the objects pg_depend rows are mapped onto. */
enum { CL_CLASS = 'c', CL_TYPE = 't', CL_PROC = 'f', CL_CONSTRAINT = 'k', CL_TRIGGER = 'g',
       CL_POLICY = 'p', CL_EVTRIGGER = 'e', CL_EXTENSION = 'x', CL_NAMESPACE = 'n' };

struct oidref {
    uint32_t oid;
    char cls;
    struct cat_object *obj;
};

struct reader {
    PGconn *conn;
    struct catalog *cat;
    int version;
    bool owner;
    /*
     * Objects by (class, OID). Lookups see the first NSORTED entries only:
     * what a query adds joins them at the next sort_refs(), so a loop never
     * searches an array it is appending to.
     */
    struct oidref *refs;
    size_t nrefs, arefs, nsorted;
    /* identity sequences (rows of IDSEQ_RES), attached to their columns once read */
    struct idseq {
        const char *table, *column;
        int row;
    } *idseqs;
    size_t nidseqs, aidseqs;
    PGresult *idseq_res;
};

static PGresult *query(struct reader *r, const char *what, const char *sql)
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

static const char *val(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static bool bval(PGresult *res, int row, int col)
{
    const char *v = val(res, row, col);
    return v && v[0] == 't';
}

static char cval(PGresult *res, int row, int col)
{
    const char *v = val(res, row, col);
    return v ? v[0] : 0;
}

static uint32_t oval(PGresult *res, int row, int col)
{
    const char *v = val(res, row, col);
    return v ? (uint32_t)strtoul(v, NULL, 10) : 0;
}

static void add_ref(struct reader *r, char cls, uint32_t oid, struct cat_object *obj)
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

static struct cat_object *find_ref(struct reader *r, char cls, uint32_t oid)
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
static size_t split(struct catalog *cat, const char *s, char sep, const char ***out)
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
static void parse_acl(struct catalog *cat, const char *text, struct cat_acl *acl,
                      const struct cat_acl *def)
{
    const char **items;
    if (!text) {
        *acl = def ? *def : (struct cat_acl){NULL, 0};
        return;
    }
    size_t n = split(cat, text, '\x1e', &items);
    acl->nr = 0;
    acl->v = n ? catalog_alloc(cat, n * sizeof(*acl->v)) : NULL;
    for (size_t i = 0; i < n; i++) {
        const char **f;
        if (split(cat, items[i], '\x1f', &f) != 4)
            continue;
        acl->v[acl->nr++] = (struct cat_acl_item){f[0], f[1], *f[3] ? f[3] : NULL, f[2][0] == 't'};
    }
    qsort(acl->v, acl->nr, sizeof(*acl->v), cmp_acl_item);
}

static void *new_object(struct reader *r, size_t size, enum cat_kind kind, const char *schema,
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
static void common(struct reader *r, struct cat_object *o, PGresult *res, int row, int owner,
                   int acl)
{
    if (owner >= 0 && r->owner)
        o->owner = val(res, row, owner);
    if (acl >= 0) {
        int k = catalog_acl_kind(o->kind);
        parse_acl(r->cat, val(res, row, acl), &o->acl, k >= 0 ? &r->cat->acldefault[k] : NULL);
    }
}

#define GROW_PUSH(arr, n, item)                                                                    \
    do {                                                                                           \
        (arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr)));                                       \
        (arr)[(n)++] = (item);                                                                     \
    } while (0)

/* Arrays of object pointers are allocated in the arena once their size is known. */
#define ARENA_ARRAY(r, arr, n) ((arr) = catalog_alloc((r)->cat, ((n) ? (n) : 1) * sizeof(*(arr))))

/* ---- schemas, extensions ---- */

static int read_schemas(struct reader *r)
{
    PGresult *res = query(r, "reading schemas",
        "SELECT n.oid, quote_ident(n.nspname), " OWNER("n.nspowner") ", "
        ACL("n.nspacl", "n.nspowner") "\n"
        "FROM pg_namespace n WHERE " NSP_OK("n") " AND " NOT_EXT("pg_namespace", "n.oid"));
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->nschemas = PQntuples(res);
    ARENA_ARRAY(r, cat->schemas, cat->nschemas);
    for (size_t i = 0; i < cat->nschemas; i++) {
        struct cat_schema *s = new_object(r, sizeof(*s), CAT_SCHEMA, NULL, val(res, i, 1));
        common(r, &s->obj, res, i, 2, 3);
        s->obj.oid = oval(res, i, 0);
        add_ref(r, CL_NAMESPACE, s->obj.oid, &s->obj);
        cat->schemas[i] = s;
    }
    return 0;
}

static int read_extensions(struct reader *r)
{
    PGresult *res = query(r, "reading extensions",
        "SELECT x.oid, quote_ident(x.extname), quote_ident(n.nspname), x.extversion, "
        OWNER("x.extowner") "\n"
        "FROM pg_extension x JOIN pg_namespace n ON n.oid = x.extnamespace");
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->nextensions = PQntuples(res);
    ARENA_ARRAY(r, cat->extensions, cat->nextensions);
    for (size_t i = 0; i < cat->nextensions; i++) {
        struct cat_extension *x = new_object(r, sizeof(*x), CAT_EXTENSION, NULL, val(res, i, 1));
        x->in_schema = val(res, i, 2);
        x->version = val(res, i, 3);
        common(r, &x->obj, res, i, 4, -1);
        x->obj.oid = oval(res, i, 0);
        add_ref(r, CL_EXTENSION, x->obj.oid, &x->obj);
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
    PGresult *res = query(r, "reading types", sql.buf);
    strbuf_release(&sql);
    if (!res)
        return -1;
    struct catalog *cat = r->cat;
    cat->ntypes = PQntuples(res);
    ARENA_ARRAY(r, cat->types, cat->ntypes);
    for (size_t i = 0; i < cat->ntypes; i++) {
        struct cat_type *t = new_object(r, sizeof(*t), CAT_TYPE, val(res, i, 1), val(res, i, 2));
        t->typtype = cval(res, i, 3);
        common(r, &t->obj, res, i, 4, 5);
        t->obj.oid = oval(res, i, 0);
        t->array_oid = oval(res, i, 6);
        t->relid = oval(res, i, 7);
        t->nlabels = split(cat, val(res, i, 8), '\x1e', &t->labels);
        t->base = val(res, i, 9);
        t->default_expr = val(res, i, 10);
        t->not_null = bval(res, i, 11);
        t->collation = val(res, i, 12);
        t->opclass = val(res, i, 13);
        t->canonical = val(res, i, 14);
        t->subdiff = val(res, i, 15);
        t->multirange = val(res, i, 16);
        add_ref(r, CL_TYPE, t->obj.oid, &t->obj);
        add_ref(r, CL_TYPE, t->array_oid, &t->obj);
        add_ref(r, CL_CLASS, t->relid, &t->obj);
        cat->types[i] = t;
    }
    return 0;
}

static int read_domain_checks(struct reader *r)
{
    /* PG 17 adds domain NOT NULL constraints (contype 'n'): read as typnotnull instead. */
    PGresult *res = query(r, "reading domain constraints",
        "SELECT co.oid, co.contypid, quote_ident(co.conname), pg_get_constraintdef(co.oid), ds.description\n"
        "FROM pg_constraint co LEFT JOIN pg_description ds ON ds.objoid = co.oid"
        " AND ds.classoid = 'pg_constraint'::regclass AND ds.objsubid = 0\n"
        "WHERE co.contypid <> 0 AND co.contype = 'c'\n"
        "ORDER BY co.contypid, co.conname COLLATE \"C\"");
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res); i++) {
        struct cat_object *o = find_ref(r, CL_TYPE, oval(res, i, 1));
        if (!o || o->kind != CAT_TYPE)
            continue;
        struct cat_type *t = (struct cat_type *)o;
        if (!t->checks)
            t->checks = catalog_alloc(r->cat, PQntuples(res) * sizeof(*t->checks));
        t->checks[t->nchecks++] = (struct cat_domain_check){val(res, i, 2), val(res, i, 3),
                                                            val(res, i, 4)};
        add_ref(r, CL_CONSTRAINT, oval(res, i, 0), o);
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
    PGresult *res = query(r, "reading tables, views and sequences",
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
            bool identity = split(cat, val(res, i, 24), '\x1f', &owned) == 3 && owned[2][0] == 'i';
            if (identity) { /* an identity column's sequence belongs to the column */
                ALLOC_GROW(r->idseqs, r->nidseqs + 1, r->aidseqs);
                r->idseqs[r->nidseqs++] = (struct idseq){owned[0], owned[1], i};
                continue;
            }
            struct cat_sequence *s = new_object(r, sizeof(*s), CAT_SEQUENCE, val(res, i, 1),
                                                val(res, i, 2));
            common(r, &s->obj, res, i, 5, 6);
            s->obj.oid = oval(res, i, 0);
            parse_seqopts(res, i, 17, &s->opts);
            if (owned) {
                s->owned_table = owned[0];
                s->owned_column = owned[1];
            }
            add_ref(r, CL_CLASS, s->obj.oid, &s->obj);
            cat->sequences[cat->nsequences++] = s;
            continue;
        }
        enum cat_kind kind = relkind == 'v' ? CAT_VIEW : relkind == 'm' ? CAT_MATVIEW : CAT_TABLE;
        struct cat_relation *rel = new_object(r, sizeof(*rel), kind, val(res, i, 1), val(res, i, 2));
        rel->relkind = relkind;
        rel->unlogged = cval(res, i, 4) == 'u';
        common(r, &rel->obj, res, i, 5, 6);
        rel->obj.oid = oval(res, i, 0);
        rel->rls = bval(res, i, 7);
        rel->force_rls = bval(res, i, 8);
        rel->options = val(res, i, 9);
        if (rel->options && !*rel->options)
            rel->options = NULL;
        rel->partkey = val(res, i, 10);
        rel->parent = val(res, i, 11);
        rel->bound = val(res, i, 12);
        rel->ninherits = split(cat, val(res, i, 13), '\x1e', &rel->inherits);
        rel->def = val(res, i, 14);
        rel->populated = bval(res, i, 15);
        add_ref(r, CL_CLASS, rel->obj.oid, &rel->obj);
        add_ref(r, CL_TYPE, oval(res, i, 16), &rel->obj);
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
    PGresult *res = query(r, "reading columns", sql.buf);
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
        struct cat_object *o = find_ref(r, CL_CLASS, relid);
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
            parse_acl(r->cat, val(res, i, 13), &c->acl, NULL);
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
    PGresult *res = query(r, "reading constraints",
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
            struct cat_object *o = find_ref(r, CL_CLASS, oval(res, i, 1));
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
            add_ref(r, CL_CONSTRAINT, k->obj.oid, &k->obj);
            /* what depends on the index behind a key (a foreign key) depends on the key */
            if (k->type == 'p' || k->type == 'u' || k->type == 'x')
                add_ref(r, CL_CLASS, oval(res, i, 5), &k->obj);
        }
    }
    for (size_t i = 0; i < r->cat->nrelations; i++) {
        struct cat_relation *rel = r->cat->relations[i];
        if (rel->nconstraints)
            qsort(rel->constraints, rel->nconstraints, sizeof(*rel->constraints), cmp_constraint_ptr);
    }
    return 0;
}

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

static int read_functions(struct reader *r)
{
    /*
     * pg_get_functiondef covers everything a function's CREATE needs,
     * PG 14's SQL-standard bodies (prosqlbody) included; aggregates have no
     * such function and are rebuilt from pg_aggregate (columns as in 13).
     */
    PGresult *res = query(r, "reading functions",
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
        common(r, &f->obj, res, i, 10, 11);
        f->obj.oid = oval(res, i, 0);
        if (f->prokind == 'a')
            build_aggregate(r, f, res, i);
        add_ref(r, CL_PROC, f->obj.oid, &f->obj);
        cat->functions[i] = f;
    }
    return 0;
}

/* ---- indexes, triggers, policies, event triggers ---- */

static int read_indexes(struct reader *r)
{
    PGresult *res = query(r, "reading indexes",
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
        struct cat_object *t = find_ref(r, CL_CLASS, oval(res, i, 3));
        if (!t || (t->kind != CAT_TABLE && t->kind != CAT_MATVIEW))
            continue;
        struct cat_index *x = new_object(r, sizeof(*x), CAT_INDEX, val(res, i, 1), val(res, i, 2));
        x->table = t->ident;
        x->def = val(res, i, 4);
        x->obj.oid = oval(res, i, 0);
        add_ref(r, CL_CLASS, x->obj.oid, &x->obj);
        cat->indexes[cat->nindexes++] = x;
    }
    return 0;
}

/* For objects named "name ON s.t": find the table, set the ident. */
static struct cat_object *on_table(struct reader *r, struct cat_object *o, enum cat_kind kind,
                                   uint32_t relid, const char *name)
{
    struct cat_object *t = find_ref(r, CL_CLASS, relid);
    if (!t || t->kind == CAT_SEQUENCE || t->kind == CAT_INDEX || t->kind == CAT_TYPE ||
        t->kind == CAT_CONSTRAINT)
        return NULL;
    o->kind = kind;
    o->schema = t->schema;
    o->name = name;
    o->ident = catalog_printf(r->cat, "%s ON %s", name, t->ident);
    return t;
}

static int read_triggers(struct reader *r)
{
    /* tgparentid (PG 13+): a partition's clone of its parent's trigger is the parent's */
    PGresult *res = query(r, "reading triggers",
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
        add_ref(r, CL_TRIGGER, tg->obj.oid, &tg->obj);
        cat->triggers[cat->ntriggers++] = tg;
    }
    return 0;
}

static int read_policies(struct reader *r)
{
    PGresult *res = query(r, "reading policies",
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
        add_ref(r, CL_POLICY, p->obj.oid, &p->obj);
        cat->policies[cat->npolicies++] = p;
    }
    return 0;
}

static int read_event_triggers(struct reader *r)
{
    PGresult *res = query(r, "reading event triggers",
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
        struct cat_event_trigger *e = new_object(r, sizeof(*e), CAT_EVENT_TRIGGER, NULL,
                                                 val(res, i, 1));
        e->event = val(res, i, 2);
        e->function = val(res, i, 3);
        e->tags = val(res, i, 4);
        e->enabled = cval(res, i, 5);
        common(r, &e->obj, res, i, 6, -1);
        e->obj.oid = oval(res, i, 0);
        add_ref(r, CL_EVTRIGGER, e->obj.oid, &e->obj);
        cat->event_triggers[i] = e;
    }
    return 0;
}

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

static int read_defacls(struct reader *r)
{
    struct strbuf sql = STRBUF_INIT;
    strbuf_addf(&sql,
        "SELECT d.oid, CASE WHEN %s OR d.defaclrole <> (SELECT oid FROM pg_roles"
        " WHERE rolname = current_user) THEN " OWNER("d.defaclrole") " END,"
        " quote_ident(n.nspname), d.defaclobjtype, " ACL_ITEMS("d.defaclacl", "d.defaclrole") "\n"
        "FROM pg_default_acl d LEFT JOIN pg_namespace n ON n.oid = d.defaclnamespace",
        r->owner ? "true" : "false");
    PGresult *res = query(r, "reading default privileges", sql.buf);
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
        parse_acl(cat, val(res, i, 4), &d->obj.acl, NULL);
        d->obj.oid = oval(res, i, 0);
        cat->defacls[i] = d;
    }
    return 0;
}

static int read_acldefaults(struct reader *r)
{
    /* in catalog_acl_kind() order; the owner is role 10 here, any role would do */
    PGresult *res = query(r, "reading default privileges of new objects",
        "SELECT k, " ACL_ITEMS("acldefault(k, 10)", "10") "\n"
        "FROM unnest('{r,s,f,T,n}'::\"char\"[]) WITH ORDINALITY AS u(k, i) ORDER BY i");
    if (!res)
        return -1;
    for (int i = 0; i < PQntuples(res) && i < (int)ARRAY_SIZE(r->cat->acldefault); i++)
        parse_acl(r->cat, val(res, i, 1), &r->cat->acldefault[i], NULL);
    return 0;
}

/* ---- comments ---- */

/*
 * Every comment of a user object in one query (plus those of schemas and
 * extensions: public and plpgsql have low OIDs), mapped onto the objects read. Domain constraints
 * carry their own (read_domain_checks): here a constraint OID is a table's.
 */
static int read_comments(struct reader *r)
{
    PGresult *res = query(r, "reading comments",
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
        struct cat_object *o = cls ? find_ref(r, cls, oid) : NULL;
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

static int read_depends(struct reader *r)
{
    /*
     * Normal and automatic dependencies of user objects (OID >= 16384),
     * with a view's _RETURN rule standing for the view, a column default
     * for its column, and members of an extension for the extension.
     */
    PGresult *res = query(r, "reading dependencies",
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
        struct cat_object *o = find_ref(r, cls, oval(res, i, 1));
        struct cat_object *ref = find_ref(r, rcls, oval(res, i, 4));
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
static void finish_deps(struct catalog *cat)
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
    if (read_acldefaults(&r) || read_schemas(&r) || read_extensions(&r) || read_types(&r) ||
        read_relations(&r))
        goto out;
    sort_refs(&r);
    if (read_columns(&r) || read_domain_checks(&r) || read_constraints(&r) || read_functions(&r))
        goto out;
    sort_refs(&r);
    if (read_indexes(&r))
        goto out;
    sort_refs(&r);
    if (read_triggers(&r) || read_policies(&r) || read_event_triggers(&r) || read_defacls(&r))
        goto out;
    sort_refs(&r);
    if (read_comments(&r) || read_depends(&r))
        goto out;
    catalog_finish(r.cat);
    finish_deps(r.cat);
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
