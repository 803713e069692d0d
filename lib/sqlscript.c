/*
 * sqlscript.c — psql's MainLoop over lib/sqlsplit.c: one frame per file
 * (psql runs a nested MainLoop per \i, each with its own query buffer and
 * \if stack), statements sent one at a time, COPY data fed from the same
 * stream. psql's own code (mainloop.c, command.c, copy.c, common.c) is the
 * reference for every choice here; the meta-commands are sqlmeta.c.
 */
#include "lib/sqlscript_int.h"
#include "lib/pg.h"
#include "lib/sqlsplit.h"
#include "lib/fs.h"
#include "lib/sha256.h"

#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define SQL_MAX_DEPTH 256
#define COPY_BATCH (64 * 1024)

/* ---- messages ---- */

static void where(struct sql_session *s, struct strbuf *sb)
{
    if (s->cur)
        strbuf_addf(sb, "%s:%lu: ", s->cur->name, s->cur->lineno);
    else
        strbuf_addf(sb, "%s: ", progname);
}

int sqls_script_error(struct sql_session *s, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    where(s, &sb);
    strbuf_addstr(&sb, "error: ");
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    fprintf(s->err, "%s\n", sb.buf);
    fflush(s->err);
    strbuf_release(&sb);
    return -1;
}

void sqls_script_warning(struct sql_session *s, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    where(s, &sb);
    strbuf_addstr(&sb, "warning: ");
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    fprintf(s->err, "%s\n", sb.buf);
    strbuf_release(&sb);
}

void sqls_flush_lexer_warnings(struct sql_session *s, struct sql_lexer *lx)
{
    if (!lx->warnings.len)
        return;
    char *p = lx->warnings.buf;
    while (*p) {
        char *nl = strchrnul(p, '\n');
        struct strbuf sb = STRBUF_INIT;
        where(s, &sb);
        fprintf(s->err, "%s%.*s\n", sb.buf, (int)(nl - p), p);
        strbuf_release(&sb);
        p = *nl ? nl + 1 : nl;
    }
    strbuf_reset(&lx->warnings);
}

static void notice_processor(void *arg, const char *message)
{
    struct sql_session *s = arg;
    struct strbuf sb = STRBUF_INIT;
    where(s, &sb);
    strbuf_addstr(&sb, message);
    if (!sb.len || sb.buf[sb.len - 1] != '\n')
        strbuf_addch(&sb, '\n');
    fputs(sb.buf, s->err);
    strbuf_release(&sb);
}

/* Byte offset in Q of the 1-based character position POS. */
static size_t char_to_byte(const char *q, size_t len, long pos, int encoding)
{
    size_t off = 0;
    for (long c = 1; c < pos && off < len; c++) {
        int l = PQmblen(q + off, encoding);
        off += l > 0 ? (size_t)l : 1;
    }
    return off < len ? off : len;
}

/*
 * The statement error, psql-style (libpq's pqBuildErrorMessage3 under the
 * session's VERBOSITY and SHOW_CONTEXT), but LINE names the line in the file
 * (psql counts from the start of the statement).
 */
