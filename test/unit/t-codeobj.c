/*
 * t-codeobj.c — lib/codeobj without a server: units from files (what
 * attaches to what, what is an error), identities and quoting, references
 * resolved into hard and soft edges, the order and its cycles, and what a
 * migration breaks.
 */
#include "lib/codeobj.h"
#include "lib/fs.h"
#include "test/unit/tap.h"

#include <unistd.h>

static int add(struct code_set *cs, const char *path, const char *text)
{
    return code_add_text(cs, path, text, strlen(text));
}

static const char *dep_list(const struct strvec *sv)
{
    static char buf[1024];
    buf[0] = 0;
    for (size_t i = 0; i < sv->nr; i++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? "|" : "", sv->v[i]);
    return buf;
}

static const char *order_str(const struct code_set *cs, const size_t *order, size_t n)
{
    static char buf[2048];
    buf[0] = 0;
    for (size_t i = 0; i < n; i++)
        snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? ", " : "",
                 cs->units[order[i]].name ? cs->units[order[i]].name : cs->units[order[i]].identity);
    return buf;
}

static void units(void)
{
    struct code_set cs;
    code_set_init(&cs, "/code", "public");
    int e = add(&cs, "a.sql",
                "-- header\n"
                "CREATE VIEW v1 AS SELECT id FROM t;\n"
                "COMMENT ON VIEW v1 IS 'x';\n"
                "GRANT SELECT ON v1 TO PUBLIC;\n"
                "CREATE OR REPLACE FUNCTION api.f(a integer, b text[], OUT c int) RETURNS int\n"
                "    LANGUAGE sql RETURN a;\n"
                "ALTER FUNCTION api.f(integer, text[]) OWNER TO CURRENT_USER;\n"
                "CREATE TYPE mood AS ENUM ('a');\n"
                "CREATE TRIGGER trg BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION tf();\n"
                "CREATE POLICY \"Select\" ON s.t USING (true);\n"
                "CREATE AGGREGATE agg(*) (sfunc = int8inc, stype = int8, initcond = '0');\n"
                "CREATE VIEW \"Order\" AS SELECT 1;\n"
                "CREATE VIEW \"select\" AS SELECT 1;\n");
    is_int(e, 0, "no errors");
    is_int((long long)cs.units_nr, 8, "eight units");
    const char *ids[] = {"view public.v1", "function api.f(integer, text[])", "type public.mood",
                         "trigger trg on public.t", "policy \"Select\" on s.t",
                         "aggregate public.agg(*)", "view public.\"Order\"", "view public.\"select\""};
    for (size_t i = 0; i < ARRAY_SIZE(ids) && i < cs.units_nr; i++)
        is_str(cs.units[i].identity, ids[i], "identity");
    const struct code_unit *v1 = code_unit_find(&cs, "view public.v1");
    ok(v1 && v1->stmts_nr == 3, "a view with its COMMENT and GRANT");
    ok(v1 && v1->line == 2 && v1->stmts[2].line == 4, "lines");
    is_str(v1 ? v1->drop_sql : NULL, "DROP VIEW public.v1", "drop");
    const struct code_unit *f = code_unit_find(&cs, "function api.f(integer, text[])");
    ok(f && f->stmts_nr == 2 && f->or_replace, "a function with its ALTER, OR REPLACE");
    is_str(f ? f->drop_sql : NULL, "DROP FUNCTION api.f(integer, text[])", "drop function");
    ok(f && f->addr_args.nr == 2 && !strcmp(f->addr_args.v[1], "text[]"), "address args");
    is_str(code_unit_find(&cs, "trigger trg on public.t")->drop_sql, "DROP TRIGGER trg ON public.t",
           "drop trigger");
    is_str(code_unit_find(&cs, "aggregate public.agg(*)")->drop_sql, "DROP AGGREGATE public.agg(*)",
           "drop aggregate(*)");
    is_str(code_unit_find(&cs, "view public.\"Order\"")->drop_sql, "DROP VIEW public.\"Order\"",
           "quoted upper case");
    is_str(code_unit_find(&cs, "view public.\"select\"")->drop_sql, "DROP VIEW public.\"select\"",
           "quoted reserved keyword");

    /* the same text moved: same hash */
    struct code_set cs2;
    code_set_init(&cs2, "/code", "public");
    add(&cs2, "other/b.sql", "\n\n/* moved */\nCREATE VIEW v1 AS SELECT id FROM t;\n"
                             "COMMENT ON VIEW v1 IS 'x';\nGRANT SELECT ON v1 TO PUBLIC;\n");
    ok(cs2.units_nr == 1 && !strcmp(cs2.units[0].sha256, v1->sha256), "moved: same hash");
    ok(cs2.units_nr == 1 && cs2.units[0].line == 4, "moved: new line");
    code_set_release(&cs2);
    code_set_release(&cs);
}

