/*
 * sqldiff_ddl.c — per kind of object: what changed between A and B
 * (sqld_classify) and the statements for it (sqld_emit), as actions the
 * engine in sqldiff.c orders. The hazard of each statement is decided
 * where it is written.
 */
#include "lib/sqldiff_int.h"

static bool streq0(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* Append S as a string literal (E'' when it holds a backslash). */
static void add_lit(struct strbuf *sb, const char *s)
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
                     const char *owner)
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
               streq0(ops[j].it->grantor, ops[i].it->grantor);
             j++) {
            strbuf_addf(&privs, "%s%s", j > i ? ", " : "", ops[j].it->privilege);
            if (column)
                strbuf_addf(&privs, " (%s)", column);
        }
        const struct cat_acl_item *it = ops[i].it;
        const char *who = !strcmp(it->grantee, "OWNER") ? owner : it->grantee;
        struct strbuf by = STRBUF_INIT;
        if (it->grantor && !*prefix) /* GRANTED BY: PostgreSQL 14+ */
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
        if (x->objtype != t || !(d->a->owner ? streq0(x->role, o->owner) : !x->role))
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
static void attrs(struct differ *d, struct action *act, const struct cat_object *a,
                  const struct cat_object *b)
{
    if (b->owner && (!a || !streq0(a->owner, b->owner)) && b->kind != CAT_EXTENSION)
        sqld_stmt(act, 0, NULL, "ALTER %s %s OWNER TO %s", obj_word(b), b->ident, b->owner);
    if (catalog_acl_kind(b->kind) >= 0) {
        char *target = xasprintf("%s %s", grant_word(b), b->ident);
        if (a) {
            acl_diff(act, "", target, NULL, &a->acl, &b->acl, owner_sql(b));
        } else {
            struct cat_acl init;
            initial_acl(d, b, &init);
            acl_diff(act, "", target, NULL, &init, &b->acl, owner_sql(b));
            free(init.v);
        }
        free(target);
    }
    if (!streq0(a ? a->comment : NULL, b->comment)) {
        struct strbuf sb = STRBUF_INIT;
        if (b->comment)
            add_lit(&sb, b->comment);
        sqld_stmt(act, 0, NULL, "COMMENT ON %s %s IS %s", obj_word(b), b->ident,
                  b->comment ? sb.buf : "NULL");
        strbuf_release(&sb);
    }
}

static bool attrs_differ(const struct cat_object *a, const struct cat_object *b)
{
    return !streq0(a->owner, b->owner) || !streq0(a->comment, b->comment) ||
           !catalog_acl_equal(&a->acl, &b->acl);
}

/* Comment and privileges of a column (A's may be NULL: a new column). */
static void column_attrs(struct action *act, const char *table, const struct cat_column *a,
                         const struct cat_column *b, const struct cat_object *owner_obj)
{
    static const struct cat_acl none = {NULL, 0};
    if (!streq0(a ? a->comment : NULL, b->comment)) {
        struct strbuf sb = STRBUF_INIT;
        if (b->comment)
            add_lit(&sb, b->comment);
        sqld_stmt(act, 0, NULL, "COMMENT ON COLUMN %s.%s IS %s", table, b->name,
                  b->comment ? sb.buf : "NULL");
        strbuf_release(&sb);
    }
    char *target = xasprintf("TABLE %s", table);
    acl_diff(act, "", target, b->name, a ? &a->acl : &none, &b->acl, owner_sql(owner_obj));
    free(target);
}

/* ---- pieces of DDL ---- */

static void seqopts_sql(struct strbuf *sb, const struct cat_seqopts *o, bool with_type)
{
    if (with_type)
        strbuf_addf(sb, "AS %s ", o->type);
    strbuf_addf(sb, "START WITH %s INCREMENT BY %s MINVALUE %s MAXVALUE %s CACHE %s %sCYCLE",
                o->start, o->increment, o->min, o->max, o->cache, o->cycle ? "" : "NO ");
}