static void report_result_error(struct sql_session *s, struct frame *f, const PGresult *res,
                                const char *query, size_t qlen)
{
    if (pg_result_interrupted(res)) {
        sqls_script_error(s, "interrupted: the statement was cancelled");
        return;
    }
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    struct strbuf sb = STRBUF_INIT;
    where(s, &sb);
    if (!msg) {
        const char *m = PQresultErrorMessage(res);
        if (!m || !*m)
            m = PQerrorMessage(s->conn);
        strbuf_addstr(&sb, m && *m ? m : "query failed\n");
        if (sb.buf[sb.len - 1] != '\n')
            strbuf_addch(&sb, '\n');
        fputs(sb.buf, s->err);
        strbuf_release(&sb);
        return;
    }
    PGVerbosity v = s->verbosity;
    if (v == PQERRORS_SQLSTATE && state) {
        strbuf_addf(&sb, "%s:  %s\n", sev ? sev : "ERROR", state);
        fputs(sb.buf, s->err);
        fflush(s->err);
        strbuf_release(&sb);
        return;
    }
    if (v == PQERRORS_SQLSTATE)
        v = PQERRORS_TERSE;
    strbuf_addf(&sb, "%s:  ", sev ? sev : "ERROR");
    if (v == PQERRORS_VERBOSE && state)
        strbuf_addf(&sb, "%s: ", state);
    strbuf_addstr(&sb, msg);
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    const char *ipos = PQresultErrorField(res, PG_DIAG_INTERNAL_POSITION);
    if (v == PQERRORS_TERSE && (pos || ipos))
        strbuf_addf(&sb, " at character %s", pos ? pos : ipos);
    strbuf_addch(&sb, '\n');
    long p = pos ? atol(pos) : 0;
    if (v != PQERRORS_TERSE && p > 0 && query) {
        size_t off = char_to_byte(query, qlen, p, PQclientEncoding(s->conn));
        unsigned long line = f->query_line;
        size_t bol = 0;
        for (size_t i = 0; i < off; i++)
            if (query[i] == '\n') {
                line++;
                bol = i + 1;
            }
        size_t eol = off;
        while (eol < qlen && query[eol] != '\n')
            eol++;
        /* long lines: a window around the position, like libpq does */
        size_t from = bol, to = eol;
        bool cut_left = false, cut_right = false;
        if (off - from > 80) {
            from = off - 60;
            while (from < off && ((unsigned char)query[from] & 0xC0) == 0x80)
                from++;
            cut_left = true;
        }
        if (to - off > 80) {
            to = off + 60;
            while (to > off && ((unsigned char)query[to] & 0xC0) == 0x80)
                to--;
            cut_right = true;
        }
        struct strbuf head = STRBUF_INIT;
        strbuf_addf(&head, "LINE %lu: %s", line, cut_left ? "..." : "");
        strbuf_addf(&sb, "%s%.*s%s\n", head.buf, (int)(to - from), query + from,
                    cut_right ? "..." : "");
        for (size_t i = 0; i < head.len; i++)
            strbuf_addch(&sb, ' ');
        for (size_t i = from; i < off;) {
            int l = PQmblen(query + i, PQclientEncoding(s->conn));
            strbuf_addch(&sb, query[i] == '\t' ? '\t' : ' ');
            i += l > 0 ? (size_t)l : 1;
        }
        strbuf_addstr(&sb, "^\n");
        strbuf_release(&head);
    }
    static const struct {
        int field;
        const char *label;
    } extra[] = {
        {PG_DIAG_MESSAGE_DETAIL, "DETAIL"},
        {PG_DIAG_MESSAGE_HINT, "HINT"},
        {PG_DIAG_INTERNAL_QUERY, "QUERY"},
        {PG_DIAG_CONTEXT, "CONTEXT"},
    };
    for (size_t i = 0; v != PQERRORS_TERSE && i < ARRAY_SIZE(extra); i++) {
        if (extra[i].field == PG_DIAG_CONTEXT && s->show_context == PQSHOW_CONTEXT_NEVER)
            continue;
        const char *val = PQresultErrorField(res, extra[i].field);
        if (val)
            strbuf_addf(&sb, "%s:  %s\n", extra[i].label, val);
    }
    if (v == PQERRORS_VERBOSE) {
        static const struct {
            int field;
            const char *label;
        } names[] = {
            {PG_DIAG_SCHEMA_NAME, "SCHEMA NAME"},     {PG_DIAG_TABLE_NAME, "TABLE NAME"},
            {PG_DIAG_COLUMN_NAME, "COLUMN NAME"},     {PG_DIAG_DATATYPE_NAME, "DATATYPE NAME"},
            {PG_DIAG_CONSTRAINT_NAME, "CONSTRAINT NAME"},
        };
        for (size_t i = 0; i < ARRAY_SIZE(names); i++) {
            const char *val = PQresultErrorField(res, names[i].field);
            if (val)
                strbuf_addf(&sb, "%s:  %s\n", names[i].label, val);
        }
        const char *fn = PQresultErrorField(res, PG_DIAG_SOURCE_FUNCTION);
        const char *file = PQresultErrorField(res, PG_DIAG_SOURCE_FILE);
        const char *line = PQresultErrorField(res, PG_DIAG_SOURCE_LINE);
        if (fn || file || line) {
            strbuf_addstr(&sb, "LOCATION:  ");
            if (fn)
                strbuf_addf(&sb, "%s, ", fn);
            if (file && line)
                strbuf_addf(&sb, "%s:%s", file, line);
            strbuf_addch(&sb, '\n');
        }
    }
    fputs(sb.buf, s->err);
    fflush(s->err);
    strbuf_release(&sb);
}

/* ---- statements ---- */

