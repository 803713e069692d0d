/*
 * sqlscript.c — psql's MainLoop over lib/sqlsplit.c: one frame per file
 * (psql runs a nested MainLoop per \i, each with its own query buffer and
 * \if stack), statements sent one at a time, COPY data fed from the same
 * stream. psql's own code (mainloop.c, command.c, copy.c, common.c) is the
 * reference for every choice here.
 */
#include "lib/sqlscript.h"
#include "lib/pg.h"
#include "lib/sqlsplit.h"
#include "lib/fs.h"
#include "lib/sha256.h"

#include <sys/stat.h>
#include <unistd.h>

#define SQL_MAX_DEPTH 256
#define COPY_BATCH (64 * 1024)

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
    PGconn *conn;
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
    struct strvec *deps; /* see sql_opts.deps */
};

/* ---- messages ---- */

static void where(struct sql_session *s, struct strbuf *sb)
{
    if (s->cur)
        strbuf_addf(sb, "%s:%lu: ", s->cur->name, s->cur->lineno);
    else
        strbuf_addf(sb, "%s: ", progname);
}

static int script_error(struct sql_session *s, const char *fmt, ...) PRINTF(2, 3);
static int script_error(struct sql_session *s, const char *fmt, ...)
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

static void script_warning(struct sql_session *s, const char *fmt, ...) PRINTF(2, 3);
static void script_warning(struct sql_session *s, const char *fmt, ...)
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

static void flush_lexer_warnings(struct sql_session *s, struct sql_lexer *lx)
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
 * The statement error, psql-style, but LINE names the line in the file
 * (psql counts from the start of the statement).
 */