/* Only the options that differ, each as "SET X" (identity) or "X" (sequence). */
static bool seqopts_changes(struct strbuf *sb, const struct cat_seqopts *a,
                            const struct cat_seqopts *b, const char *set)
{
    size_t len = sb->len;
#define OPT(field, word)                                                                           \
    if (!streq0(a->field, b->field))                                                               \
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

static void column_def(struct strbuf *sb, const struct cat_column *c)
{
    strbuf_addf(sb, "%s %s", c->name, c->type);
    if (c->compression)
        strbuf_addf(sb, " COMPRESSION %s", c->compression);
    if (c->collation)
        strbuf_addf(sb, " COLLATE %s", c->collation);
    if (c->generated)
        strbuf_addf(sb, " GENERATED ALWAYS AS (%s) %s", c->default_expr,
                    c->generated == 'v' ? "VIRTUAL" : "STORED");
    else if (c->default_expr)
        strbuf_addf(sb, " DEFAULT %s", c->default_expr);
    if (c->not_null)
        strbuf_addstr(sb, " NOT NULL");
    if (c->identity) {
        strbuf_addf(sb, " GENERATED %s AS IDENTITY (", c->identity == 'a' ? "ALWAYS" : "BY DEFAULT");
        seqopts_sql(sb, &c->idseq, false);
        strbuf_addch(sb, ')');
    }
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
static void options_diff(struct action *act, const char *what, const char *a, const char *b)
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

/* ---- helpers about the schemas ---- */

/* The relation (table, view, materialized view) IDENT in CAT. */
static const struct cat_relation *relation(const struct catalog *cat, const char *ident)
{
    for (int k = CAT_TABLE; k <= CAT_MATVIEW; k++) {
        const struct cat_object *o = catalog_find(cat, (enum cat_kind)k, ident);
        if (o && k != CAT_CONSTRAINT && k != CAT_INDEX)
            return CAT_AS(cat_relation, o);
    }
    return NULL;
}

/* Whether relation IDENT exists in A and stays (so it may hold rows). */
static bool existing(struct differ *d, const char *ident)
{
    const struct cat_relation *r = relation(d->a, ident);
    struct pair *p = r ? sqld_pair(d, r->obj.kind, ident) : NULL;
    return p && p->b && !sqld_gone(p);
}

static const char *volatile_builtins[] = {
    "nextval(", "random(", "clock_timestamp(", "timeofday(", "gen_random_uuid(",
    "uuid_generate_v1(", "uuid_generate_v1mc(", "uuid_generate_v4(", "txid_current(",
    "setseed(", "gen_random_bytes(", NULL,
};

bool sqldiff_default_is_volatile(const struct catalog *cat, const char *expr)
{
    if (!expr)
        return false;
    for (const char **f = volatile_builtins; *f; f++) {
        const char *p = strstr(expr, *f);
        /* the name must start a word (not my_random() ) */
        while (p && p > expr && (p[-1] == '_' || p[-1] == '"' ||
                                 (p[-1] >= 'a' && p[-1] <= 'z') || (p[-1] >= '0' && p[-1] <= '9')))
            p = strstr(p + 1, *f);
        if (p)
            return true;
    }
    for (size_t i = 0; cat && i < cat->nfunctions; i++) {
        const struct cat_function *fn = cat->functions[i];
        if (fn->volatility != 'v')
            continue;
        char *call = xasprintf("%s.%s(", fn->obj.schema, fn->obj.name);
        bool hit = strstr(expr, call) != NULL;
        free(call);
        if (hit)
            return true;
    }
    return false;
}

char *sqldiff_index_sql(const char *def, bool concurrently)
{
    struct strbuf sb = STRBUF_INIT;
    const char *on = strstr(def, " ON ONLY ");
    const char *idx = strstr(def, "INDEX ");
    if (concurrently && idx && (!on || idx < on)) {
        strbuf_add(&sb, def, idx + 6 - def);
        strbuf_addstr(&sb, "CONCURRENTLY ");
        def = idx + 6;
    }
    on = strstr(def, " ON ONLY ");
    if (on) { /* a partitioned table's index as pg_get_indexdef prints it: build it on the partitions too */
        strbuf_add(&sb, def, on - def);
        strbuf_addstr(&sb, " ON ");
        def = on + 9;
    }
    strbuf_addstr(&sb, def);
    return strbuf_detach(&sb, NULL);
}

/* ---- classification ---- */

static bool column_differs(const struct cat_column *a, const struct cat_column *b)
{
    return strcmp(a->type, b->type) || !streq0(a->default_expr, b->default_expr) ||
           !streq0(a->collation, b->collation) || !streq0(a->compression, b->compression) ||
           a->identity != b->identity || a->generated != b->generated ||
           a->not_null != b->not_null || !streq0(a->comment, b->comment) ||
           !catalog_acl_equal(&a->acl, &b->acl) ||
           (a->identity && b->identity &&
            (!streq0(a->idseq.start, b->idseq.start) ||
             !streq0(a->idseq.increment, b->idseq.increment) ||
             !streq0(a->idseq.min, b->idseq.min) || !streq0(a->idseq.max, b->idseq.max) ||
             !streq0(a->idseq.cache, b->idseq.cache) || a->idseq.cycle != b->idseq.cycle));
}

static bool strlists_equal(const char **a, size_t na, const char **b, size_t nb)
{
    if (na != nb)
        return false;
    for (size_t i = 0; i < na; i++)
        if (strcmp(a[i], b[i]))
            return false;
    return true;
}

static const struct cat_column *find_column(const struct cat_column *cols, size_t n,
                                            const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (!strcmp(cols[i].name, name))
            return &cols[i];
    return NULL;
}

static enum state classify_table(struct differ *d, struct pair *p)
{
    const struct cat_relation *a = CAT_AS(cat_relation, p->a), *b = CAT_AS(cat_relation, p->b);
    bool differ = attrs_differ(p->a, p->b);
    p->cols = xcalloc(a->ncolumns + b->ncolumns + 1, sizeof(*p->cols));
    for (size_t i = 0; i < a->ncolumns; i++) {
        struct colpair *c = &p->cols[p->ncols++];
        c->a = &a->columns[i];
        c->b = find_column(b->columns, b->ncolumns, c->a->name);
        if (!c->b) {
            c->changed = differ = true;
            continue;
        }
        if (column_differs(c->a, c->b))
            differ = true;
        if (!c->a->generated && c->b->generated)
            c->recreate = true;
        /* PG 17 changes a generation expression in place (SET EXPRESSION); before, drop and add */
        if (c->a->generated && c->b->generated && !streq0(c->a->default_expr, c->b->default_expr) &&
            (d->a->server_version < 170000 || c->a->generated != c->b->generated))
            c->recreate = true;
        if (c->recreate || strcmp(c->a->type, c->b->type) || !streq0(c->a->collation, c->b->collation))
            c->changed = true;
    }
    for (size_t i = 0; i < b->ncolumns; i++)
        if (!find_column(a->columns, a->ncolumns, b->columns[i].name)) {
            p->cols[p->ncols++].b = &b->columns[i];
            differ = true;
        }
    if (a->relkind != b->relkind || !streq0(a->partkey, b->partkey))
        return ST_RECREATE;
    if (a->unlogged != b->unlogged || !streq0(a->options, b->options) || a->rls != b->rls ||
        a->force_rls != b->force_rls || !streq0(a->parent, b->parent) ||
        !streq0(a->bound, b->bound) || !strlists_equal(a->inherits, a->ninherits, b->inherits, b->ninherits))
        differ = true;
    return differ ? ST_ALTER : ST_SAME;
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
    bool differ = attrs_differ(p->a, p->b);
    if (a->typtype != b->typtype)
        return ST_RECREATE;
    switch (a->typtype) {
    case 'e':
        if (strlists_equal(a->labels, a->nlabels, b->labels, b->nlabels))
            break;
        return is_subsequence(a->labels, a->nlabels, b->labels, b->nlabels) ? ST_ALTER
                                                                             : ST_RECREATE;
    case 'c': {
        /* ADD/DROP/ALTER ATTRIBUTE keep the others in order; a type used by a column cannot change */
        size_t last = 0;
        bool changed = false;
        for (size_t i = 0; i < a->nattrs; i++) {
            const struct cat_column *x = &a->attrs[i];
            const struct cat_column *y = find_column(b->attrs, b->nattrs, x->name);
            if (!y || strcmp(x->type, y->type) || !streq0(x->collation, y->collation)) {
                changed = true;
                if (!y)
                    continue;
            }
            size_t pos = y - b->attrs;
            if (pos < last)
                return ST_RECREATE;
            last = pos;
            differ |= !streq0(x->comment, y->comment);
        }
        for (size_t i = 0; i < b->nattrs; i++)
            if (!find_column(a->attrs, a->nattrs, b->attrs[i].name)) {
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
        if (strcmp(a->base, b->base) || !streq0(a->collation, b->collation))
            return ST_RECREATE;
        differ |= !streq0(a->default_expr, b->default_expr) || a->not_null != b->not_null ||
                  a->nchecks != b->nchecks;
        for (size_t i = 0; i < a->nchecks && !differ; i++)
            differ = strcmp(a->checks[i].name, b->checks[i].name) ||
                     strcmp(a->checks[i].def, b->checks[i].def) ||
                     !streq0(a->checks[i].comment, b->checks[i].comment);
        break;
    case 'r':
        if (!streq0(a->base, b->base) || !streq0(a->opclass, b->opclass) ||
            !streq0(a->collation, b->collation) || !streq0(a->canonical, b->canonical) ||
            !streq0(a->subdiff, b->subdiff) || !streq0(a->multirange, b->multirange))
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
            !streq0(a->columns[i].collation, b->columns[i].collation))
            return false;
    return true;
}

static bool view_columns_attrs_differ(const struct cat_relation *a, const struct cat_relation *b)
{
    for (size_t i = 0; i < b->ncolumns; i++) {
        const struct cat_column *x = find_column(a->columns, a->ncolumns, b->columns[i].name);
        if (!x || !streq0(x->comment, b->columns[i].comment) ||
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
    bool differ = attrs_differ(a, b);
    enum state st = ST_SAME;
    switch (a->kind) {
    case CAT_SCHEMA:
        break;
    case CAT_EXTENSION:
        differ |= !streq0(CAT_AS(cat_extension, a)->version, CAT_AS(cat_extension, b)->version) ||
                  !streq0(CAT_AS(cat_extension, a)->in_schema, CAT_AS(cat_extension, b)->in_schema);
        break;
    case CAT_TYPE:
        st = classify_type(d, p);
        break;
    case CAT_SEQUENCE: {
        const struct cat_sequence *x = CAT_AS(cat_sequence, a), *y = CAT_AS(cat_sequence, b);
        struct strbuf sb = STRBUF_INIT;
        differ |= seqopts_changes(&sb, &x->opts, &y->opts, "") || strcmp(x->opts.type, y->opts.type) ||
                  !streq0(x->owned_table, y->owned_table) || !streq0(x->owned_column, y->owned_column);
        strbuf_release(&sb);
        break;
    }
    case CAT_TABLE:
        st = classify_table(d, p);
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
        differ |= body || !streq0(x->options, y->options) || view_columns_attrs_differ(x, y);
        break;
    }
    case CAT_FUNCTION: {
        const struct cat_function *x = CAT_AS(cat_function, a), *y = CAT_AS(cat_function, b);
        if (x->prokind != y->prokind || strcmp(x->args, y->args) || !streq0(x->result, y->result) ||
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
        differ |= strcmp(x->roles, y->roles) || !streq0(x->using_expr, y->using_expr) ||
                  !streq0(x->check_expr, y->check_expr);
        break;
    }
    case CAT_EVENT_TRIGGER: {
        const struct cat_event_trigger *x = CAT_AS(cat_event_trigger, a),
                                       *y = CAT_AS(cat_event_trigger, b);
        if (strcmp(x->event, y->event) || strcmp(x->function, y->function) ||
            !streq0(x->tags, y->tags))
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
    seqopts_sql(&sb, &s->opts, true);
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
        add_lit(&sb, c->comment);
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
                add_lit(&sb, t->attrs[i].comment);
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
                add_lit(&sb, t->checks[i].comment);
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

/* Whether constraint K goes inside its new table's CREATE TABLE. */
static bool inline_constraint(struct differ *d, const struct cat_constraint *k)
{
    const struct cat_relation *r = relation(d->b, k->table);
    struct pair *tp = sqld_pair(d, CAT_TABLE, k->table);
    return r && !r->parent && tp && (tp->state == ST_CREATE || tp->state == ST_RECREATE) &&
           k->type != 'f' && !strstr(k->def, " NOT VALID");
}

static void create_table(struct differ *d, struct action *act, const struct cat_relation *r)
{
    struct strbuf sb = STRBUF_INIT;
    sqld_source(act, &r->obj, SRC_ALL, NULL);
    if (r->parent) {
        strbuf_addf(&sb, "CREATE TABLE %s PARTITION OF %s %s", r->obj.ident, r->parent, r->bound);
    } else {
        strbuf_addf(&sb, "CREATE %sTABLE %s (", r->unlogged ? "UNLOGGED " : "", r->obj.ident);
        for (size_t i = 0; i < r->ncolumns; i++) {
            strbuf_addstr(&sb, i ? ",\n    " : "\n    ");
            column_def(&sb, &r->columns[i]);
        }
        for (size_t i = 0, n = r->ncolumns; i < r->nconstraints; i++) {
            const struct cat_constraint *k = r->constraints[i];
            if (!inline_constraint(d, k))
                continue;
            strbuf_addf(&sb, "%sCONSTRAINT %s %s", n++ ? ",\n    " : "\n    ", k->obj.name, k->def);
            sqld_source(act, &k->obj, SRC_ALL, NULL);
        }
        strbuf_addstr(&sb, r->ncolumns || r->nconstraints ? "\n)" : ")");
        for (size_t i = 0; i < r->ninherits; i++)
            strbuf_addf(&sb, "%s%s", i ? ", " : " INHERITS (", r->inherits[i]);
        if (r->ninherits)
            strbuf_addch(&sb, ')');
    }
    if (r->partkey)
        strbuf_addf(&sb, " PARTITION BY %s", r->partkey);
    if (r->options)
        strbuf_addf(&sb, " WITH (%s)", r->options);
    sqld_stmt(act, 0, NULL, "%s", sb.buf);
    strbuf_release(&sb);
    if (r->rls)
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ENABLE ROW LEVEL SECURITY", r->obj.ident);
    if (r->force_rls)
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s FORCE ROW LEVEL SECURITY", r->obj.ident);
    attrs(d, act, NULL, &r->obj);
    for (size_t i = 0; i < r->ncolumns; i++)
        column_attrs(act, r->obj.ident, NULL, &r->columns[i], &r->obj);
}

static void view_columns(struct differ *d, struct action *act, const struct cat_relation *a,
                         const struct cat_relation *b)
{
    for (size_t i = 0; i < b->ncolumns; i++)
        column_attrs(act, b->obj.ident, a ? find_column(a->columns, a->ncolumns, b->columns[i].name) : NULL,
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
    attrs(d, act, NULL, &v->obj);
    view_columns(d, act, NULL, v);
}

static void create_function(struct differ *d, struct action *act, const struct cat_function *f)
{
    if (!strcmp(f->language, "sql"))
        d->sql_functions = true;
    sqld_stmt(act, 0, NULL, "%.*s", deflen(f->def), f->def);
    attrs(d, act, NULL, &f->obj);
}

static void create_index(struct differ *d, struct action *act, const struct cat_index *x)
{
    const struct cat_relation *t = relation(d->b, x->table);
    bool old = existing(d, x->table);
    bool concurrently = old && !d->opts.blocking_indexes && t && t->relkind != 'p';
    char *sql = sqldiff_index_sql(x->def, concurrently);
    if (concurrently) {
        sqld_stmt_notx(act, 0, NULL, "%s", sql);
    } else {
        char *why = xasprintf("builds index %s and blocks writes to %s", x->obj.ident, x->table);
        sqld_stmt(act, old ? SQLDIFF_BLOCKING_INDEX : 0, why, "%s", sql);
        free(why);
    }
    free(sql);
    attrs(d, act, NULL, &x->obj);
}

/* "PRIMARY KEY (a, b)" / "UNIQUE (a) INCLUDE (b)" → the index's column part; NULL when not that simple. */
static char *key_columns(const char *def, const char **kind)
{
    const char *p;
    if (starts_with(def, "PRIMARY KEY ("))
        *kind = "PRIMARY KEY", p = def + 12;
    else if (starts_with(def, "UNIQUE ("))
        *kind = "UNIQUE", p = def + 7;
    else
        return NULL;
    const char *end = strchr(p, ')');
    if (!end)
        return NULL;
    end++;
    if (starts_with(end, " INCLUDE (")) {
        end = strchr(end + 10, ')');
        if (!end)
            return NULL;
        end++;
    }
    if (*end && !starts_with(end, " DEFERRABLE"))
        return NULL;
    return xstrndup(p, end - p);
}

static void create_constraint(struct differ *d, struct action *act, const struct cat_constraint *k)
{
    const struct cat_relation *t = relation(d->b, k->table);
    bool old = existing(d, k->table), partitioned = t && t->relkind == 'p';
    bool novalid = strstr(k->def, " NOT VALID") != NULL;
    char *why = NULL;
    sqld_source(act, &k->obj, SRC_ALL, NULL);
    if (inline_constraint(d, k))
        goto comment;
    if (old && (k->type == 'f' || k->type == 'c') && !novalid) {
        /* FK NOT VALID on a partitioned table: PG 18+ */
        bool split = !d->opts.plain_constraints &&
                     (k->type == 'c' || !partitioned || d->a->server_version >= 180000);
        if (split) {
            sqld_stmt(act, 0, NULL, "ALTER TABLE %s ADD CONSTRAINT %s %s NOT VALID", k->table,
                      k->obj.name, k->def);
            sqld_stmt_notx(act, 0, NULL, "ALTER TABLE %s VALIDATE CONSTRAINT %s", k->table, k->obj.name);
        } else {
            why = xasprintf("checks every row of %s under lock", k->table);
            sqld_stmt(act, SQLDIFF_FULL_SCAN, why, "ALTER TABLE %s ADD CONSTRAINT %s %s", k->table,
                      k->obj.name, k->def);
        }
        goto comment;
    }
    if (old && (k->type == 'p' || k->type == 'u' || k->type == 'x')) {
        const char *kw = NULL;
        char *cols = k->type == 'x' ? NULL : key_columns(k->def, &kw);
        if (cols && !partitioned && !d->opts.blocking_indexes) {
            const char *rest = k->def + strlen(kw) + 1 + strlen(cols);
            sqld_stmt_notx(act, 0, NULL, "CREATE UNIQUE INDEX CONCURRENTLY %s ON %s %s",
                           k->obj.name, k->table, cols);
            sqld_stmt(act, 0, NULL, "ALTER TABLE %s ADD CONSTRAINT %s %s USING INDEX %s%s",
                      k->table, k->obj.name, kw, k->obj.name, rest);
        } else {
            why = xasprintf("builds the index of %s and blocks writes to %s", k->obj.name, k->table);
            sqld_stmt(act, SQLDIFF_BLOCKING_INDEX, why, "ALTER TABLE %s ADD CONSTRAINT %s %s",
                      k->table, k->obj.name, k->def);
        }
        free(cols);
        goto comment;
    }
    sqld_stmt(act, 0, NULL, "ALTER TABLE %s ADD CONSTRAINT %s %s", k->table, k->obj.name, k->def);
comment:
    free(why);
    attrs(d, act, NULL, &k->obj);
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
        attrs(d, act, NULL, o);
        break;
    case CAT_EXTENSION: {
        struct strbuf sb = STRBUF_INIT;
        add_lit(&sb, CAT_AS(cat_extension, o)->version);
        sqld_stmt(act, 0, NULL, "CREATE EXTENSION %s WITH SCHEMA %s VERSION %s", o->ident,
                  CAT_AS(cat_extension, o)->in_schema, sb.buf);
        strbuf_release(&sb);
        attrs(d, act, NULL, o);
        break;
    }
    case CAT_TYPE:
        create_type(d, act, CAT_AS(cat_type, o));
        attrs(d, act, NULL, o);
        break;
    case CAT_SEQUENCE:
        create_sequence(d, act, CAT_AS(cat_sequence, o));
        attrs(d, act, NULL, o);
        if (CAT_AS(cat_sequence, o)->owned_table)
            owned_by(d, CAT_AS(cat_sequence, o));
        break;
    case CAT_TABLE:
        create_table(d, act, CAT_AS(cat_relation, o));
        break;
    case CAT_CONSTRAINT:
        create_constraint(d, act, CAT_AS(cat_constraint, o));
        break;
    case CAT_INDEX:
        create_index(d, act, CAT_AS(cat_index, o));
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
        attrs(d, act, NULL, o);
        break;
    }
    case CAT_POLICY:
        create_policy(act, CAT_AS(cat_policy, o));
        attrs(d, act, NULL, o);
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
        attrs(d, act, NULL, o);
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
    attrs(d, act, NULL, &b->obj);
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
            const struct cat_column *x = &a->attrs[i], *y = find_column(b->attrs, b->nattrs, x->name);
            if (!y) {
                sqld_stmt(act, 0, NULL, "ALTER TYPE %s DROP ATTRIBUTE %s", id, x->name);
            } else if (strcmp(x->type, y->type) || !streq0(x->collation, y->collation)) {
                strbuf_reset(&sb);
                if (y->collation)
                    strbuf_addf(&sb, " COLLATE %s", y->collation);
                sqld_stmt(act, 0, NULL, "ALTER TYPE %s ALTER ATTRIBUTE %s TYPE %s%s", id, x->name,
                          y->type, sb.buf);
            }
        }
        for (size_t i = 0; i < b->nattrs; i++) {
            const struct cat_column *y = &b->attrs[i], *x = find_column(a->attrs, a->nattrs, y->name);
            if (!x) {
                strbuf_reset(&sb);
                if (y->collation)
                    strbuf_addf(&sb, " COLLATE %s", y->collation);
                sqld_stmt(act, 0, NULL, "ALTER TYPE %s ADD ATTRIBUTE %s %s%s", id, y->name, y->type,
                          sb.buf);
            }
            if (!streq0(x ? x->comment : NULL, y->comment)) {
                strbuf_reset(&sb);
                if (y->comment)
                    add_lit(&sb, y->comment);
                sqld_stmt(act, 0, NULL, "COMMENT ON COLUMN %s.%s IS %s", id, y->name,
                          y->comment ? sb.buf : "NULL");
            }
        }
        break;
    case 'd':
        if (!streq0(a->default_expr, b->default_expr)) {
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
            } else if (!streq0(old->comment, b->checks[k].comment)) {
                strbuf_reset(&sb);
                if (b->checks[k].comment)
                    add_lit(&sb, b->checks[k].comment);
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

/* SET NOT NULL on a column that may hold rows. */
static void set_not_null(struct differ *d, struct action *act, const struct cat_relation *t,
                         const char *col)
{
    if (!d->opts.plain_constraints) {
        /* a validated CHECK (c IS NOT NULL) lets SET NOT NULL skip its scan (PG 12+) */
        const char *k = "dbtool_not_null";
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ADD CONSTRAINT %s CHECK (%s IS NOT NULL) NOT VALID",
                  t->obj.ident, k, col);
        sqld_stmt_notx(act, 0, NULL, "ALTER TABLE %s VALIDATE CONSTRAINT %s", t->obj.ident, k);
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL", t->obj.ident, col);
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s DROP CONSTRAINT %s", t->obj.ident, k);
        return;
    }
    char *why = xasprintf("checks every row of %s under lock", t->obj.ident);
    sqld_stmt(act, SQLDIFF_FULL_SCAN, why, "ALTER TABLE %s ALTER COLUMN %s SET NOT NULL",
              t->obj.ident, col);
    free(why);
}

static void add_column(struct differ *d, struct pair *p, const struct cat_column *c)
{
    const struct cat_relation *t = CAT_AS(cat_relation, p->b);
    struct action *act = sqld_action(d, PH_CREATE, &t->obj, c->name, true);
    struct strbuf sb = STRBUF_INIT;
    unsigned hz = 0;
    char *why = NULL;
    sqld_source(act, &t->obj, SRC_COLUMN, c->name);
    column_def(&sb, c);
    if (c->identity || c->generated == 's' ||
        (!c->generated && sqldiff_default_is_volatile(d->b, c->default_expr))) {
        hz = SQLDIFF_TABLE_REWRITE;
        why = xasprintf("adding column %s.%s fills every row (%s)", t->obj.ident, c->name,
                        c->identity ? "identity" : c->generated ? "stored generated column"
                                                                : "volatile default");
    }
    if (c->not_null && !c->default_expr && !c->identity)
        sqld_note(d, "column %s.%s is added NOT NULL without a default: it fails on a table with rows",
                  t->obj.ident, c->name);
    sqld_stmt(act, hz, why, "ALTER TABLE %s ADD COLUMN %s", t->obj.ident, sb.buf);
    column_attrs(act, t->obj.ident, NULL, c, &t->obj);
    free(why);
    strbuf_release(&sb);
}

static void alter_column(struct differ *d, struct pair *p, const struct colpair *cp)
{
    const struct cat_relation *t = CAT_AS(cat_relation, p->b);
    const struct cat_column *a = cp->a, *b = cp->b;
    const char *T = t->obj.ident, *C = b->name;
    struct action *act = sqld_action(d, PH_CREATE, &t->obj, C, true);
    bool type_change = cp->convert || strcmp(a->type, b->type) || !streq0(a->collation, b->collation);
    bool a_default = a->default_expr && !a->generated, b_default = b->default_expr && !b->generated;
    bool default_change = !streq0(a_default ? a->default_expr : NULL, b_default ? b->default_expr : NULL);
    bool default_gone = cp->reset_default; /* dropped in the drop phase */
    sqld_source(act, &t->obj, SRC_COLUMN, C);
    if (a_default && !default_gone && (default_change || type_change || (b->identity && !a->identity))) {
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", T, C);
        default_gone = true;
    }
    if (a->identity && !b->identity)
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s DROP IDENTITY", T, C);
    if (a->generated && !b->generated)
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s DROP EXPRESSION", T, C);
    if (a->generated && b->generated && !streq0(a->default_expr, b->default_expr)) {
        /* PG 17+ (classify_table re-creates the column before) */
        char *why = xasprintf("recomputes column %s.%s in every row", T, C);
        sqld_stmt(act, SQLDIFF_TABLE_REWRITE, why, "ALTER TABLE %s ALTER COLUMN %s SET EXPRESSION AS (%s)",
                  T, C, b->default_expr);
        free(why);
    }
    if (type_change) {
        struct strbuf sb = STRBUF_INIT;
        char *why = xasprintf("changes the type of column %s.%s (%s to %s%s) and rewrites the table", T,
                              C, a->type, b->type, cp->convert ? ", re-created type" : "");
        if (b->collation)
            strbuf_addf(&sb, " COLLATE %s", b->collation);
        sqld_stmt(act, SQLDIFF_TABLE_REWRITE, why, "ALTER TABLE %s ALTER COLUMN %s TYPE %s%s USING %s::%s%s",
                  T, C, b->type, sb.buf, C, cp->convert ? "text::" : "", b->type);
        free(why);
        strbuf_release(&sb);
    }
    if (b_default && (default_change || default_gone))
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s SET DEFAULT %s", T, C, b->default_expr);
    if (!a->not_null && b->not_null)
        set_not_null(d, act, t, C);
    if (a->not_null && !b->not_null)
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s DROP NOT NULL", T, C);
    if (!a->identity && b->identity) {
        struct strbuf sb = STRBUF_INIT;
        seqopts_sql(&sb, &b->idseq, false);
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s ADD GENERATED %s AS IDENTITY (%s)", T, C,
                  b->identity == 'a' ? "ALWAYS" : "BY DEFAULT", sb.buf);
        strbuf_release(&sb);
    } else if (a->identity && b->identity) {
        struct strbuf sb = STRBUF_INIT;
        if (a->identity != b->identity)
            strbuf_addf(&sb, " SET GENERATED %s", b->identity == 'a' ? "ALWAYS" : "BY DEFAULT");
        seqopts_changes(&sb, &a->idseq, &b->idseq, "SET ");
        if (sb.len)
            sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s%s", T, C, sb.buf);
        strbuf_release(&sb);
    }
    if (!streq0(a->compression, b->compression))
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s SET COMPRESSION %s", T, C,
                  b->compression ? b->compression : "default");
    column_attrs(act, T, a, b, &t->obj);
}

static void alter_table(struct differ *d, struct pair *p)
{
    const struct cat_relation *a = CAT_AS(cat_relation, p->a), *b = CAT_AS(cat_relation, p->b);
    const char *T = b->obj.ident;
    struct action *act;
    /* drop phase: what must be gone before other objects go */
    for (size_t i = 0; i < a->ninherits; i++) {
        bool keep = false;
        for (size_t k = 0; k < b->ninherits && !keep; k++)
            keep = !strcmp(a->inherits[i], b->inherits[k]);
        if (keep)
            continue;
        act = sqld_action(d, PH_DROP, &a->obj, NULL, false);
        sqld_wait(act, CAT_TABLE, a->inherits[i], NULL);
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s NO INHERIT %s", T, a->inherits[i]);
    }
    bool detach = a->parent && (!streq0(a->parent, b->parent) || !streq0(a->bound, b->bound));
    if (detach) {
        act = sqld_action(d, PH_DROP, &a->obj, NULL, false);
        sqld_wait(act, CAT_TABLE, a->parent, NULL);
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s DETACH PARTITION %s", a->parent, T);
    }
    for (size_t i = 0; i < p->ncols; i++) {
        const struct colpair *c = &p->cols[i];
        if (!c->a)
            continue;
        if (!c->b || c->recreate) {
            char *why = xasprintf("drops column %s.%s%s", T, c->a->name,
                                  c->recreate ? " (to add it again)" : "");
            act = sqld_action(d, PH_DROP, &a->obj, c->a->name, true);
            sqld_source(act, &a->obj, SRC_COLUMN, c->a->name);
            sqld_stmt(act, c->a->generated ? 0 : SQLDIFF_DATA_LOSS, why, "ALTER TABLE %s DROP COLUMN %s",
                      T, c->a->name);
            free(why);
        } else if (c->reset_default && c->a->default_expr && !c->a->generated) {
            act = sqld_action(d, PH_DROP, &a->obj, c->a->name, true);
            sqld_source(act, &a->obj, SRC_COLUMN, c->a->name);
            sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s DROP DEFAULT", T, c->a->name);
        }
    }
    /* create phase: the table itself, then its columns */
    act = sqld_action(d, PH_CREATE, &b->obj, NULL, false);
    sqld_source(act, &b->obj, SRC_OBJECT, NULL);
    if (a->unlogged != b->unlogged) {
        char *why = xasprintf("rewrites %s", T);
        sqld_stmt(act, SQLDIFF_TABLE_REWRITE, why, "ALTER TABLE %s SET %s", T,
                  b->unlogged ? "UNLOGGED" : "LOGGED");
        free(why);
    }
    if (!streq0(a->options, b->options)) {
        char *what = xasprintf("TABLE %s", T);
        options_diff(act, what, a->options, b->options);
        free(what);
    }
    for (size_t k = 0; k < b->ninherits; k++) {
        bool had = false;
        for (size_t i = 0; i < a->ninherits && !had; i++)
            had = !strcmp(a->inherits[i], b->inherits[k]);
        if (!had)
            sqld_stmt(act, 0, NULL, "ALTER TABLE %s INHERIT %s", T, b->inherits[k]);
    }
    if (b->parent && (detach || !a->parent)) {
        char *why = xasprintf("checks every row of %s against its partition bound under lock", T);
        sqld_stmt(act, SQLDIFF_FULL_SCAN, why, "ALTER TABLE %s ATTACH PARTITION %s %s", b->parent, T,
                  b->bound);
        free(why);
    }
    if (a->rls != b->rls)
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s %s ROW LEVEL SECURITY", T, b->rls ? "ENABLE" : "DISABLE");
    if (a->force_rls != b->force_rls)
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s %sFORCE ROW LEVEL SECURITY", T, b->force_rls ? "" : "NO ");
    attrs(d, act, &a->obj, &b->obj);
    size_t last_common = 0;
    bool order_lost = false;
    for (size_t i = 0; i < p->ncols; i++) {
        const struct colpair *c = &p->cols[i];
        if (!c->b)
            continue;
        size_t pos = c->b - b->columns;
        if (c->a && !c->recreate) {
            order_lost |= pos < last_common;
            last_common = pos;
        }
        if (!c->a || c->recreate)
            add_column(d, p, c->b);
        else if (column_differs(c->a, c->b) || c->convert || c->reset_default)
            alter_column(d, p, c);
    }
    for (size_t i = 0; i < p->ncols; i++) /* added columns land at the end */
        if (p->cols[i].b && (!p->cols[i].a || p->cols[i].recreate) &&
            (size_t)(p->cols[i].b - b->columns) < last_common)
            order_lost = true;
    if (order_lost)
        sqld_note(d, "the column order of %s differs and cannot be changed in place", T);
}

static void alter_object(struct differ *d, struct pair *p)
{
    const struct cat_object *a = p->a, *b = p->b;
    struct action *act;
    if (a->kind == CAT_TABLE) {
        alter_table(d, p);
        return;
    }
    if (a->kind == CAT_SEQUENCE) {
        /* OWNED BY: let go of an owner that goes (or changes) before it is dropped */
        const struct cat_sequence *x = CAT_AS(cat_sequence, a), *y = CAT_AS(cat_sequence, b);
        struct pair *tp = x->owned_table ? sqld_pair(d, CAT_TABLE, x->owned_table) : NULL;
        struct colpair *c = tp ? sqld_colpair(tp, x->owned_column) : NULL;
        bool lost = tp && (sqld_gone(tp) || (c && (!c->b || c->recreate)));
        bool moved = !streq0(x->owned_table, y->owned_table) || !streq0(x->owned_column, y->owned_column);
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
        if (!streq0(x->in_schema, y->in_schema))
            sqld_stmt(act, 0, NULL, "ALTER EXTENSION %s SET SCHEMA %s", b->ident, y->in_schema);
        if (!streq0(x->version, y->version)) {
            struct strbuf sb = STRBUF_INIT;
            add_lit(&sb, y->version);
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
        seqopts_changes(&sb, &x->opts, &y->opts, "");
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
            options_diff(act, what, NULL, y->options);
        } else {
            options_diff(act, what, x->options, y->options);
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
        if (!streq0(x->using_expr, y->using_expr))
            strbuf_addf(&sb, " USING (%s)", y->using_expr);
        if (!streq0(x->check_expr, y->check_expr))
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
    attrs(d, act, a, b);
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
    acl_diff(act, prefix.buf, word, NULL, from, to, x->role ? x->role : "CURRENT_USER");
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