/* The next line of F into s->line (with its '\n'); -1 at EOF or error. */
static ssize_t read_line(struct sql_session *s, struct frame *f)
{
    ssize_t n = getline(&s->line, &s->line_cap, f->in);
    if (f->sha) {
        if (n > 0) {
            sha256_update(f->sha, s->line, (size_t)n);
            f->nread += (uint64_t)n;
        } else if (feof(f->in)) {
            f->eof = true;
        }
    }
    return n;
}

/* Start recording what F reads (a file named PATH) when the session records deps. */
static void deps_begin(struct sql_session *s, struct frame *f)
{
    if (!s->deps)
        return;
    f->sha = xmalloc(sizeof(*f->sha));
    sha256_init(f->sha);
}

/* F is done: its line in the session's deps (see sql_opts.deps). */
static void deps_end(struct sql_session *s, struct frame *f)
{
    if (!f->sha)
        return;
    unsigned char d[SHA256_DIGEST_LEN];
    sha256_final(f->sha, d);
    free(f->sha);
    f->sha = NULL;
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < sizeof(d); i++)
        strbuf_addf(&sb, "%02x", d[i]);
    char *abs = path_absolute(f->name, NULL);
    strbuf_addf(&sb, " %llu %d %s", (unsigned long long)f->nread, f->eof ? 1 : 0, abs);
    free(abs);
    strvec_push(s->deps, sb.buf);
    strbuf_release(&sb);
}

/* COPY ... FROM STDIN: the data lines of F up to a line "\." (or EOF). */
static int copy_in(struct sql_session *s, struct frame *f)
{
    struct strbuf batch = STRBUF_INIT;
    int ok = 1;
    for (;;) {
        if (interrupted) {
            /* the server fails the COPY with 57014, which sqls_run_query reports as the interruption */
            strbuf_release(&batch);
            PQputCopyEnd(s->conn, "interrupted");
            return 0;
        }
        ssize_t n = read_line(s, f);
        if (n < 0)
            break;
        f->lineno++;
        const char *l = s->line;
        if (l[0] == '\\' && l[1] == '.' &&
            (l[2] == 0 || l[2] == '\n' || (l[2] == '\r' && (l[3] == '\n' || l[3] == 0))))
            break;
        strbuf_add(&batch, l, (size_t)n);
        if (batch.len >= COPY_BATCH) {
            if (ok && PQputCopyData(s->conn, batch.buf, (int)batch.len) != 1)
                ok = 0;
            strbuf_reset(&batch);
        }
    }
    if (ferror(f->in)) {
        strbuf_release(&batch);
        PQputCopyEnd(s->conn, "error reading input file");
        return sqls_script_error(s, "%s: read error: %s", f->name, strerror(errno));
    }
    if (ok && batch.len && PQputCopyData(s->conn, batch.buf, (int)batch.len) != 1)
        ok = 0;
    strbuf_release(&batch);
    if (PQputCopyEnd(s->conn, NULL) != 1 || !ok)
        return sqls_script_error(s, "COPY data could not be sent: %s", PQerrorMessage(s->conn));
    return 0;
}

static int copy_out(struct sql_session *s)
{
    char *buf;
    int n;
    while ((n = PQgetCopyData(s->conn, &buf, 0)) > 0) {
        fwrite(buf, 1, (size_t)n, s->out);
        PQfreemem(buf);
    }
    return n == -1 ? 0 : sqls_script_error(s, "COPY TO STDOUT failed: %s", PQerrorMessage(s->conn));
}

static void set_status_vars(struct sql_session *s, const PGresult *res, bool failed)
{
    sql_vars_set(&s->vars, "ERROR", failed ? "true" : "false");
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    sql_vars_set(&s->vars, "SQLSTATE", failed ? (st ? st : "") : "00000");
    const char *rc = PQcmdTuples((PGresult *)res);
    sql_vars_set(&s->vars, "ROW_COUNT", !failed && rc && *rc ? rc : "0");
    if (failed) {
        const char *m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        sql_vars_set(&s->vars, "LAST_ERROR_MESSAGE", m ? m : "");
        sql_vars_set(&s->vars, "LAST_ERROR_SQLSTATE", st ? st : "");
    }
}

/* psql's variables with hooks: \gset does not write them. */
static bool var_is_special(const char *name)
{
    static const char *const special[] = {
        "AUTOCOMMIT", "ON_ERROR_STOP", "QUIET", "SINGLELINE", "SINGLESTEP", "FETCH_COUNT",
        "HISTFILE", "HISTSIZE", "IGNOREEOF", "ECHO", "ECHO_HIDDEN", "ON_ERROR_ROLLBACK",
        "COMP_KEYWORD_CASE", "HISTCONTROL", "PROMPT1", "PROMPT2", "PROMPT3", "VERBOSITY",
        "SHOW_ALL_RESULTS", "SHOW_CONTEXT", "HIDE_TOAST_COMPRESSION", "HIDE_TABLEAM",
    };
    for (size_t i = 0; i < ARRAY_SIZE(special); i++)
        if (!strcmp(name, special[i]))
            return true;
    return false;
}

