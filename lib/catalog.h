/*
 * catalog.h — a database's schema read from pg_catalog into one in-memory
 * model: schemas, extensions, types, sequences, tables (columns,
 * constraints, inheritance, partitions), views and materialized views,
 * functions/procedures/aggregates, indexes, triggers, event triggers,
 * row-level security and policies, privileges, default privileges and
 * comments, plus the dependencies between them (from pg_depend).
 *
 * Reading takes one REPEATABLE READ, READ ONLY transaction and one query per
 * object class; it works on PostgreSQL 13 to 18 and needs only catalog
 * access. System schemas and objects belonging to extensions are left out.
 *
 * Every name in the model is quoted for SQL (quote_ident) and every
 * expression is the server's own deparsed text, read with an empty
 * search_path, so it is schema-qualified and can be pasted into DDL.
 * Owners are left out unless asked for; privileges name the owner "OWNER"
 * whatever its role (like pg_dump --no-owner, a database owned by another
 * role has the same model).
 *
 * catalog_dump() prints the canonical text form: stable, line-oriented,
 * without OIDs, sorted. Two databases have the same schema when their dumps
 * are equal; catalog_hash() is the SHA-256 of the dump.
 */
#ifndef DBTOOL_CATALOG_H
#define DBTOOL_CATALOG_H

#include "lib/common.h"
#include "lib/sha256.h"
#include <libpq-fe.h>

/* Object kinds, in the order the canonical dump lists them. */
enum cat_kind {
    CAT_SCHEMA,
    CAT_EXTENSION,
    CAT_TYPE,          /* enum, composite, domain, range */
    CAT_SEQUENCE,
    CAT_TABLE,         /* ordinary and partitioned tables */
    CAT_CONSTRAINT,    /* a table's constraint (struct cat_constraint) */
    CAT_INDEX,
    CAT_VIEW,
    CAT_MATVIEW,
    CAT_FUNCTION,      /* functions, procedures and aggregates */
    CAT_TRIGGER,
    CAT_POLICY,
    CAT_EVENT_TRIGGER,
    CAT_DEFACL,        /* one pg_default_acl entry */
    CAT_NKINDS
};

/* One privilege: GRANTEE PRIVILEGE [WITH GRANT OPTION] [GRANTED BY GRANTOR]. */
struct cat_acl_item {
    const char *grantee;   /* quoted role, "PUBLIC", or "OWNER" for the object's owner */
    const char *privilege; /* SELECT, INSERT, ..., EXECUTE, USAGE, CREATE, MAINTAIN (17+) */
    const char *grantor;   /* NULL when the owner granted it */
    bool grantable;
};

/*
 * The effective privileges of an object, sorted: a NULL ACL in the catalog
 * is read as the kind's default (acldefault), so "never granted" and
 * "granted back to the default" are the same model.
 */
struct cat_acl {
    struct cat_acl_item *v;
    size_t nr;
};

struct cat_object;

/*
 * A dependency from pg_depend, stored on the dependent object: it depends
 * on REF (or REF's column REF_COLUMN). COLUMN is set when the dependency
 * belongs to one of the dependent's columns (its type or default).
 */
struct cat_dep {
    const struct cat_object *ref;
    const char *ref_column;
    const char *column;
};

/* What every object has. The kind-specific structs below start with it. */
struct cat_object {
    enum cat_kind kind;
    const char *schema;  /* quoted schema; NULL for schemas, extensions, event triggers */
    const char *name;    /* quoted name */
    const char *ident;   /* identity within the kind: s.t, s.f(integer), c ON s.t, ... */
    const char *owner;   /* quoted owner role; NULL unless catalog_options.owner */
    const char *comment; /* NULL when none */
    struct cat_acl acl;  /* empty for kinds without privileges */
    struct cat_dep *deps;
    size_t ndeps;
    uint32_t oid;        /* the catalog row (never dumped) */
};

/* Options of a sequence (or of an identity column's sequence), as text. */
struct cat_seqopts {
    const char *type; /* bigint, integer, smallint */
    const char *start, *increment, *min, *max, *cache;
    bool cycle;
};

struct cat_column {
    const char *name;
    const char *type;        /* format_type */
    const char *default_expr; /* default, or the generation expression; NULL when none */
    const char *collation;   /* only when not the type's default collation */
    const char *compression; /* pglz/lz4 when set on the column (14+), else NULL */
    char identity;           /* 0, 'a' (ALWAYS) or 'd' (BY DEFAULT) */
    char generated;          /* 0, 's' (STORED) or 'v' (VIRTUAL, 18+) */
    bool not_null;
    bool inherited;          /* also inherited from a parent (merged local column) */
    struct cat_seqopts idseq; /* identity columns */
    const char *comment;
    struct cat_acl acl;      /* column privileges (empty when none) */
    int attnum;              /* never dumped */
};

