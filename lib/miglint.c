/*
 * miglint.c — `migrator lint` (see miglint.h). The runner walks each up
 * script with hooks that skip every statement; each statement is read with
 * lib/parse, whose findings become lint findings unless a comment accepts
 * them.
 */
#include "lib/miglint.h"
#include "lib/parse.h"
#include "lib/sqlscript.h"

#include <strings.h>

/* What each rule costs, appended to the parse module's description. */
/* What to do about each rule, appended to the parse module's description of the hazard. */
static const struct {
    const char *rule;
    const char *why;
} consequences[] = {
    {"drop-table", "its data is lost"},
    {"drop-column", "its data is lost, and code still reading it breaks"},
    {"drop-type", "columns and code using it break"},
    {"alter-column-type", "it holds an ACCESS EXCLUSIVE lock while it does"},
    {"add-column-volatile-default",
     "it holds an ACCESS EXCLUSIVE lock while it does: add the column without it, then fill it in batches"},
    {"add-fk-without-not-valid", "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration"},
    {"add-check-without-not-valid", "add it NOT VALID, then VALIDATE CONSTRAINT in a later migration"},
    {"create-index-without-concurrently",
     "CREATE INDEX CONCURRENTLY does not (the migrator runs it on its own, outside a transaction)"},
    {"set-not-null",
     "it holds an ACCESS EXCLUSIVE lock while it does; a validated CHECK (col IS NOT NULL) makes it instant"},
};

struct file_lines {
    char *path;
    struct strbuf text;
    struct strvec lines; /* lines.v[i] is line i + 1 */
    unsigned long prev_end;
};

struct lint_ctx {
    struct lint_result *out;
    const struct lint_opts *o;
    struct mig *m;
    struct strvec created; /* tables created earlier in the linted migrations: "schema.name" or "name" */
    bool lock_timeout_set; /* the current migration set lock_timeout (script, yaml or dbtool.yaml) */
    bool lock_reported;
    bool walk_failed;
    struct file_lines *files;
    size_t files_nr, files_alloc;
};

static struct file_lines *file_of(struct lint_ctx *c, const char *path)
{
    for (size_t i = 0; i < c->files_nr; i++)
        if (!strcmp(c->files[i].path, path))
            return &c->files[i];
    ALLOC_GROW(c->files, c->files_nr + 1, c->files_alloc);
    struct file_lines *fl = &c->files[c->files_nr++];
    memset(fl, 0, sizeof(*fl));
    fl->path = xstrdup(path);
    fl->text = (struct strbuf)STRBUF_INIT;
    if (strbuf_read_file(&fl->text, path) < 0)
        strbuf_reset(&fl->text);
    for (char *p = fl->text.buf; *p || p == fl->text.buf;) {
        char *nl = strchrnul(p, '\n');
        char save = *nl;
        *nl = 0;
        strvec_push(&fl->lines, p);
        *nl = save;
        if (!save)
            break;
        p = nl + 1;
    }
    return fl;
}

static void files_release(struct lint_ctx *c)
{
    for (size_t i = 0; i < c->files_nr; i++) {
        free(c->files[i].path);
        strbuf_release(&c->files[i].text);
        strvec_clear(&c->files[i].lines);
    }
    free(c->files);
    c->files = NULL;
    c->files_nr = c->files_alloc = 0;
}

/* Whether LINE holds "-- dbtool:allow ..." naming RULE (or all). */
static bool line_allows(const char *line, const char *rule)
{
    for (const char *p = line; (p = strstr(p, "--"));) {
        p += 2;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "dbtool:allow", 12)) {
            continue;
        }
        p += 12;
        while (*p && strncmp(p, "--", 2)) {
            while (*p == ' ' || *p == '\t' || *p == ',')
                p++;
            const char *w = p;
            while (*p && *p != ' ' && *p != '\t' && *p != ',')
                p++;
            size_t n = (size_t)(p - w);
            if (n && ((n == 3 && !strncmp(w, "all", 3)) || (strlen(rule) == n && !strncmp(w, rule, n))))
                return true;
        }
    }
    return false;
}

