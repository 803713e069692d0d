/*
 * sqldiff_ddl.c — per kind of object: what changed between A and B
 * (sqld_classify) and the statements for it (sqld_emit), as actions the
 * engine in sqldiff.c orders. Tables, columns, constraints and indexes
 * are sqldiff_table.c's, types sqldiff_type.c's, privileges, comments and
 * owners of every kind sqldiff_acl.c's.
 * The hazard of each statement is decided where it is written.
 */
#include "lib/sqldiff_int.h"

bool sqld_streq0(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Append S as a string literal (E'' when it holds a backslash). */
void sqld_add_lit(struct strbuf *sb, const char *s)
{
    bool bs = strchr(s, '\\') != NULL;
    strbuf_addstr(sb, bs ? "E'" : "'");
    for (; *s; s++) {
        if (*s == '\'' || (bs && *s == '\\'))
            strbuf_addch(sb, *s);
        strbuf_addch(sb, *s);
    }
    strbuf_addch(sb, '\'');
}

/* The text of a definition without trailing blanks and semicolon. */
static int deflen(const char *def)
{
    size_t n = strlen(def);
    while (n && (def[n - 1] == '\n' || def[n - 1] == ' ' || def[n - 1] == ';'))
        n--;
    return (int)n;
}

/* ---- words ---- */

const char *sqld_obj_word(const struct cat_object *o)
{
    switch (o->kind) {
    case CAT_SCHEMA: return "SCHEMA";
    case CAT_EXTENSION: return "EXTENSION";
    case CAT_TYPE: return CAT_AS(cat_type, o)->typtype == 'd' ? "DOMAIN" : "TYPE";
    case CAT_SEQUENCE: return "SEQUENCE";
    case CAT_TABLE: return "TABLE";
    case CAT_CONSTRAINT: return "CONSTRAINT";
    case CAT_INDEX: return "INDEX";
    case CAT_VIEW: return "VIEW";
    case CAT_MATVIEW: return "MATERIALIZED VIEW";
    case CAT_FUNCTION:
        switch (CAT_AS(cat_function, o)->prokind) {
        case 'p': return "PROCEDURE";
        case 'a': return "AGGREGATE";
        }
        return "FUNCTION";
    case CAT_TRIGGER: return "TRIGGER";
    case CAT_POLICY: return "POLICY";
    case CAT_EVENT_TRIGGER: return "EVENT TRIGGER";
    default: return "";
    }
}

/* ---- pieces of DDL ---- */

void sqld_seqopts_sql(struct strbuf *sb, const struct cat_seqopts *o, bool with_type)
{
    if (with_type)
        strbuf_addf(sb, "AS %s ", o->type);
    strbuf_addf(sb, "START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %sCYCLE",
                o->start, o->increment, o->min, o->max, o->cache, o->cycle ? "" : "NO ");
}

/* Only the options that differ, each as "SET X" (identity) or "X" (sequence). */
bool sqld_seqopts_changes(struct strbuf *sb, const struct cat_seqopts *a,
                            const struct cat_seqopts *b, const char *set)
{
    size_t len = sb->len;
#define OPT(field, word)                                                                           \
    if (!sqld_streq0(a->field, b->field))                                                               \
        strbuf_addf(sb, " %s" word " %s", set, b->field);
    OPT(increment, "INCREMENT BY");
    OPT(min, "MINVALUE");
    OPT(max, "MAXVALUE");
    OPT(start, "START WITH");
    OPT(cache, "CACHE");
#undef OPT
    if (a->cycle != b->cycle)
        strbuf_addf(sb, " %s%sCYCLE", set, b->cycle ? "" : "NO ");
    return sb->len > len;
}

/* Split "a=1, b=x" into KEY=VALUE items (malloc'd). */
static void options_list(const char *opts, struct strvec *out)
{
    const char *p = opts;
    while (p && *p) {
        const char *e = strstr(p, ", ");
        if (!e)
            e = p + strlen(p);
        char *item = xstrndup(p, e - p);
        strvec_push(out, item);
        free(item);
        p = *e ? e + 2 : e;
    }
}

static bool in_list(const struct strvec *v, const char *s, size_t keylen)
{
    for (size_t i = 0; i < v->nr; i++)
        if (keylen ? !strncmp(v->v[i], s, keylen) && v->v[i][keylen] == '=' : !strcmp(v->v[i], s))
            return true;
    return false;
}

/* ALTER WHAT SET (...) / RESET (...) from options A to B. */
void sqld_options_diff(struct action *act, const char *what, const char *a, const char *b)
{
    struct strvec va = STRVEC_INIT, vb = STRVEC_INIT;
    struct strbuf reset = STRBUF_INIT, set = STRBUF_INIT;
    options_list(a, &va);
    options_list(b, &vb);
    for (size_t i = 0; i < va.nr; i++) {
        size_t k = strcspn(va.v[i], "=");
        if (!in_list(&vb, va.v[i], k))
            strbuf_addf(&reset, "%s%.*s", reset.len ? ", " : "", (int)k, va.v[i]);
    }
    for (size_t i = 0; i < vb.nr; i++)
        if (!in_list(&va, vb.v[i], 0))
            strbuf_addf(&set, "%s%s", set.len ? ", " : "", vb.v[i]);
    if (reset.len)
        sqld_stmt(act, 0, NULL, "ALTER %s RESET (%s)", what, reset.buf);
    if (set.len)
        sqld_stmt(act, 0, NULL, "ALTER %s SET (%s)", what, set.buf);
    strvec_clear(&va);
    strvec_clear(&vb);
    strbuf_release(&reset);
    strbuf_release(&set);
}

/* ---- classification ---- */

bool sqld_strlists_equal(const char **a, size_t na, const char **b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return true;
}

const struct cat_column *sqld_find_column(const struct cat_column *cols, size_t n,
                                            const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cols[i].name, name))
            return &cols[i];
    return NULL;
}

