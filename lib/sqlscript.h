/*
 * sqlscript.h — the psql-compatible SQL script runner, in-process over
 * libpq: runs a file or a string on a connection the way
 * `psql -X -v ON_ERROR_STOP=1 -f FILE` does (statement splitting of
 * lib/sqlsplit.h, COPY ... FROM stdin with inline data, COPY ... TO stdout,
 * \i \ir \include \include_relative, \set \unset and :var interpolation,
 * \echo \qecho \warn, \if \elif \else \endif, \restrict \unrestrict, \q,
 * \gset [PREFIX], \getenv VAR ENVVAR, \c[onnect] [DBNAME] on the same host, port
 * and user; VERBOSITY and SHOW_CONTEXT shape the messages as in psql; VERSION,
 * VERSION_NAME, VERSION_NUM are libpq's version, where psql has its own).
 *
 * - Each statement is sent on its own (simple query protocol, like psql
 *   in autocommit mode). The runner never issues BEGIN/COMMIT/ROLLBACK of its
 *   own: run it inside the caller's transaction and it stays there; whatever
 *   transaction state the script leaves is left to the caller.
 * - It stops at the first error (SQL or meta-command) and returns -1 after
 *   printing to the error stream, psql-style:
 *       FILE:LINE: ERROR:  message
 *       LINE N: the source line           (N: the line in FILE, mapped from
 *                    ^                     the server's error position)
 *       DETAIL:  ...  HINT:  ...  CONTEXT:  ...
 *   LINE is psql's: the line being read when the error was reported (the
 *   line of the statement's ';').
 * - Notices print as "FILE:LINE: NOTICE:  ..." on the error stream, like psql.
 * - \echo, \qecho, COPY TO STDOUT data and (unless quiet) command tags
 *   ("CREATE TABLE", "INSERT 0 1", "(3 rows)") go to the output stream.
 * - Input is streamed line by line; memory is bounded by the longest
 *   statement, not the file.
 */
#ifndef DBTOOL_SQLSCRIPT_H
#define DBTOOL_SQLSCRIPT_H

#include "lib/common.h"
#include <libpq-fe.h>

struct sql_opts {
    FILE *out; /* \echo, \qecho, COPY TO STDOUT, command tags; NULL: stdout */
    FILE *err; /* errors, notices, \warn, warnings; NULL: stderr */
    bool quiet; /* no command tags / row counts (psql -q) */
};

/*
 * A session keeps the variables (and psql's "quit" state) across several
 * runs on one connection, like one psql invocation with several -f/-c.
 * While a run is in progress the session owns the connection's notice
 * processor; afterwards the previous processor is put back (with a NULL
 * argument, which is what lib/pg.c installs).
 */
struct sql_session;

/*
 * New session on CONN (not owned; a \connect in a script opens a connection
 * the session owns and uses from then on). OPTS may be NULL (stdout/stderr,
 * not quiet).
 */
struct sql_session *sql_session_new(PGconn *conn, const struct sql_opts *opts);
void sql_session_free(struct sql_session *s);
/* Set a variable; VALUE NULL unsets. -1 (message printed) on an invalid name. */
int sql_session_set(struct sql_session *s, const char *name, const char *value);
/* psql -v: "NAME=VALUE" sets, "NAME" unsets. -1 (message printed) on an invalid name. */
int sql_session_assign(struct sql_session *s, const char *assignment);
/* The value of a variable, NULL when unset. */
const char *sql_session_get(const struct sql_session *s, const char *name);
/*
 * Run the file PATH ("-" reads stdin). 0 on success, -1 after an error was
 * printed. After \q, this and later runs of the session do nothing and return 0.
 */
int sql_session_run_file(struct sql_session *s, const char *path);
/* Run the script text SQL; NAME is the file name used in messages (e.g. "-c"). */
int sql_session_run_string(struct sql_session *s, const char *name, const char *sql);
/* A statement as the runner is about to send it (or has sent it). */
struct sql_stmt {
    const char *sql;        /* interpolated text as sent (with its ';', when it had one),
                               NUL-terminated at LEN */
    size_t len;
    const char *file;       /* the file it comes from, as messages name it */
    unsigned long line;     /* the line where it starts */
    unsigned long end_line; /* the line where it ends (its ';') */
    PGconn *conn;           /* the connection it goes to */
};

/* What the before hook decides about a statement. */
enum sql_hook_result {
    SQL_HOOK_RUN,  /* send it */
    SQL_HOOK_SKIP, /* do not send it; the script goes on as if it ran and returned nothing */
    SQL_HOOK_STOP, /* fail the run here (the hook printed why) */
};

/* Callbacks around the statements of a session (all optional). */
struct sql_hooks {
    void *arg;
    enum sql_hook_result (*before)(void *arg, const struct sql_stmt *st);
    /* After a statement ran without error; TAG is its last command tag ("COMMIT",
     * "CREATE TABLE", ...). 0 goes on, -1 fails the run (the hook printed why). */
    int (*after)(void *arg, const struct sql_stmt *st, const char *tag);
    /* Before \connect DBNAME: 0 allows it, -1 refuses (the hook printed why). */
    int (*connect)(void *arg, const char *dbname);
};
/* Install HOOKS (copied; NULL removes them). */
void sql_session_set_hooks(struct sql_session *s, const struct sql_hooks *hooks);
/* The connection statements go to now (the session's own after a \connect). */
PGconn *sql_session_conn(const struct sql_session *s);

/*
 * Send the one statement SQL as it is (no splitting, no :var interpolation,
 * no meta-commands) with the runner's hooks and messages, as if it stood on
 * LINE of the file NAME. 0, or -1 after the error was printed.
 */
int sql_session_run_statement(struct sql_session *s, const char *name, unsigned long line, const char *sql);

/*
 * Record every file the session's runs read into DEPS (NULL: stop): the top
 * file and each \i/\ir include, once per time it is read, a line each in
 * the order the files end: "SHA256 LEN EOF PATH" — the sha256 and length of
 * the bytes read (what the run saw, not the file as it is later), EOF 1 when
 * the file was read to its end (0 after \q or an error), PATH absolute.
 * Caches key on it (lib/snapshot).
 */
void sql_session_record_deps(struct sql_session *s, struct strvec *deps);
/* Whether the script ran \q. */
bool sql_session_quit(const struct sql_session *s);

/*
 * One-shot helpers: a session with VARS ("NAME=VALUE" items, may be NULL),
 * one run, freed. 0 / -1.
 */
int sql_run_file(PGconn *conn, const char *path, const struct strvec *vars,
                 const struct sql_opts *opts);
int sql_run_string(PGconn *conn, const char *name, const char *sql, const struct strvec *vars,
                   const struct sql_opts *opts);

#endif