/* Whether a dbtool:allow comment between the previous statement of FL and END accepts RULE. */
static bool suppressed(const struct file_lines *fl, unsigned long end, const char *rule)
{
    for (unsigned long l = fl->prev_end + 1; l <= end && l <= fl->lines.nr; l++)
        if (line_allows(fl->lines.v[l - 1], rule))
            return true;
    return false;
}

static void add_note(struct lint_ctx *c, const char *file, unsigned line, char *msg)
{
    struct lint_result *r = c->out;
    ALLOC_GROW(r->notes, r->notes_nr + 1, r->notes_alloc);
    r->notes[r->notes_nr++] = (struct lint_note){xstrdup(c->m->name), xstrdup(file), line, msg};
}

static void add_finding(struct lint_ctx *c, const struct file_lines *fl, unsigned long end, const char *file,
                        unsigned line, unsigned col, const char *rule, char *msg)
{
    if (suppressed(fl, end, rule)) {
        c->out->suppressed++;
        free(msg);
        return;
    }
    struct lint_result *r = c->out;
    ALLOC_GROW(r->v, r->nr + 1, r->alloc);
    r->v[r->nr++] = (struct lint_finding){xstrdup(c->m->name), xstrdup(file), line, col, rule, msg};
}

static char *table_key(const char *schema, const char *name)
{
    return schema ? xasprintf("%s.%s", schema, name) : xstrdup(name);
}

/* Whether the table SCHEMA.NAME was created earlier in the linted migrations. */
static bool is_new_table(const struct lint_ctx *c, const char *schema, const char *name)
{
    if (!name)
        return false;
    for (size_t i = 0; i < c->created.nr; i++) {
        const char *k = c->created.v[i];
        const char *dot = strchr(k, '.');
        const char *kn = dot ? dot + 1 : k;
        if (strcmp(kn, name))
            continue;
        if (!schema || !dot)
            return true; /* unqualified on either side: the search path decides, assume the same */
        if ((size_t)(dot - k) == strlen(schema) && !strncmp(k, schema, (size_t)(dot - k)))
            return true;
    }
    return false;
}

static const char *consequence(const char *rule)
{
    for (size_t i = 0; i < ARRAY_SIZE(consequences); i++)
        if (!strcmp(consequences[i].rule, rule))
            return consequences[i].why;
    return NULL;
}

/*
 * The relation a statement locks strongly, when it is one the linted
 * migrations did not create: ALTER/DROP/RENAME of a table, CREATE INDEX
 * without CONCURRENTLY, CREATE TRIGGER. NULL when there is none (*what: how).
 */
static char *strong_lock(const struct lint_ctx *c, const struct parse_stmt *ps, const char **what)
{
    for (size_t i = 0; i < ps->changes_nr; i++) {
        const struct parse_change *ch = &ps->changes[i];
        if (ch->kind != PARSE_OBJ_TABLE && ch->kind != PARSE_OBJ_COLUMN)
            continue;
        const char *schema = ch->kind == PARSE_OBJ_COLUMN ? ch->table_schema : ch->schema;
        const char *name = ch->kind == PARSE_OBJ_COLUMN ? ch->table : ch->name;
        if (!name || is_new_table(c, schema, name))
            continue;
        *what = ch->action == PARSE_DROP ? "DROP TABLE" : ch->action == PARSE_RENAME ? "RENAME" : "ALTER TABLE";
        return table_key(schema, name);
    }
    const struct parse_finding *f = parse_stmt_finding(ps, "create-index-without-concurrently");
    if (f && f->name && !is_new_table(c, f->schema, f->name)) {
        *what = "CREATE INDEX";
        return table_key(f->schema, f->name);
    }
    for (size_t i = 0; i < ps->creates_nr; i++) {
        const struct parse_object *o = &ps->creates[i];
        if (o->kind == PARSE_OBJ_TRIGGER && o->table && !is_new_table(c, o->table_schema, o->table)) {
            *what = "CREATE TRIGGER";
            return table_key(o->table_schema, o->table);
        }
    }
    return NULL;
}