/* A view's new columns extend the old ones (what CREATE OR REPLACE VIEW allows). */
static bool columns_appended(const struct cat_relation *a, const struct cat_relation *b)
{
    if (b->ncolumns < a->ncolumns)
        return false;
    for (size_t i = 0; i < a->ncolumns; i++)
        if (strcmp(a->columns[i].name, b->columns[i].name) ||
            strcmp(a->columns[i].type, b->columns[i].type) ||
            !sqld_streq0(a->columns[i].collation, b->columns[i].collation))
            return false;
    return true;
}

static bool view_columns_attrs_differ(const struct cat_relation *a, const struct cat_relation *b)
{
    for (size_t i = 0; i < b->ncolumns; i++) {
        const struct cat_column *x = sqld_find_column(a->columns, a->ncolumns, b->columns[i].name);
        if (!x || !sqld_streq0(x->comment, b->columns[i].comment) ||
            !catalog_acl_equal(&x->acl, &b->columns[i].acl))
            return true;
    }
    return false;
}

void sqld_classify(struct differ *d, struct pair *p)
{
    const struct cat_object *a = p->a, *b = p->b;
    if (!a) {
        p->state = ST_CREATE;
        return;
    }
    if (!b) {
        p->state = ST_DROP;
        return;
    }
    bool differ = sqld_attrs_differ(a, b);
    enum state st = ST_SAME;
    switch (a->kind) {
    case CAT_SCHEMA:
        break;
    case CAT_EXTENSION:
        differ |= !sqld_streq0(CAT_AS(cat_extension, a)->version, CAT_AS(cat_extension, b)->version) ||
                  !sqld_streq0(CAT_AS(cat_extension, a)->in_schema, CAT_AS(cat_extension, b)->in_schema);
        break;
    case CAT_TYPE:
        st = sqld_classify_type(d, p);
        break;
    case CAT_SEQUENCE: {
        const struct cat_sequence *x = CAT_AS(cat_sequence, a), *y = CAT_AS(cat_sequence, b);
        struct strbuf sb = STRBUF_INIT;
        differ |= sqld_seqopts_changes(&sb, &x->opts, &y->opts, "") || strcmp(x->opts.type, y->opts.type) ||
                  !sqld_streq0(x->owned_table, y->owned_table) || !sqld_streq0(x->owned_column, y->owned_column);
        strbuf_release(&sb);
        break;
    }
    case CAT_TABLE:
        st = sqld_classify_table(d, p);
        break;
    case CAT_CONSTRAINT:
        if (CAT_AS(cat_constraint, a)->type != CAT_AS(cat_constraint, b)->type ||
            strcmp(CAT_AS(cat_constraint, a)->def, CAT_AS(cat_constraint, b)->def))
            st = ST_RECREATE;
        break;
    case CAT_INDEX:
        if (strcmp(CAT_AS(cat_index, a)->def, CAT_AS(cat_index, b)->def))
            st = ST_RECREATE;
        break;
    case CAT_VIEW:
    case CAT_MATVIEW: {
        const struct cat_relation *x = CAT_AS(cat_relation, a), *y = CAT_AS(cat_relation, b);
        bool body = strcmp(x->def, y->def) || x->ncolumns != y->ncolumns || !columns_appended(x, y);
        if (body && (a->kind == CAT_MATVIEW || !columns_appended(x, y)))
            st = ST_RECREATE;
        differ |= body || !sqld_streq0(x->options, y->options) || view_columns_attrs_differ(x, y);
        break;
    }
    case CAT_FUNCTION: {
        const struct cat_function *x = CAT_AS(cat_function, a), *y = CAT_AS(cat_function, b);
        if (x->prokind != y->prokind || strcmp(x->args, y->args) || !sqld_streq0(x->result, y->result) ||
            (x->prokind == 'a' && strcmp(x->def, y->def)))
            st = ST_RECREATE;
        differ |= strcmp(x->def, y->def) != 0;
        break;
    }
    case CAT_TRIGGER:
        if (strcmp(CAT_AS(cat_trigger, a)->def, CAT_AS(cat_trigger, b)->def))
            st = ST_RECREATE;
        differ |= CAT_AS(cat_trigger, a)->enabled != CAT_AS(cat_trigger, b)->enabled;
        break;
    case CAT_POLICY: {
        const struct cat_policy *x = CAT_AS(cat_policy, a), *y = CAT_AS(cat_policy, b);
        if (x->permissive != y->permissive || strcmp(x->command, y->command) ||
            (x->using_expr && !y->using_expr) || (x->check_expr && !y->check_expr))
            st = ST_RECREATE;
        differ |= strcmp(x->roles, y->roles) || !sqld_streq0(x->using_expr, y->using_expr) ||
                  !sqld_streq0(x->check_expr, y->check_expr);
        break;
    }
    case CAT_EVENT_TRIGGER: {
        const struct cat_event_trigger *x = CAT_AS(cat_event_trigger, a),
                                       *y = CAT_AS(cat_event_trigger, b);
        if (strcmp(x->event, y->event) || strcmp(x->function, y->function) ||
            !sqld_streq0(x->tags, y->tags))
            st = ST_RECREATE;
        differ |= x->enabled != y->enabled;
        break;
    }
    default:
        break;
    }
    if (st == ST_SAME && differ)
        st = ST_ALTER;
    p->state = st;
    if (st == ST_RECREATE && a->kind == CAT_TYPE)
        p->swap = true;
}