static void errors(void)
{
    struct code_set cs;
    code_set_init(&cs, "/code", "public");
    fprintf(stderr, "# expect six errors:\n");
    int e = add(&cs, "bad.sql",
                "GRANT SELECT ON v TO PUBLIC;\n"
                "CREATE TABLE t (a int);\n"
                "SET search_path = x;\n"
                "CREATE VIEW ok AS SELECT 1;\n"
                "COMMENT ON VIEW elsewhere IS 'x';\n"
                "CREATE INDEX ON ok (a);\n"
                "DROP VIEW ok;\n");
    is_int(e, 6, "six statements that do not belong");
    is_int((long long)cs.units_nr, 1, "the good one is kept");
    code_set_release(&cs);

    code_set_init(&cs, "/code", "public");
    e = add(&cs, "n.sql", "CREATE VIEW a AS SELECT JSON_OBJECT('a': 1);\nCREATE VIEW b AS SELECT 1;\n");
    is_int(e, 0, "newer syntax is no error");
    ok(cs.units_nr == 2 && cs.units[0].kind == CODE_STATEMENT, "...but a statement unit");
    ok(cs.units_nr == 2 && starts_with(cs.units[0].identity, "statement ") &&
           strlen(cs.units[0].identity) == 26,
       "...named by its hash");
    ok(cs.units_nr == 2 && cs.units[0].note && strstr(cs.units[0].note, "n.sql:1:"),
       "...with a note naming file:line");
    ok(cs.units_nr == 2 && cs.units[1].kind == CODE_VIEW, "the next statement is analysed");
    add(&cs, "m.sql", "CREATE VIEW b AS SELECT 2;\n");
    fprintf(stderr, "# expect one error:\n");
    is_int(code_resolve(&cs), 1, "defined twice: an error");
    code_set_release(&cs);
}

