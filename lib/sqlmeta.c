/*
 * sqlmeta.c — the runner's psql meta-commands (see sqlscript.h): \if \elif
 * \else \endif, \echo \qecho \warn, \set \unset \getenv, \gset,
 * \c[onnect], \i \ir, \q, \restrict \unrestrict; psql's other commands are
 * known and refused. psql's command.c (exec_command_NAME) is the reference.
 * Files, statements and sessions are sqlscript.c.
 */
#include "lib/sqlscript_int.h"

/* ---- meta-commands ---- */

/* Eat the rest of a meta-command's arguments; WARN names the ignored ones. */
static void eat_args(struct sql_session *s, struct frame *f, const char *cmd, bool warn_extra)
{
    char *a;
    while ((a = sql_scan_arg(&f->lx, NULL, false, NULL))) {
        if (warn_extra)
            sqls_script_warning(s, "\\%s: extra argument \"%s\" ignored", cmd, a);
        free(a);
    }
    f->lx.saw_backquote = false;
    strbuf_reset(&f->lx.warnings);
}

static char *next_arg(struct sql_session *s, struct frame *f, bool semicolon)
{
    char *a = sql_scan_arg(&f->lx, &s->vars, semicolon, NULL);
    sqls_flush_lexer_warnings(s, &f->lx);
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
        r = sqls_script_error(s, "\\%s: backquoted shell commands are not supported", cmd);
    else if (sql_parse_bool(a ? a : "", out) < 0) {
        sqls_script_error(s, "unrecognized value \"%s\" for \"\\%s expression\": Boolean expected",
                          a ? a : "", cmd);
        *out = false;
    }
    free(a);
    return r;
}

/* psql commands that exist but that the runner does not implement. */
static const char *const psql_only[] = {
    "!", "?", "a", "bind", "C", "cd", "conninfo", "copy", "copyright", "crosstabview",
    "d", "da", "db", "dc", "dd", "df", "dn", "dt", "dv", "e", "edit", "ef", "encoding", "errverbose",
    "ev", "f", "g", "gdesc", "gexec", "gx", "h", "help", "H", "html", "l", "list",
    "lo_export", "lo_import", "lo_list", "lo_unlink", "o", "out", "p", "print", "password", "prompt",
    "pset", "r", "reset", "s", "setenv", "sf", "sv", "t", "T", "timing", "w", "write", "watch", "x",
    "z",
};

static bool is_psql_command(const char *cmd)
{
    static const char *const ours[] = {"echo", "qecho", "warn", "set", "unset", "i", "include",
                                       "ir", "include_relative", "q", "quit", "restrict",
                                       "unrestrict", "gset", "getenv", "c", "connect"};
    for (size_t i = 0; i < ARRAY_SIZE(ours); i++)
        if (!strcmp(cmd, ours[i]))
            return true;
    for (size_t i = 0; i < ARRAY_SIZE(psql_only); i++)
        if (!strcmp(cmd, psql_only[i]))
            return true;
    return cmd[0] == 'd'; /* the \d family: \dt+, \dx, \dT ... */
}

