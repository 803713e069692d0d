/*
 * codeobj.h — the code directory as a model: its .sql files, the objects
 * they define (views, materialized views, functions, procedures,
 * aggregates, types, domains, triggers, policies, indexes on materialized
 * views), what each object needs before it, and an order to create them in.
 * Pure code over lib/parse: no server, never exits (OOM aside). What the
 * database says (state, pg_depend) is ops/code.c's business.
 *
 *     struct code_set cs;
 *     code_set_init(&cs, dir, "public");
 *     code_scan(&cs);                       every .sql file, hashed, not parsed
 *     code_parse_file(&cs, i);              the files whose hash is not known
 *     ... units of the other files come from the state (code_unit_new) ...
 *     code_resolve(&cs);                    refs -> depends / body_depends / external
 *     code_order(&cs, include, NULL, 0, &order);
 *     code_set_release(&cs);
 *
 * A file holds statements; each statement that creates a code object starts
 * a unit (one object); COMMENT ON that object, GRANT and ALTER ... OWNER TO
 * / SET ... that follow it in the same file belong to it and run with it.
 * Anything else (CREATE TABLE, DROP, SET, SELECT ...) is an error naming
 * file:line: tables, schemas, extensions and data belong in migrations.
 *
 * A statement the PostgreSQL 15 grammar cannot parse (syntax of a newer
 * server, or a typo: the parser cannot tell) is a unit of kind
 * CODE_STATEMENT named "statement " plus the first 16 hex digits of its
 * hash: it runs as written, and what it creates and needs is learnt from the
 * server (pg_depend) after it ran.
 *
 * Identities are dbtool's names for objects and the keys of the state table:
 * "view public.v", "materialized view s.mv", "function public.f(integer, text[])"
 * (argument types as the parser spells them: built-ins as format_type does,
 * user types as written), "procedure ...", "aggregate public.a(*)",
 * "type public.mood" (enum, composite, range and base types), "domain ...",
 * "trigger trg on public.t", "policy p on public.t", "index public.i".
 * Identifiers are quoted as quote_ident() would; unqualified names get the
 * set's default schema.
 */
#ifndef DBTOOL_CODEOBJ_H
#define DBTOOL_CODEOBJ_H

#include "lib/common.h"
#include "lib/parse.h"
#include "lib/sha256.h"

enum code_kind {
    CODE_VIEW,
    CODE_MATVIEW,
    CODE_FUNCTION,
    CODE_PROCEDURE,
    CODE_AGGREGATE,
    CODE_TYPE, /* enum, composite, range or base type */
    CODE_DOMAIN,
    CODE_TRIGGER,
    CODE_POLICY,
    CODE_INDEX, /* on a materialized view of the code directory */
    CODE_STATEMENT, /* not analysed: the grammar rejected it */
    CODE__N
};

/* "view", "materialized view", ... "statement" (static): hectic.code_object.kind. */
const char *code_kind_name(enum code_kind k);
/* The kind named NAME, or -1. */
int code_kind_lookup(const char *name);

/* One statement of a unit, as written in its file. */
struct code_stmt {
    char *sql;     /* the text, without the ';' */
    unsigned line; /* where it starts in the file (1-based) */
    size_t offset; /* byte offset of its start in the file */
};

/* Something a unit names that is not itself. */
struct code_ref {
    enum parse_ref_kind kind;
    char *schema; /* NULL when not written */
    char *name;
    int nargs;    /* functions: arguments in the call, else -1 */
    bool in_body; /* inside a function body string (SQL or plpgsql) */
    unsigned line;
};

/* Where a unit stands against the database; ops/code.c sets it. */
enum code_status {
    CODE_UNCHANGED, /* the database has it as written */
    CODE_NEW,       /* not in the state: created */
    CODE_CHANGED,   /* its text changed: dropped and created again */
    CODE_MOVED,     /* same text, another file: only the state is updated */
    CODE_REMOVED,   /* in the state, no longer in any file: dropped */
};

