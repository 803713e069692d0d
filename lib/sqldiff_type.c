/*
 * sqldiff_type.c — the differ's types: enums (values added in place, a
 * value removed makes a re-created type), composites (attributes added,
 * dropped, altered), domains (default, NOT NULL, constraints), ranges; a
 * type that must be re-created is renamed aside, created again, its
 * columns converted through text (sqldiff_table.c) and the old one dropped
 * at the end.
 */
#include "lib/sqldiff_int.h"

/* A quoted identifier with SUFFIX appended to the name inside the quotes. */
static char *ident_suffix(const char *quoted, const char *suffix)
{
    size_t n = strlen(quoted);
    if (n >= 2 && quoted[0] == '"')
        return xasprintf("%.*s%s\"", (int)(n - 1), quoted, suffix);
    return xasprintf("%s%s", quoted, suffix);
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

enum state sqld_classify_type(struct differ *d, struct pair *p)
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

void sqld_create_type(struct differ *d, struct action *act, const struct cat_type *t)
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

void sqld_emit_swap(struct differ *d, struct pair *p)
{
    const struct cat_type *a = CAT_AS(cat_type, p->a), *b = CAT_AS(cat_type, p->b);
    char *old_name = ident_suffix(a->obj.name, "__dbtool_old");
    char *old_ident = xasprintf("%s.%s", a->obj.schema, old_name);
    char *why = xasprintf("re-creates type %s: values that do not convert make it fail, columns of "
                          "it are rewritten", b->obj.ident);
    struct action *act = sqld_action(d, PH_CREATE, &b->obj, NULL, true);
    sqld_source(act, &b->obj, SRC_ALL, NULL);
    sqld_stmt(act, SQLDIFF_DATA_LOSS, why, "ALTER %s %s RENAME TO %s", sqld_obj_word(&a->obj),
              a->obj.ident, old_name);
    sqld_create_type(d, act, b);
    sqld_attrs(d, act, NULL, &b->obj);
    struct action *fin = sqld_action(d, PH_FINAL, &a->obj, NULL, true);
    sqld_source(fin, &a->obj, SRC_ALL, NULL);
    sqld_stmt(fin, 0, NULL, "DROP %s %s", sqld_obj_word(&a->obj), old_ident);
    free(old_name);
    free(old_ident);
    free(why);
}

void sqld_alter_type(struct differ *d, struct action *act, const struct cat_type *a,
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
