/*
 * t-migimport.c — the readers of other tools' migration formats
 * (lib/migimport.c): file names, dbmate and goose sections, sqitch plans,
 * Flyway configuration, the BEGIN/COMMIT stripper and the name mapping.
 */
#include "lib/common.h"
#include "lib/migimport.h"
#include "test/unit/tap.h"

static void name(enum imp_tool t, const char *file, const char *want_v, const char *want_l, char want_kind,
                 const char *want_dialect, bool want_ac)
{
    char *v, *l, kind, *dialect;
    bool ac;
    int r = imp_parse_filename(t, file, &v, &l, &kind, &dialect, &ac);
    if (!want_v) {
        ok(r < 0, "%s: %s is not a migration file name", imp_tool_name(t), file);
        return;
    }
    ok(r == 0 && !strcmp(v, want_v) && !strcmp(l, want_l) && kind == want_kind &&
           ((!dialect && !want_dialect) || (dialect && want_dialect && !strcmp(dialect, want_dialect))) &&
           ac == want_ac,
       "%s: %s -> %s / %s / %c%s%s", imp_tool_name(t), file, want_v, want_l, want_kind,
       want_dialect ? " / " : "", want_dialect ? want_dialect : "");
    if (r == 0) {
        free(v);
        free(l);
        free(dialect);
    }
}

static void mapped(const char *versions, const char *want, const char *what)
{
    struct imp_set set = {0};
    char *copy = xstrdup(versions), *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save))
        imp_add(&set, t, "m", t);
    free(copy);
    imp_map_names(&set);
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < set.nr; i++)
        strbuf_addf(&sb, "%s%.14s", i ? " " : "", set.v[i].name);
    is_str(sb.buf, want, what);
    strbuf_release(&sb);
    imp_set_release(&set);
}