static enum sql_hook_result lint_before(void *arg, const struct sql_stmt *st)
{
    struct lint_ctx *c = arg;
    struct file_lines *fl = file_of(c, st->file);
    struct parse_list pl = PARSE_LIST_INIT;
    parse_sql(&pl, st->sql, (unsigned)st->line, 1);
    for (size_t i = 0; i < pl.nr; i++) {
        const struct parse_stmt *ps = &pl.v[i];
        if (ps->status == PARSE_UNKNOWN) {
            add_note(c, st->file, ps->pos.line,
                     xasprintf("not analysed: the PostgreSQL 15 grammar rejects it (%s); it runs as written",
                               ps->error ? ps->error : "syntax error"));
            continue;
        }
        if (ps->tx != PARSE_TX_NONE && ps->tx != PARSE_TX_SAVEPOINT && ps->tx != PARSE_TX_RELEASE &&
            ps->tx != PARSE_TX_ROLLBACK_TO && !c->m->no_tx)
            add_finding(c, fl, st->end_line, st->file, ps->pos.line, ps->pos.col, "transaction-control",
                        xstrdup("transaction control in a migration the migrator runs in one transaction: "
                                "'migrate' refuses it (remove it, or declare 'transaction: false' in "
                                MIG_META_FILE ")"));
        if (parse_stmt_finding(ps, "lock-timeout-set"))
            c->lock_timeout_set = true;
        const char *what = NULL;
        char *locked = strong_lock(c, ps, &what);
        if (locked && !c->lock_timeout_set && !c->lock_reported) {
            add_finding(c, fl, st->end_line, st->file, ps->pos.line, ps->pos.col, "missing-lock-timeout",
                        xasprintf("%s takes a strong lock on %s without lock_timeout: while it waits for a long "
                                  "query on %s, every query behind it waits too; set lock_timeout in "
                                  MIG_META_FILE ", dbtool.yaml migration.lock_timeout, or SET LOCAL lock_timeout "
                                  "before it", what, locked, locked));
            c->lock_reported = true;
        }
        free(locked);
        for (size_t k = 0; k < ps->findings_nr; k++) {
            const struct parse_finding *f = &ps->findings[k];
            if (!strcmp(f->rule, "lock-timeout-set"))
                continue;
            if (!strcmp(f->rule, "create-index-without-concurrently") && is_new_table(c, f->schema, f->name))
                continue;
            const char *why = consequence(f->rule);
            add_finding(c, fl, st->end_line, st->file, f->pos.line, f->pos.col, f->rule,
                        why ? xasprintf("%s; %s", f->message, why) : xstrdup(f->message));
        }
        for (size_t k = 0; k < ps->creates_nr; k++) {
            const struct parse_object *o = &ps->creates[k];
            if ((o->kind == PARSE_OBJ_TABLE || o->kind == PARSE_OBJ_MATVIEW || o->kind == PARSE_OBJ_FOREIGN_TABLE) &&
                o->name) {
                char *key = table_key(o->schema, o->name);
                strvec_push(&c->created, key);
                free(key);
            }
        }
    }
    parse_list_release(&pl);
    fl->prev_end = st->end_line;
    return SQL_HOOK_SKIP;
}

static int lint_connect(void *arg, const char *dbname)
{
    struct lint_ctx *c = arg;
    add_note(c, c->m->up, 0, xasprintf("\\connect %s: lint does not follow it; the rest is not linted", dbname));
    return -1;
}