/* ---- drops ---- */

static void emit_drop(struct differ *d, struct pair *p)
{
    const struct cat_object *o = p->a;
    struct action *act = sqld_action(d, PH_DROP, o, NULL, true);
    char *reason = NULL;
    unsigned hz = 0;
    sqld_source(act, o, SRC_ALL, NULL);
    if (p->implicit_drop)
        return;
    switch (o->kind) {
    case CAT_TABLE:
    case CAT_TYPE:
    case CAT_SEQUENCE:
        hz = SQLDIFF_DATA_LOSS;
        reason = xasprintf("drops %s %s%s", catalog_kind_name(o->kind), o->ident,
                           p->state == ST_RECREATE ? " (to create it again)" : "");
        break;
    default:
        break;
    }
    switch (o->kind) {
    case CAT_CONSTRAINT:
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s DROP CONSTRAINT %s", CAT_AS(cat_constraint, o)->table,
                  o->name);
        break;
    case CAT_DEFACL:
        break; /* an ALTER of default privileges: sqld_emit */
    default:
        sqld_stmt(act, hz, reason, "DROP %s %s", sqld_obj_word(o), o->ident);
        break;
    }
    free(reason);
}

/* ---- creates ---- */

static void create_sequence(struct differ *d, struct action *act, const struct cat_sequence *s)
{
    struct strbuf sb = STRBUF_INIT;
    sqld_seqopts_sql(&sb, &s->opts, true);
    sqld_stmt(act, 0, NULL, "CREATE SEQUENCE %s %s", s->obj.ident, sb.buf);
    strbuf_release(&sb);
}