/*
 * psql's SetVariable, with the two hooks the runner honours: VERBOSITY
 * (default, verbose, terse, sqlstate) and SHOW_CONTEXT (never, errors,
 * always) change how errors and notices are printed; unsetting them
 * restores their default. VALUE NULL unsets. 0, or -1 with psql's message.
 */
int sqls_set_var(struct sql_session *s, const char *name, const char *value)
{
    static const struct {
        const char *var, *dflt, *list;
        const char *words[4];
        int values[4];
    } hooked[] = {
        {"VERBOSITY", "default", "default, verbose, terse, sqlstate",
         {"default", "verbose", "terse", "sqlstate"},
         {PQERRORS_DEFAULT, PQERRORS_VERBOSE, PQERRORS_TERSE, PQERRORS_SQLSTATE}},
        {"SHOW_CONTEXT", "errors", "never, errors, always",
         {"never", "errors", "always", NULL},
         {PQSHOW_CONTEXT_NEVER, PQSHOW_CONTEXT_ERRORS, PQSHOW_CONTEXT_ALWAYS, 0}},
    };
    if (!sql_var_name_valid(name))
        return sqls_script_error(s, "invalid variable name: \"%s\"", name);
    for (size_t h = 0; h < ARRAY_SIZE(hooked); h++) {
        if (strcmp(name, hooked[h].var))
            continue;
        if (!value)
            value = hooked[h].dflt;
        size_t i = 0;
        while (i < 4 && hooked[h].words[i] && strcasecmp(value, hooked[h].words[i]))
            i++;
        if (i == 4 || !hooked[h].words[i])
            return sqls_script_error(s, "unrecognized value \"%s\" for \"%s\"\nAvailable values are: %s.", value,
                                     name, hooked[h].list);
        if (h == 0) {
            s->verbosity = (PGVerbosity)hooked[h].values[i];
            if (s->conn)
                PQsetErrorVerbosity(s->conn, s->verbosity);
        } else {
            s->show_context = (PGContextVisibility)hooked[h].values[i];
            if (s->conn)
                PQsetErrorContextVisibility(s->conn, s->show_context);
        }
        break;
    }
    if (value)
        sql_vars_set(&s->vars, name, value);
    else
        sql_vars_unset(&s->vars, name);
    return 0;
}

/* psql's StoreQueryTuple: the one row of RES into variables named prefix + column. */
static int store_tuple(struct sql_session *s, const PGresult *res)
{
    if (PQntuples(res) < 1)
        return sqls_script_error(s, "no rows returned for \\gset");
    if (PQntuples(res) > 1)
        return sqls_script_error(s, "more than one row returned for \\gset");
    for (int i = 0; i < PQnfields(res); i++) {
        char *name = xasprintf("%s%s", s->gset_prefix, PQfname(res, i));
        int r = 0;
        if (var_is_special(name))
            sqls_script_warning(s, "attempt to \\gset into specially treated variable \"%s\" ignored", name);
        else
            r = sqls_set_var(s, name, PQgetisnull(res, 0, i) ? NULL : PQgetvalue(res, 0, i));
        free(name);
        if (r < 0)
            return -1;
    }
    return 0;
}

/*
 * Send the statement Q (QLEN bytes; it started on line START of F) and deal
 * with its results, after asking the before hook; the after hook sees the
 * last command tag. A \gset in progress stores the row instead of counting it.
 */
