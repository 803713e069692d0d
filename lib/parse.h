/*
 * parse.h — what a SQL statement does, read from PostgreSQL's own parse tree
 * (libpg_query, the PostgreSQL 15 grammar). Pure code: no server, no I/O,
 * never exits. Nothing here guesses from keywords: every fact comes from the
 * tree, and a text the parser does not accept is reported as such.
 *
 * Usage: the script runner (lib/sqlsplit) hands over one statement at a time,
 * already split and interpolated, with the place it starts in its file:
 *
 *     struct parse_list pl = PARSE_LIST_INIT;
 *     parse_sql(&pl, query, line, col);
 *     for (size_t i = 0; i < pl.nr; i++) {
 *         const struct parse_stmt *st = &pl.v[i];
 *         if (st->status == PARSE_UNKNOWN) { note st->error at st->error_pos; run it anyway }
 *         else if (st->no_transaction) { run it outside BEGIN/COMMIT }
 *         ... st->findings, st->creates, st->refs, st->changes ...
 *     }
 *     parse_list_release(&pl);
 *
 * A plain .sql file without psql meta-commands can be read whole with
 * parse_script(). Positions are byte offsets into the text given plus a
 * 1-based line and column (columns count characters, UTF-8) in the caller's
 * file: the LINE and COL given say where the text's first byte is.
 *
 * What is covered, and what is not:
 *
 * no_transaction — every PostgreSQL 15 statement that calls
 *   PreventInTransactionBlock() and can be told from the statement alone:
 *   CREATE INDEX CONCURRENTLY; DROP INDEX CONCURRENTLY; REINDEX ... CONCURRENTLY
 *   (either spelling); REINDEX SCHEMA / SYSTEM / DATABASE; VACUUM (also VACUUM
 *   ANALYZE; ANALYZE alone is fine); CLUSTER without a table; CREATE DATABASE;
 *   DROP DATABASE; ALTER DATABASE ... SET TABLESPACE; CREATE TABLESPACE; DROP
 *   TABLESPACE; ALTER SYSTEM; CREATE SUBSCRIPTION unless create_slot = false
 *   or connect = false; DROP SUBSCRIPTION (assumed to have a slot: whether it
 *   has one is in the catalog, not the text); ALTER SUBSCRIPTION ... REFRESH
 *   PUBLICATION; ALTER SUBSCRIPTION ... SET/ADD/DROP PUBLICATION unless
 *   refresh = false; ALTER TABLE ... DETACH PARTITION ... CONCURRENTLY;
 *   DISCARD ALL; COMMIT PREPARED; ROLLBACK PREPARED.
 *   Not decidable from the text (the server decides at run time): CLUSTER and
 *   REINDEX TABLE/INDEX on a partitioned table, DROP SUBSCRIPTION of one whose
 *   slot is NONE, functions such as pg_create_logical_replication_slot() that
 *   refuse a transaction that has written. ALTER TYPE ... ADD VALUE runs in a
 *   transaction since PostgreSQL 12 (the new value is usable after COMMIT).
 *
 * findings (lint) — rules by name, each positive only on the tree shape named:
 *   drop-table                   DROP TABLE
 *   drop-column                  ALTER TABLE ... DROP COLUMN
 *   alter-column-type            ALTER TABLE ... ALTER COLUMN ... TYPE (may rewrite the table)
 *   add-column-volatile-default  ALTER TABLE ... ADD COLUMN whose DEFAULT calls a known
 *                                volatile function (random, random_normal, gen_random_uuid,
 *                                uuid_generate_v1/v1mc/v4, uuidv4, uuidv7, gen_random_bytes,
 *                                clock_timestamp, timeofday, nextval; by name, any schema), a
 *                                serial type, an identity column or a STORED generated column
 *                                (all rewrite the table). now() and constants are fine (PG 11+);
 *                                a user-defined function in a default is not flagged.
 *   add-fk-without-not-valid     ALTER TABLE ... ADD [CONSTRAINT] FOREIGN KEY without NOT VALID
 *   add-check-without-not-valid  ALTER TABLE ... ADD CHECK / ALTER DOMAIN ... ADD CHECK without NOT
 * VALID create-index-without-concurrently  CREATE INDEX without CONCURRENTLY (the finding names the
 *                                table: the caller knows whether the table existed before)
 *   set-not-null                 ALTER TABLE ... ALTER COLUMN ... SET NOT NULL (full scan)
 *   rename                       ALTER TABLE/VIEW/MATERIALIZED VIEW/FOREIGN TABLE ... RENAME
 *                                [COLUMN] (old code breaks)
 *   drop-type                    DROP TYPE, DROP DOMAIN
 *   lock-timeout-set             SET [LOCAL|SESSION] lock_timeout = ..., or
 *                                set_config('lock_timeout', ...) (a good sign, not a problem)
 *
 * creates — objects a statement creates: table, foreign table, view, materialized
 *   view, sequence, index, schema (and the objects of CREATE SCHEMA ... CREATE ...),
 *   extension, function, procedure, aggregate (with identity arguments), base
 *   type, enum, composite, domain and range type, trigger and policy (with their
 *   table), event trigger, and comments on any of those (or on a column).
 *
 * refs — what a statement names, found by one generic walk over the whole
 *   tree: relations (RangeVar; the literal of nextval('s')/currval/setval and
 *   of 'name'::regclass), functions called (FuncCall, trigger and event
 *   trigger functions, CREATE AGGREGATE/TYPE/RANGE support functions) with
 *   their argument count, types (TypeName: column definitions, casts,
 *   signatures; %TYPE names its relation instead). The names a statement
 *   creates, DROP and COMMENT targets, and WITH-query names are left out.
 *   Also walked: BEGIN ATOMIC bodies (in the tree), LANGUAGE sql function
 *   bodies (the string is parsed), and plpgsql bodies of CREATE FUNCTION/
 *   PROCEDURE and DO (libpg_query's plpgsql compiler: every SQL query and
 *   expression in it, and declared variable types). Not seen: SQL built at run
 *   time (EXECUTE format(...)), bodies in other languages, function bodies
 *   nested in a body, and whole plpgsql bodies the compiler rejects without a
 *   catalog (a field of a %ROWTYPE variable assigned to, a syntax error): those
 *   set body_error, as does a SQL body the grammar rejects. Callers needing
 *   certainty read pg_depend after creation.
 *
 * changes — objects a statement alters, drops, renames or moves: ALTER
 *   TABLE/INDEX/VIEW/MATERIALIZED VIEW/SEQUENCE/FOREIGN TABLE/TYPE (with each
 *   subcommand), ALTER TYPE ... ADD/RENAME VALUE and SET (...), ALTER DOMAIN,
 *   ALTER SEQUENCE, ALTER FUNCTION/PROCEDURE/ROUTINE, DROP (one change per
 *   object), RENAME, SET SCHEMA.
 *
 * Names are as PostgreSQL normalises them (unquoted identifiers lower-cased by
 * the parser, quoted ones kept); schema is NULL when not written.
 */
