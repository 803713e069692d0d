/*
 * sqlscript.h — the psql-compatible SQL script runner, in-process over
 * libpq: runs a file or a string on a connection the way
 * `psql -X -v ON_ERROR_STOP=1 -f FILE` does (statement splitting of
 * lib/sqlsplit.h, COPY ... FROM stdin with inline data, COPY ... TO stdout,
 * \i \ir \include \include_relative, \set \unset and :var interpolation,
 * \echo \qecho \warn, \if \elif \else \endif, \restrict \unrestrict, \q).
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

/* New session on CONN (not owned). OPTS may be NULL (stdout/stderr, not quiet). */
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
