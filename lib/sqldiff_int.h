/*
 * sqldiff_int.h — what the differ's engine (sqldiff.c: pairing,
 * propagation, ordering, output) and its DDL (sqldiff_ddl.c and, by noun,
 * sqldiff_table.c, sqldiff_type.c, sqldiff_acl.c: what changed in each kind
 * of object and the statements for it) share. Not an API.
 */
#ifndef DBTOOL_SQLDIFF_INT_H
#define DBTOOL_SQLDIFF_INT_H

#include "lib/sqldiff.h"

/* The runs statements are ordered in. */
enum phase {
    PH_DROP,   /* by A's dependencies, dependents first */
    PH_CREATE, /* by B's dependencies, dependencies first */
    PH_FINAL,  /* old copies of swapped types (A's order), default privileges */
    PH_N
};

/* What happens to an object. */
enum state {
    ST_SAME,
    ST_CREATE,   /* only in B */
    ST_DROP,     /* only in A */
    ST_ALTER,    /* in both; changed in place */
    ST_RECREATE, /* in both; dropped and created again */
};

/* A table column in A and/or B. */
struct colpair {
    const struct cat_column *a, *b;
    bool changed;       /* its type changes or it goes: what depends on it must go first */
    bool recreate;      /* dropped and added again (generation expression changes) */
    bool convert;       /* its type is re-created (swapped): converted through text */
    bool reset_default; /* its default uses an object that goes: dropped first, set after */
};

struct pair {
    const struct cat_object *a, *b;
    enum state state;
    bool swap;              /* types: re-created by renaming the old one aside */
    bool implicit_drop;     /* goes with its table, schema or owning column: no DROP of its own */
    const struct cat_object *holder; /* what it goes with (the drop that really drops it) */
    const char *holder_column;
    struct colpair *cols;   /* tables: A's columns (A order), then B's new ones */
    size_t ncols;
};

/* Where an action's dependencies come from: an object's deps, all or by column. */
enum src_mode { SRC_ALL, SRC_OBJECT, SRC_COLUMN };
struct source {
    const struct cat_object *obj;
    enum src_mode mode;
    const char *column;
};

/* An explicit ordering edge: wait for the actions on (KIND, IDENT[, COLUMN]). */
struct wait {
    enum cat_kind kind;
    const char *ident, *column;
};

/*
 * One unit of ordering: statements about one object (or one of its
 * columns) in one phase. In PH_CREATE an action runs after the actions of
 * what its sources depend on; in PH_DROP and PH_FINAL before them.
 */
struct action {
    enum phase phase;
    int rank;             /* tie-break between ready actions: kind order */
    enum cat_kind kind;
    const char *ident;
    const char *column;   /* NULL: the whole object */
    bool provides;        /* others may wait for it */
    struct source *src;
    size_t nsrc;
    struct wait *waits;
    size_t nwaits;
    struct sqldiff_stmt *stmts;
    size_t nstmts, astmts;
    /* ordering */
    size_t *succ;
    size_t nsucc, asucc;
    size_t indeg, seq;
    bool done;
};

struct differ {
    const struct catalog *a, *b;
    struct sqldiff_options opts;
    struct sqldiff *out;
    struct pair *pairs;
    size_t npairs;
    struct action **acts;
    size_t nacts, aacts;
    bool sql_functions; /* a LANGUAGE sql function is created: SET check_function_bodies first */
};

/* ---- sqldiff.c ---- */
struct pair *sqld_pair(struct differ *d, enum cat_kind kind, const char *ident);
struct colpair *sqld_colpair(struct pair *p, const char *a_name);
bool sqld_gone(const struct pair *p);
struct action *sqld_action(struct differ *d, enum phase ph, const struct cat_object *obj,
                           const char *column, bool provides);
void sqld_source(struct action *a, const struct cat_object *obj, enum src_mode mode,
                 const char *column);
void sqld_wait(struct action *a, enum cat_kind kind, const char *ident, const char *column);
/* Add a statement (printf-style); HAZARDS with REASON (may be NULL). */
void sqld_stmt(struct action *a, unsigned hazards, const char *reason, const char *fmt, ...)
    PRINTF(4, 5);
/* The same, for a statement that cannot run in a transaction block. */
void sqld_stmt_notx(struct action *a, unsigned hazards, const char *reason, const char *fmt, ...)
    PRINTF(4, 5);
void sqld_note(struct differ *d, const char *fmt, ...) PRINTF(2, 3);

/* ---- sqldiff_ddl.c ---- */
/* Decide P's state (and its columns') from P->a and P->b alone. */
void sqld_classify(struct differ *d, struct pair *p);
/* Emit the actions for P once every state is final. */
void sqld_emit(struct differ *d, struct pair *p);
/* Whether two nullable strings are equal. */
bool sqld_streq0(const char *a, const char *b);
/* Append S as a string literal (E'' when it holds a backslash). */
void sqld_add_lit(struct strbuf *sb, const char *s);
bool sqld_strlists_equal(const char **a, size_t na, const char **b, size_t nb);
const struct cat_column *sqld_find_column(const struct cat_column *cols, size_t n,
                                          const char *name);
/* CREATE/DROP/COMMENT word of an object's kind: TABLE, DOMAIN, PROCEDURE, ... */
const char *sqld_obj_word(const struct cat_object *o);
/* START WITH ... [NO] CYCLE (AS type first when WITH_TYPE). */
void sqld_seqopts_sql(struct strbuf *sb, const struct cat_seqopts *o, bool with_type);
/* The options that differ, each as " SET X v" (SET "SET ") or " X v"; whether any. */
bool sqld_seqopts_changes(struct strbuf *sb, const struct cat_seqopts *a,
                          const struct cat_seqopts *b, const char *set);
/* ALTER WHAT RESET (...) / SET (...) from reloptions A to B. */
void sqld_options_diff(struct action *act, const char *what, const char *a, const char *b);

/* ---- sqldiff_acl.c ---- */
/* Whether owner, privileges or comment differ. */
bool sqld_attrs_differ(const struct cat_object *a, const struct cat_object *b);
/* Owner, privileges and comment from A's (NULL: a new object's) to B's. */
void sqld_attrs(struct differ *d, struct action *act, const struct cat_object *a,
                const struct cat_object *b);
/* Comment and privileges of a column (A NULL: a new column). */
void sqld_column_attrs(struct differ *d, struct action *act, const char *table,
                       const struct cat_column *a, const struct cat_column *b,
                       const struct cat_object *owner_obj);
/* Default privileges: from A's entry (or the built-in default) to B's, at the end. */
void sqld_emit_defacl(struct differ *d, struct pair *p);

/* ---- sqldiff_type.c ---- */
enum state sqld_classify_type(struct differ *d, struct pair *p);
void sqld_create_type(struct differ *d, struct action *act, const struct cat_type *t);
void sqld_alter_type(struct differ *d, struct action *act, const struct cat_type *a,
                     const struct cat_type *b);
/* A re-created type: renamed aside and created (create phase), the old one dropped (final). */
void sqld_emit_swap(struct differ *d, struct pair *p);

/* ---- sqldiff_table.c ---- */
enum state sqld_classify_table(struct differ *d, struct pair *p);
void sqld_create_table(struct differ *d, struct action *act, const struct cat_relation *r);
void sqld_create_constraint(struct differ *d, struct action *act, const struct cat_constraint *k);
void sqld_create_index(struct differ *d, struct action *act, const struct cat_index *x);
/* Everything of a table in both schemas: drop-phase and create-phase actions. */
void sqld_alter_table(struct differ *d, struct pair *p);

#endif