/* ALTER SEQUENCE ... OWNED BY, in the create phase once the column is there. */
static void owned_by(struct differ *d, const struct cat_sequence *s)
{
    struct action *act = sqld_action(d, PH_CREATE, &s->obj, NULL, false);
    act->rank = 14;
    sqld_wait(act, CAT_SEQUENCE, s->obj.ident, NULL);
    sqld_wait(act, CAT_TABLE, s->owned_table, s->owned_column);
    sqld_stmt(act, 0, NULL, "ALTER SEQUENCE %s OWNED BY %s.%s", s->obj.ident, s->owned_table,
              s->owned_column);
}

static void view_columns(struct differ *d, struct action *act, const struct cat_relation *a,
                         const struct cat_relation *b)
{
    for (size_t i = 0; i < b->ncolumns; i++)
        sqld_column_attrs(d, act, b->obj.ident, a ? sqld_find_column(a->columns, a->ncolumns, b->columns[i].name) : NULL,
                     &b->columns[i], &b->obj);
}

static void create_view(struct differ *d, struct action *act, const struct cat_relation *v)
{
    struct strbuf with = STRBUF_INIT;
    if (v->options)
        strbuf_addf(&with, " WITH (%s)", v->options);
    if (v->relkind == 'm')
        sqld_stmt(act, 0, NULL, "CREATE MATERIALIZED VIEW %s%s AS\n%.*s\nWITH %sDATA", v->obj.ident,
                  with.buf, deflen(v->def), v->def, v->populated ? "" : "NO ");
    else
        sqld_stmt(act, 0, NULL, "CREATE VIEW %s%s AS\n%.*s", v->obj.ident, with.buf, deflen(v->def),
                  v->def);
    strbuf_release(&with);
    sqld_attrs(d, act, NULL, &v->obj);
    view_columns(d, act, NULL, v);
}

static void create_function(struct differ *d, struct action *act, const struct cat_function *f)
{
    if (!strcmp(f->language, "sql"))
        d->sql_functions = true;
    sqld_stmt(act, 0, NULL, "%.*s", deflen(f->def), f->def);
    sqld_attrs(d, act, NULL, &f->obj);
}

static const char *trigger_enable(char e)
{
    switch (e) {
    case 'D': return "DISABLE TRIGGER";
    case 'R': return "ENABLE REPLICA TRIGGER";
    case 'A': return "ENABLE ALWAYS TRIGGER";
    default: return "ENABLE TRIGGER";
    }
}