static void report_result_error(struct sql_session *s, struct frame *f, const PGresult *res,
                                const char *query, size_t qlen)
{
    if (pg_result_interrupted(res)) {
        script_error(s, "interrupted: the statement was cancelled");
        return;
    }
    const char *sev = PQresultErrorField(res, PG_DIAG_SEVERITY);
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
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
    strbuf_addf(&sb, "%s:  %s\n", sev ? sev : "ERROR", msg);
    const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
    long p = pos ? atol(pos) : 0;
    if (p > 0 && query) {
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
    for (size_t i = 0; i < ARRAY_SIZE(extra); i++) {
        const char *v = PQresultErrorField(res, extra[i].field);
        if (v)
            strbuf_addf(&sb, "%s:  %s\n", extra[i].label, v);
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
            /* the server fails the COPY with 57014, which run_query reports as the interruption */
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
        return script_error(s, "%s: read error: %s", f->name, strerror(errno));
    }
    if (ok && batch.len && PQputCopyData(s->conn, batch.buf, (int)batch.len) != 1)
        ok = 0;
    strbuf_release(&batch);
    if (PQputCopyEnd(s->conn, NULL) != 1 || !ok)
        return script_error(s, "COPY data could not be sent: %s", PQerrorMessage(s->conn));
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
    return n == -1 ? 0 : script_error(s, "COPY TO STDOUT failed: %s", PQerrorMessage(s->conn));
}

static void set_status_vars(struct sql_session *s, const PGresult *res, bool failed)
{
    sql_vars_set(&s->vars, "ERROR", failed ? "true" : "false");
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    sql_vars_set(&s->vars, "SQLSTATE", failed && st ? st : "00000");
    const char *rc = PQcmdTuples((PGresult *)res);
    sql_vars_set(&s->vars, "ROW_COUNT", !failed && rc && *rc ? rc : "0");
}

/* Send the statement in F's query buffer and deal with its results. */
static int run_query(struct sql_session *s, struct frame *f)
{
    const char *q = f->query.buf;
    size_t qlen = f->query.len;
    if (!PQsendQuery(s->conn, q)) {
        fprintf(s->err, "%s:%lu: %s", f->name, f->lineno, PQerrorMessage(s->conn));
        return -1;
    }
    int rc = 0;
    PGresult *res;
    while ((res = PQgetResult(s->conn))) {
        switch (PQresultStatus(res)) {
        case PGRES_COMMAND_OK:
            if (!s->quiet && *PQcmdStatus(res))
                fprintf(s->out, "%s\n", PQcmdStatus(res));
            set_status_vars(s, res, false);
            break;
        case PGRES_TUPLES_OK:
            if (!s->quiet)
                fprintf(s->out, "(%d row%s)\n", PQntuples(res), PQntuples(res) == 1 ? "" : "s");
            set_status_vars(s, res, false);
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
        PQclear(res);
    }
    return rc;
}

/* ---- meta-commands ---- */

static bool cond_active(const struct frame *f)
{
    if (!f->conds_nr)
        return true;
    enum ifstate st = f->conds[f->conds_nr - 1];
    return st == IF_TRUE || st == ELSE_TRUE;
}

/* Eat the rest of a meta-command's arguments; WARN names the ignored ones. */
static void eat_args(struct sql_session *s, struct frame *f, const char *cmd, bool warn_extra)
{
    char *a;
    while ((a = sql_scan_arg(&f->lx, NULL, false, NULL))) {
        if (warn_extra)
            script_warning(s, "\\%s: extra argument \"%s\" ignored", cmd, a);
        free(a);
    }
    f->lx.saw_backquote = false;
    strbuf_reset(&f->lx.warnings);
}

static char *next_arg(struct sql_session *s, struct frame *f, bool semicolon)
{
    char *a = sql_scan_arg(&f->lx, &s->vars, semicolon, NULL);
    flush_lexer_warnings(s, &f->lx);
    return a;
}

/*
 * \if / \elif expression: one argument, a psql boolean. Like psql, a value
 * that is no boolean (or none) is reported and taken as false, and the
 * script goes on (ON_ERROR_STOP does not apply); -1 only for backquotes.
 */
static int eval_bool(struct sql_session *s, struct frame *f, const char *cmd, bool *out)
{
    char *a = next_arg(s, f, false);
    int r = 0;
    *out = false;
    if (f->lx.saw_backquote)
        r = script_error(s, "\\%s: backquoted shell commands are not supported", cmd);
    else if (sql_parse_bool(a ? a : "", out) < 0) {
        script_error(s, "unrecognized value \"%s\" for \"\\%s expression\": Boolean expected",
                     a ? a : "", cmd);
        *out = false;
    }
    free(a);
    return r;
}

static int run_stream(struct sql_session *s, struct frame *f);

static char *expand_tilde(const char *p)
{
    const char *home = getenv("HOME");
    if (p[0] == '~' && (p[1] == '/' || !p[1]) && home)
        return xasprintf("%s%s", home, p + 1);
    return xstrdup(p);
}

static int include_file(struct sql_session *s, struct frame *f, const char *cmd, const char *arg,
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
        r = script_error(s, "%s: %s", path, strerror(errno));
        goto out;
    }
    struct stat st;
    if (fstat(fileno(in), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(in);
        r = script_error(s, "%s: Is a directory", path);
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
            r = script_error(s, "\\%s: include cycle: %s", cmd, chain.buf);
            strbuf_release(&chain);
            goto out;
        }
    }
    if (s->depth >= SQL_MAX_DEPTH) {
        fclose(in);
        r = script_error(s, "\\%s: includes nested too deeply (%d levels)", cmd, SQL_MAX_DEPTH);
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

/* psql commands that exist but that the runner does not implement. */
static const char *const psql_only[] = {
    "!", "?", "a", "bind", "c", "C", "cd", "conninfo", "connect", "copy", "copyright", "crosstabview",
    "d", "da", "db", "dc", "dd", "df", "dn", "dt", "dv", "e", "edit", "ef", "encoding", "errverbose",
    "ev", "f", "g", "gdesc", "getenv", "gexec", "gset", "gx", "h", "help", "H", "html", "l", "list",
    "lo_export", "lo_import", "lo_list", "lo_unlink", "o", "out", "p", "print", "password", "prompt",
    "pset", "r", "reset", "s", "setenv", "sf", "sv", "t", "T", "timing", "w", "write", "watch", "x",
    "z",
};

static bool is_psql_command(const char *cmd)
{
    static const char *const ours[] = {"echo", "qecho", "warn", "set", "unset", "i", "include",
                                       "ir", "include_relative", "q", "quit", "restrict",
                                       "unrestrict"};
    for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
        if (!strcmp(cmd, ours[i]))
            return true;
    for (size_t i = 0; i < ARRAY_SIZE(psql_only); i++)
        if (!strcmp(cmd, psql_only[i]))
            return true;
    return cmd[0] == 'd'; /* the \d family: \dt+, \dx, \dT ... */
}

static int meta_command(struct sql_session *s, struct frame *f)
{
    char *cmd = sql_scan_cmd(&f->lx);
    int r = 0;
    bool active = cond_active(f);
    f->lx.saw_backquote = false;

    if (s->restricted && active && strcmp(cmd, "unrestrict")) {
        r = script_error(s, "backslash commands are restricted; only \\unrestrict is allowed");
        goto out;
    }

    if (!strcmp(cmd, "if")) {
        if (active) {
            bool v;
            if ((r = eval_bool(s, f, cmd, &v)) < 0)
                goto out;
            ALLOC_GROW(f->conds, f->conds_nr + 1, f->conds_alloc);
            f->conds[f->conds_nr++] = v ? IF_TRUE : IF_FALSE;
        } else {
            eat_args(s, f, cmd, false);
            ALLOC_GROW(f->conds, f->conds_nr + 1, f->conds_alloc);
            f->conds[f->conds_nr++] = IF_IGNORED;
        }
    } else if (!strcmp(cmd, "elif")) {
        if (!f->conds_nr) {
            r = script_error(s, "\\elif: no matching \\if");
            goto out;
        }
        enum ifstate *st = &f->conds[f->conds_nr - 1];
        if (*st == ELSE_TRUE || *st == ELSE_FALSE) {
            r = script_error(s, "\\elif: cannot occur after \\else");
            goto out;
        }
        if (*st == IF_FALSE) {
            bool v;
            if ((r = eval_bool(s, f, cmd, &v)) < 0)
                goto out;
            *st = v ? IF_TRUE : IF_FALSE;
        } else {
            eat_args(s, f, cmd, false);
            *st = IF_IGNORED;
        }
    } else if (!strcmp(cmd, "else")) {
        if (!f->conds_nr) {
            r = script_error(s, "\\else: no matching \\if");
            goto out;
        }
        enum ifstate *st = &f->conds[f->conds_nr - 1];
        if (*st == ELSE_TRUE || *st == ELSE_FALSE) {
            r = script_error(s, "\\else: cannot occur after \\else");
            goto out;
        }
        *st = *st == IF_FALSE ? ELSE_TRUE : ELSE_FALSE;
    } else if (!strcmp(cmd, "endif")) {
        if (!f->conds_nr) {
            r = script_error(s, "\\endif: no matching \\if");
            goto out;
        }
        f->conds_nr--;
    } else if (!active && is_psql_command(cmd)) {
        /* inactive branch: psql skips its commands without running them */
        eat_args(s, f, cmd, false);
        goto out;
    } else if (!strcmp(cmd, "echo") || !strcmp(cmd, "qecho") || !strcmp(cmd, "warn")) {
        FILE *to = !strcmp(cmd, "warn") ? s->err : s->out;
        struct strbuf sb = STRBUF_INIT;
        bool no_newline = false, first = true, quoted;
        char *a;
        while ((a = sql_scan_arg(&f->lx, &s->vars, false, &quoted))) {
            flush_lexer_warnings(s, &f->lx);
            if (first && !no_newline && !quoted && !strcmp(a, "-n")) {
                no_newline = true;
            } else {
                if (!first)
                    strbuf_addch(&sb, ' ');
                first = false;
                strbuf_addstr(&sb, a);
            }
            free(a);
        }
        flush_lexer_warnings(s, &f->lx);
        bool newline = !no_newline;
        if (f->lx.saw_backquote) {
            strbuf_release(&sb);
            r = script_error(s, "\\%s: backquoted shell commands are not supported", cmd);
            goto out;
        }
        fwrite(sb.buf, 1, sb.len, to);
        if (newline)
            fputc('\n', to);
        fflush(to);
        strbuf_release(&sb);
        goto out; /* all arguments consumed */
    } else if (!strcmp(cmd, "set")) {
        char *name = next_arg(s, f, false);
        if (!name) {
            for (size_t i = 0; i < s->vars.nr; i++)
                fprintf(s->out, "%s = '%s'\n", s->vars.v[i].name, s->vars.v[i].value);
            goto out;
        }
        struct strbuf val = STRBUF_INIT;
        char *a;
        while ((a = next_arg(s, f, false))) {
            strbuf_addstr(&val, a);
            free(a);
        }
        if (f->lx.saw_backquote)
            r = script_error(s, "\\set: backquoted shell commands are not supported");
        else if (sql_vars_set(&s->vars, name, val.buf) < 0)
            r = script_error(s, "invalid variable name: \"%s\"", name);
        free(name);
        strbuf_release(&val);
        goto out;
    } else if (!strcmp(cmd, "unset")) {
        char *name = next_arg(s, f, false);
        if (!name) {
            r = script_error(s, "\\unset: missing required argument");
            goto out;
        }
        if (!sql_var_name_valid(name))
            r = script_error(s, "invalid variable name: \"%s\"", name);
        else
            sql_vars_unset(&s->vars, name);
        free(name);
    } else if (!strcmp(cmd, "i") || !strcmp(cmd, "include") || !strcmp(cmd, "ir") ||
               !strcmp(cmd, "include_relative")) {
        char *a = next_arg(s, f, true);
        if (!a) {
            r = script_error(s, "\\%s: missing required argument", cmd);
            goto out;
        }
        if (f->lx.saw_backquote) {
            free(a);
            r = script_error(s, "\\%s: backquoted shell commands are not supported", cmd);
            goto out;
        }
        r = include_file(s, f, cmd, a, cmd[1] == 'r' || !strcmp(cmd, "include_relative"));
        free(a);
        s->cur = f;
        if (r < 0 || s->quit)
            goto out;
    } else if (!strcmp(cmd, "q") || !strcmp(cmd, "quit")) {
        s->quit = true;
        goto out;
    } else if (!strcmp(cmd, "restrict")) {
        char *a = next_arg(s, f, false);
        if (!a) {
            r = script_error(s, "\\restrict: missing required argument");
            goto out;
        }
        free(s->restrict_key);
        s->restrict_key = a;
        s->restricted = true;
    } else if (!strcmp(cmd, "unrestrict")) {
        char *a = next_arg(s, f, false);
        if (!a) {
            r = script_error(s, "\\unrestrict: missing required argument");
            goto out;
        }
        if (!s->restricted)
            r = script_error(s, "\\unrestrict: not currently in restricted mode");
        else if (strcmp(a, s->restrict_key))
            r = script_error(s, "\\unrestrict: wrong key");
        else {
            s->restricted = false;
            free(s->restrict_key);
            s->restrict_key = NULL;
        }
        free(a);
        if (r < 0)
            goto out;
    } else {
        if (is_psql_command(cmd))
            r = script_error(s, "\\%s: meta-command not supported by dbtool's SQL runner", cmd);
        else
            r = script_error(s, "invalid command \\%s", cmd);
        goto out;
    }
    eat_args(s, f, cmd, true);
out:
    free(cmd);
    return r;
}

/* ---- the main loop ---- */

static void update_std_strings(struct sql_session *s, struct sql_lexer *lx)
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
            r = script_error(s, "interrupted");
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
        update_std_strings(s, &f->lx);
        sql_lexer_feed(&f->lx, s->line, len);
        for (;;) {
            bool active = cond_active(f);
            struct strbuf *target = active ? &f->query : &f->discard;
            size_t before = target->len;
            enum sql_scan_result res = sql_scan(&f->lx, target, active ? &s->vars : NULL);
            flush_lexer_warnings(s, &f->lx);
            if (active && before == 0 && target->len)
                f->query_line = f->lineno;
            if (res == SQL_SCAN_EOL)
                break;
            if (res == SQL_SCAN_SEMI) {
                if (active) {
                    r = run_query(s, f);
                    strbuf_reset(&f->query);
                    if (r < 0)
                        goto out;
                    update_std_strings(s, &f->lx);
                } else {
                    strbuf_reset(&f->discard);
                }
                sql_lexer_reset(&f->lx);
                continue;
            }
            /* SQL_SCAN_BACKSLASH */
            if ((r = meta_command(s, f)) < 0)
                goto out;
            if (s->quit)
                goto out;
        }
    }
    if (ferror(f->in)) {
        r = script_error(s, "%s: read error: %s", f->name, strerror(errno));
        goto out;
    }
    if (!s->quit && f->query.len && cond_active(f)) {
        r = run_query(s, f);
        strbuf_reset(&f->query);
        if (r < 0)
            goto out;
    }
    if (!s->quit && f->conds_nr)
        r = script_error(s, "reached EOF without finding closing \\endif(s)");
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
    /* what psql -X -v ON_ERROR_STOP=1 starts with (the ones scripts test) */
    sql_vars_set(&s->vars, "ON_ERROR_STOP", "1");
    sql_vars_set(&s->vars, "AUTOCOMMIT", "on");
    if (conn && PQstatus(conn) == CONNECTION_OK) {
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
    return s;
}

void sql_session_free(struct sql_session *s)
{
    if (!s)
        return;
    sql_vars_clear(&s->vars);
    free(s->line);
    free(s->restrict_key);
    free(s);
}

int sql_session_set(struct sql_session *s, const char *name, const char *value)
{
    if (!sql_var_name_valid(name))
        return script_error(s, "invalid variable name: \"%s\"", name);
    if (value)
        sql_vars_set(&s->vars, name, value);
    else
        sql_vars_unset(&s->vars, name);
    return 0;
}

int sql_session_assign(struct sql_session *s, const char *assignment)
{
    if (sql_vars_assign(&s->vars, assignment) < 0) {
        const char *eq = strchrnul(assignment, '=');
        return script_error(s, "invalid variable name: \"%.*s\"", (int)(eq - assignment),
                            assignment);
    }
    return 0;
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
    PQnoticeProcessor old = PQsetNoticeProcessor(s->conn, notice_processor, s);
    int r = run_stream(s, f);
    PQsetNoticeProcessor(s->conn, old, NULL);
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
        return script_error(s, "%s: %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f.in), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fclose(f.in);
            return script_error(s, "%s: Is a directory", path);
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
        return script_error(s, "cannot read script '%s': %s", name, strerror(errno));
    int r = run_top(s, &f);
    fclose(f.in);
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
