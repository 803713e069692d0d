/*
 * sqldiff.h — the DDL that turns one schema (model A, "current") into
 * another (model B, "wanted"), both read by lib/catalog.h.
 *
 * Statements come in three runs: drops (dependents first, by A's
 * dependencies), then creates and alterations (dependencies first, by B's),
 * then the clean-up (old copies of re-created types, default privileges).
 * ALTER is used wherever PostgreSQL allows it (columns, defaults, NOT NULL,
 * constraints, enum values added, CREATE OR REPLACE for functions whose
 * signature and result hold and for views whose columns are only appended,
 * sequences, comments, privileges, RLS, policies); anything else is dropped
 * and created again, and so is whatever depends on it (views, functions,
 * triggers, policies over a column whose type changes, a view re-created,
 * a function whose signature changes). A type that must be re-created (an
 * enum value removed, a domain's base type changed) is renamed aside, its
 * columns converted through text, the old one dropped at the end. Renames
 * are not guessed: they are a drop and a create, with the drop's hazard.
 *
 * Safe by default: foreign keys and CHECKs added to existing tables are
 * ADD ... NOT VALID then VALIDATE, SET NOT NULL goes through a validated
 * CHECK (IS NOT NULL), new indexes (and new UNIQUE/PRIMARY KEY) on existing
 * tables are built CONCURRENTLY (outside a transaction); validations and
 * concurrent builds run on their own, outside the transaction that took the
 * lock. The options turn that off.
 */
#ifndef DBTOOL_SQLDIFF_H
#define DBTOOL_SQLDIFF_H

#include "lib/catalog.h"

/*
 * Hazard classes. Every generated statement is classified by the differ
 * (which knows whether a table existed before, what a drop takes with it),
 * and then named with the lint rules of lib/parse.h that `migrator lint`
 * reports for the same statement. One table (sqldiff.c, rule_classes) maps
 * each lint rule to its class:
 *
 *   lint rule                          hazard class
 *   drop-table                         data-loss
 *   drop-column                        data-loss
 *   drop-type                          data-loss
 *   alter-column-type                  table-rewrite
 *   add-column-volatile-default        table-rewrite
 *   add-fk-without-not-valid           full-scan-under-lock
 *   add-check-without-not-valid        full-scan-under-lock
 *   set-not-null                       full-scan-under-lock
 *   create-index-without-concurrently  blocking-index-build
 *   rename                             (none: the differ never renames an object away;
 *                                       a type set aside keeps its data)
 *   lock-timeout-set                   (none: a good sign)
 *
 * mass-drop has no lint rule (it is a property of the whole diff), and
 * some hazards have none either (DROP SEQUENCE, an enum value removed, a
 * partition attached): those are named by their class alone. A lint
 * finding whose class the differ did not give the statement is not a
 * hazard there (a foreign key or an index on a table created in the same
 * migration scans nothing).
 */
enum sqldiff_hazard {
    SQLDIFF_DATA_LOSS = 1 << 0,      /* "data-loss": drops a table, column, type, sequence or enum value */
    SQLDIFF_TABLE_REWRITE = 1 << 1,  /* "table-rewrite": column type change, volatile default, ... */
    SQLDIFF_FULL_SCAN = 1 << 2,      /* "full-scan-under-lock": FK/CHECK/NOT NULL checked under lock */
    SQLDIFF_BLOCKING_INDEX = 1 << 3, /* "blocking-index-build": index built without CONCURRENTLY */
    SQLDIFF_MASS_DROP = 1 << 4,      /* "mass-drop": more than 25 % of the objects dropped */
};
#define SQLDIFF_NHAZARDS 5

struct sqldiff_stmt {
    char *sql;           /* one statement, no trailing semicolon */
    /*
     * Runs outside the migration's transaction, after what precedes it is
     * committed: it cannot run in a transaction block (CREATE INDEX
     * CONCURRENTLY), its effect must be committed first (a new enum value
     * used later), or it must not hold the locks taken before it (VALIDATE
     * CONSTRAINT after ADD ... NOT VALID).
     */
    bool no_transaction;
    unsigned hazards;    /* enum sqldiff_hazard bits */
    char *reason;        /* what the hazard is about ("drops column public.t.c"); NULL without hazard */
    char *rules;         /* the lint rules naming the hazards ("drop-column"), comma-separated; NULL: none */
};

