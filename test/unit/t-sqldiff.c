/*
 * t-sqldiff.c — the differ without a server: hazard names, the volatile
 * default test, index DDL, and statement order and hazards on small models
 * built by hand (what catalog_read would produce, dependencies included).
 */
#include "lib/common.h"
#include "lib/sqldiff.h"
#include "test/unit/tap.h"

/* ---- building models ---- */

static void *obj(struct catalog *cat, size_t size, enum cat_kind kind, const char *schema,
                 const char *name)
{
    struct cat_object *o = catalog_alloc(cat, size);
    o->kind = kind;
    o->schema = schema;
    o->name = name;
    o->ident = schema ? catalog_printf(cat, "%s.%s", schema, name) : name;
    return o;
}

#define PUSH(cat, arr, n, item)                                                                    \
    do {                                                                                           \
        void *grown = catalog_alloc((cat), ((n) + 1) * sizeof(*(arr)));                            \
        if (n)                                                                                     \
            memcpy(grown, (arr), (n) * sizeof(*(arr)));                                            \
        (arr) = grown;                                                                             \
        (arr)[(n)++] = (item);                                                                     \
    } while (0)

static void dep(struct catalog *cat, struct cat_object *o, const struct cat_object *ref,
                const char *ref_column, const char *column)
{
    struct cat_dep d = {ref, ref_column, column};
    PUSH(cat, o->deps, o->ndeps, d);
}

static struct cat_schema *schema(struct catalog *cat, const char *name)
{
    struct cat_schema *s = obj(cat, sizeof(*s), CAT_SCHEMA, NULL, name);
    PUSH(cat, cat->schemas, cat->nschemas, s);
    return s;
}

static struct cat_relation *table(struct catalog *cat, const char *name, const char *coltype)
{
    struct cat_relation *t = obj(cat, sizeof(*t), CAT_TABLE, "s", name);
    t->relkind = 'r';
    t->ncolumns = 2;
    t->columns = catalog_alloc(cat, 2 * sizeof(*t->columns));
    t->columns[0] = (struct cat_column){.name = "id", .type = "integer", .not_null = true, .attnum = 1};
    t->columns[1] = (struct cat_column){.name = "c", .type = coltype, .attnum = 2};
    PUSH(cat, cat->relations, cat->nrelations, t);
    return t;
}

static struct cat_relation *view(struct catalog *cat, const char *name, const char *def)
{
    struct cat_relation *v = obj(cat, sizeof(*v), CAT_VIEW, "s", name);
    v->relkind = 'v';
    v->def = def;
    v->ncolumns = 1;
    v->columns = catalog_alloc(cat, sizeof(*v->columns));
    v->columns[0] = (struct cat_column){.name = "c", .type = "integer", .attnum = 1};
    PUSH(cat, cat->relations, cat->nrelations, v);
    return v;
}

static struct cat_function *function(struct catalog *cat, const char *name)
{
    struct cat_function *f = obj(cat, sizeof(*f), CAT_FUNCTION, "s", name);
    f->obj.ident = catalog_printf(cat, "s.%s()", name);
    f->prokind = 'f';
    f->args = f->identity_args = "";
    f->result = "integer";
    f->language = "plpgsql";
    f->volatility = 'v';
    f->def = catalog_printf(cat, "CREATE OR REPLACE FUNCTION s.%s()\n RETURNS integer\n"
                                 " LANGUAGE plpgsql\nAS $$BEGIN RETURN 1; END$$\n", name);
    PUSH(cat, cat->functions, cat->nfunctions, f);
    return f;
}

static struct cat_type *enum_type(struct catalog *cat, const char *name, const char *const *labels)
{
    struct cat_type *t = obj(cat, sizeof(*t), CAT_TYPE, "s", name);
    t->typtype = 'e';
    while (labels[t->nlabels])
        t->nlabels++;
    t->labels = (const char **)labels;
    PUSH(cat, cat->types, cat->ntypes, t);
    return t;
}