int sqls_run_query(struct sql_session *s, struct frame *f, const char *q, size_t qlen,
                   unsigned long start)
{
    struct sql_stmt st = {q, qlen, f->name, start, f->lineno, s->conn};
    if (s->hooks.before) {
        enum sql_hook_result h = s->hooks.before(s->hooks.arg, &st);
        if (h == SQL_HOOK_STOP)
            return -1;
        if (h == SQL_HOOK_SKIP) {
            strbuf_reset(&s->prev_query);
            strbuf_add(&s->prev_query, q, qlen);
            return 0;
        }
    }
    if (!PQsendQuery(s->conn, q)) {
        fprintf(s->err, "%s:%lu: %s", f->name, f->lineno, PQerrorMessage(s->conn));
        return -1;
    }
    if (q != s->prev_query.buf) {
        strbuf_reset(&s->prev_query);
        strbuf_add(&s->prev_query, q, qlen);
    }
    int rc = 0;
    PGresult *res;
    char tag[64] = "";
    while ((res = PQgetResult(s->conn))) {
        switch (PQresultStatus(res)) {
        case PGRES_COMMAND_OK:
            if (!s->quiet && *PQcmdStatus(res))
                fprintf(s->out, "%s\n", PQcmdStatus(res));
            set_status_vars(s, res, false);
            break;
        case PGRES_TUPLES_OK:
            set_status_vars(s, res, false);
            if (s->gset_prefix) {
                if (rc == 0 && store_tuple(s, res) < 0)
                    rc = -1;
            } else if (!s->quiet) {
                fprintf(s->out, "(%d row%s)\n", PQntuples(res), PQntuples(res) == 1 ? "" : "s");
            }
            break;
        case PGRES_EMPTY_QUERY:
            break;
        case PGRES_COPY_IN:
            if (copy_in(s, f) < 0)
                rc = -1;
            break;
        case PGRES_COPY_OUT:
            if (copy_out(s) < 0)
                rc = -1;
            break;
        default:
            if (rc == 0)
                report_result_error(s, f, res, q, qlen);
            set_status_vars(s, res, true);
            rc = -1;
            break;
        }
        snprintf(tag, sizeof(tag), "%s", PQcmdStatus(res));
        PQclear(res);
    }
    if (rc == 0 && s->hooks.after && s->hooks.after(s->hooks.arg, &st, tag) < 0)
        rc = -1;
    return rc;
}

/* The variables psql keeps in step with the connection (SyncVariables). */
static void sync_conn_vars(struct sql_session *s)
{
    PGconn *conn = s->conn;
    if (!conn || PQstatus(conn) != CONNECTION_OK)
        return;
    const char *v;
    if ((v = PQdb(conn)))
        sql_vars_set(&s->vars, "DBNAME", v);
    if ((v = PQuser(conn)))
        sql_vars_set(&s->vars, "USER", v);
    if ((v = PQhost(conn)))
        sql_vars_set(&s->vars, "HOST", v);
    if ((v = PQport(conn)))
        sql_vars_set(&s->vars, "PORT", v);
    if ((v = PQparameterStatus(conn, "client_encoding")))
        sql_vars_set(&s->vars, "ENCODING", v);
    if ((v = PQparameterStatus(conn, "server_version")))
        sql_vars_set(&s->vars, "SERVER_VERSION_NAME", v);
    char num[32];
    snprintf(num, sizeof(num), "%d", PQserverVersion(conn));
    sql_vars_set(&s->vars, "SERVER_VERSION_NUM", num);
}

/* Append KEY='VALUE' (libpq conninfo quoting) to SB. */
static void conninfo_add(struct strbuf *sb, const char *key, const char *value)
{
    if (sb->len)
        strbuf_addch(sb, ' ');
    strbuf_addf(sb, "%s='", key);
    for (const char *p = value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            strbuf_addch(sb, '\\');
        strbuf_addch(sb, *p);
    }
    strbuf_addch(sb, '\'');
}

static void notice_processor(void *arg, const char *message);

/*
 * \c[onnect] [DBNAME]: a new connection to DBNAME (NULL: the same database)
 * with everything else of the current one (host, port, user, password, SSL
 * settings), as psql does when only a database name is given.
 */
int sqls_reconnect(struct sql_session *s, const char *dbname)
{
    if (s->hooks.connect && s->hooks.connect(s->hooks.arg, dbname ? dbname : PQdb(s->conn)) < 0)
        return -1;
    PQconninfoOption *opts = PQconninfo(s->conn);
    if (!opts)
        return sqls_script_error(s, "\\connect: out of memory");
    struct strbuf ci = STRBUF_INIT;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val || !strcmp(o->keyword, "dbname"))
            continue;
        conninfo_add(&ci, o->keyword, o->val);
    }
    conninfo_add(&ci, "dbname", dbname ? dbname : PQdb(s->conn));
    PQconninfoFree(opts);
    char *err = NULL;
    PGconn *c = pg_connect_quiet(ci.buf, &err);
    /* the conninfo may hold a password: wipe it before it is freed */
    memset(ci.buf, 0, ci.len);
    strbuf_release(&ci);
    if (!c) {
        int r = sqls_script_error(s, "\\connect: %s", err ? err : "cannot connect");
        free(err);
        return r;
    }
    PQsetNoticeProcessor(c, notice_processor, s);
    PQsetErrorVerbosity(c, s->verbosity);
    PQsetErrorContextVisibility(c, s->show_context);
    if (s->own_conn)
        PQfinish(s->own_conn);
    s->own_conn = s->conn = c;
    sync_conn_vars(s);
    if (!s->quiet)
        fprintf(s->out, "You are now connected to database \"%s\" as user \"%s\".\n", PQdb(c), PQuser(c));
    return 0;
}