/* CAT_CONSTRAINT: ident "name ON s.t". Constraints inherited from a parent are left out. */
struct cat_constraint {
    struct cat_object obj;
    const char *table; /* the table's ident */
    char type;         /* p u c f x */
    const char *def;   /* pg_get_constraintdef */
};

/*
 * CAT_TABLE, CAT_VIEW, CAT_MATVIEW. Partitions list no columns (they are the
 * parent's); inheritance children list their local columns only.
 */
struct cat_relation {
    struct cat_object obj;
    char relkind;           /* r p v m */
    bool unlogged;
    bool rls, force_rls;    /* relrowsecurity, relforcerowsecurity */
    const char *options;    /* reloptions "a=1, b=x", NULL when none */
    const char *partkey;    /* pg_get_partkeydef of a partitioned table */
    const char *parent;     /* ident of the partitioned table of a partition */
    const char *bound;      /* a partition's FOR VALUES ... / DEFAULT */
    const char **inherits;  /* plain inheritance parents (idents) in order */
    size_t ninherits;
    struct cat_column *columns; /* in attnum order */
    size_t ncolumns;
    struct cat_constraint **constraints; /* sorted by name */
    size_t nconstraints;
    const char *def;        /* views: pg_get_viewdef */
    bool populated;         /* materialized views: relispopulated (data, not schema: not dumped) */
};

struct cat_sequence {
    struct cat_object obj;
    struct cat_seqopts opts;
    const char *owned_table;  /* OWNED BY table ident, or NULL */
    const char *owned_column;
};

/* CAT_FUNCTION: ident "s.name(identity arguments)". */
struct cat_function {
    struct cat_object obj;
    char prokind;          /* f p a w */
    const char *args;      /* pg_get_function_arguments (names, defaults) */
    const char *identity_args;
    const char *result;    /* pg_get_function_result; NULL for procedures */
    const char *language;
    char volatility;       /* i s v */
    const char *def;       /* pg_get_functiondef, or CREATE AGGREGATE built from pg_aggregate */
};

/* CAT_INDEX: indexes that back no constraint and are not a partition's copy of a parent's. */
struct cat_index {
    struct cat_object obj;
    const char *table;     /* ident of the table or materialized view */
    const char *def;       /* pg_get_indexdef */
};

/* CAT_TRIGGER: ident "name ON s.t"; internal and partition-cloned triggers are left out. */
struct cat_trigger {
    struct cat_object obj;
    const char *table;
    const char *def;       /* pg_get_triggerdef */
    char enabled;          /* O (origin, the default), D, R, A */
};

/* CAT_POLICY: ident "name ON s.t". */
struct cat_policy {
    struct cat_object obj;
    const char *table;
    bool permissive;
    const char *command;   /* ALL SELECT INSERT UPDATE DELETE */
    const char *roles;     /* "PUBLIC" or sorted quoted roles "a, b" */
    const char *using_expr, *check_expr; /* NULL when none */
};

struct cat_event_trigger {
    struct cat_object obj;
    const char *event;
    const char *function;  /* s.f */
    const char *tags;      /* "'CREATE TABLE', ..." or NULL */
    char enabled;          /* O D R A */
};

/* A domain's CHECK constraint. */
struct cat_domain_check {
    const char *name;
    const char *def;       /* pg_get_constraintdef: CHECK (...) [NOT VALID] */
    const char *comment;
};

struct cat_type {
    struct cat_object obj;
    char typtype;          /* e (enum) c (composite) d (domain) r (range) */
    /* enum: labels in sort order */
    const char **labels;
    size_t nlabels;
    /* composite: attributes */
    struct cat_column *attrs;
    size_t nattrs;
    /* domain */
    const char *base;      /* also a range's subtype */
    const char *default_expr;
    const char *collation; /* domain or range collation when not the default */
    bool not_null;
    struct cat_domain_check *checks;
    size_t nchecks;
    /* range: options left NULL when the default */
    const char *opclass, *canonical, *subdiff, *multirange;
    uint32_t array_oid, relid; /* never dumped */
};

struct cat_extension {
    struct cat_object obj;
    const char *in_schema; /* the schema the extension's objects live in */
    const char *version;
};

struct cat_schema {
    struct cat_object obj;
};