/* The statements of a diff, one per line, "!" marking those outside a transaction. */
static char *statements(const struct catalog *a, const struct catalog *b,
                        const struct sqldiff_options *o, unsigned *hazards)
{
    struct sqldiff d;
    struct strbuf sb = STRBUF_INIT;
    sqldiff_compute(a, b, o, &d);
    for (size_t i = 0; i < d.nr; i++)
        strbuf_addf(&sb, "%s%s\n", d.v[i].no_transaction ? "!" : "", d.v[i].sql);
    if (hazards)
        *hazards = d.hazards;
    sqldiff_release(&d);
    return strbuf_detach(&sb, NULL);
}

/* Position of NEEDLE in HAY (or -1). */
static long at(const char *hay, const char *needle)
{
    const char *p = strstr(hay, needle);
    return p ? p - hay : -1;
}

/* ---- tests ---- */

static void test_hazard_names(void)
{
    struct strbuf sb = STRBUF_INIT;
    is_str(sqldiff_hazard_name(SQLDIFF_FULL_SCAN), "full-scan-under-lock", "hazard name");
    is_int(sqldiff_hazard_parse("blocking-index-build"), SQLDIFF_BLOCKING_INDEX, "hazard parse");
    is_int(sqldiff_hazard_parse("nope"), 0, "unknown hazard name");
    ok(sqldiff_hazard_name(3) == NULL, "two bits are no one hazard");
    sqldiff_hazard_names(SQLDIFF_DATA_LOSS | SQLDIFF_MASS_DROP, &sb);
    is_str(sb.buf, "data-loss, mass-drop", "hazard list");
    strbuf_release(&sb);
}

/* The lint rules of lib/parse and their classes; --allow-hazards by class, rule or all. */
static void test_rules_and_allow(void)
{
    static const char *const rules[] = {"drop-table", "drop-column", "alter-column-type",
        "add-column-volatile-default", "add-fk-without-not-valid", "add-check-without-not-valid",
        "create-index-without-concurrently", "set-not-null", "rename", "drop-type",
        "lock-timeout-set"};
    for (size_t i = 0; i < ARRAY_SIZE(rules); i++)
        ok(sqldiff_rule_known(rules[i]), "lint rule %s is in the table", rules[i]);
    is_int(sqldiff_rule_hazard("drop-column"), SQLDIFF_DATA_LOSS, "drop-column is data loss");
    is_int(sqldiff_rule_hazard("set-not-null"), SQLDIFF_FULL_SCAN, "set-not-null scans under lock");
    is_int(sqldiff_rule_hazard("create-index-without-concurrently"), SQLDIFF_BLOCKING_INDEX,
           "a plain index build blocks");
    is_int(sqldiff_rule_hazard("lock-timeout-set"), 0, "lock-timeout-set is no hazard");

    struct sqldiff_allow a;
    char *bad = NULL;
    ok(sqldiff_allow_parse("data-loss,nope", &a, &bad) < 0 && bad && !strcmp(bad, "nope"),
       "unknown names are refused");
    free(bad);
    sqldiff_allow_release(&a);
    struct sqldiff_stmt st = {"ALTER TABLE t DROP COLUMN c", false, SQLDIFF_DATA_LOSS, "drops", "drop-column"};
    struct sqldiff_stmt seq = {"DROP SEQUENCE s", false, SQLDIFF_DATA_LOSS, "drops", NULL};
    is_int(sqldiff_stmt_refused(&st, NULL), SQLDIFF_DATA_LOSS, "nothing allowed: refused");
    ok(!sqldiff_allow_parse("drop-column", &a, &bad), "a rule name parses");
    is_int(sqldiff_stmt_refused(&st, &a), 0, "allowed by its rule");
    is_int(sqldiff_stmt_refused(&seq, &a), SQLDIFF_DATA_LOSS, "a hazard without that rule is not");
    sqldiff_allow_release(&a);
    ok(!sqldiff_allow_parse("data-loss, table-rewrite", &a, &bad), "class names parse");
    is_int(sqldiff_stmt_refused(&seq, &a), 0, "allowed by its class");
    sqldiff_allow_release(&a);
    ok(!sqldiff_allow_parse("all", &a, &bad) && sqldiff_stmt_refused(&st, &a) == 0, "all allows all");
    sqldiff_allow_release(&a);
}

