/*
 * sqlscript_int.h — what the runner (sqlscript.c: sessions, files,
 * statements, the main loop) and its meta-commands (sqlmeta.c) share: the
 * session and the frame of a file being run, and the helpers both call.
 * Not an API.
 */
#ifndef DBTOOL_SQLSCRIPT_INT_H
#define DBTOOL_SQLSCRIPT_INT_H

#include "lib/sqlscript.h"
#include "lib/sha256.h"
#include "lib/sqlsplit.h"

#include <sys/types.h>

enum ifstate { IF_TRUE, IF_FALSE, IF_IGNORED, ELSE_TRUE, ELSE_FALSE };

struct frame {
    struct frame *parent;
    const char *name; /* as shown in messages */
    FILE *in;
    dev_t dev;
    ino_t ino;
    bool have_id;
    struct sha256_ctx *sha; /* the bytes read, when the session records deps */
    uint64_t nread;
    bool eof;
    unsigned long lineno;
    unsigned long query_line; /* line where the pending statement starts */
    struct sql_lexer lx;
    struct strbuf query;   /* the pending statement */
    struct strbuf discard; /* text of inactive \if branches */
    enum ifstate *conds;
    size_t conds_nr, conds_alloc;
};

struct sql_session {
    PGconn *conn;     /* the connection statements go to (the caller's, or own_conn) */
    PGconn *own_conn; /* opened by \connect; closed by the next \connect or sql_session_free */
    FILE *out, *err;
    bool quiet;
    bool quit;
    bool restricted;
    char *restrict_key;
    struct sql_vars vars;
    struct frame *cur; /* innermost file being run (notices name it) */
    int depth;
    char *line; /* getline buffer */
    size_t line_cap;
    struct sql_hooks hooks;
    struct strbuf prev_query; /* the statement sent last (\gset with an empty buffer re-sends it) */
    char *gset_prefix;        /* set while a \gset statement runs */
    PGVerbosity verbosity;    /* VERBOSITY */
    PGContextVisibility show_context; /* SHOW_CONTEXT */
    struct strvec *deps; /* see sql_opts.deps */
};

/* Whether F is outside \if branches or in a taken one. */
static inline bool cond_active(const struct frame *f)
{
    if (!f->conds_nr)
        return true;
    enum ifstate st = f->conds[f->conds_nr - 1];
    return st == IF_TRUE || st == ELSE_TRUE;
}

/* "FILE:LINE: error: ..." on the session's error stream (PROGNAME: outside a file); -1. */
int sqls_script_error(struct sql_session *s, const char *fmt, ...) PRINTF(2, 3);
/* The same as a warning. */
void sqls_script_warning(struct sql_session *s, const char *fmt, ...) PRINTF(2, 3);
/* Print the lexer's warnings, each at FILE:LINE, and clear them. */
void sqls_flush_lexer_warnings(struct sql_session *s, struct sql_lexer *lx);
/* psql's SetVariable with the VERBOSITY and SHOW_CONTEXT hooks; VALUE NULL unsets. 0 or -1. */
int sqls_set_var(struct sql_session *s, const char *name, const char *value);
/* Send the statement Q (QLEN bytes, from line START of F) and handle its results. 0 or -1. */
int sqls_run_query(struct sql_session *s, struct frame *f, const char *q, size_t qlen,
                   unsigned long start);
/* \c[onnect] [DBNAME]: a new connection with the current one's settings. 0 or -1. */
int sqls_reconnect(struct sql_session *s, const char *dbname);
/* LX's standard_conforming_strings from the server's. */
void sqls_update_std_strings(struct sql_session *s, struct sql_lexer *lx);
/* \i ARG (\ir when RELATIVE: beside F's file) run in a frame below F; CMD for messages. 0 or -1. */
int sqls_include_file(struct sql_session *s, struct frame *f, const char *cmd, const char *arg,
                      bool relative);
/* The meta-command F's lexer stopped at, its arguments read from F. 0 or -1. */
int sqls_meta_command(struct sql_session *s, struct frame *f);

#endif
