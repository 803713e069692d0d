/*
 * sqldiff_acl.c — what every kind of object carries besides its
 * definition: privileges (GRANT/REVOKE from A's to B's, or from what a new
 * object gets under A's default privileges), owners, comments, and the
 * default privileges themselves (ALTER DEFAULT PRIVILEGES).
 */
#include "lib/sqldiff_int.h"

/* The object word GRANT/REVOKE use. */
static const char *grant_word(const struct cat_object *o)
{
    switch (o->kind) {
    case CAT_TABLE:
    case CAT_VIEW:
    case CAT_MATVIEW: return "TABLE";
    case CAT_FUNCTION: return CAT_AS(cat_function, o)->prokind == 'p' ? "PROCEDURE" : "FUNCTION";
    default: return sqld_obj_word(o);
    }
}

static const char *owner_sql(const struct cat_object *o)
{
    return o->owner ? o->owner : "CURRENT_USER";
}

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
        sqld_stmt(act, 0, NULL, "ALTER %s %s OWNER TO %s", sqld_obj_word(b), b->ident, b->owner);
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
        sqld_stmt(act, 0, NULL, "COMMENT ON %s %s IS %s", sqld_obj_word(b), b->ident,
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

/* Default privileges: from A's entry (or the built-in default) to B's, at the end. */
void sqld_emit_defacl(struct differ *d, struct pair *p)
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