static void test_volatile(void)
{
    struct catalog *cat = catalog_new();
    function(cat, "roll");
    catalog_finish(cat);
    ok(sqldiff_default_is_volatile(NULL, "nextval('s.t_id_seq'::regclass)"), "nextval is volatile");
    ok(sqldiff_default_is_volatile(NULL, "((random() * (10)::double precision))::integer"), "random");
    ok(sqldiff_default_is_volatile(NULL, "gen_random_uuid()"), "uuid generator");
    ok(!sqldiff_default_is_volatile(NULL, "now()"), "now() is stable: no rewrite");
    ok(!sqldiff_default_is_volatile(NULL, "'x'::text"), "a constant");
    ok(!sqldiff_default_is_volatile(NULL, "s.my_random()"), "a name ending in random is not random()");
    ok(!sqldiff_default_is_volatile(NULL, NULL), "no default");
    ok(sqldiff_default_is_volatile(cat, "(s.roll() + 1)"), "a volatile function of the model");
    catalog_free(cat);
}

static void test_index_sql(void)
{
    char *s = sqldiff_index_sql("CREATE INDEX i ON s.t USING btree (c)", true);
    is_str(s, "CREATE INDEX CONCURRENTLY i ON s.t USING btree (c)", "concurrent index");
    free(s);
    s = sqldiff_index_sql("CREATE UNIQUE INDEX i ON s.t USING btree (c) WHERE (c > 0)", true);
    is_str(s, "CREATE UNIQUE INDEX CONCURRENTLY i ON s.t USING btree (c) WHERE (c > 0)", "unique");
    free(s);
    s = sqldiff_index_sql("CREATE INDEX i ON ONLY s.p USING btree (c)", false);
    is_str(s, "CREATE INDEX i ON s.p USING btree (c)", "a partitioned table's index covers its partitions");
    free(s);
}

/* A: schema s. B: s, table t, function f, view v over t.c and f. */
static void models_view(struct catalog **a, struct catalog **b, const char *type_a, const char *type_b)
{
    *a = catalog_new();
    *b = catalog_new();
    struct cat_schema *sa = schema(*a, "s"), *sb = schema(*b, "s");
    if (type_a) {
        struct cat_relation *t = table(*a, "t", type_a);
        dep(*a, &t->obj, &sa->obj, NULL, NULL);
        struct cat_function *f = function(*a, "f");
        struct cat_relation *v = view(*a, "v", " SELECT t.c FROM s.t WHERE s.f() > 0;");
        dep(*a, &v->obj, &t->obj, "c", NULL);
        dep(*a, &v->obj, &f->obj, NULL, NULL);
    }
    struct cat_relation *t = table(*b, "t", type_b);
    dep(*b, &t->obj, &sb->obj, NULL, NULL);
    struct cat_function *f = function(*b, "f");
    struct cat_relation *v = view(*b, "v", " SELECT t.c FROM s.t WHERE s.f() > 0;");
    dep(*b, &v->obj, &t->obj, "c", NULL);
    dep(*b, &v->obj, &f->obj, NULL, NULL);
    catalog_finish(*a);
    catalog_finish(*b);
}

static void test_order(void)
{
    struct catalog *a, *b;
    unsigned hz;
    models_view(&a, &b, NULL, "integer");
    char *up = statements(a, b, NULL, &hz);
    ok(at(up, "CREATE TABLE s.t") >= 0 && at(up, "CREATE VIEW s.v") >= 0, "creates table and view");
    ok(at(up, "CREATE TABLE s.t") < at(up, "CREATE VIEW s.v"), "the table before the view on it");
    ok(at(up, "FUNCTION s.f()") < at(up, "CREATE VIEW s.v"), "the function before the view calling it");
    is_int(hz, 0, "creating is no hazard");
    char *down = statements(b, a, NULL, &hz);
    ok(at(down, "DROP VIEW s.v") == 0, "the view goes first");
    ok(at(down, "DROP TABLE s.t") > 0 && at(down, "DROP FUNCTION s.f()") > 0, "then what it used");
    ok(hz & SQLDIFF_DATA_LOSS, "dropping a table loses data");
    ok(hz & SQLDIFF_MASS_DROP, "3 of 4 objects dropped is a mass drop");
    free(up);
    free(down);
    catalog_free(a);
    catalog_free(b);
}