/* ---- included files ---- */

static int run_stream(struct sql_session *s, struct frame *f);

static char *expand_tilde(const char *p)
{
    const char *home = getenv("HOME");
    if (p[0] == '~' && (p[1] == '/' || !p[1]) && home)
        return xasprintf("%s%s", home, p + 1);
    return xstrdup(p);
}

int sqls_include_file(struct sql_session *s, struct frame *f, const char *cmd, const char *arg,
                      bool relative)
{
    char *path = expand_tilde(arg);
    if (relative && path[0] != '/' && f && f->name[0] && strcmp(f->name, "-")) {
        const char *slash = strrchr(f->name, '/');
        if (slash) {
            char *joined = xasprintf("%.*s/%s", (int)(slash - f->name), f->name, path);
            free(path);
            path = joined;
        }
    }
    int r = -1;
    FILE *in = fopen(path, "re");
    if (!in) {
        r = sqls_script_error(s, "%s: %s", path, strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(in);
        r = sqls_script_error(s, "%s: Is a directory", path);
        goto out;
    }
    for (struct frame *p = f; p; p = p->parent) {
        if (p->have_id && p->dev == st.st_dev && p->ino == st.st_ino) {
            struct strbuf chain = STRBUF_INIT;
            struct frame *v[SQL_MAX_DEPTH + 1];
            size_t n = 0;
            for (struct frame *q = f; q && n < SQL_MAX_DEPTH; q = q->parent) {
                v[n++] = q;
                if (q == p)
                    break;
            }
            while (n--)
                strbuf_addf(&chain, "%s -> ", v[n]->name);
            strbuf_addstr(&chain, path);
            fclose(in);
            r = sqls_script_error(s, "\\%s: include cycle: %s", cmd, chain.buf);
            strbuf_release(&chain);
            goto out;
        }
    }
    if (s->depth >= SQL_MAX_DEPTH) {
        fclose(in);
        r = sqls_script_error(s, "\\%s: includes nested too deeply (%d levels)", cmd, SQL_MAX_DEPTH);
        goto out;
    }
    struct frame nf = {0};
    nf.parent = f;
    nf.name = path;
    nf.in = in;
    nf.dev = st.st_dev;
    nf.ino = st.st_ino;
    nf.have_id = true;
    deps_begin(s, &nf);
    r = run_stream(s, &nf);
    deps_end(s, &nf);
    fclose(in);
out:
    free(path);
    return r;
}

/* ---- the main loop ---- */

void sqls_update_std_strings(struct sql_session *s, struct sql_lexer *lx)
{
    const char *v = PQparameterStatus(s->conn, "standard_conforming_strings");
    lx->std_strings = !v || strcmp(v, "off");
}

static int run_stream(struct sql_session *s, struct frame *f)
{
    struct frame *saved = s->cur;
    int r = 0;
    s->cur = f;
    s->depth++;
    sql_lexer_init(&f->lx);
    f->query = (struct strbuf)STRBUF_INIT;
    f->discard = (struct strbuf)STRBUF_INIT;

    ssize_t n;
    while (!s->quit && (n = read_line(s, f)) >= 0) {
        if (interrupted) {
            r = sqls_script_error(s, "interrupted");
            goto out;
        }
        f->lineno++;
        size_t len = (size_t)n;
        if (len && s->line[len - 1] == '\n')
            len--;
        if (cond_active(f)) {
            if (f->query.len)
                strbuf_addch(&f->query, '\n');
        } else if (f->discard.len) {
            strbuf_addch(&f->discard, '\n');
        }
        sqls_update_std_strings(s, &f->lx);
        sql_lexer_feed(&f->lx, s->line, len);
        for (;;) {
            bool active = cond_active(f);
            struct strbuf *target = active ? &f->query : &f->discard;
            size_t before = target->len;
            enum sql_scan_result res = sql_scan(&f->lx, target, active ? &s->vars : NULL);
            sqls_flush_lexer_warnings(s, &f->lx);
            if (active && before == 0 && target->len)
                f->query_line = f->lineno;
            if (res == SQL_SCAN_EOL)
                break;
            if (res == SQL_SCAN_SEMI) {
                if (active) {
                    r = sqls_run_query(s, f, f->query.buf, f->query.len, f->query_line);
                    strbuf_reset(&f->query);
                    if (r < 0)
                        goto out;
                    sqls_update_std_strings(s, &f->lx);
                } else {
                    strbuf_reset(&f->discard);
                }
                sql_lexer_reset(&f->lx);
                continue;
            }
            /* SQL_SCAN_BACKSLASH */
            if ((r = sqls_meta_command(s, f)) < 0)
                goto out;
            if (s->quit)
                goto out;
        }
    }
    if (ferror(f->in)) {
        r = sqls_script_error(s, "%s: read error: %s", f->name, strerror(errno));
        goto out;
    }
    if (!s->quit && f->query.len && cond_active(f)) {
        r = sqls_run_query(s, f, f->query.buf, f->query.len, f->query_line);
        strbuf_reset(&f->query);
        if (r < 0)
            goto out;
    }
    if (!s->quit && f->conds_nr)
        r = sqls_script_error(s, "reached EOF without finding closing \\endif(s)");
out:
    sql_lexer_release(&f->lx);
    strbuf_release(&f->query);
    strbuf_release(&f->discard);
    free(f->conds);
    f->conds = NULL;
    s->depth--;
    s->cur = saved;
    return r;
}

/* ---- sessions ---- */

struct sql_session *sql_session_new(PGconn *conn, const struct sql_opts *opts)
{
    struct sql_session *s = xcalloc(1, sizeof(*s));
    s->conn = conn;
    s->out = opts && opts->out ? opts->out : stdout;
    s->err = opts && opts->err ? opts->err : stderr;
    s->quiet = opts && opts->quiet;
    s->prev_query = (struct strbuf)STRBUF_INIT;
    s->verbosity = PQERRORS_DEFAULT;
    s->show_context = PQSHOW_CONTEXT_ERRORS;
    /* what psql -X -v ON_ERROR_STOP=1 starts with (the ones scripts test) */
    sql_vars_set(&s->vars, "ON_ERROR_STOP", "1");
    sql_vars_set(&s->vars, "AUTOCOMMIT", "on");
    sql_vars_set(&s->vars, "VERBOSITY", "default");
    sql_vars_set(&s->vars, "SHOW_CONTEXT", "errors");
    sql_vars_set(&s->vars, "LAST_ERROR_MESSAGE", "");
    sql_vars_set(&s->vars, "LAST_ERROR_SQLSTATE", "00000");
    /* psql's own version: here the client library's (VERSION_NUM as psql computes it) */
    {
        int v = PQlibVersion();
        char name[32], num[16];
        if (v >= 100000)
            snprintf(name, sizeof(name), "%d.%d", v / 10000, v % 10000);
        else
            snprintf(name, sizeof(name), "%d.%d.%d", v / 10000, v / 100 % 100, v % 100);
        snprintf(num, sizeof(num), "%d", v);
        char *full = xasprintf("PostgreSQL %s (libpq, dbtool %s SQL runner)", name, DBTOOL_VERSION);
        sql_vars_set(&s->vars, "VERSION", full);
        sql_vars_set(&s->vars, "VERSION_NAME", name);
        sql_vars_set(&s->vars, "VERSION_NUM", num);
        free(full);
    }
    sync_conn_vars(s);
    return s;
}

void sql_session_free(struct sql_session *s)
{
    if (!s)
        return;
    if (s->own_conn)
        PQfinish(s->own_conn);
    sql_vars_clear(&s->vars);
    strbuf_release(&s->prev_query);
    free(s->gset_prefix);
    free(s->line);
    free(s->restrict_key);
    free(s);
}

void sql_session_set_hooks(struct sql_session *s, const struct sql_hooks *hooks)
{
    if (hooks)
        s->hooks = *hooks;
    else
        memset(&s->hooks, 0, sizeof(s->hooks));
}

PGconn *sql_session_conn(const struct sql_session *s)
{
    return s->conn;
}

int sql_session_set(struct sql_session *s, const char *name, const char *value)
{
    return sqls_set_var(s, name, value);
}

int sql_session_assign(struct sql_session *s, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq)
        return sqls_set_var(s, assignment, NULL);
    char *name = xstrndup(assignment, (size_t)(eq - assignment));
    int r = sqls_set_var(s, name, eq + 1);
    free(name);
    return r;
}