struct code_unit {
    char *identity;
    enum code_kind kind;
    /* From the parse (NULL for units known from the state only, and for
     * statements): the object's schema (resolved), name, identity arguments,
     * and the relation of a trigger, policy or index. */
    char *schema, *name, *args, *table_schema, *table;
    char *file;    /* relative to the code directory */
    unsigned line; /* of the creating statement */
    char sha256[SHA256_HEX_LEN];      /* of the statements (see code_unit_hash) */
    char file_sha256[SHA256_HEX_LEN]; /* of the whole file */
    bool loaded;                      /* STMTS holds the text (its file was parsed) */
    struct code_stmt *stmts;
    size_t stmts_nr, stmts_alloc;
    char *drop_sql; /* DROP ... of the object (without ';'); NULL for a statement not yet run */
    /* pg_get_object_address() arguments: type, object names, object args */
    char *addr_type;
    struct strvec addr_names, addr_args;
    struct strvec depends;      /* identities of units it needs first (pg_depend-visible) */
    struct strvec body_depends; /* ... named only inside a function body string */
    struct code_ref *refs;      /* from the parse (loaded units), self references left out */
    size_t refs_nr, refs_alloc;
    struct code_ref *external;  /* refs code_resolve() found no unit for */
    size_t external_nr, external_alloc;
    char *note;                 /* not (fully) analysed: why, with file:line */
    bool or_replace;            /* CREATE OR REPLACE: a changed object may be replaced in place */
    /* for ops/code.c */
    enum code_status status;
    void *priv;
};

/* One .sql file of the code directory. */
struct code_file {
    char *path; /* relative to the directory, '/'-separated */
    char sha256[SHA256_HEX_LEN];
    bool parsed;
};

/*
 * File hashes known by their stat data (device, inode, size, mtime): a
 * long-running caller (watch) keeps one across scans so that only the
 * files that changed are read again.
 */
struct code_hash_cache {
    struct code_hash_entry *v;
    size_t nr, alloc;
};
void code_hash_cache_release(struct code_hash_cache *hc);

struct code_set {
    struct code_hash_cache *hash_cache; /* NULL, or used and updated by code_scan() */
    char *dir;    /* the code directory (NULL: none) */
    char *schema; /* default schema for unqualified names */
    struct code_file *files;
    size_t files_nr, files_alloc;
    struct code_unit *units;
    size_t units_nr, units_alloc;
    void *index; /* private: identity and name lookups */
};

void code_set_init(struct code_set *cs, const char *dir, const char *schema);
void code_set_release(struct code_set *cs);

/*
 * List every regular *.sql file under cs->dir (recursively; names starting
 * with '.' are skipped; symlinks followed), sorted by path, each hashed.
 * A missing directory is no error (no files). 0, or -1 with a message.
 */
int code_scan(struct code_set *cs);

/*
 * Parse the file FILE_IDX and append its units (status CODE_NEW, loaded).
 * Errors (a statement that does not belong in the code directory, an
 * object defined twice) are printed as "FILE:LINE: ..." and counted; the
 * units of the file's good statements are kept. Returns the number of
 * errors, or -1 when the file cannot be read.
 */
int code_parse_file(struct code_set *cs, size_t file_idx);

/*
 * code_parse_file() for TEXT (LEN bytes, NUL-terminated) as a file PATH of
 * the set (tests, fuzzing): the file is added, hashed and parsed. The same
 * return values.
 */
int code_add_text(struct code_set *cs, const char *path, const char *text, size_t len);

/* The file at PATH (relative), or NULL. */
struct code_file *code_file_find(const struct code_set *cs, const char *path);

/*
 * Append a unit described by IDENTITY and KIND (from the state; the caller
 * fills the rest) and return it. The pointer is valid until the next unit
 * is added.
 */
struct code_unit *code_unit_new(struct code_set *cs, const char *identity, enum code_kind kind);
/* The unit named IDENTITY, or NULL. Later units of the same identity shadow earlier ones. */
struct code_unit *code_unit_find(const struct code_set *cs, const char *identity);
/* Its index in cs->units. */
size_t code_unit_idx(const struct code_set *cs, const struct code_unit *u);