static void test_column_type_under_view(void)
{
    struct catalog *a, *b;
    unsigned hz;
    models_view(&a, &b, "integer", "bigint");
    char *s = statements(a, b, NULL, &hz);
    long drop = at(s, "DROP VIEW s.v"), alter = at(s, "ALTER TABLE s.t ALTER COLUMN c TYPE bigint"),
         create = at(s, "CREATE VIEW s.v");
    ok(drop >= 0 && alter > drop && create > alter, "view dropped, column altered, view created again");
    ok(at(s, "USING c::bigint") > 0, "with a USING cast");
    ok(at(s, "FUNCTION") < 0, "the function is left alone");
    is_int(hz, SQLDIFF_TABLE_REWRITE, "a type change rewrites the table");
    free(s);
    catalog_free(a);
    catalog_free(b);
}

static void test_enum(void)
{
    static const char *const two[] = {"'a'", "'c'", NULL}, *const four[] = {"'a'", "'b'", "'c'", "'d'", NULL};
    static const char *const first[] = {"'z'", "'a'", "'c'", NULL};
    struct catalog *a = catalog_new(), *b = catalog_new(), *c = catalog_new();
    unsigned hz;
    schema(a, "s");
    schema(b, "s");
    schema(c, "s");
    enum_type(a, "e", two);
    enum_type(b, "e", four);
    enum_type(c, "e", first);
    catalog_finish(a);
    catalog_finish(b);
    catalog_finish(c);
    char *s = statements(a, b, NULL, &hz);
    is_str(s, "!ALTER TYPE s.e ADD VALUE 'b' AFTER 'a'\n!ALTER TYPE s.e ADD VALUE 'd' AFTER 'c'\n",
           "new values in place, committed before use");
    is_int(hz, 0, "adding values is no hazard");
    free(s);
    s = statements(a, c, NULL, NULL);
    is_str(s, "!ALTER TYPE s.e ADD VALUE 'z' BEFORE 'a'\n", "a first value goes BEFORE");
    free(s);
    s = statements(b, a, NULL, &hz);
    ok(at(s, "ALTER TYPE s.e RENAME TO e__dbtool_old") == 0, "a removed value: the type is set aside");
    ok(at(s, "CREATE TYPE s.e AS ENUM ('a', 'c')") > 0, "created again");
    ok(at(s, "DROP TYPE s.e__dbtool_old") > at(s, "CREATE TYPE"), "the old one dropped at the end");
    ok(hz & SQLDIFF_DATA_LOSS, "removing a value is a data-loss hazard");
    free(s);
    catalog_free(a);
    catalog_free(b);
    catalog_free(c);
}

static void test_mass_drop_threshold(void)
{
    struct catalog *a = catalog_new(), *b = catalog_new();
    unsigned hz;
    const char *names[] = {"f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"};
    schema(a, "s");
    schema(b, "s");
    for (int i = 0; i < 8; i++) {
        function(a, names[i]);
        if (i >= 2)
            function(b, names[i]);
    }
    catalog_finish(a);
    catalog_finish(b);
    char *s = statements(a, b, NULL, &hz);
    ok(at(s, "DROP FUNCTION s.f0()") >= 0 && !(hz & SQLDIFF_MASS_DROP), "2 of 9 objects: no mass drop");
    free(s);
    struct sqldiff_options o = {.mass_drop_percent = 20};
    s = statements(a, b, &o, &hz);
    ok(hz & SQLDIFF_MASS_DROP, "with a 20 %% threshold it is one");
    free(s);
    s = statements(a, a, NULL, &hz);
    is_str(s, "", "a model against itself: nothing");
    free(s);
    catalog_free(a);
    catalog_free(b);
}

int main(void)
{
    test_hazard_names();
    test_rules_and_allow();
    test_volatile();
    test_index_sql();
    test_order();
    test_column_type_under_view();
    test_enum();
    test_mass_drop_threshold();
    return done_testing();
}