static const char *evt_enable(char e)
{
    switch (e) {
    case 'D': return "DISABLE";
    case 'R': return "ENABLE REPLICA";
    case 'A': return "ENABLE ALWAYS";
    default: return "ENABLE";
    }
}

static void create_policy(struct action *act, const struct cat_policy *p)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "CREATE POLICY %s AS %s FOR %s TO %s", p->obj.ident,
                p->permissive ? "PERMISSIVE" : "RESTRICTIVE", p->command, p->roles);
    if (p->using_expr)
        strbuf_addf(&sb, " USING (%s)", p->using_expr);
    if (p->check_expr)
        strbuf_addf(&sb, " WITH CHECK (%s)", p->check_expr);
    sqld_stmt(act, 0, NULL, "%s", sb.buf);
    strbuf_release(&sb);
}

static void emit_create(struct differ *d, struct pair *p)
{
    const struct cat_object *o = p->b;
    struct action *act = sqld_action(d, PH_CREATE, o, NULL, true);
    if (o->kind != CAT_TABLE && o->kind != CAT_CONSTRAINT)
        sqld_source(act, o, SRC_ALL, NULL);
    switch (o->kind) {
    case CAT_SCHEMA:
        sqld_stmt(act, 0, NULL, "CREATE SCHEMA %s", o->ident);
        sqld_attrs(d, act, NULL, o);
        break;
    case CAT_EXTENSION: {
        struct strbuf sb = STRBUF_INIT;
        sqld_add_lit(&sb, CAT_AS(cat_extension, o)->version);
        sqld_stmt(act, 0, NULL, "CREATE EXTENSION %s WITH SCHEMA %s VERSION %s", o->ident,
                  CAT_AS(cat_extension, o)->in_schema, sb.buf);
        strbuf_release(&sb);
        sqld_attrs(d, act, NULL, o);
        break;
    }
    case CAT_TYPE:
        sqld_create_type(d, act, CAT_AS(cat_type, o));
        sqld_attrs(d, act, NULL, o);
        break;
    case CAT_SEQUENCE:
        create_sequence(d, act, CAT_AS(cat_sequence, o));
        sqld_attrs(d, act, NULL, o);
        if (CAT_AS(cat_sequence, o)->owned_table)
            owned_by(d, CAT_AS(cat_sequence, o));
        break;
    case CAT_TABLE:
        sqld_create_table(d, act, CAT_AS(cat_relation, o));
        break;
    case CAT_CONSTRAINT:
        sqld_create_constraint(d, act, CAT_AS(cat_constraint, o));
        break;
    case CAT_INDEX:
        sqld_create_index(d, act, CAT_AS(cat_index, o));
        break;
    case CAT_VIEW:
    case CAT_MATVIEW:
        create_view(d, act, CAT_AS(cat_relation, o));
        break;
    case CAT_FUNCTION:
        create_function(d, act, CAT_AS(cat_function, o));
        break;
    case CAT_TRIGGER: {
        const struct cat_trigger *t = CAT_AS(cat_trigger, o);
        /*
         * The hectic bundle's event trigger attaches its triggers itself to
         * a table that inherits hectic.updated_at/immutable: the statement
         * must not fail when they are there already.
         */
        static const char plain[] = "CREATE TRIGGER ";
        bool hectic = starts_with(o->name, "hectic_") && strstr(t->def, " EXECUTE FUNCTION hectic.") &&
                      starts_with(t->def, plain);
        if (hectic && d->b->server_version >= 140000)
            sqld_stmt(act, 0, NULL, "CREATE OR REPLACE TRIGGER %s", t->def + strlen(plain));
        else if (hectic)
            sqld_stmt(act, 0, NULL, "DROP TRIGGER IF EXISTS %s ON %s", o->name, t->table);
        if (!hectic || d->b->server_version < 140000)
            sqld_stmt(act, 0, NULL, "%s", t->def);
        if (t->enabled != 'O')
            sqld_stmt(act, 0, NULL, "ALTER TABLE %s %s %s", t->table, trigger_enable(t->enabled),
                      o->name);
        sqld_attrs(d, act, NULL, o);
        break;
    }
    case CAT_POLICY:
        create_policy(act, CAT_AS(cat_policy, o));
        sqld_attrs(d, act, NULL, o);
        break;
    case CAT_EVENT_TRIGGER: {
        const struct cat_event_trigger *e = CAT_AS(cat_event_trigger, o);
        struct strbuf sb = STRBUF_INIT;
        if (e->tags)
            strbuf_addf(&sb, " WHEN TAG IN (%s)", e->tags);
        sqld_stmt(act, 0, NULL, "CREATE EVENT TRIGGER %s ON %s%s EXECUTE FUNCTION %s()", o->ident,
                  e->event, sb.buf, e->function);
        strbuf_release(&sb);
        if (e->enabled != 'O')
            sqld_stmt(act, 0, NULL, "ALTER EVENT TRIGGER %s %s", o->ident, evt_enable(e->enabled));
        sqld_attrs(d, act, NULL, o);
        break;
    }
    default:
        break;
    }
}