const char *sql_session_get(const struct sql_session *s, const char *name)
{
    return sql_vars_get(&s->vars, name);
}

void sql_session_record_deps(struct sql_session *s, struct strvec *deps)
{
    s->deps = deps;
}

bool sql_session_quit(const struct sql_session *s)
{
    return s->quit;
}

static int run_top(struct sql_session *s, struct frame *f)
{
    if (s->quit)
        return 0;
    /* the caller's connection gets its notice processor and error settings back */
    PGconn *c0 = s->conn;
    bool c0_ours = c0 == s->own_conn;
    PQnoticeProcessor old = PQsetNoticeProcessor(c0, notice_processor, s);
    PGVerbosity ov = PQsetErrorVerbosity(c0, s->verbosity);
    PGContextVisibility oc = PQsetErrorContextVisibility(c0, s->show_context);
    int r = run_stream(s, f);
    if (!c0_ours) {
        PQsetNoticeProcessor(c0, old, NULL);
        PQsetErrorVerbosity(c0, ov);
        PQsetErrorContextVisibility(c0, oc);
    }
    fflush(s->out);
    fflush(s->err);
    return r;
}

int sql_session_run_file(struct sql_session *s, const char *path)
{
    struct frame f = {0};
    f.name = path;
    if (!strcmp(path, "-")) {
        f.in = stdin;
        return run_top(s, &f);
    }
    f.in = fopen(path, "re");
    if (!f.in)
        return sqls_script_error(s, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f.in), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fclose(f.in);
            return sqls_script_error(s, "%s: Is a directory", path);
        }
        f.dev = st.st_dev;
        f.ino = st.st_ino;
        f.have_id = true;
    }
    deps_begin(s, &f);
    int r = run_top(s, &f);
    deps_end(s, &f);
    fclose(f.in);
    return r;
}