#ifndef DBTOOL_PARSE_H
#define DBTOOL_PARSE_H

#include "lib/common.h"

enum parse_status {
    PARSE_OK,     /* parsed: the facts below are complete (within the gaps above) */
    PARSE_UNKNOWN /* the PostgreSQL 15 grammar rejects it (a syntax error, or syntax of
                     PostgreSQL 16+): error and error_pos say why and where; run it
                     as written and say once that FILE:LINE was not analysed */
};

/* A place in the caller's text. */
struct parse_pos {
    size_t offset; /* bytes from the start of the text given */
    unsigned line; /* 1-based, counting from the LINE given */
    unsigned col;  /* 1-based, in characters */
};

/* Transaction control, from TransactionStmt. */
enum parse_tx {
    PARSE_TX_NONE,              /* not a transaction control statement */
    PARSE_TX_BEGIN,             /* BEGIN, START TRANSACTION */
    PARSE_TX_COMMIT,            /* COMMIT, END (and AND CHAIN: see tx_chain) */
    PARSE_TX_ROLLBACK,          /* ROLLBACK, ABORT */
    PARSE_TX_SAVEPOINT,         /* SAVEPOINT name */
    PARSE_TX_RELEASE,           /* RELEASE [SAVEPOINT] name */
    PARSE_TX_ROLLBACK_TO,       /* ROLLBACK TO [SAVEPOINT] name */
    PARSE_TX_PREPARE,           /* PREPARE TRANSACTION 'gid' */
    PARSE_TX_COMMIT_PREPARED,   /* COMMIT PREPARED 'gid' */
    PARSE_TX_ROLLBACK_PREPARED, /* ROLLBACK PREPARED 'gid' */
};

