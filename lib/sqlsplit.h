/*
 * sqlsplit.h — psql's input lexer, as pure code: statement splitting,
 * meta-command argument parsing and :variable interpolation exactly as
 * psql (psqlscan.l / psqlscanslash.l, PostgreSQL 15-17) does them. No I/O,
 * no connection: lib/sqlscript.c drives it line by line; the unit tests
 * and the fuzzer drive it directly.
 *
 * Usage, like psql's MainLoop:
 *
 *     sql_lexer_init(&lx);
 *     for each input line (without its '\n'):
 *         if (query.len) strbuf_addch(&query, '\n');
 *         sql_lexer_feed(&lx, line, len);
 *         while ((r = sql_scan(&lx, &query, &vars)) != SQL_SCAN_EOL) {
 *             SQL_SCAN_SEMI: QUERY holds one statement (with its ';'):
 *                            run it, strbuf_reset(&query), sql_lexer_reset(&lx)
 *             SQL_SCAN_BACKSLASH: name = sql_scan_cmd(&lx); then
 *                            sql_scan_arg(&lx, ...) until NULL
 *         }
 *     at EOF a non-empty QUERY is a last statement without ';'.
 */
#ifndef DBTOOL_SQLSPLIT_H
#define DBTOOL_SQLSPLIT_H

#include "lib/common.h"

/* psql's variables (\set, -v): NAME -> VALUE, both NUL-terminated. */
struct sql_var {
    char *name, *value;
};
struct sql_vars {
    struct sql_var *v;
    size_t nr, alloc;
};
#define SQL_VARS_INIT {NULL, 0, 0}

/* psql's rule: a non-empty run of [A-Za-z0-9_] and bytes >= 0x80. */
bool sql_var_name_valid(const char *name);
/* Set NAME to VALUE (copied). -1 when NAME is not a valid variable name. */
int sql_vars_set(struct sql_vars *vars, const char *name, const char *value);
/* Remove NAME (no error when unset). */
void sql_vars_unset(struct sql_vars *vars, const char *name);
/* The value, or NULL when unset. */
const char *sql_vars_get(const struct sql_vars *vars, const char *name);
/* psql -v: "NAME=VALUE" sets, "NAME" alone unsets. -1 on an invalid name. */
int sql_vars_assign(struct sql_vars *vars, const char *assignment);
void sql_vars_clear(struct sql_vars *vars);

/* Append S quoted as psql's :'var' does (PQescapeLiteral: ' E'...' when S has backslashes). */
void sql_quote_literal(struct strbuf *sb, const char *s);
/* Append S quoted as psql's :"var" does (PQescapeIdentifier). */
void sql_quote_ident(struct strbuf *sb, const char *s);

/*
 * psql's boolean words (ParseVariableBool): unique prefixes of true/false/
 * yes/no, on/off (at least two letters), 1/0, case-insensitive.
 * 0 and *out set, or -1 when S is none of them.
 */
int sql_parse_bool(const char *s, bool *out);

struct sql_expansion; /* private: active :var expansions (recursion check) */

/* Lexer state; carries over lines (open quotes, comments, parens). */
struct sql_lexer {
    int state;               /* private: INITIAL, in a quote, comment, ... */
    int xcdepth;             /* nesting of slash-star comments */
    int paren_depth;         /* ';' ends a statement only at depth 0 ... */
    int begin_depth;         /* ... and outside BEGIN ATOMIC ... END bodies */
    unsigned identifier_count;
    char identifiers[4];     /* CREATE [OR REPLACE] FUNCTION|PROCEDURE detection */
    struct strbuf dolq_tag;  /* tag of the open dollar quote */
    bool std_strings;        /* standard_conforming_strings (default on) */
    struct strbuf input;     /* the current line (variable values spliced in) */
    size_t pos;              /* scan position in INPUT */
    struct sql_expansion *exp;
    size_t exp_nr, exp_alloc;
    /* Messages produced while scanning, one per line, each starting with
     * "warning: " or "error: " ("warning: skipping recursive expansion of
     * variable ...", "error: unterminated quoted string"); psql prints them
     * and goes on. The caller prints and resets it. */
    struct strbuf warnings;
    /* Set by sql_scan_arg when an argument used `backquotes` (the caller
     * decides what to do; dbtool does not run shell commands). */
    bool saw_backquote;
    bool args_done; /* private: the current meta-command has no more arguments */
};

enum sql_scan_result {
    SQL_SCAN_EOL,      /* the line is consumed; the statement (if any) continues */
    SQL_SCAN_SEMI,     /* QUERY holds a complete statement ending in ';' */
    SQL_SCAN_BACKSLASH /* a meta-command starts at the scan position */
};

void sql_lexer_init(struct sql_lexer *lx);
/* Forget statement state (after a statement was taken): psql_scan_reset. */
void sql_lexer_reset(struct sql_lexer *lx);
void sql_lexer_release(struct sql_lexer *lx);
/* Start scanning a new input line (LEN bytes, no trailing newline). */
void sql_lexer_feed(struct sql_lexer *lx, const char *line, size_t len);
/* Whether the lexer is inside a quote, comment or dollar quote (psql's "continuation" prompt). */
bool sql_lexer_in_literal(const struct sql_lexer *lx);

/*
 * Scan SQL from the current position, appending to QUERY (leading
 * whitespace and -- comments of a statement are dropped, like psql).
 * VARS (NULL: no interpolation, as in an inactive \if branch) supplies
 * :name (value re-scanned as SQL), :'name', :"name" and :{?name}; unset
 * names stay as written.
 */
enum sql_scan_result sql_scan(struct sql_lexer *lx, struct strbuf *query,
                              const struct sql_vars *vars);

/* After SQL_SCAN_BACKSLASH: the meta-command name (malloc'd, without '\'). */
char *sql_scan_cmd(struct sql_lexer *lx);
/*
 * The next argument of the meta-command (psql's OT_NORMAL), malloc'd, or NULL
 * when there is none (end of line, an unquoted backslash starting the next
 * command, or the separator \\ (two backslashes), consumed); once NULL, NULL until
 * the next sql_scan_cmd. 'single quotes' with \n \t \b \r \f \octal \xhex escapes and ''
 * are unquoted, "double quotes" are kept, :name :'name' :"name" :{?name} are
 * expanded from VARS (NULL: no expansion). SEMICOLON strips trailing unquoted
 * ';' (psql does so for file names). *QUOTED, when not NULL, is set when any
 * part of the argument was quoted.
 */
char *sql_scan_arg(struct sql_lexer *lx, const struct sql_vars *vars, bool semicolon,
                   bool *quoted);
/* The rest of the line after the scan position, taken whole (psql's OT_WHOLE_LINE); malloc'd. */
char *sql_scan_rest_of_line(struct sql_lexer *lx);

#endif