int main(void)
{
    name(IMP_DBMATE, "20151129054053_create_users.sql", "20151129054053", "create_users", 's', NULL, false);
    name(IMP_DBMATE, "notes.sql", NULL, NULL, 0, NULL, false);
    name(IMP_DBMATE, "20151129054053_x.txt", NULL, NULL, 0, NULL, false);
    name(IMP_GOLANG_MIGRATE, "000001_init.up.sql", "000001", "init", 'u', NULL, false);
    name(IMP_GOLANG_MIGRATE, "000001_init.down.sql", "000001", "init", 'd', NULL, false);
    name(IMP_GOLANG_MIGRATE, "20200519101057000000_identities.postgres.up.sql", "20200519101057000000", "identities",
         'u', "postgres", false);
    name(IMP_GOLANG_MIGRATE, "20210410175418000000_network.autocommit.up.sql", "20210410175418000000", "network",
         'u', NULL, true);
    name(IMP_GOLANG_MIGRATE, "2_x.cockroach.autocommit.down.sql", "2", "x", 'd', "cockroach", true);
    name(IMP_GOLANG_MIGRATE, "2_x.autocommit.mysql.up.sql", "2", "x", 'u', "mysql", true);
    name(IMP_GOLANG_MIGRATE, "3_add.with.dots.up.sql", "3", "add.with.dots", 'u', NULL, false);
    name(IMP_GOLANG_MIGRATE, "4_pop.up.fizz", "4", "pop", 'F', NULL, false);
    name(IMP_GOLANG_MIGRATE, "000001_init.sql", NULL, NULL, 0, NULL, false);
    name(IMP_GOOSE, "00001_users.sql", "00001", "users", 's', NULL, false);
    name(IMP_GOOSE, "20230101120000_code.go", "20230101120000", "code", 'g', NULL, false);
    name(IMP_FLYWAY, "V1__init.sql", "1", "init", 'u', NULL, false);
    name(IMP_FLYWAY, "V1_1__more_things.sql", "1.1", "more_things", 'u', NULL, false);
    name(IMP_FLYWAY, "V2.0.3__x.sql", "2.0.3", "x", 'u', NULL, false);
    name(IMP_FLYWAY, "U1_1__more_things.sql", "1.1", "more_things", 'd', NULL, false);
    name(IMP_FLYWAY, "R__views.sql", "", "views", 'r', NULL, false);
    name(IMP_FLYWAY, "V__nover.sql", NULL, NULL, 0, NULL, false);
    name(IMP_FLYWAY, "V1..2__x.sql", NULL, NULL, 0, NULL, false);
    name(IMP_FLYWAY, "beforeMigrate.sql", NULL, NULL, 0, NULL, false);
    {
        char *v, *l, kind;
        ok(imp_parse_filename(IMP_DBMATE, "1_a b/c.sql", &v, &l, &kind, NULL, NULL) == 0 && !strchr(l, '/') &&
               !strchr(l, ' ') && !strcmp(l, "a-b-c"),
           "labels are sanitised (no '/', no blanks)");
        free(v);
        free(l);
    }

    /* versions */
    ok(imp_version_cmp("2", "10") < 0, "2 < 10");
    ok(imp_version_cmp("1.1", "1.10") < 0 && imp_version_cmp("1.9", "1.10") < 0, "1.9 < 1.10");
    ok(imp_version_cmp("1", "1.1") < 0 && imp_version_cmp("1_1", "1.1") == 0, "1 < 1.1; '_' is '.'");
    ok(imp_version_cmp("0001", "1") == 0, "leading zeros");
    mapped("20151129054053 20151129054054", "20151129054053 20151129054054", "14-digit timestamps are kept");
    mapped("20200519101057000000 20200519101057000001 20200519101058000000",
           "20200519101057 20200519101058 20200519101059", "20-digit versions cut, collisions moved a second on");
    mapped("1 2 3 10", "19700101000001 19700101000002 19700101000003 19700101000010", "sequence numbers");
    mapped("1 1.1 1.2 2", "19700101000001 19700101000002 19700101000003 19700101000004", "dotted versions");
    mapped("1600000000 1600000001", "20200913122640 20200913122641", "unix timestamps");
    mapped("20231399000000", "19700101000001", "an invalid 14-digit date is not a timestamp");

    /* dbmate */
    {
        char *up, *down, *err;
        bool un, dn;
        const char *t = "-- comment before\n-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (x);\n"
                        "-- migrate:down\nDROP INDEX i;\n";
        ok(imp_dbmate_split(t, &up, &down, &un, &dn, &err) == 0 &&
               !strcmp(up, "CREATE INDEX CONCURRENTLY i ON t (x);\n") && !strcmp(down, "DROP INDEX i;\n") && un && !dn,
           "dbmate: sections and transaction:false");
        free(up);
        free(down);
        ok(imp_dbmate_split("CREATE TABLE t ();\n", &up, &down, &un, &dn, &err) < 0 && err &&
               strstr(err, "migrate:up"),
           "dbmate: no up section is an error");
        free(err);
    }
    /* goose */
    {
        char *up, *down, *err;
        bool nt, env;
        const char *t = "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nSELECT 1;\n"
                        "-- +goose StatementEnd\n-- +goose Down\nSELECT 2;\n";
        ok(imp_goose_split(t, &up, &down, &nt, &env, &err) == 0 && !strcmp(up, "SELECT 1;\n") &&
               !strcmp(down, "SELECT 2;\n") && nt && !env,
           "goose: sections, markers dropped, NO TRANSACTION");
        free(up);
        free(down);
        ok(imp_goose_split("-- +goose ENVSUB ON\n-- +goose Up\nSELECT '${X}';\n", &up, &down, &nt, &env, &err) == 0 &&
               env && !down,
           "goose: ENVSUB ON is noticed");
        free(up);
    }
    /* flyway */
    ok(imp_flyway_conf_notx("# x\nexecuteInTransaction = false\n") && !imp_flyway_conf_notx("executeInTransaction=true\n"),
       "flyway .sql.conf");
    {
        char *ph;
        ok(imp_flyway_placeholders("SELECT '${schema}';", &ph) && !strcmp(ph, "${schema}") &&
               !imp_flyway_placeholders("SELECT '$x' || '{}';", NULL),
           "flyway placeholders");
        free(ph);
    }
    /* sqitch */
    {
        struct imp_sqitch_plan p;
        char *err;
        const char *t = "%syntax-version=1.0.0\n%project=flipr\n\nappschema 2013-12-30T23:19:18Z M <m@x> # schema\n"
                        "users [appschema] 2013-12-30T23:49:00Z M <m@x> # users\n@v1.0 2013-12-31T18:26:59Z M <m@x>\n"
                        "users [users@v1.0] 2014-01-05T10:00:00Z M <m@x> # rework\n";
        ok(imp_sqitch_parse(t, &p, &err) == 0 && p.nr == 3 && !strcmp(p.v[0].stamp, "20131230231918") &&
               !strcmp(p.v[1].script, "users@v1.0") && !strcmp(p.v[2].script, "users") &&
               !strcmp(p.v[1].note, "users") && p.v[2].line == 7,
           "sqitch plan: order, stamps, a reworked change's @tag scripts");
        imp_sqitch_release(&p);
        ok(imp_sqitch_parse("broken no-time M <m@x>\n", &p, &err) < 0 && strstr(err, "sqitch.plan:1:"),
           "sqitch plan: a change without a timestamp is an error with its line");
        free(err);
    }
    /* BEGIN ... COMMIT */
    {
        const char *what;
        char *s = imp_strip_tx("-- deploy\nBEGIN;\nCREATE TABLE t (x int);\nCOMMIT;\n", &what);
        ok(what && !strcmp(what, "dropped") && strstr(s, "CREATE TABLE t") && !strstr(s, "\nBEGIN;") &&
               !strstr(s, "\nCOMMIT;"),
           "a BEGIN/COMMIT around the script is dropped");
        free(s);
        s = imp_strip_tx("BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;\n", &what);
        ok(what && !strcmp(what, "own") && !strcmp(s, "BEGIN;\nSELECT 1;\nCOMMIT;\nBEGIN;\nSELECT 2;\nCOMMIT;\n"),
           "two transactions: the script manages its own");
        free(s);
        s = imp_strip_tx("CREATE TABLE t ();\n", &what);
        ok(!what && !strcmp(s, "CREATE TABLE t ();\n"), "no transaction control: unchanged");
        free(s);
    }
    return done_testing();
}