/* Kinds of objects in creates, changes and comments. */
enum parse_obj_kind {
    PARSE_OBJ_OTHER, /* anything not listed: see kind_name in the record */
    PARSE_OBJ_TABLE,
    PARSE_OBJ_FOREIGN_TABLE,
    PARSE_OBJ_VIEW,
    PARSE_OBJ_MATVIEW,
    PARSE_OBJ_SEQUENCE,
    PARSE_OBJ_INDEX,
    PARSE_OBJ_COLUMN, /* name: the column; table, table_schema: its relation */
    PARSE_OBJ_SCHEMA,
    PARSE_OBJ_EXTENSION,
    PARSE_OBJ_FUNCTION,
    PARSE_OBJ_PROCEDURE,
    PARSE_OBJ_ROUTINE, /* ALTER/DROP/COMMENT ON ROUTINE: a function or a procedure */
    PARSE_OBJ_AGGREGATE,
    PARSE_OBJ_TYPE,      /* base or shell type; also DROP/ALTER TYPE of any type kind */
    PARSE_OBJ_ENUM,      /* CREATE TYPE ... AS ENUM */
    PARSE_OBJ_COMPOSITE, /* CREATE TYPE ... AS (...) */
    PARSE_OBJ_RANGE,     /* CREATE TYPE ... AS RANGE */
    PARSE_OBJ_DOMAIN,
    PARSE_OBJ_TRIGGER, /* name + table */
    PARSE_OBJ_EVENT_TRIGGER,
    PARSE_OBJ_POLICY,  /* name + table */
    PARSE_OBJ_COMMENT, /* COMMENT ON: `target` says on what */
};

/* "table", "materialized view", "enum type", ... (static). */
const char *parse_obj_kind_name(enum parse_obj_kind kind);
/* Whether KIND is one of the type kinds (type, enum, composite, range, domain). */
bool parse_obj_kind_is_type(enum parse_obj_kind kind);

/* One lint fact. */
struct parse_finding {
    const char *rule; /* "drop-table", ... (static; the list above) */
    char *message;    /* one line for a human, e.g. "DROP COLUMN b of public.t" */
    char *schema;     /* the table (or type) concerned; NULL schema when unqualified */
    char *name;
    struct parse_pos pos;
};

/* An object a statement creates (or comments on). */
struct parse_object {
    enum parse_obj_kind kind;
    enum parse_obj_kind target; /* COMMENT: the kind commented on */
    const char *kind_name;      /* readable kind (static); COMMENT: the target's, which may be
                                   PARSE_OBJ_OTHER: "collation", "role", ... */
    char *schema;               /* NULL when unqualified */
    char *name;                 /* NULL for an index left unnamed */
    /* Functions, procedures, aggregates: the identity argument types, comma
     * separated ("integer, text[]"; built-in aliases spelled as format_type
     * does, typmods dropped, OUT/TABLE parameters left out, "*" for agg(*));
     * "" for none. NULL for other kinds and for a COMMENT ON FUNCTION f
     * without a list. */
    char *args;
    char *table_schema, *table; /* trigger, policy, index, column: the relation */
    bool or_replace;            /* CREATE OR REPLACE */
    bool if_not_exists;
    struct parse_pos pos;
};

enum parse_ref_kind {
    PARSE_REF_RELATION, /* a table, view, sequence... named in the statement */
    PARSE_REF_FUNCTION, /* a function called */
    PARSE_REF_TYPE,     /* a type named */
};

/* Something a statement refers to. */
struct parse_ref {
    enum parse_ref_kind kind;
    char *schema; /* NULL when unqualified */
    char *name;
    int nargs;    /* FUNCTION: arguments in the call (agg(*) counts 0); otherwise -1 */
    bool in_body; /* found inside a function body (SQL string or plpgsql) */
    struct parse_pos pos;
};

enum parse_change_action {
    PARSE_ALTER,      /* ALTER ... (see cmds) */
    PARSE_DROP,       /* DROP ... (one change per object) */
    PARSE_RENAME,     /* ALTER ... RENAME [sub] TO newname */
    PARSE_SET_SCHEMA, /* ALTER ... SET SCHEMA newname */
};

