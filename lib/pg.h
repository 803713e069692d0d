/*
 * pg.h — libpq helpers: connect with clear errors, URL building and
 * password masking, small query helpers.
 */
#ifndef DBTOOL_PG_H
#define DBTOOL_PG_H

#include "lib/common.h"
#include <libpq-fe.h>

/*
 * Connect to CONNINFO (URL or key=value). On failure print
 * "cannot connect to URL: reason" (password masked) and return NULL.
 * Notices go to stderr prefixed with the program name. The first
 * SIGINT/SIGTERM/SIGHUP cancels the statement running on every connection
 * opened here (by this process); PQfinish() drops it from that registry.
 */
PGconn *pg_connect(const char *conninfo);
/* Connect without printing anything; *errmsg (malloc'd) gets libpq's message. */
PGconn *pg_connect_quiet(const char *conninfo, char **errmsg);
/* Copy of URL with any password replaced by "***" (URL and key=value forms). */
char *pg_mask_url(const char *url);
/* Whether URL is a postgres URL or key=value conninfo (not e.g. sqlite://). */
bool pg_url_supported(const char *url);
/* postgresql://USER@/DB?host=SOCKDIR&port=PORT, with values percent-encoded. */
char *pg_build_url(const char *user, const char *db, const char *sockdir, int port);
/* Run SQL (no result rows expected). 0, or -1 after printing the server error. */
int pg_exec(PGconn *conn, const char *sql);
/* Run SQL with text parameters; first column of first row into OUT (may be empty). 1 row: 1, none: 0, error: -1. */
int pg_query_value(PGconn *conn, const char *sql, int nparams, const char *const *params,
                   struct strbuf *out);
/* Whether RES failed because a signal cancelled it (SQLSTATE 57014 and `interrupted` set). */
bool pg_result_interrupted(const PGresult *res);
/* Print a failed result: message, DETAIL, HINT (CONTEXT at debug); "interrupted" when cancelled by a signal. */
void pg_print_result_error(const PGresult *res, const char *what);
/* Quote an identifier / literal for SQL text (malloc'd). */
char *pg_quote_ident(const char *s);
char *pg_quote_literal(const char *s);

#endif
