/*
 * sqldiff_table.c — the differ's tables: what changed in a table and its
 * columns (sqld_classify_table), CREATE TABLE, the column-by-column ALTERs,
 * constraints and indexes, with the safe forms (NOT VALID + VALIDATE,
 * SET NOT NULL through a CHECK, CONCURRENTLY) and their hazards.
 */
#include "lib/sqldiff_int.h"

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
        sqld_seqopts_sql(sb, &c->idseq, false);
        strbuf_addch(sb, ')');
    }
}

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

static bool column_differs(const struct cat_column *a, const struct cat_column *b)
{
    return strcmp(a->type, b->type) || !sqld_streq0(a->default_expr, b->default_expr) ||
           !sqld_streq0(a->collation, b->collation) || !sqld_streq0(a->compression, b->compression) ||
           a->identity != b->identity || a->generated != b->generated ||
           a->not_null != b->not_null || !sqld_streq0(a->comment, b->comment) ||
           !catalog_acl_equal(&a->acl, &b->acl) ||
           (a->identity && b->identity &&
            (!sqld_streq0(a->idseq.start, b->idseq.start) ||
             !sqld_streq0(a->idseq.increment, b->idseq.increment) ||
             !sqld_streq0(a->idseq.min, b->idseq.min) || !sqld_streq0(a->idseq.max, b->idseq.max) ||
             !sqld_streq0(a->idseq.cache, b->idseq.cache) || a->idseq.cycle != b->idseq.cycle));
}

enum state sqld_classify_table(struct differ *d, struct pair *p)
{
    const struct cat_relation *a = CAT_AS(cat_relation, p->a), *b = CAT_AS(cat_relation, p->b);
    bool differ = sqld_attrs_differ(p->a, p->b);
    p->cols = xcalloc(a->ncolumns + b->ncolumns + 1, sizeof(*p->cols));
    for (size_t i = 0; i < a->ncolumns; i++) {
        struct colpair *c = &p->cols[p->ncols++];
        c->a = &a->columns[i];
        c->b = sqld_find_column(b->columns, b->ncolumns, c->a->name);
        if (!c->b) {
            c->changed = differ = true;
            continue;
        }
        if (column_differs(c->a, c->b))
            differ = true;
        if (!c->a->generated && c->b->generated)
            c->recreate = true;
        /* PG 17 changes a generation expression in place (SET EXPRESSION); before, drop and add */
        if (c->a->generated && c->b->generated && !sqld_streq0(c->a->default_expr, c->b->default_expr) &&
            (d->a->server_version < 170000 || c->a->generated != c->b->generated))
            c->recreate = true;
        if (c->recreate || strcmp(c->a->type, c->b->type) || !sqld_streq0(c->a->collation, c->b->collation))
            c->changed = true;
    }
    for (size_t i = 0; i < b->ncolumns; i++)
        if (!sqld_find_column(a->columns, a->ncolumns, b->columns[i].name)) {
            p->cols[p->ncols++].b = &b->columns[i];
            differ = true;
        }
    if (a->relkind != b->relkind || !sqld_streq0(a->partkey, b->partkey))
        return ST_RECREATE;
    if (a->unlogged != b->unlogged || !sqld_streq0(a->options, b->options) || a->rls != b->rls ||
        a->force_rls != b->force_rls || !sqld_streq0(a->parent, b->parent) ||
        !sqld_streq0(a->bound, b->bound) || !sqld_strlists_equal(a->inherits, a->ninherits, b->inherits, b->ninherits))
        differ = true;
    return differ ? ST_ALTER : ST_SAME;
}

/* Whether constraint K goes inside its new table's CREATE TABLE. */
static bool inline_constraint(struct differ *d, const struct cat_constraint *k)
{
    const struct cat_relation *r = relation(d->b, k->table);
    struct pair *tp = sqld_pair(d, CAT_TABLE, k->table);
    return r && !r->parent && tp && (tp->state == ST_CREATE || tp->state == ST_RECREATE) &&
           k->type != 'f' && !strstr(k->def, " NOT VALID");
}

void sqld_create_table(struct differ *d, struct action *act, const struct cat_relation *r)
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
    sqld_attrs(d, act, NULL, &r->obj);
    for (size_t i = 0; i < r->ncolumns; i++)
        sqld_column_attrs(d, act, r->obj.ident, NULL, &r->columns[i], &r->obj);
}

void sqld_create_index(struct differ *d, struct action *act, const struct cat_index *x)
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
    sqld_attrs(d, act, NULL, &x->obj);
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
    char *cols = xstrndup(p, end - p);
    if (strstr(cols, " WITHOUT OVERLAPS")) { /* PG 18 temporal keys: no plain index says that */
        free(cols);
        return NULL;
    }
    return cols;
}

void sqld_create_constraint(struct differ *d, struct action *act, const struct cat_constraint *k)
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
    sqld_attrs(d, act, NULL, &k->obj);
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
    sqld_column_attrs(d, act, t->obj.ident, NULL, c, &t->obj);
    free(why);
    strbuf_release(&sb);
}

static void alter_column(struct differ *d, struct pair *p, const struct colpair *cp)
{
    const struct cat_relation *t = CAT_AS(cat_relation, p->b);
    const struct cat_column *a = cp->a, *b = cp->b;
    const char *T = t->obj.ident, *C = b->name;
    struct action *act = sqld_action(d, PH_CREATE, &t->obj, C, true);
    bool type_change = cp->convert || strcmp(a->type, b->type) || !sqld_streq0(a->collation, b->collation);
    bool a_default = a->default_expr && !a->generated, b_default = b->default_expr && !b->generated;
    bool default_change = !sqld_streq0(a_default ? a->default_expr : NULL, b_default ? b->default_expr : NULL);
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
    if (a->generated && b->generated && !sqld_streq0(a->default_expr, b->default_expr)) {
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
        sqld_seqopts_sql(&sb, &b->idseq, false);
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s ADD GENERATED %s AS IDENTITY (%s)", T, C,
                  b->identity == 'a' ? "ALWAYS" : "BY DEFAULT", sb.buf);
        strbuf_release(&sb);
    } else if (a->identity && b->identity) {
        struct strbuf sb = STRBUF_INIT;
        if (a->identity != b->identity)
            strbuf_addf(&sb, " SET GENERATED %s", b->identity == 'a' ? "ALWAYS" : "BY DEFAULT");
        sqld_seqopts_changes(&sb, &a->idseq, &b->idseq, "SET ");
        if (sb.len)
            sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s%s", T, C, sb.buf);
        strbuf_release(&sb);
    }
    if (!sqld_streq0(a->compression, b->compression))
        sqld_stmt(act, 0, NULL, "ALTER TABLE %s ALTER COLUMN %s SET COMPRESSION %s", T, C,
                  b->compression ? b->compression : "default");
    sqld_column_attrs(d, act, T, a, b, &t->obj);
}

void sqld_alter_table(struct differ *d, struct pair *p)
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
    bool detach = a->parent && (!sqld_streq0(a->parent, b->parent) || !sqld_streq0(a->bound, b->bound));
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
    if (!sqld_streq0(a->options, b->options)) {
        char *what = xasprintf("TABLE %s", T);
        sqld_options_diff(act, what, a->options, b->options);
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
    sqld_attrs(d, act, &a->obj, &b->obj);
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