struct sqldiff {
    struct sqldiff_stmt *v;
    size_t nr, alloc;
    unsigned hazards;    /* union of the statements' hazards */
    size_t objects;      /* objects in A (mass-drop base) */
    size_t dropped;      /* of which dropped for good (not re-created) */
    struct strvec notes; /* differences the DDL cannot express (e.g. column order) */
};

struct sqldiff_options {
    bool plain_constraints;  /* FK/CHECK added in one statement; SET NOT NULL directly */
    bool blocking_indexes;   /* CREATE INDEX / ADD UNIQUE without CONCURRENTLY on existing tables */
    int mass_drop_percent;   /* 0 means 25 */
};

/*
 * Compute the statements that turn FROM into TO into *OUT (initialised
 * here; release with sqldiff_release). OPTS may be NULL (the safe defaults).
 * Returns the number of statements (0: same schema).
 */
size_t sqldiff_compute(const struct catalog *from, const struct catalog *to,
                       const struct sqldiff_options *opts, struct sqldiff *out);
void sqldiff_release(struct sqldiff *d);

/* "data-loss" ... for one hazard bit; NULL for anything else. */
const char *sqldiff_hazard_name(unsigned hazard);
/* The bit of a hazard name, or 0 when unknown. */
unsigned sqldiff_hazard_parse(const char *name);
/* Append the names of the bits in HAZARDS, comma-separated. */
void sqldiff_hazard_names(unsigned hazards, struct strbuf *sb);
/* The hazard class of a lint rule of lib/parse.h (table above); 0 for none or unknown. */
unsigned sqldiff_rule_hazard(const char *rule);
/* Whether NAME is a lint rule of the table above. */
bool sqldiff_rule_known(const char *name);

/*
 * What `generate --allow-hazards=LIST` accepts: hazard classes, lint rules,
 * or "all". A statement's hazard is allowed when its class is listed, or
 * when the statement has lint rules of that class and every one is listed.
 */
struct sqldiff_allow {
    unsigned classes;
    struct strvec rules;
    bool all;
};
/* Parse the comma-separated LIST into OUT (initialised here). -1 with *BAD the unknown name. */
int sqldiff_allow_parse(const char *list, struct sqldiff_allow *out, char **bad);
void sqldiff_allow_release(struct sqldiff_allow *a);
/* The hazard bits of S that ALLOW (may be NULL: nothing allowed) does not allow. */
unsigned sqldiff_stmt_refused(const struct sqldiff_stmt *s, const struct sqldiff_allow *allow);

/*
 * The statements as a script psql (or `dbtool sql`) can run as is:
 * transactional statements grouped in BEGIN/COMMIT blocks, the others
 * between them, each hazard as a comment above its statement.
 */
void sqldiff_format_sql(const struct sqldiff *d, struct strbuf *sb);
/*
 * {"statements":[{"sql":..., "transaction":bool, "hazards":[...], "rules":[...], "reason":...}],
 *  "hazards":[...], "objects":n, "dropped":n, "notes":[...]}
 */
void sqldiff_format_json(const struct sqldiff *d, struct strbuf *sb);
/*
 * The hazard report: one "-- hazard CLASS (rules): reason" line per
 * hazardous statement ("(rules)" only when lint rules name it), and the notes.
 */
void sqldiff_format_hazards(const struct sqldiff *d, struct strbuf *sb);

/*
 * Pure helpers, exposed for the unit tests.
 * Whether a default expression is volatile enough to rewrite the table when
 * a column is added with it (nextval, random, clock_timestamp, uuid
 * generators, and the functions of the model marked volatile).
 */
bool sqldiff_default_is_volatile(const struct catalog *cat, const char *expr);
/* CREATE [UNIQUE] INDEX name ON [ONLY] ... made concurrent and/or without ONLY (malloc'd). */
char *sqldiff_index_sql(const char *indexdef, bool concurrently);

#endif