int sqls_meta_command(struct sql_session *s, struct frame *f)
{
    char *cmd = sql_scan_cmd(&f->lx);
    int r = 0;
    bool active = cond_active(f);
    f->lx.saw_backquote = false;

    if (s->restricted && active && strcmp(cmd, "unrestrict")) {
        r = sqls_script_error(s, "backslash commands are restricted; only \\unrestrict is allowed");
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
            r = sqls_script_error(s, "\\elif: no matching \\if");
            goto out;
        }
        enum ifstate *st = &f->conds[f->conds_nr - 1];
        if (*st == ELSE_TRUE || *st == ELSE_FALSE) {
            r = sqls_script_error(s, "\\elif: cannot occur after \\else");
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
            r = sqls_script_error(s, "\\else: no matching \\if");
            goto out;
        }
        enum ifstate *st = &f->conds[f->conds_nr - 1];
        if (*st == ELSE_TRUE || *st == ELSE_FALSE) {
            r = sqls_script_error(s, "\\else: cannot occur after \\else");
            goto out;
        }
        *st = *st == IF_FALSE ? ELSE_TRUE : ELSE_FALSE;
    } else if (!strcmp(cmd, "endif")) {
        if (!f->conds_nr) {
            r = sqls_script_error(s, "\\endif: no matching \\if");
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
            sqls_flush_lexer_warnings(s, &f->lx);
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
        sqls_flush_lexer_warnings(s, &f->lx);
        bool newline = !no_newline;
        if (f->lx.saw_backquote) {
            strbuf_release(&sb);
            r = sqls_script_error(s, "\\%s: backquoted shell commands are not supported", cmd);
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
            r = sqls_script_error(s, "\\set: backquoted shell commands are not supported");
        else
            r = sqls_set_var(s, name, val.buf);
        free(name);
        strbuf_release(&val);
        goto out;
    } else if (!strcmp(cmd, "unset")) {
        char *name = next_arg(s, f, false);
        if (!name) {
            r = sqls_script_error(s, "\\unset: missing required argument");
            goto out;
        }
        r = sqls_set_var(s, name, NULL);
        free(name);
        if (r < 0)
            goto out;
    } else if (!strcmp(cmd, "gset")) {
        char *prefix = next_arg(s, f, false);
        if (f->lx.saw_backquote) {
            free(prefix);
            r = sqls_script_error(s, "\\gset: backquoted shell commands are not supported");
            goto out;
        }
        eat_args(s, f, cmd, true);
        /* like psql: the query buffer, else the statement sent last, else nothing */
        if (f->query.len || s->prev_query.len) {
            s->gset_prefix = prefix ? prefix : xstrdup("");
            prefix = NULL;
            if (f->query.len)
                r = sqls_run_query(s, f, f->query.buf, f->query.len, f->query_line);
            else
                r = sqls_run_query(s, f, s->prev_query.buf, s->prev_query.len, f->lineno);
            free(s->gset_prefix);
            s->gset_prefix = NULL;
            strbuf_reset(&f->query);
            sql_lexer_reset(&f->lx);
            sqls_update_std_strings(s, &f->lx);
        }
        free(prefix);
        goto out;
    } else if (!strcmp(cmd, "getenv")) {
        char *name = next_arg(s, f, false);
        char *var = name ? next_arg(s, f, false) : NULL;
        if (!name || !var) {
            r = sqls_script_error(s, "\\%s: missing required argument", cmd);
        } else {
            const char *v = getenv(var);
            if (v)
                r = sqls_set_var(s, name, v);
        }
        free(name);
        free(var);
        if (r < 0)
            goto out;
    } else if (!strcmp(cmd, "c") || !strcmp(cmd, "connect")) {
        /* only \c [DBNAME]: the same host, port and user (psql's "-" keeps one) */
        char *db = next_arg(s, f, false);
        char *more[3] = {NULL, NULL, NULL};
        for (int i = 0; i < 3 && (i == 0 ? db != NULL : more[i - 1] != NULL); i++)
            more[i] = next_arg(s, f, false);
        if (db && db[0] == '"' && strlen(db) >= 2 && db[strlen(db) - 1] == '"') {
            /* psql's OT_SQLIDHACK: a double-quoted name loses its quotes */
            struct strbuf u = STRBUF_INIT;
            for (const char *p = db + 1; p < db + strlen(db) - 1; p++) {
                strbuf_addch(&u, *p);
                if (*p == '"' && p[1] == '"')
                    p++;
            }
            free(db);
            db = strbuf_detach(&u, NULL);
        } else if (db && (!*db || !strcmp(db, "-"))) {
            free(db);
            db = NULL;
        }
        bool other = f->lx.saw_backquote;
        for (int i = 0; i < 3; i++)
            if (more[i] && strcmp(more[i], "-"))
                other = true;
        if (db && (strchr(db, '=') || starts_with(db, "postgresql://") || starts_with(db, "postgres://")))
            other = true;
        if (other)
            r = sqls_script_error(s, "\\%s: only a database name is supported (dbtool's runner keeps the host, "
                                     "port and user)", cmd);
        else
            r = sqls_reconnect(s, db);
        free(db);
        for (int i = 0; i < 3; i++)
            free(more[i]);
        if (r < 0)
            goto out;
    } else if (!strcmp(cmd, "i") || !strcmp(cmd, "include") || !strcmp(cmd, "ir") ||
               !strcmp(cmd, "include_relative")) {
        char *a = next_arg(s, f, true);
        if (!a) {
            r = sqls_script_error(s, "\\%s: missing required argument", cmd);
            goto out;
        }
        if (f->lx.saw_backquote) {
            free(a);
            r = sqls_script_error(s, "\\%s: backquoted shell commands are not supported", cmd);
            goto out;
        }
        r = sqls_include_file(s, f, cmd, a, cmd[1] == 'r' || !strcmp(cmd, "include_relative"));
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
            r = sqls_script_error(s, "\\restrict: missing required argument");
            goto out;
        }
        free(s->restrict_key);
        s->restrict_key = a;
        s->restricted = true;
    } else if (!strcmp(cmd, "unrestrict")) {
        char *a = next_arg(s, f, false);
        if (!a) {
            r = sqls_script_error(s, "\\unrestrict: missing required argument");
            goto out;
        }
        if (!s->restricted)
            r = sqls_script_error(s, "\\unrestrict: not currently in restricted mode");
        else if (strcmp(a, s->restrict_key))
            r = sqls_script_error(s, "\\unrestrict: wrong key");
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
            r = sqls_script_error(s, "\\%s: meta-command not supported by dbtool's SQL runner", cmd);
        else
            r = sqls_script_error(s, "invalid command \\%s", cmd);
        goto out;
    }
    eat_args(s, f, cmd, true);
out:
    free(cmd);
    return r;
}