int miglint_run(struct mig_folder *f, struct mig *const *list, size_t n, const struct lint_opts *o,
                struct lint_result *out)
{
    memset(out, 0, sizeof(*out));
    struct lint_ctx c = {.out = out, .o = o};
    c.created = (struct strvec)STRVEC_INIT;
    static FILE *devnull;
    if (!devnull)
        devnull = fopen("/dev/null", "we");
    for (size_t i = 0; i < n; i++) {
        struct mig *m = list[i];
        c.m = m;
        if (mig_resolve(f, m) < 0) {
            out->config_error = true;
            continue;
        }
        out->migrations++;
        if (!m->up) {
            add_note(&c, f->dir, 0, xasprintf("%s: not linted: %s", m->name, m->why ? m->why : "no up file"));
            continue;
        }
        c.lock_timeout_set = m->meta.lock_timeout || (o && o->lock_timeout);
        c.lock_reported = false;
        files_release(&c);
        struct sql_opts so = {devnull, stderr, true};
        struct sql_session *s = sql_session_new(NULL, &so);
        struct sql_hooks h = {&c, lint_before, NULL, lint_connect};
        sql_session_set_hooks(s, &h);
        int r = 0;
        for (size_t k = 0; o && o->vars && k < o->vars->nr && !r; k++)
            r = sql_session_assign(s, o->vars->v[k]);
        if (!r)
            r = sql_session_run_file(s, m->up);
        if (r < 0)
            add_note(&c, m->up, 0, xstrdup("the script could not be read to its end (see the error above); "
                                            "what follows the error is not linted"));
        sql_session_free(s);
    }
    files_release(&c);
    strvec_clear(&c.created);
    return 0;
}

void miglint_print(FILE *out, const struct lint_result *r, bool json)
{
    if (!json) {
        for (size_t i = 0; i < r->nr; i++) {
            const struct lint_finding *f = &r->v[i];
            fprintf(out, "%s:%u:%u: %s: %s\n", f->file, f->line, f->col, f->rule, f->message);
        }
        fflush(out);
        for (size_t i = 0; i < r->notes_nr; i++) {
            const struct lint_note *n = &r->notes[i];
            if (n->line)
                fprintf(stderr, "%s: %s:%u: note: %s\n", progname, n->file, n->line, n->message);
            else
                fprintf(stderr, "%s: %s: note: %s\n", progname, n->file, n->message);
        }
        return;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addstr(&sb, "{\"findings\": [");
    for (size_t i = 0; i < r->nr; i++) {
        const struct lint_finding *f = &r->v[i];
        strbuf_addstr(&sb, i ? ",\n    {\"migration\": " : "\n    {\"migration\": ");
        strbuf_add_json_str(&sb, f->migration);
        strbuf_addstr(&sb, ", \"file\": ");
        strbuf_add_json_str(&sb, f->file);
        strbuf_addf(&sb, ", \"line\": %u, \"column\": %u, \"rule\": \"%s\", \"message\": ", f->line, f->col, f->rule);
        strbuf_add_json_str(&sb, f->message);
        strbuf_addch(&sb, '}');
    }
    strbuf_addstr(&sb, r->nr ? "\n  ],\n  \"notes\": [" : "],\n  \"notes\": [");
    for (size_t i = 0; i < r->notes_nr; i++) {
        const struct lint_note *n = &r->notes[i];
        strbuf_addstr(&sb, i ? ",\n    {\"migration\": " : "\n    {\"migration\": ");
        strbuf_add_json_str(&sb, n->migration);
        strbuf_addstr(&sb, ", \"file\": ");
        strbuf_add_json_str(&sb, n->file);
        strbuf_addf(&sb, ", \"line\": %u, \"message\": ", n->line);
        strbuf_add_json_str(&sb, n->message);
        strbuf_addch(&sb, '}');
    }
    strbuf_addf(&sb, "%s],\n  \"suppressed\": %zu,\n  \"migrations\": %zu\n}\n", r->notes_nr ? "\n  " : "",
                r->suppressed, r->migrations);
    fwrite(sb.buf, 1, sb.len, out);
    fflush(out);
    strbuf_release(&sb);
}

void miglint_release(struct lint_result *r)
{
    for (size_t i = 0; i < r->nr; i++) {
        free(r->v[i].migration);
        free(r->v[i].file);
        free(r->v[i].message);
    }
    for (size_t i = 0; i < r->notes_nr; i++) {
        free(r->notes[i].migration);
        free(r->notes[i].file);
        free(r->notes[i].message);
    }
    free(r->v);
    free(r->notes);
    memset(r, 0, sizeof(*r));
}