int sql_session_run_string(struct sql_session *s, const char *name, const char *sql)
{
    struct frame f = {0};
    f.name = name;
    size_t len = strlen(sql);
    if (!len)
        return 0;
    f.in = fmemopen((void *)sql, len, "r");
    if (!f.in)
        return sqls_script_error(s, "cannot read script '%s': %s", name, strerror(errno));
    int r = run_top(s, &f);
    fclose(f.in);
    return r;
}

int sql_session_run_statement(struct sql_session *s, const char *name, unsigned long line, const char *sql)
{
    if (s->quit)
        return 0;
    struct frame f = {0};
    f.name = name;
    f.lineno = line;
    f.query_line = line;
    PGconn *c0 = s->conn;
    bool c0_ours = c0 == s->own_conn;
    PQnoticeProcessor old = PQsetNoticeProcessor(c0, notice_processor, s);
    PGVerbosity ov = PQsetErrorVerbosity(c0, s->verbosity);
    PGContextVisibility oc = PQsetErrorContextVisibility(c0, s->show_context);
    struct frame *saved = s->cur;
    s->cur = &f;
    int r = sqls_run_query(s, &f, sql, strlen(sql), line);
    s->cur = saved;
    if (!c0_ours) {
        PQsetNoticeProcessor(c0, old, NULL);
        PQsetErrorVerbosity(c0, ov);
        PQsetErrorContextVisibility(c0, oc);
    }
    fflush(s->out);
    fflush(s->err);
    return r;
}

static struct sql_session *session_with(PGconn *conn, const struct strvec *vars,
                                        const struct sql_opts *opts)
{
    struct sql_session *s = sql_session_new(conn, opts);
    for (size_t i = 0; vars && i < vars->nr; i++) {
        if (sql_session_assign(s, vars->v[i]) < 0) {
            sql_session_free(s);
            return NULL;
        }
    }
    return s;
}

int sql_run_file(PGconn *conn, const char *path, const struct strvec *vars,
                 const struct sql_opts *opts)
{
    struct sql_session *s = session_with(conn, vars, opts);
    if (!s)
        return -1;
    int r = sql_session_run_file(s, path);
    sql_session_free(s);
    return r;
}

int sql_run_string(PGconn *conn, const char *name, const char *sql, const struct strvec *vars,
                   const struct sql_opts *opts)
{
    struct sql_session *s = session_with(conn, vars, opts);
    if (!s)
        return -1;
    int r = sql_session_run_string(s, name, sql);
    sql_session_free(s);
    return r;
}
