/*
 * catalog_int.h — what the three parts of the catalog reader share:
 * catalog_read.c (the transaction, the OID index, tables and their kin),
 * catalog_code.c (functions, aggregates, triggers, event triggers,
 * policies) and catalog_links.c (default privileges, comments,
 * dependencies). Not an API.
 */
#ifndef DBTOOL_CATALOG_INT_H
#define DBTOOL_CATALOG_INT_H

#include "lib/catalog.h"

/* Schemas never read: pg_catalog, pg_toast, pg_temp_N ... (pg_ is reserved) and information_schema. */
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

static inline const char *val(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? NULL : PQgetvalue(res, row, col);
}

static inline bool bval(PGresult *res, int row, int col)
{
    const char *v = val(res, row, col);
    return v && v[0] == 't';
}

static inline char cval(PGresult *res, int row, int col)
{
    const char *v = val(res, row, col);
    return v ? v[0] : 0;
}

static inline uint32_t oval(PGresult *res, int row, int col)
{
    const char *v = val(res, row, col);
    return v ? (uint32_t)strtoul(v, NULL, 10) : 0;
}

/* Run SQL (a catalog query), log its time, keep the result with the model; NULL on error. */
PGresult *catr_query(struct reader *r, const char *what, const char *sql);
/* Index OBJ under (CLS, OID); lookups see it after the next sort. */
void catr_add_ref(struct reader *r, char cls, uint32_t oid, struct cat_object *obj);
struct cat_object *catr_find_ref(struct reader *r, char cls, uint32_t oid);
/* Split S at SEP into *OUT (arena); NULL gives none. Returns the count. */
size_t catr_split(struct catalog *cat, const char *s, char sep, const char ***out);
/* TEXT as ACL()/ACL_ITEMS() return it; NULL is the default DEF (may be NULL: none). */
void catr_parse_acl(struct catalog *cat, const char *text, struct cat_acl *acl,
                    const struct cat_acl *def);
/* A zeroed object of KIND named SCHEMA.NAME (ident likewise). */
void *catr_new_object(struct reader *r, size_t size, enum cat_kind kind, const char *schema,
                      const char *name);
/* Fill the owner and the privileges from columns OWNER and ACL (either may be -1). */
void catr_common(struct reader *r, struct cat_object *o, PGresult *res, int row, int owner,
                 int acl);

#define GROW_PUSH(arr, n, item)                                                                    \
    do {                                                                                           \
        (arr) = xrealloc((arr), ((n) + 1) * sizeof(*(arr)));                                       \
        (arr)[(n)++] = (item);                                                                     \
    } while (0)

/* Arrays of object pointers are allocated in the arena once their size is known. */
#define ARENA_ARRAY(r, arr, n) ((arr) = catalog_alloc((r)->cat, ((n) ? (n) : 1) * sizeof(*(arr))))

/* catalog_code.c */
int catr_read_functions(struct reader *r);
int catr_read_triggers(struct reader *r);
int catr_read_policies(struct reader *r);
int catr_read_event_triggers(struct reader *r);
/* catalog_links.c */
int catr_read_defacls(struct reader *r);
int catr_read_acldefaults(struct reader *r);
int catr_read_comments(struct reader *r);
int catr_read_depends(struct reader *r);
/* Sort and deduplicate every object's dependencies (after catalog_finish). */
void catr_finish_deps(struct catalog *cat);

#endif