/*
 * Resolve the refs of the loaded units against the set's units whose
 * status is not CODE_REMOVED: depends (outside function bodies, or in
 * BEGIN ATOMIC bodies: edges pg_depend records too) and body_depends
 * (inside body strings: no pg_depend edge; used for order, never to
 * re-create) get the identities found; refs to nothing in the set go to
 * external. Built-ins (pg_catalog, information_schema) are skipped. An
 * index or trigger on a materialized view of the set depends on it.
 * Also checks that no identity is defined twice and that indexes are on
 * materialized views of the set. Returns the number of errors (printed
 * as FILE:LINE: ...).
 */
int code_resolve(struct code_set *cs);
/* The CODE_REMOVED unit an external ref R names, or NULL. */
const struct code_unit *code_ref_removed(const struct code_set *cs, const struct code_ref *r);

/*
 * A creation order of the units with INCLUDE[i] set (NULL: all): each after
 * the units it depends on (depends and body_depends, plus EXTRA edges:
 * pairs {before, after} of unit indices), ties broken by file and line.
 * body_depends (and EXTRA) edges that close a cycle are ignored; a cycle of
 * depends edges is an error naming each object and its file:line. ORDER
 * gets malloc'd unit indices, *N their number. 0 or -1.
 */
int code_order(const struct code_set *cs, const bool *include, const size_t (*extra)[2],
               size_t n_extra, size_t **order, size_t *n);

/* Append IDENT quoted as quote_ident() does (only when needed). */
void code_quote_ident(struct strbuf *sb, const char *ident);
/* "schema.name" with each part quoted when needed (schema NULL: just the name). */
void code_qualified(struct strbuf *sb, const char *schema, const char *name);
/* "file:line" of U (static buffer, overwritten by the next call). */
const char *code_unit_where(const struct code_unit *u);
/* The statements of U joined as they run: each followed by ";\n". */
void code_unit_sql(const struct code_unit *u, struct strbuf *sb);
/* What a unit's sha256 is: the sha256 of code_unit_sql(). */
void code_unit_hash(struct code_unit *u);
/* Free one unit's members. */
void code_unit_release(struct code_unit *u);

/* ---- what a migration does to code objects ---- */

/* Something a migration statement alters in a way its dependents must be re-created for. */
struct code_target {
    char kind;      /* 'r' a relation, 't' a type, 'f' a routine */
    char *schema;   /* NULL when not written */
    char *name;
    char *args;     /* 'f': identity arguments when written, else NULL (every overload) */
    char *column;   /* 'r'/'t': the column or attribute concerned, NULL: the whole object */
    char *what;     /* "ALTER COLUMN amount TYPE", "DROP TABLE", "RENAME COLUMN a", ... */
    char *file;     /* where: the script (or the file it includes) */
    unsigned line;
};

struct code_mig {
    struct code_target *targets;
    size_t targets_nr, targets_alloc;
    struct code_ref *creates; /* relations, types and routines it creates */
    size_t creates_nr, creates_alloc;
    char *tx_control; /* "FILE:LINE: COMMIT" when it controls transactions itself, else NULL */
    struct strvec notes; /* "FILE:LINE: not analysed (...)" */
};

/*
 * Read the migration script PATH as the script runner would split it
 * (psql's lexer; \i, \ir, \include, \include_relative followed, every
 * \if branch read, no variables) and parse each statement: M gets the
 * objects it breaks (DROP, RENAME, SET SCHEMA, ALTER COLUMN ... TYPE, DROP
 * COLUMN of relations, types and routines), what it creates, and whether it
 * uses BEGIN/COMMIT/ROLLBACK itself. 0, or -1 with a message (unreadable).
 */
int code_mig_analyse(const char *path, struct code_mig *m);
void code_mig_release(struct code_mig *m);

#endif