/* ---- alterations ---- */

static void alter_object(struct differ *d, struct pair *p)
{
    const struct cat_object *a = p->a, *b = p->b;
    struct action *act;
    if (a->kind == CAT_TABLE) {
        sqld_alter_table(d, p);
        return;
    }
    if (a->kind == CAT_SEQUENCE) {
        /* OWNED BY: let go of an owner that goes (or changes) before it is dropped */
        const struct cat_sequence *x = CAT_AS(cat_sequence, a), *y = CAT_AS(cat_sequence, b);
        struct pair *tp = x->owned_table ? sqld_pair(d, CAT_TABLE, x->owned_table) : NULL;
        struct colpair *c = tp ? sqld_colpair(tp, x->owned_column) : NULL;
        bool lost = tp && (sqld_gone(tp) || (c && (!c->b || c->recreate)));
        bool moved = !sqld_streq0(x->owned_table, y->owned_table) || !sqld_streq0(x->owned_column, y->owned_column);
        if (x->owned_table && (lost || moved)) {
            act = sqld_action(d, PH_DROP, a, NULL, false);
            sqld_wait(act, CAT_TABLE, x->owned_table, x->owned_column);
            sqld_stmt(act, 0, NULL, "ALTER SEQUENCE %s OWNED BY NONE", a->ident);
        }
        if (y->owned_table && (lost || moved))
            owned_by(d, y);
        if (p->state == ST_SAME)
            return;
    }
    if (p->state == ST_SAME)
        return;
    act = sqld_action(d, PH_CREATE, b, NULL, b->kind == CAT_VIEW || b->kind == CAT_FUNCTION);
    sqld_source(act, b, SRC_ALL, NULL);
    switch (a->kind) {
    case CAT_EXTENSION: {
        const struct cat_extension *x = CAT_AS(cat_extension, a), *y = CAT_AS(cat_extension, b);
        if (!sqld_streq0(x->in_schema, y->in_schema))
            sqld_stmt(act, 0, NULL, "ALTER EXTENSION %s SET SCHEMA %s", b->ident, y->in_schema);
        if (!sqld_streq0(x->version, y->version)) {
            struct strbuf sb = STRBUF_INIT;
            sqld_add_lit(&sb, y->version);
            sqld_stmt(act, 0, NULL, "ALTER EXTENSION %s UPDATE TO %s", b->ident, sb.buf);
            strbuf_release(&sb);
        }
        break;
    }
    case CAT_TYPE:
        sqld_alter_type(d, act, CAT_AS(cat_type, a), CAT_AS(cat_type, b));
        break;
    case CAT_SEQUENCE: {
        const struct cat_sequence *x = CAT_AS(cat_sequence, a), *y = CAT_AS(cat_sequence, b);
        struct strbuf sb = STRBUF_INIT;
        if (strcmp(x->opts.type, y->opts.type))
            strbuf_addf(&sb, " AS %s", y->opts.type);
        sqld_seqopts_changes(&sb, &x->opts, &y->opts, "");
        if (sb.len)
            sqld_stmt(act, 0, NULL, "ALTER SEQUENCE %s%s", b->ident, sb.buf);
        strbuf_release(&sb);
        break;
    }
    case CAT_VIEW:
    case CAT_MATVIEW: {
        const struct cat_relation *x = CAT_AS(cat_relation, a), *y = CAT_AS(cat_relation, b);
        char *what = xasprintf("%s %s", sqld_obj_word(b), b->ident);
        if (strcmp(x->def, y->def) || x->ncolumns != y->ncolumns) {
            /* CREATE OR REPLACE VIEW resets the options: set them again */
            sqld_stmt(act, 0, NULL, "CREATE OR REPLACE VIEW %s AS\n%.*s", b->ident, deflen(y->def), y->def);
            sqld_options_diff(act, what, NULL, y->options);
        } else {
            sqld_options_diff(act, what, x->options, y->options);
        }
        free(what);
        view_columns(d, act, x, y);
        break;
    }
    case CAT_FUNCTION:
        if (strcmp(CAT_AS(cat_function, a)->def, CAT_AS(cat_function, b)->def))
            create_function(d, act, CAT_AS(cat_function, b));
        break;
    case CAT_TRIGGER: {
        const struct cat_trigger *y = CAT_AS(cat_trigger, b);
        if (CAT_AS(cat_trigger, a)->enabled != y->enabled)
            sqld_stmt(act, 0, NULL, "ALTER TABLE %s %s %s", y->table, trigger_enable(y->enabled), b->name);
        break;
    }
    case CAT_POLICY: {
        const struct cat_policy *x = CAT_AS(cat_policy, a), *y = CAT_AS(cat_policy, b);
        struct strbuf sb = STRBUF_INIT;
        if (strcmp(x->roles, y->roles))
            strbuf_addf(&sb, " TO %s", y->roles);
        if (!sqld_streq0(x->using_expr, y->using_expr))
            strbuf_addf(&sb, " USING (%s)", y->using_expr);
        if (!sqld_streq0(x->check_expr, y->check_expr))
            strbuf_addf(&sb, " WITH CHECK (%s)", y->check_expr);
        if (sb.len)
            sqld_stmt(act, 0, NULL, "ALTER POLICY %s%s", b->ident, sb.buf);
        strbuf_release(&sb);
        break;
    }
    case CAT_EVENT_TRIGGER:
        if (CAT_AS(cat_event_trigger, a)->enabled != CAT_AS(cat_event_trigger, b)->enabled)
            sqld_stmt(act, 0, NULL, "ALTER EVENT TRIGGER %s %s", b->ident,
                      evt_enable(CAT_AS(cat_event_trigger, b)->enabled));
        break;
    default:
        break;
    }
    sqld_attrs(d, act, a, b);
}

void sqld_emit(struct differ *d, struct pair *p)
{
    const struct cat_object *o = p->a ? p->a : p->b;
    if (o->kind == CAT_DEFACL) {
        if (p->state != ST_SAME)
            sqld_emit_defacl(d, p);
        return;
    }
    if (p->swap) {
        sqld_emit_swap(d, p);
        return;
    }
    if (p->state == ST_DROP || p->state == ST_RECREATE)
        emit_drop(d, p);
    if (p->state == ST_CREATE || p->state == ST_RECREATE)
        emit_create(d, p);
    if (p->state == ST_ALTER || (p->state == ST_SAME && (o->kind == CAT_TABLE || o->kind == CAT_SEQUENCE)))
        alter_object(d, p);
}