/* One subcommand of an ALTER: the parse tree's name for it and its column, if any. */
struct parse_alter_cmd {
    const char *type; /* "AddColumn", "DropColumn", "AlterColumnType", "SetNotNull",
                         "AddConstraint", ... (AlterTableType without AT_; ALTER TYPE:
                         "AddValue", "RenameValue", "SetOptions"; ALTER DOMAIN: "SetDefault",
                         "DropNotNull", "SetNotNull", "AddConstraint", "DropConstraint",
                         "ValidateConstraint"; ALTER SEQUENCE/FUNCTION: "SetOptions") */
    char *name;       /* the column, constraint or enum value concerned, or NULL */
};

/* An object a statement alters, drops, renames or moves. */
struct parse_change {
    enum parse_change_action action;
    enum parse_obj_kind kind;
    const char *kind_name; /* readable kind, also for PARSE_OBJ_OTHER: "collation", ... (static) */
    char *schema;
    char *name;
    char *args;                 /* functions: as in parse_object (NULL when not given) */
    char *table_schema, *table; /* trigger, policy, column: the relation */
    char *subname;              /* RENAME of a column, constraint, attribute... : the old name */
    char *newname;              /* RENAME: new name; SET SCHEMA: the new schema */
    bool cascade, if_exists, concurrently;
    struct parse_alter_cmd *cmds;
    size_t cmds_nr, cmds_alloc;
    struct parse_pos pos;
};

/* One statement and everything known about it. */
struct parse_stmt {
    enum parse_status status;
    struct parse_pos pos; /* first token (leading blanks and comments skipped) */
    size_t len;           /* bytes from pos.offset to its end (without ';') */
    char *error;          /* PARSE_UNKNOWN: the parser's message */
    struct parse_pos error_pos;
    const char *node; /* the parse tree node, e.g. "IndexStmt" (static); NULL if UNKNOWN */

    enum parse_tx tx;
    bool tx_chain;                  /* COMMIT/ROLLBACK AND CHAIN */
    bool no_transaction;            /* cannot run inside a transaction block */
    const char *no_transaction_why; /* the server's name for it: "CREATE INDEX CONCURRENTLY" */

    struct parse_finding *findings;
    size_t findings_nr, findings_alloc;
    struct parse_object *creates;
    size_t creates_nr, creates_alloc;
    struct parse_ref *refs;
    size_t refs_nr, refs_alloc;
    struct parse_change *changes;
    size_t changes_nr, changes_alloc;

    char *body_error;                /* a function/DO body could not be analysed: why ... */
    struct parse_pos body_error_pos; /* ... and where */
};

struct parse_list {
    struct parse_stmt *v;
    size_t nr, alloc;
};
#define PARSE_LIST_INIT                                                                            \
    {                                                                                              \
        NULL, 0, 0                                                                                 \
    }

/*
 * Parse SQL (NUL-terminated; usually one statement as the runner splits them,
 * but any number) and append its statements to OUT. LINE and COL (1-based)
 * place SQL's first byte in the caller's file. When the grammar rejects the
 * text, one PARSE_UNKNOWN statement covering it all is appended. Empty text or
 * comments alone append nothing. Returns the number of statements appended.
 */
size_t parse_sql(struct parse_list *out, const char *sql, unsigned line, unsigned col);

/*
 * A whole plain .sql file (no psql meta-commands), NUL-terminated, line 1
 * column 1. Parsed whole when it can be; otherwise PostgreSQL's scanner
 * splits it (';' outside parentheses and BEGIN ATOMIC bodies, as psql does)
 * and each statement is parsed alone, so one statement the grammar rejects
 * does not hide the others. Text from an open quote or comment on is one
 * unknown statement. Returns the number of statements appended.
 */
size_t parse_script(struct parse_list *out, const char *sql);

/* Whether ST cannot run inside a transaction block; *WHY (when not NULL) names it. */
bool parse_stmt_no_transaction(const struct parse_stmt *st, const char **why);

/* The first finding of ST with RULE, or NULL. */
const struct parse_finding *parse_stmt_finding(const struct parse_stmt *st, const char *rule);

/*
 * PostgreSQL's fingerprint of SQL (constants and names of savepoints etc.
 * ignored: two texts that differ only in literals get the same one) as 16 hex
 * digits into BUF. -1 when the grammar rejects the text.
 */
int parse_fingerprint(const char *sql, char buf[17]);

void parse_stmt_release(struct parse_stmt *st);
void parse_list_release(struct parse_list *pl);

/*
 * Free libpg_query's per-thread memory (its top memory context). Optional:
 * for leak checkers at exit; parsing again afterwards works.
 */
void parse_cleanup(void);

#endif
