/*
 * sqldiff_ddl.c — per kind of object: what changed between A and B
 * (sqld_classify) and the statements for it (sqld_emit), as actions the
 * engine in sqldiff.c orders; privileges, comments and owners of every
 * kind. Tables, columns, constraints and indexes are sqldiff_table.c's.
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

/* A quoted identifier with SUFFIX appended to the name inside the quotes. */
static char *ident_suffix(const char *quoted, const char *suffix)
{
    size_t n = strlen(quoted);
    if (n >= 2 && quoted[0] == '"')
        return xasprintf("%.*s%s\"", (int)(n - 1), quoted, suffix);
    return xasprintf("%s%s", quoted, suffix);
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

static const char *obj_word(const struct cat_object *o)
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

/* The object word GRANT/REVOKE use. */
static const char *grant_word(const struct cat_object *o)
{
    switch (o->kind) {
    case CAT_TABLE:
    case CAT_VIEW:
    case CAT_MATVIEW: return "TABLE";
    case CAT_FUNCTION: return CAT_AS(cat_function, o)->prokind == 'p' ? "PROCEDURE" : "FUNCTION";
    default: return obj_word(o);
    }
}

static const char *owner_sql(const struct cat_object *o)
{
    return o->owner ? o->owner : "CURRENT_USER";
}

/* ---- privileges ---- */

static int cmp_item_key(const struct cat_acl_item *x, const struct cat_acl_item *y)
{
    int c = strcmp(x->grantee, y->grantee);
    if (!c)
        c = strcmp(x->privilege, y->privilege);
    if (!c)
        c = strcmp(x->grantor ? x->grantor : "", y->grantor ? y->grantor : "");
    return c;
}

static const struct cat_acl_item *acl_find(const struct cat_acl *acl, const struct cat_acl_item *it)
{
    for (size_t i = 0; i < acl->nr; i++)
        if (!cmp_item_key(&acl->v[i], it))
            return &acl->v[i];
    return NULL;
}

/* One GRANT or REVOKE to write: privileges grouped by grantee, grantor and kind. */
struct acl_op {
    int op; /* 0 revoke, 1 revoke grant option, 2 grant, 3 grant with grant option */
    const struct cat_acl_item *it;
};

static int cmp_acl_op(const void *p, const void *q)
{
    const struct acl_op *x = p, *y = q;
    if (x->op != y->op)
        return x->op - y->op;
    int c = strcmp(x->it->grantee, y->it->grantee);
    if (!c)
        c = strcmp(x->it->grantor ? x->it->grantor : "", y->it->grantor ? y->it->grantor : "");
    if (!c)
        c = strcmp(x->it->privilege, y->it->privilege);
    return c;
}

/*
 * The GRANTs and REVOKEs that turn FROM into TO. PREFIX comes before the
 * verb ("" or "ALTER DEFAULT PRIVILEGES ... "), TARGET after ON; COLUMN makes
 * them column privileges; OWNER is what grantee OWNER is written as.
 */
static void acl_diff(struct action *act, const char *prefix, const char *target,
                     const char *column, const struct cat_acl *from, const struct cat_acl *to,
                     const char *owner, int version)
{
    struct acl_op *ops = xcalloc(from->nr + to->nr + 1, sizeof(*ops));
    size_t n = 0;
    for (size_t i = 0; i < from->nr; i++) {
        const struct cat_acl_item *b = acl_find(to, &from->v[i]);
        if (!b)
            ops[n++] = (struct acl_op){0, &from->v[i]};
        else if (from->v[i].grantable && !b->grantable)
            ops[n++] = (struct acl_op){1, &from->v[i]};
    }
    for (size_t i = 0; i < to->nr; i++) {
        const struct cat_acl_item *a = acl_find(from, &to->v[i]);
        if (!a)
            ops[n++] = (struct acl_op){to->v[i].grantable ? 3 : 2, &to->v[i]};
        else if (to->v[i].grantable && !a->grantable)
            ops[n++] = (struct acl_op){3, &to->v[i]};
    }
    qsort(ops, n, sizeof(*ops), cmp_acl_op);
    for (size_t i = 0; i < n;) {
        struct strbuf privs = STRBUF_INIT;
        size_t j = i;
        for (; j < n && ops[j].op == ops[i].op && !strcmp(ops[j].it->grantee, ops[i].it->grantee) &&
               sqld_streq0(ops[j].it->grantor, ops[i].it->grantor);
             j++) {
            strbuf_addf(&privs, "%s%s", j > i ? ", " : "", ops[j].it->privilege);
            if (column)
                strbuf_addf(&privs, " (%s)", column);
        }
        const struct cat_acl_item *it = ops[i].it;
        const char *who = !strcmp(it->grantee, "OWNER") ? owner : it->grantee;
        struct strbuf by = STRBUF_INIT;
        /* GRANTED BY in GRANT and REVOKE: PG 14+ (before, the grant is the applying role's) */
        if (it->grantor && !*prefix && version >= 140000)
            strbuf_addf(&by, " GRANTED BY %s", it->grantor);
        if (ops[i].op < 2)
            sqld_stmt(act, 0, NULL, "%sREVOKE %s%s ON %s FROM %s%s", prefix,
                      ops[i].op == 1 ? "GRANT OPTION FOR " : "", privs.buf, target, who, by.buf);
        else
            sqld_stmt(act, 0, NULL, "%sGRANT %s ON %s TO %s%s%s", prefix, privs.buf, target, who,
                      ops[i].op == 3 ? " WITH GRANT OPTION" : "", by.buf);
        strbuf_release(&privs);
        strbuf_release(&by);
        i = j;
    }
    free(ops);
}

static char defacl_objtype(enum cat_kind kind)
{
    switch (kind) {
    case CAT_TABLE:
    case CAT_VIEW:
    case CAT_MATVIEW: return 'r';
    case CAT_SEQUENCE: return 'S';
    case CAT_FUNCTION: return 'f';
    case CAT_TYPE: return 'T';
    case CAT_SCHEMA: return 'n';
    default: return 0;
    }
}

static int acl_index(char objtype)
{
    switch (objtype) {
    case 'r': return 0;
    case 'S': return 1;
    case 'f': return 2;
    case 'T': return 3;
    default: return 4;
    }
}

static int cmp_item(const void *p, const void *q)
{
    const struct cat_acl_item *x = p, *y = q;
    int c = cmp_item_key(x, y);
    return c ? c : (int)x->grantable - (int)y->grantable;
}

/*
 * The privileges a new object gets in A: the kind's defaults, replaced by
 * A's global default privileges and extended by its schema's, for the role
 * that creates it. *OUT's items are malloc'd (free out->v).
 */
static void initial_acl(struct differ *d, const struct cat_object *o, struct cat_acl *out)
{
    char t = defacl_objtype(o->kind);
    const struct cat_acl *base = &d->a->acldefault[acl_index(t)];
    const struct cat_acl *extra = NULL;
    for (size_t i = 0; i < d->a->ndefacls; i++) {
        const struct cat_defacl *x = d->a->defacls[i];
        if (x->objtype != t || !(d->a->owner ? sqld_streq0(x->role, o->owner) : !x->role))
            continue;
        if (!x->in_schema)
            base = &x->obj.acl;
        else if (o->schema && !strcmp(x->in_schema, o->schema))
            extra = &x->obj.acl;
    }
    out->nr = 0;
    out->v = xcalloc(base->nr + (extra ? extra->nr : 0) + 1, sizeof(*out->v));
    for (size_t i = 0; i < base->nr; i++)
        out->v[out->nr++] = base->v[i];
    for (size_t i = 0; extra && i < extra->nr; i++)
        if (!acl_find(out, &extra->v[i]))
            out->v[out->nr++] = extra->v[i];
    qsort(out->v, out->nr, sizeof(*out->v), cmp_item);
}

/* Owner, privileges and comment of an object: from A's (or a new object's) to B's. */
void sqld_attrs(struct differ *d, struct action *act, const struct cat_object *a,
                  const struct cat_object *b)
{
    if (b->owner && (!a || !sqld_streq0(a->owner, b->owner)) && b->kind != CAT_EXTENSION)
        sqld_stmt(act, 0, NULL, "ALTER %s %s OWNER TO %s", obj_word(b), b->ident, b->owner);
    if (catalog_acl_kind(b->kind) >= 0) {
        char *target = xasprintf("%s %s", grant_word(b), b->ident);
        if (a) {
            acl_diff(act, "", target, NULL, &a->acl, &b->acl, owner_sql(b), d->a->server_version);
        } else {
            struct cat_acl init;
            initial_acl(d, b, &init);
            acl_diff(act, "", target, NULL, &init, &b->acl, owner_sql(b), d->a->server_version);
            free(init.v);
        }
        free(target);
    }
    if (!sqld_streq0(a ? a->comment : NULL, b->comment)) {
        struct strbuf sb = STRBUF_INIT;
        if (b->comment)
            sqld_add_lit(&sb, b->comment);
        sqld_stmt(act, 0, NULL, "COMMENT ON %s %s IS %s", obj_word(b), b->ident,
                  b->comment ? sb.buf : "NULL");
        strbuf_release(&sb);
    }
}

bool sqld_attrs_differ(const struct cat_object *a, const struct cat_object *b)
{
    return !sqld_streq0(a->owner, b->owner) || !sqld_streq0(a->comment, b->comment) ||
           !catalog_acl_equal(&a->acl, &b->acl);
}

/* Comment and privileges of a column (A's may be NULL: a new column). */
void sqld_column_attrs(struct differ *d, struct action *act, const char *table,
                         const struct cat_column *a, const struct cat_column *b,
                         const struct cat_object *owner_obj)
{
    static const struct cat_acl none = {NULL, 0};
    if (!sqld_streq0(a ? a->comment : NULL, b->comment)) {
        struct strbuf sb = STRBUF_INIT;
        if (b->comment)
            sqld_add_lit(&sb, b->comment);
        sqld_stmt(act, 0, NULL, "COMMENT ON COLUMN %s.%s IS %s", table, b->name,
                  b->comment ? sb.buf : "NULL");
        strbuf_release(&sb);
    }
    char *target = xasprintf("TABLE %s", table);
    acl_diff(act, "", target, b->name, a ? &a->acl : &none, &b->acl, owner_sql(owner_obj),
             d->a->server_version);
    free(target);
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

/* Whether some column of a table in A has type T. */
static bool type_in_use(struct differ *d, const struct cat_object *t)
{
    for (size_t i = 0; i < d->a->nrelations; i++) {
        const struct cat_object *r = &d->a->relations[i]->obj;
        for (size_t k = 0; k < r->ndeps; k++)
            if (r->deps[k].ref == t && r->deps[k].column)
                return true;
    }
    return false;
}

/* Whether A's items appear in B in the same order (B may have more). */
static bool is_subsequence(const char **a, size_t na, const char **b, size_t nb)
{
    size_t j = 0;
    for (size_t i = 0; i < na; i++) {
        while (j < nb && strcmp(a[i], b[j]))
            j++;
        if (j++ >= nb)
            return false;
    }
    return true;
}

static enum state classify_type(struct differ *d, struct pair *p)
{
    const struct cat_type *a = CAT_AS(cat_type, p->a), *b = CAT_AS(cat_type, p->b);
    bool differ = sqld_attrs_differ(p->a, p->b);
    if (a->typtype != b->typtype)
        return ST_RECREATE;
    switch (a->typtype) {
    case 'e':
        if (sqld_strlists_equal(a->labels, a->nlabels, b->labels, b->nlabels))
            break;
        return is_subsequence(a->labels, a->nlabels, b->labels, b->nlabels) ? ST_ALTER
                                                                             : ST_RECREATE;
    case 'c': {
        /* ADD/DROP/ALTER ATTRIBUTE keep the others in order; a type used by a column cannot change */
        size_t last = 0;
        bool changed = false;
        for (size_t i = 0; i < a->nattrs; i++) {
            const struct cat_column *x = &a->attrs[i];
            const struct cat_column *y = sqld_find_column(b->attrs, b->nattrs, x->name);
            if (!y || strcmp(x->type, y->type) || !sqld_streq0(x->collation, y->collation)) {
                changed = true;
                if (!y)
                    continue;
            }
            size_t pos = y - b->attrs;
            if (pos < last)
                return ST_RECREATE;
            last = pos;
            differ |= !sqld_streq0(x->comment, y->comment);
        }
        for (size_t i = 0; i < b->nattrs; i++)
            if (!sqld_find_column(a->attrs, a->nattrs, b->attrs[i].name)) {
                changed = true;
                if (i < last)
                    return ST_RECREATE;
            }
        if (changed && type_in_use(d, p->a))
            return ST_RECREATE;
        differ |= changed;
        break;
    }
    case 'd':
        if (strcmp(a->base, b->base) || !sqld_streq0(a->collation, b->collation))
            return ST_RECREATE;
        differ |= !sqld_streq0(a->default_expr, b->default_expr) || a->not_null != b->not_null ||
                  a->nchecks != b->nchecks;
        for (size_t i = 0; i < a->nchecks && !differ; i++)
            differ = strcmp(a->checks[i].name, b->checks[i].name) ||
                     strcmp(a->checks[i].def, b->checks[i].def) ||
                     !sqld_streq0(a->checks[i].comment, b->checks[i].comment);
        break;
    case 'r':
        if (!sqld_streq0(a->base, b->base) || !sqld_streq0(a->opclass, b->opclass) ||
            !sqld_streq0(a->collation, b->collation) || !sqld_streq0(a->canonical, b->canonical) ||
            !sqld_streq0(a->subdiff, b->subdiff) || !sqld_streq0(a->multirange, b->multirange))
            return ST_RECREATE;
        break;
    }
    return differ ? ST_ALTER : ST_SAME;
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
        st = classify_type(d, p);
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
        sqld_stmt(act, hz, reason, "DROP %s %s", obj_word(o), o->ident);
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

static void domain_check_add(struct differ *d, struct action *act, const char *domain,
                             const struct cat_domain_check *c, bool existed)
{
    bool novalid = strstr(c->def, " NOT VALID") != NULL;
    if (existed && !novalid && !d->opts.plain_constraints) {
        sqld_stmt(act, 0, NULL, "ALTER DOMAIN %s ADD CONSTRAINT %s %s NOT VALID", domain, c->name, c->def);
        sqld_stmt_notx(act, 0, NULL, "ALTER DOMAIN %s VALIDATE CONSTRAINT %s", domain, c->name);
    } else {
        char *why = xasprintf("checks every column of domain %s", domain);
        sqld_stmt(act, existed && !novalid ? SQLDIFF_FULL_SCAN : 0, why,
                  "ALTER DOMAIN %s ADD CONSTRAINT %s %s", domain, c->name, c->def);
        free(why);
    }
    if (c->comment) {
        struct strbuf sb = STRBUF_INIT;
        sqld_add_lit(&sb, c->comment);
        sqld_stmt(act, 0, NULL, "COMMENT ON CONSTRAINT %s ON DOMAIN %s IS %s", c->name, domain, sb.buf);
        strbuf_release(&sb);
    }
}

static void create_type(struct differ *d, struct action *act, const struct cat_type *t)
{
    struct strbuf sb = STRBUF_INIT;
    switch (t->typtype) {
    case 'e':
        for (size_t i = 0; i < t->nlabels; i++)
            strbuf_addf(&sb, "%s%s", i ? ", " : "", t->labels[i]);
        sqld_stmt(act, 0, NULL, "CREATE TYPE %s AS ENUM (%s)", t->obj.ident, sb.buf);
        break;
    case 'c':
        for (size_t i = 0; i < t->nattrs; i++) {
            strbuf_addf(&sb, "%s%s %s", i ? ", " : "", t->attrs[i].name, t->attrs[i].type);
            if (t->attrs[i].collation)
                strbuf_addf(&sb, " COLLATE %s", t->attrs[i].collation);
        }
        sqld_stmt(act, 0, NULL, "CREATE TYPE %s AS (%s)", t->obj.ident, sb.buf);
        for (size_t i = 0; i < t->nattrs; i++)
            if (t->attrs[i].comment) {
                strbuf_reset(&sb);
                sqld_add_lit(&sb, t->attrs[i].comment);
                sqld_stmt(act, 0, NULL, "COMMENT ON COLUMN %s.%s IS %s", t->obj.ident,
                          t->attrs[i].name, sb.buf);
            }
        break;
    case 'd':
        strbuf_addf(&sb, "CREATE DOMAIN %s AS %s", t->obj.ident, t->base);
        if (t->collation)
            strbuf_addf(&sb, " COLLATE %s", t->collation);
        if (t->default_expr)
            strbuf_addf(&sb, " DEFAULT %s", t->default_expr);
        if (t->not_null)
            strbuf_addstr(&sb, " NOT NULL");
        for (size_t i = 0; i < t->nchecks; i++)
            if (!strstr(t->checks[i].def, " NOT VALID"))
                strbuf_addf(&sb, " CONSTRAINT %s %s", t->checks[i].name, t->checks[i].def);
        sqld_stmt(act, 0, NULL, "%s", sb.buf);
        for (size_t i = 0; i < t->nchecks; i++) {
            if (strstr(t->checks[i].def, " NOT VALID")) {
                domain_check_add(d, act, t->obj.ident, &t->checks[i], false);
            } else if (t->checks[i].comment) {
                strbuf_reset(&sb);
                sqld_add_lit(&sb, t->checks[i].comment);
                sqld_stmt(act, 0, NULL, "COMMENT ON CONSTRAINT %s ON DOMAIN %s IS %s",
                          t->checks[i].name, t->obj.ident, sb.buf);
            }
        }
        break;
    case 'r':
        strbuf_addf(&sb, "SUBTYPE = %s", t->base);
        if (t->opclass)
            strbuf_addf(&sb, ", SUBTYPE_OPCLASS = %s", t->opclass);
        if (t->collation)
            strbuf_addf(&sb, ", COLLATION = %s", t->collation);
        if (t->canonical)
            strbuf_addf(&sb, ", CANONICAL = %s", t->canonical);
        if (t->subdiff)
            strbuf_addf(&sb, ", SUBTYPE_DIFF = %s", t->subdiff);
        if (t->multirange) /* PG 14+ */
            strbuf_addf(&sb, ", MULTIRANGE_TYPE_NAME = %s", t->multirange);
        sqld_stmt(act, 0, NULL, "CREATE TYPE %s AS RANGE (%s)", t->obj.ident, sb.buf);
        break;
    }
    strbuf_release(&sb);
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
        create_type(d, act, CAT_AS(cat_type, o));
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

/* ---- types re-created by swapping ---- */

static void emit_swap(struct differ *d, struct pair *p)
{
    const struct cat_type *a = CAT_AS(cat_type, p->a), *b = CAT_AS(cat_type, p->b);
    char *old_name = ident_suffix(a->obj.name, "__dbtool_old");
    char *old_ident = xasprintf("%s.%s", a->obj.schema, old_name);
    char *why = xasprintf("re-creates type %s: values that do not convert make it fail, columns of "
                          "it are rewritten", b->obj.ident);
    struct action *act = sqld_action(d, PH_CREATE, &b->obj, NULL, true);
    sqld_source(act, &b->obj, SRC_ALL, NULL);
    sqld_stmt(act, SQLDIFF_DATA_LOSS, why, "ALTER %s %s RENAME TO %s", obj_word(&a->obj),
              a->obj.ident, old_name);
    create_type(d, act, b);
    sqld_attrs(d, act, NULL, &b->obj);
    struct action *fin = sqld_action(d, PH_FINAL, &a->obj, NULL, true);
    sqld_source(fin, &a->obj, SRC_ALL, NULL);
    sqld_stmt(fin, 0, NULL, "DROP %s %s", obj_word(&a->obj), old_ident);
    free(old_name);
    free(old_ident);
    free(why);
}

/* ---- alterations ---- */

static void alter_type(struct differ *d, struct action *act, const struct cat_type *a,
                       const struct cat_type *b)
{
    const char *id = b->obj.ident;
    struct strbuf sb = STRBUF_INIT;
    switch (a->typtype) {
    case 'e':
        for (size_t i = 0; i < b->nlabels; i++) {
            bool known = false;
            for (size_t k = 0; k < a->nlabels && !known; k++)
                known = !strcmp(a->labels[k], b->labels[i]);
            if (known)
                continue;
            /* the new value must be committed before later statements may use it */
            if (i)
                sqld_stmt_notx(act, 0, NULL, "ALTER TYPE %s ADD VALUE %s AFTER %s", id,
                               b->labels[i], b->labels[i - 1]);
            else
                sqld_stmt_notx(act, 0, NULL, "ALTER TYPE %s ADD VALUE %s BEFORE %s", id,
                               b->labels[i], b->labels[1]);
        }
        break;
    case 'c':
        for (size_t i = 0; i < a->nattrs; i++) {
            const struct cat_column *x = &a->attrs[i], *y = sqld_find_column(b->attrs, b->nattrs, x->name);
            if (!y) {
                sqld_stmt(act, 0, NULL, "ALTER TYPE %s DROP ATTRIBUTE %s", id, x->name);
            } else if (strcmp(x->type, y->type) || !sqld_streq0(x->collation, y->collation)) {
                strbuf_reset(&sb);
                if (y->collation)
                    strbuf_addf(&sb, " COLLATE %s", y->collation);
                sqld_stmt(act, 0, NULL, "ALTER TYPE %s ALTER ATTRIBUTE %s TYPE %s%s", id, x->name,
                          y->type, sb.buf);
            }
        }
        for (size_t i = 0; i < b->nattrs; i++) {
            const struct cat_column *y = &b->attrs[i], *x = sqld_find_column(a->attrs, a->nattrs, y->name);
            if (!x) {
                strbuf_reset(&sb);
                if (y->collation)
                    strbuf_addf(&sb, " COLLATE %s", y->collation);
                sqld_stmt(act, 0, NULL, "ALTER TYPE %s ADD ATTRIBUTE %s %s%s", id, y->name, y->type,
                          sb.buf);
            }
            if (!sqld_streq0(x ? x->comment : NULL, y->comment)) {
                strbuf_reset(&sb);
                if (y->comment)
                    sqld_add_lit(&sb, y->comment);
                sqld_stmt(act, 0, NULL, "COMMENT ON COLUMN %s.%s IS %s", id, y->name,
                          y->comment ? sb.buf : "NULL");
            }
        }
        break;
    case 'd':
        if (!sqld_streq0(a->default_expr, b->default_expr)) {
            if (b->default_expr)
                sqld_stmt(act, 0, NULL, "ALTER DOMAIN %s SET DEFAULT %s", id, b->default_expr);
            else
                sqld_stmt(act, 0, NULL, "ALTER DOMAIN %s DROP DEFAULT", id);
        }
        if (a->not_null && !b->not_null)
            sqld_stmt(act, 0, NULL, "ALTER DOMAIN %s DROP NOT NULL", id);
        for (size_t i = 0; i < a->nchecks; i++) {
            bool keep = false;
            for (size_t k = 0; k < b->nchecks && !keep; k++)
                keep = !strcmp(a->checks[i].name, b->checks[k].name) &&
                       !strcmp(a->checks[i].def, b->checks[k].def);
            if (!keep)
                sqld_stmt(act, 0, NULL, "ALTER DOMAIN %s DROP CONSTRAINT %s", id, a->checks[i].name);
        }
        for (size_t k = 0; k < b->nchecks; k++) {
            const struct cat_domain_check *old = NULL;
            for (size_t i = 0; i < a->nchecks && !old; i++)
                if (!strcmp(a->checks[i].name, b->checks[k].name) &&
                    !strcmp(a->checks[i].def, b->checks[k].def))
                    old = &a->checks[i];
            if (!old) {
                domain_check_add(d, act, id, &b->checks[k], true);
            } else if (!sqld_streq0(old->comment, b->checks[k].comment)) {
                strbuf_reset(&sb);
                if (b->checks[k].comment)
                    sqld_add_lit(&sb, b->checks[k].comment);
                sqld_stmt(act, 0, NULL, "COMMENT ON CONSTRAINT %s ON DOMAIN %s IS %s",
                          b->checks[k].name, id, b->checks[k].comment ? sb.buf : "NULL");
            }
        }
        if (!a->not_null && b->not_null) {
            char *why = xasprintf("checks every column of domain %s", id);
            sqld_stmt(act, SQLDIFF_FULL_SCAN, why, "ALTER DOMAIN %s SET NOT NULL", id);
            free(why);
        }
        break;
    }
    strbuf_release(&sb);
}

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
        alter_type(d, act, CAT_AS(cat_type, a), CAT_AS(cat_type, b));
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
        char *what = xasprintf("%s %s", obj_word(b), b->ident);
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

/* Default privileges: from A's entry (or the built-in default) to B's, at the end. */
static void emit_defacl(struct differ *d, struct pair *p)
{
    static const struct cat_acl none = {NULL, 0};
    const struct cat_defacl *x = CAT_AS(cat_defacl, p->a ? p->a : p->b);
    const struct cat_acl *base = x->in_schema ? &none : &d->a->acldefault[acl_index(x->objtype)];
    const struct cat_acl *from = p->a ? &p->a->acl : base, *to = p->b ? &p->b->acl : base;
    struct strbuf prefix = STRBUF_INIT;
    const char *word = strrchr(x->obj.ident, ' ') + 1;
    if (p->implicit_drop)
        return;
    strbuf_addstr(&prefix, "ALTER DEFAULT PRIVILEGES ");
    if (x->role)
        strbuf_addf(&prefix, "FOR ROLE %s ", x->role);
    if (x->in_schema)
        strbuf_addf(&prefix, "IN SCHEMA %s ", x->in_schema);
    struct action *act = sqld_action(d, PH_FINAL, &x->obj, NULL, false);
    acl_diff(act, prefix.buf, word, NULL, from, to, x->role ? x->role : "CURRENT_USER",
             d->a->server_version);
    strbuf_release(&prefix);
}

void sqld_emit(struct differ *d, struct pair *p)
{
    const struct cat_object *o = p->a ? p->a : p->b;
    if (o->kind == CAT_DEFACL) {
        if (p->state != ST_SAME)
            emit_defacl(d, p);
        return;
    }
    if (p->swap) {
        emit_swap(d, p);
        return;
    }
    if (p->state == ST_DROP || p->state == ST_RECREATE)
        emit_drop(d, p);
    if (p->state == ST_CREATE || p->state == ST_RECREATE)
        emit_create(d, p);
    if (p->state == ST_ALTER || (p->state == ST_SAME && (o->kind == CAT_TABLE || o->kind == CAT_SEQUENCE)))
        alter_object(d, p);
}