/*
 * CAT_DEFACL: ALTER DEFAULT PRIVILEGES [FOR ROLE role] [IN SCHEMA s] ON
 * objtype. ROLE is NULL for the role that read the catalog (the one that
 * will create objects) unless catalog_options.owner. OBJ.ACL holds the
 * entry's privileges, grantee "OWNER" being ROLE; a global entry (no schema)
 * replaces the built-in defaults, a schema entry adds to them.
 */
struct cat_defacl {
    struct cat_object obj;
    const char *role;
    const char *in_schema;
    char objtype;          /* r (tables) S (sequences) f (functions) T (types) n (schemas) */
};

struct catalog_options {
    bool owner;            /* read owners (off: like pg_dump --no-owner) */
};

struct catalog {
    int server_version;    /* PQserverVersion */
    bool owner;
    struct cat_schema **schemas;
    size_t nschemas;
    struct cat_extension **extensions;
    size_t nextensions;
    struct cat_type **types;
    size_t ntypes;
    struct cat_sequence **sequences;
    size_t nsequences;
    struct cat_relation **relations; /* tables, views and materialized views */
    size_t nrelations;
    struct cat_function **functions;
    size_t nfunctions;
    struct cat_index **indexes;
    size_t nindexes;
    struct cat_trigger **triggers;
    size_t ntriggers;
    struct cat_policy **policies;
    size_t npolicies;
    struct cat_event_trigger **event_triggers;
    size_t nevent_triggers;
    struct cat_defacl **defacls;
    size_t ndefacls;
    /* every object above (and every constraint), sorted by kind then ident */
    struct cat_object **all;
    size_t nall;
    /*
     * The privileges a new object of each kind gets before any default
     * privileges apply (acldefault with the owner as OWNER), indexed by
     * catalog_acl_kind().
     */
    struct cat_acl acldefault[5];
    struct cat_mem *mem; /* private: arena and kept query results */
};

/*
 * Read the schema of the database CONN is connected to into *OUT (free with
 * catalog_free). Runs its own read-only REPEATABLE READ transaction, so CONN
 * must not be inside one. 0, or -1 after printing the error.
 */
int catalog_read(PGconn *conn, const struct catalog_options *opts, struct catalog **out);

/* Connect to URL, read, disconnect. 0 or -1 (error printed). */
int catalog_read_url(const char *url, const struct catalog_options *opts, struct catalog **out);

void catalog_free(struct catalog *cat);

/* Append the canonical text form of CAT to SB. */
void catalog_dump(const struct catalog *cat, struct strbuf *sb);

/* Lower-case hex SHA-256 of the canonical dump. */
void catalog_hash(const struct catalog *cat, char hex[SHA256_HEX_LEN]);

/* The object of KIND with IDENT, or NULL. */
const struct cat_object *catalog_find(const struct catalog *cat, enum cat_kind kind,
                                      const char *ident);

/* A relation's column by (quoted) name, or NULL. */
const struct cat_column *catalog_column(const struct cat_relation *rel, const char *name);

/* Whether two ACLs (sorted, as the model keeps them) hold the same items. */
bool catalog_acl_equal(const struct cat_acl *x, const struct cat_acl *y);

/* "table", "view", "function", ... (the word the dump uses for KIND). */
const char *catalog_kind_name(enum cat_kind kind);

/*
 * The index into catalog.acldefault of the privileges an object of KIND
 * starts with (relations, sequences, functions, types, schemas), or -1 for
 * kinds without privileges. SEQUENCE counts as its own kind.
 */
int catalog_acl_kind(enum cat_kind kind);

/* The object as its kind-specific struct (the caller checked the kind). */
#define CAT_AS(type, objp) ((const struct type *)(const void *)(objp))

/*
 * Building a model (catalog_read.c; unit tests build small ones by hand).
 * Memory handed out here lives until catalog_free.
 */
struct catalog *catalog_new(void);
/* Zeroed memory owned by the model. */
void *catalog_alloc(struct catalog *cat, size_t size);
char *catalog_strdup(struct catalog *cat, const char *s);
char *catalog_printf(struct catalog *cat, const char *fmt, ...) PRINTF(2, 3);
/* Free the malloc'd block P with the model. */
void catalog_track(struct catalog *cat, void *p);
/* PQclear RES with the model (its values are pointed into). */
void catalog_keep_result(struct catalog *cat, PGresult *res);
/* Sort every list by ident and build catalog.all; call once the objects are in. */
void catalog_finish(struct catalog *cat);

#endif