static void graph(void)
{
    struct code_set cs;
    code_set_init(&cs, "/code", "public");
    add(&cs, "1.sql", "CREATE VIEW top AS SELECT x FROM mid WHERE x > big();\n");
    add(&cs, "2.sql", "CREATE VIEW mid AS SELECT x FROM base;\n");
    add(&cs, "3.sql", "CREATE VIEW base AS SELECT amount AS x FROM public.orders;\n");
    add(&cs, "4.sql", "CREATE FUNCTION big() RETURNS int LANGUAGE sql RETURN 1;\n"
                      "CREATE FUNCTION total() RETURNS bigint LANGUAGE plpgsql AS $$\n"
                      "BEGIN RETURN (SELECT count(*) FROM top); END $$;\n"
                      "CREATE FUNCTION atomic_total() RETURNS bigint LANGUAGE sql\n"
                      "BEGIN ATOMIC SELECT count(*) FROM mid; END;\n");
    is_int(code_resolve(&cs), 0, "resolves");
    const struct code_unit *top = code_unit_find(&cs, "view public.top");
    is_str(dep_list(&top->depends), "view public.mid|function public.big()", "hard edges");
    const struct code_unit *tot = code_unit_find(&cs, "function public.total()");
    is_str(dep_list(&tot->body_depends), "view public.top", "a plpgsql body: soft edge");
    ok(tot->depends.nr == 0, "...and no hard one");
    const struct code_unit *at = code_unit_find(&cs, "function public.atomic_total()");
    is_str(dep_list(&at->depends), "view public.mid", "BEGIN ATOMIC: hard edge");
    const struct code_unit *base = code_unit_find(&cs, "view public.base");
    ok(base->external_nr == 1 && !strcmp(base->external[0].name, "orders"), "orders is external");
    size_t *order = NULL, n = 0;
    ok(code_order(&cs, NULL, NULL, 0, &order, &n) == 0, "ordered");
    is_str(order_str(&cs, order, n), "base, mid, big, top, total, atomic_total",
           "dependencies first, else file order");
    free(order);
    code_set_release(&cs);

    /* a cycle of views is an error; functions calling each other are not */
    code_set_init(&cs, "/code", "public");
    add(&cs, "a.sql", "CREATE VIEW a AS SELECT x FROM b;\n");
    add(&cs, "b.sql", "CREATE VIEW b AS SELECT x FROM a;\n");
    code_resolve(&cs);
    fprintf(stderr, "# expect a cycle message:\n");
    ok(code_order(&cs, NULL, NULL, 0, &order, &n) < 0, "cycle");
    code_set_release(&cs);
    code_set_init(&cs, "/code", "public");
    add(&cs, "f.sql",
        "CREATE FUNCTION even(n int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN RETURN odd(n - 1); END $$;\n"
        "CREATE FUNCTION odd(n int) RETURNS bool LANGUAGE plpgsql AS $$ BEGIN RETURN even(n - 1); END $$;\n");
    code_resolve(&cs);
    ok(code_order(&cs, NULL, NULL, 0, &order, &n) == 0 && n == 2, "soft cycle: ordered anyway");
    free(order);
    code_set_release(&cs);
}

static void migrations(void)
{
    char dir[] = "/tmp/t-codeobj.XXXXXX";
    ok(mkdtemp(dir) != NULL, "temp dir");
    char *main_sql = path_join(dir, "up.sql"), *inc = path_join(dir, "more.sql");
    const char *m = "ALTER TABLE orders ALTER COLUMN amount TYPE numeric, ADD COLUMN c int;\n"
                    "CREATE TABLE public.fresh (a int);\n"
                    "\\ir more.sql\n"
                    "DROP VIEW IF EXISTS old_view;\n";
    const char *more = "ALTER TABLE s.t RENAME COLUMN a TO b;\nALTER TABLE s.t DROP COLUMN z;\n"
                       "ALTER TYPE mood RENAME TO feeling;\nCOMMIT;\nSELECT JSON_OBJECT('a': 1);\n";
    write_file_atomic(main_sql, m, strlen(m), 0644);
    write_file_atomic(inc, more, strlen(more), 0644);
    struct code_mig cm = {0};
    ok(code_mig_analyse(main_sql, &cm) == 0, "analysed");
    is_int((long long)cm.targets_nr, 5, "five breaking changes (ADD COLUMN is none)");
    if (cm.targets_nr == 5) {
        is_str(cm.targets[0].what, "ALTER COLUMN amount TYPE", "1");
        is_str(cm.targets[0].column, "amount", "1 column");
        is_str(cm.targets[1].what, "RENAME COLUMN a", "2 (included)");
        ok(cm.targets[1].line == 1 && strstr(cm.targets[1].file, "more.sql"), "2 where");
        is_str(cm.targets[2].what, "DROP COLUMN z", "3");
        is_str(cm.targets[3].what, "RENAME TYPE", "4");
        is_str(cm.targets[4].what, "DROP VIEW", "5");
        ok(cm.targets[4].line == 4, "5 line after the include");
    }
    ok(cm.creates_nr == 1 && !strcmp(cm.creates[0].name, "fresh"), "creates");
    ok(cm.tx_control && strstr(cm.tx_control, "more.sql:4"), "COMMIT noticed");
    ok(cm.notes.nr == 1 && strstr(cm.notes.v[0], "more.sql:5: not analysed"), "note");
    code_mig_release(&cm);
    unlink(main_sql);
    unlink(inc);
    rmdir(dir);
    free(main_sql);
    free(inc);
}

int main(void)
{
    units();
    errors();
    graph();
    migrations();
    parse_cleanup();
    return done_testing();
}
