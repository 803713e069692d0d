/*
 * t-parse.c — lib/parse (the libpg_query wrapper) without a server:
 * transaction control, statements that refuse a transaction block, each
 * lint rule both ways, created objects of every kind, references (inside
 * function bodies too), altered/dropped objects, statements of PostgreSQL
 * 16+ reported as unknown with their position, and whole-script splitting.
 */
#include "lib/common.h"
#include "lib/parse.h"
#include "test/unit/tap.h"

static struct parse_list L = PARSE_LIST_INIT;

/* Parse SQL alone (line 1, column 1); the first statement, or NULL when there is none. */
static const struct parse_stmt *one(const char *sql)
{
    parse_list_release(&L);
    parse_sql(&L, sql, 1, 1);
    return L.nr ? &L.v[0] : NULL;
}

static const char *ref_kind[] = {"rel", "func", "type"};

/* "rel s.t", "func f/2", "type pg_catalog.int4"; "body " before those found in a body. */
static void ref_str(struct strbuf *sb, const struct parse_ref *r)
{
    strbuf_addf(sb, "%s%s %s%s%s", r->in_body ? "body " : "", ref_kind[r->kind],
                r->schema ? r->schema : "", r->schema ? "." : "", r->name);
    if (r->kind == PARSE_REF_FUNCTION)
        strbuf_addf(sb, "/%d", r->nargs);
}

/* All references of ST, rendered and joined by ", ". */
static char *refs(const struct parse_stmt *st)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; st && i < st->refs_nr; i++) {
        if (i)
            strbuf_addstr(&sb, ", ");
        ref_str(&sb, &st->refs[i]);
    }
    return strbuf_detach(&sb, NULL);
}

static const struct parse_ref *find_ref(const struct parse_stmt *st, const char *want)
{
    for (size_t i = 0; st && i < st->refs_nr; i++) {
        struct strbuf sb = STRBUF_INIT;
        bool same;
        ref_str(&sb, &st->refs[i]);
        same = !strcmp(sb.buf, want);
        strbuf_release(&sb);
        if (same)
            return &st->refs[i];
    }
    return NULL;
}

/* "function s.f(integer) replace", "trigger tr on s.t", "comment on column c on s.t". */
static char *object_str(const struct parse_object *o)
{
    struct strbuf sb = STRBUF_INIT;
    if (o->kind == PARSE_OBJ_COMMENT)
        strbuf_addf(&sb, "comment on %s", o->kind_name);
    else
        strbuf_addstr(&sb, parse_obj_kind_name(o->kind));
    strbuf_addf(&sb, " %s%s%s", o->schema ? o->schema : "", o->schema ? "." : "",
                o->name ? o->name : "(unnamed)");
    if (o->args)
        strbuf_addf(&sb, "(%s)", o->args);
    if (o->table)
        strbuf_addf(&sb, " on %s%s%s", o->table_schema ? o->table_schema : "",
                    o->table_schema ? "." : "", o->table);
    if (o->or_replace)
        strbuf_addstr(&sb, " replace");
    if (o->if_not_exists)
        strbuf_addstr(&sb, " ine");
    return strbuf_detach(&sb, NULL);
}

static char *creates(const struct parse_stmt *st)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; st && i < st->creates_nr; i++) {
        char *s = object_str(&st->creates[i]);
        strbuf_addf(&sb, "%s%s", i ? "; " : "", s);
        free(s);
    }
    return strbuf_detach(&sb, NULL);
}

static const char *action[] = {"alter", "drop", "rename", "set schema"};

/* "alter table s.t: AddColumn(a) DropColumn(b)", "drop function f(integer) cascade", ... */
static char *changes(const struct parse_stmt *st)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; st && i < st->changes_nr; i++) {
        const struct parse_change *c = &st->changes[i];
        if (i)
            strbuf_addstr(&sb, "; ");
        strbuf_addf(&sb, "%s %s %s%s%s", action[c->action], c->kind_name,
                    c->schema ? c->schema : "", c->schema ? "." : "", c->name ? c->name : "?");
        if (c->args)
            strbuf_addf(&sb, "(%s)", c->args);
        if (c->table)
            strbuf_addf(&sb, " on %s%s%s", c->table_schema ? c->table_schema : "",
                        c->table_schema ? "." : "", c->table);
        if (c->newname)
            strbuf_addf(&sb, " to %s", c->newname);
        if (c->cascade)
            strbuf_addstr(&sb, " cascade");
        if (c->if_exists)
            strbuf_addstr(&sb, " if exists");
        if (c->cmds_nr)
            strbuf_addch(&sb, ':');
        for (size_t j = 0; j < c->cmds_nr; j++)
            strbuf_addf(&sb, " %s(%s)", c->cmds[j].type, c->cmds[j].name ? c->cmds[j].name : "");
    }
    return strbuf_detach(&sb, NULL);
}

/* The rules found in ST, space separated. */
static char *rules(const struct parse_stmt *st)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; st && i < st->findings_nr; i++)
        strbuf_addf(&sb, "%s%s", i ? " " : "", st->findings[i].rule);
    return strbuf_detach(&sb, NULL);
}

/* WHAT on one line (TAP test names cannot hold a newline). */
static void is_owned(char *got, const char *want, const char *what)
{
    char *name = xstrdup(what);
    for (char *p = name; *p; p++)
        if (*p == '\n')
            *p = ' ';
    is_str(got, want, name);
    free(name);
    free(got);
}

static void like_owned(char *got, const char *needle, const char *what)
{
    if (!ok(strstr(got, needle) != NULL, "%s", what))
        printf("#   got:  '%s'\n#   want: ...'%s'...\n", got, needle);
    free(got);
}

static void unlike_owned(char *got, const char *needle, const char *what)
{
    if (!ok(strstr(got, needle) == NULL, "%s", what))
        printf("#   got:  '%s'\n#   unwanted: '%s'\n", got, needle);
    free(got);
}

/* ---- transaction control and no-transaction statements ----------------------- */

static void test_transactions(void)
{
    static const struct {
        const char *sql;
        enum parse_tx tx;
        bool chain;
    } txs[] = {
        {"BEGIN", PARSE_TX_BEGIN, false},
        {"BEGIN ISOLATION LEVEL SERIALIZABLE", PARSE_TX_BEGIN, false},
        {"START TRANSACTION READ ONLY", PARSE_TX_BEGIN, false},
        {"COMMIT", PARSE_TX_COMMIT, false},
        {"END", PARSE_TX_COMMIT, false},
        {"COMMIT AND CHAIN", PARSE_TX_COMMIT, true},
        {"ROLLBACK", PARSE_TX_ROLLBACK, false},
        {"ABORT", PARSE_TX_ROLLBACK, false},
        {"SAVEPOINT a", PARSE_TX_SAVEPOINT, false},
        {"RELEASE SAVEPOINT a", PARSE_TX_RELEASE, false},
        {"ROLLBACK TO SAVEPOINT a", PARSE_TX_ROLLBACK_TO, false},
        {"PREPARE TRANSACTION 'g'", PARSE_TX_PREPARE, false},
        {"COMMIT PREPARED 'g'", PARSE_TX_COMMIT_PREPARED, false},
        {"ROLLBACK PREPARED 'g'", PARSE_TX_ROLLBACK_PREPARED, false},
        {"SELECT 1", PARSE_TX_NONE, false},
        {"SET TRANSACTION ISOLATION LEVEL SERIALIZABLE", PARSE_TX_NONE, false},
        {"PREPARE q AS SELECT 1", PARSE_TX_NONE, false},
    };
    for (size_t i = 0; i < ARRAY_SIZE(txs); i++) {
        const struct parse_stmt *st = one(txs[i].sql);
        ok(st && st->status == PARSE_OK && st->tx == txs[i].tx && st->tx_chain == txs[i].chain,
           "transaction kind of %s", txs[i].sql);
    }
}

static void test_no_transaction(void)
{
    static const char *const yes[][2] = {
        {"CREATE INDEX CONCURRENTLY i ON t (a)", "CREATE INDEX CONCURRENTLY"},
        {"CREATE UNIQUE INDEX CONCURRENTLY IF NOT EXISTS i ON s.t (a)",
         "CREATE INDEX CONCURRENTLY"},
        {"DROP INDEX CONCURRENTLY i", "DROP INDEX CONCURRENTLY"},
        {"DROP INDEX CONCURRENTLY IF EXISTS s.i", "DROP INDEX CONCURRENTLY"},
        {"REINDEX TABLE CONCURRENTLY t", "REINDEX CONCURRENTLY"},
        {"REINDEX (CONCURRENTLY) INDEX i", "REINDEX CONCURRENTLY"},
        {"REINDEX (VERBOSE, CONCURRENTLY true) TABLE t", "REINDEX CONCURRENTLY"},
        {"REINDEX SCHEMA s", "REINDEX SCHEMA"},
        {"REINDEX SYSTEM d", "REINDEX SYSTEM"},
        {"REINDEX DATABASE d", "REINDEX DATABASE"},
        {"VACUUM", "VACUUM"},
        {"VACUUM t", "VACUUM"},
        {"VACUUM (FULL, ANALYZE) t (a)", "VACUUM"},
        {"VACUUM ANALYZE t", "VACUUM"},
        {"CLUSTER", "CLUSTER"},
        {"CLUSTER VERBOSE", "CLUSTER"},
        {"CREATE DATABASE d", "CREATE DATABASE"},
        {"CREATE DATABASE d TEMPLATE template0 ENCODING 'UTF8'", "CREATE DATABASE"},
        {"DROP DATABASE d", "DROP DATABASE"},
        {"DROP DATABASE IF EXISTS d WITH (FORCE)", "DROP DATABASE"},
        {"ALTER DATABASE d SET TABLESPACE ts", "ALTER DATABASE SET TABLESPACE"},
        {"CREATE TABLESPACE ts LOCATION '/srv/ts'", "CREATE TABLESPACE"},
        {"DROP TABLESPACE ts", "DROP TABLESPACE"},
        {"DROP TABLESPACE IF EXISTS ts", "DROP TABLESPACE"},
        {"ALTER SYSTEM SET work_mem = '64MB'", "ALTER SYSTEM"},
        {"ALTER SYSTEM RESET ALL", "ALTER SYSTEM"},
        {"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p",
         "CREATE SUBSCRIPTION ... WITH (create_slot = true)"},
        {"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (create_slot = true)",
         "CREATE SUBSCRIPTION ... WITH (create_slot = true)"},
        {"CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (copy_data = false)",
         "CREATE SUBSCRIPTION ... WITH (create_slot = true)"},
        {"DROP SUBSCRIPTION s", "DROP SUBSCRIPTION"},
        {"DROP SUBSCRIPTION IF EXISTS s CASCADE", "DROP SUBSCRIPTION"},
        {"ALTER SUBSCRIPTION s REFRESH PUBLICATION", "ALTER SUBSCRIPTION ... REFRESH"},
        {"ALTER SUBSCRIPTION s REFRESH PUBLICATION WITH (copy_data = false)",
         "ALTER SUBSCRIPTION ... REFRESH"},
        {"ALTER SUBSCRIPTION s SET PUBLICATION p", "ALTER SUBSCRIPTION with refresh"},
        {"ALTER SUBSCRIPTION s ADD PUBLICATION p WITH (refresh = on)",
         "ALTER SUBSCRIPTION with refresh"},
        {"ALTER SUBSCRIPTION s DROP PUBLICATION p", "ALTER SUBSCRIPTION with refresh"},
        {"ALTER TABLE t DETACH PARTITION p CONCURRENTLY", "ALTER TABLE ... DETACH CONCURRENTLY"},
        {"ALTER TABLE t DETACH PARTITION p FINALIZE", NULL /* allowed in a block */},
        {"DISCARD ALL", "DISCARD ALL"},
        {"COMMIT PREPARED 'g'", "COMMIT PREPARED"},
        {"ROLLBACK PREPARED 'g'", "ROLLBACK PREPARED"},
    };
    static const char *const no[] = {
        "CREATE INDEX i ON t (a)",
        "CREATE INDEX IF NOT EXISTS i ON t USING gin (a)",
        "DROP INDEX i",
        "DROP TABLE t",
        "REINDEX TABLE t",
        "REINDEX INDEX i",
        "REINDEX (CONCURRENTLY false) TABLE t",
        "ANALYZE",
        "ANALYZE t (a)",
        "CLUSTER t",
        "CLUSTER t USING i",
        "ALTER DATABASE d SET work_mem = '1MB'",
        "ALTER DATABASE d RENAME TO e",
        "ALTER DATABASE d CONNECTION LIMIT 3",
        "ALTER TABLESPACE ts RENAME TO tt",
        "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (create_slot = false)",
        "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (connect = false)",
        "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (connect = off)",
        "CREATE SUBSCRIPTION s CONNECTION 'host=x' PUBLICATION p WITH (create_slot = 0)",
        "ALTER SUBSCRIPTION s SET PUBLICATION p WITH (refresh = false)",
        "ALTER SUBSCRIPTION s DISABLE",
        "ALTER SUBSCRIPTION s CONNECTION 'host=y'",
        "ALTER SUBSCRIPTION s SET (slot_name = NONE)",
        "ALTER TABLE t DETACH PARTITION p",
        "ALTER TABLE t ATTACH PARTITION p FOR VALUES IN (1)",
        "ALTER TYPE e ADD VALUE 'x'",
        "REFRESH MATERIALIZED VIEW CONCURRENTLY mv",
        "DISCARD PLANS",
        "DISCARD TEMP",
        "BEGIN",
        "COMMIT",
        "PREPARE TRANSACTION 'g'",
        "SELECT pg_create_logical_replication_slot('s', 'pgoutput')",
        "CREATE TABLE t (a int)",
        "SET lock_timeout = '1s'",
    };
    for (size_t i = 0; i < ARRAY_SIZE(yes); i++) {
        const struct parse_stmt *st = one(yes[i][0]);
        const char *why = NULL;
        bool got = st && parse_stmt_no_transaction(st, &why);
        if (!ok(st && st->status == PARSE_OK && got == (yes[i][1] != NULL) &&
                    (!yes[i][1] || (why && !strcmp(why, yes[i][1]))),
                "no transaction block: %s", yes[i][0]))
            printf("#   got: %d '%s'\n", got, why ? why : "(null)");
    }
    for (size_t i = 0; i < ARRAY_SIZE(no); i++) {
        const struct parse_stmt *st = one(no[i]);
        ok(st && st->status == PARSE_OK && !st->no_transaction && !st->no_transaction_why,
           "runs in a transaction block: %s", no[i]);
    }
}

/* ---- lint ------------------------------------------------------------------------ */

static void lint_case(const char *sql, const char *want, const char *what)
{
    const struct parse_stmt *st = one(sql);
    if (!st || st->status != PARSE_OK) {
        ok(0, "%s: parses (%s)", what, sql);
        return;
    }
    is_owned(rules(st), want, what);
}

static void test_lint(void)
{
    const struct parse_stmt *st;
    const struct parse_finding *f;

    lint_case("DROP TABLE t", "drop-table", "drop-table");
    lint_case("DROP TABLE IF EXISTS a, s.b CASCADE", "drop-table drop-table",
              "drop-table: one per table");
    lint_case("DROP VIEW v", "", "drop-table: not a view");
    lint_case("DROP MATERIALIZED VIEW mv", "", "drop-table: not a materialized view");
    lint_case("TRUNCATE t", "", "drop-table: not TRUNCATE");
    st = one("DROP TABLE s.b");
    f = st ? parse_stmt_finding(st, "drop-table") : NULL;
    ok(f && f->schema && !strcmp(f->schema, "s") && !strcmp(f->name, "b") &&
           !strcmp(f->message, "DROP TABLE s.b"),
       "drop-table: names the table");

    lint_case("ALTER TABLE t DROP COLUMN a", "drop-column", "drop-column");
    lint_case("ALTER TABLE t DROP a, DROP COLUMN IF EXISTS b CASCADE", "drop-column drop-column",
              "drop-column: each column");
    lint_case("ALTER TABLE t DROP CONSTRAINT c", "", "drop-column: not a constraint");
    lint_case("ALTER TYPE comp DROP ATTRIBUTE a", "", "drop-column: not a type attribute");

    lint_case("ALTER TABLE t ALTER COLUMN a TYPE bigint", "alter-column-type", "alter-column-type");
    lint_case("ALTER TABLE t ALTER a SET DATA TYPE text USING a::text", "alter-column-type",
              "alter-column-type: SET DATA TYPE ... USING");
    lint_case("ALTER TABLE t ALTER a SET DEFAULT 0", "", "alter-column-type: not SET DEFAULT");

    lint_case("ALTER TABLE t ADD COLUMN a uuid DEFAULT gen_random_uuid()",
              "add-column-volatile-default", "add-column-volatile-default: gen_random_uuid()");
    lint_case("ALTER TABLE t ADD a float8 DEFAULT random() * 10", "add-column-volatile-default",
              "add-column-volatile-default: inside an expression");
    lint_case("ALTER TABLE t ADD a timestamptz DEFAULT clock_timestamp()",
              "add-column-volatile-default", "add-column-volatile-default: clock_timestamp()");
    lint_case("ALTER TABLE t ADD a int DEFAULT nextval('s')", "add-column-volatile-default",
              "add-column-volatile-default: nextval()");
    lint_case("ALTER TABLE t ADD a uuid DEFAULT ext.uuid_generate_v4()",
              "add-column-volatile-default", "add-column-volatile-default: qualified name");
    lint_case("ALTER TABLE t ADD a serial", "add-column-volatile-default",
              "add-column-volatile-default: serial");
    lint_case("ALTER TABLE t ADD a bigint GENERATED ALWAYS AS IDENTITY",
              "add-column-volatile-default", "add-column-volatile-default: identity");
    lint_case("ALTER TABLE t ADD a int GENERATED ALWAYS AS (b * 2) STORED",
              "add-column-volatile-default", "add-column-volatile-default: stored generated");
    lint_case("ALTER TABLE t ADD a timestamptz NOT NULL DEFAULT now()", "",
              "add-column-volatile-default: now() is stable");
    lint_case("ALTER TABLE t ADD a int NOT NULL DEFAULT 0", "",
              "add-column-volatile-default: a constant");
    lint_case("ALTER TABLE t ADD a text DEFAULT lower('X')", "",
              "add-column-volatile-default: an immutable call");
    lint_case("ALTER TABLE t ADD a int", "", "add-column-volatile-default: no default");
    lint_case("CREATE TABLE t (a uuid DEFAULT gen_random_uuid())", "",
              "add-column-volatile-default: a new table is fine");
    st = one("ALTER TABLE t ADD a int,\n  ADD b uuid DEFAULT gen_random_uuid()");
    f = st ? parse_stmt_finding(st, "add-column-volatile-default") : NULL;
    ok(f && f->pos.line == 2 && f->pos.col == 14 && strstr(f->message, "gen_random_uuid()"),
       "add-column-volatile-default: where the default is, and which function");

    lint_case("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u (id)",
              "add-fk-without-not-valid", "add-fk-without-not-valid");
    lint_case("ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u", "add-fk-without-not-valid",
              "add-fk-without-not-valid: unnamed");
    lint_case("ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (a) REFERENCES u NOT VALID", "",
              "add-fk-without-not-valid: NOT VALID");
    lint_case("ALTER TABLE t VALIDATE CONSTRAINT fk", "",
              "add-fk-without-not-valid: VALIDATE is the second step");
    lint_case("CREATE TABLE t (a int REFERENCES u)", "", "add-fk-without-not-valid: new table");

    lint_case("ALTER TABLE t ADD CONSTRAINT c CHECK (a > 0)", "add-check-without-not-valid",
              "add-check-without-not-valid");
    lint_case("ALTER TABLE t ADD CHECK (a > 0) NOT VALID", "",
              "add-check-without-not-valid: NOT VALID");
    lint_case("ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0)", "add-check-without-not-valid",
              "add-check-without-not-valid: domain");
    lint_case("ALTER DOMAIN d ADD CHECK (VALUE > 0) NOT VALID", "",
              "add-check-without-not-valid: domain NOT VALID");
    lint_case("ALTER TABLE t ADD CONSTRAINT u UNIQUE (a)", "",
              "add-check-without-not-valid: not UNIQUE");

    lint_case("CREATE INDEX i ON s.t (a)", "create-index-without-concurrently",
              "create-index-without-concurrently");
    lint_case("CREATE UNIQUE INDEX ON t USING btree (lower(a)) WHERE b",
              "create-index-without-concurrently", "create-index-without-concurrently: unnamed");
    lint_case("CREATE INDEX CONCURRENTLY i ON t (a)", "",
              "create-index-without-concurrently: CONCURRENTLY");
    st = one("CREATE INDEX i ON s.t (a)");
    f = st ? parse_stmt_finding(st, "create-index-without-concurrently") : NULL;
    ok(f && f->schema && !strcmp(f->schema, "s") && !strcmp(f->name, "t"),
       "create-index-without-concurrently: names the table for the caller to check");

    lint_case("ALTER TABLE t ALTER COLUMN a SET NOT NULL", "set-not-null", "set-not-null");
    lint_case("ALTER TABLE t ALTER COLUMN a DROP NOT NULL", "", "set-not-null: DROP NOT NULL");
    lint_case("ALTER TABLE t ADD CONSTRAINT c CHECK (a IS NOT NULL) NOT VALID", "",
              "set-not-null: the NOT VALID check way");

    lint_case("ALTER TABLE t RENAME TO u", "rename", "rename: table");
    lint_case("ALTER TABLE t RENAME COLUMN a TO b", "rename", "rename: column");
    lint_case("ALTER TABLE t RENAME a TO b", "rename", "rename: column without COLUMN");
    lint_case("ALTER VIEW v RENAME TO w", "rename", "rename: view");
    lint_case("ALTER MATERIALIZED VIEW v RENAME COLUMN a TO b", "rename",
              "rename: materialized view column");
    lint_case("ALTER INDEX i RENAME TO j", "", "rename: not an index");
    lint_case("ALTER TABLE t RENAME CONSTRAINT c TO d", "", "rename: not a constraint");
    lint_case("ALTER FUNCTION f(int) RENAME TO g", "", "rename: not a function");

    lint_case("DROP TYPE e", "drop-type", "drop-type");
    lint_case("DROP TYPE IF EXISTS a, s.b CASCADE", "drop-type drop-type", "drop-type: each");
    lint_case("DROP DOMAIN d", "drop-type", "drop-type: domain");
    lint_case("DROP FUNCTION f(int)", "", "drop-type: not a function");

    lint_case("SET lock_timeout = '5s'", "lock-timeout-set", "lock-timeout-set");
    lint_case("SET LOCAL lock_timeout TO 5000", "lock-timeout-set", "lock-timeout-set: LOCAL");
    lint_case("SET SESSION lock_timeout = '1min'", "lock-timeout-set", "lock-timeout-set: SESSION");
    lint_case("SELECT set_config('lock_timeout', '5s', true)", "lock-timeout-set",
              "lock-timeout-set: set_config()");
    lint_case("RESET lock_timeout", "", "lock-timeout-set: RESET");
    lint_case("SET lock_timeout TO DEFAULT", "", "lock-timeout-set: DEFAULT");
    lint_case("SET statement_timeout = '5s'", "", "lock-timeout-set: another setting");

    lint_case("ALTER TABLE t DROP COLUMN a, ALTER b SET NOT NULL, ALTER c TYPE text",
              "drop-column set-not-null alter-column-type", "several rules in one statement");
    st = one("SELECT 1;\n\n  ALTER TABLE t\n    DROP COLUMN a");
    st = L.nr == 2 ? &L.v[1] : NULL;
    f = st ? parse_stmt_finding(st, "drop-column") : NULL;
    ok(f && f->pos.line == 3 && f->pos.col == 15 && st->pos.line == 3 && st->pos.col == 3,
       "findings carry lines and columns in the text");
}

/* ---- created objects --------------------------------------------------------------- */

static void creates_case(const char *sql, const char *want)
{
    const struct parse_stmt *st = one(sql);
    char *got = st ? creates(st) : xstrdup("(no statement)");
    is_owned(got, want, sql);
}

static void test_creates(void)
{
    creates_case("CREATE VIEW s.v AS SELECT 1", "view s.v");
    creates_case("CREATE OR REPLACE VIEW v (a) AS SELECT 1", "view v replace");
    creates_case("CREATE OR REPLACE TEMP VIEW \"MixedCase\" AS SELECT 1", "view MixedCase replace");
    creates_case("CREATE RECURSIVE VIEW r (n) AS SELECT 1", "view r");
    creates_case("CREATE MATERIALIZED VIEW IF NOT EXISTS Mv AS SELECT 1 WITH NO DATA",
                 "materialized view mv ine");
    creates_case("CREATE FUNCTION s.f(a int, INOUT b varchar(3)[], OUT c text, VARIADIC d "
                 "int[]) RETURNS SETOF record LANGUAGE sql AS 'select 1'",
                 "function s.f(integer, character varying[], integer[])");
    creates_case("CREATE OR REPLACE FUNCTION f() RETURNS TABLE (a int) LANGUAGE sql AS "
                 "'select 1'",
                 "function f() replace");
    creates_case("CREATE FUNCTION f(double precision, \"char\", char(3), timestamptz, time with "
                 "time zone, numeric(3,1), bit varying, bool, int8, s.mytype, t.c%TYPE) "
                 "RETURNS int LANGUAGE sql AS 'select 1'",
                 "function f(double precision, \"char\", character, timestamp with time zone, "
                 "time with time zone, numeric, bit varying, boolean, bigint, s.mytype, "
                 "t.c%TYPE)");
    creates_case("CREATE PROCEDURE p(IN a integer, OUT b int) LANGUAGE sql BEGIN ATOMIC SELECT "
                 "1; END",
                 "procedure p(integer)");
    creates_case("CREATE AGGREGATE s.agg(int, text) (sfunc = f, stype = int)",
                 "aggregate s.agg(integer, text)");
    creates_case("CREATE AGGREGATE cnt(*) (sfunc = f, stype = int8)", "aggregate cnt(*)");
    creates_case("CREATE AGGREGATE old (basetype = int4, sfunc = f, stype = int)",
                 "aggregate old(integer)");
    creates_case("CREATE OR REPLACE AGGREGATE pct(float8 ORDER BY float8) (sfunc = f, stype = "
                 "int)",
                 "aggregate pct(double precision, double precision) replace");
    creates_case("CREATE TYPE s.mood AS ENUM ('sad', 'ok')", "enum type s.mood");
    creates_case("CREATE TYPE pair AS (a int, b text)", "composite type pair");
    creates_case("CREATE TYPE fr AS RANGE (subtype = float8)", "range type fr");
    creates_case("CREATE DOMAIN s.pos AS int CHECK (VALUE > 0)", "domain s.pos");
    creates_case("CREATE TYPE shell", "type shell");
    creates_case("CREATE TYPE base (input = base_in, output = base_out)", "type base");
    creates_case("CREATE TRIGGER tr BEFORE UPDATE ON s.t FOR EACH ROW EXECUTE FUNCTION f()",
                 "trigger tr on s.t");
    creates_case("CREATE OR REPLACE TRIGGER tr AFTER INSERT ON t EXECUTE PROCEDURE f()",
                 "trigger tr on t replace");
    creates_case("CREATE CONSTRAINT TRIGGER ct AFTER INSERT ON t DEFERRABLE FOR EACH ROW EXECUTE "
                 "FUNCTION f()",
                 "trigger ct on t");
    creates_case("CREATE POLICY p ON s.t FOR SELECT USING (true)", "policy p on s.t");
    creates_case("CREATE EVENT TRIGGER et ON ddl_command_end EXECUTE FUNCTION f()",
                 "event trigger et");
    creates_case("COMMENT ON VIEW s.v IS 'x'", "comment on view s.v");
    creates_case("COMMENT ON MATERIALIZED VIEW mv IS 'x'", "comment on materialized view mv");
    creates_case("COMMENT ON FUNCTION s.f(int, OUT x text) IS 'x'",
                 "comment on function s.f(integer)");
    creates_case("COMMENT ON FUNCTION f IS NULL", "comment on function f");
    creates_case("COMMENT ON PROCEDURE p() IS 'x'", "comment on procedure p()");
    creates_case("COMMENT ON AGGREGATE cnt(*) IS 'x'", "comment on aggregate cnt(*)");
    creates_case("COMMENT ON AGGREGATE s.agg(int, text) IS 'x'",
                 "comment on aggregate s.agg(integer, text)");
    creates_case("COMMENT ON TYPE s.mood IS 'x'", "comment on type s.mood");
    creates_case("COMMENT ON DOMAIN pos IS 'x'", "comment on domain pos");
    creates_case("COMMENT ON TRIGGER tr ON s.t IS 'x'", "comment on trigger tr on s.t");
    creates_case("COMMENT ON POLICY p ON t IS 'x'", "comment on policy p on t");
    creates_case("COMMENT ON COLUMN s.t.c IS 'x'", "comment on column c on s.t");
    creates_case("COMMENT ON TABLE t IS 'x'", "comment on table t");
    creates_case("COMMENT ON SCHEMA s IS 'x'", "comment on schema s");
    creates_case("COMMENT ON COLLATION c IS 'x'", "comment on collation c");
    creates_case("CREATE TABLE s.t (a int)", "table s.t");
    creates_case("CREATE TABLE IF NOT EXISTS t (a int) INHERITS (hectic.created_at)",
                 "table t ine");
    creates_case("CREATE TABLE p1 PARTITION OF p FOR VALUES IN (1)", "table p1");
    creates_case("CREATE TABLE t2 AS SELECT 1", "table t2");
    creates_case("SELECT 1 AS a INTO TEMP t3", "table t3");
    creates_case("CREATE FOREIGN TABLE ft (a int) SERVER srv", "foreign table ft");
    creates_case("CREATE SEQUENCE IF NOT EXISTS s.seq", "sequence s.seq ine");
    creates_case("CREATE INDEX i ON s.t (a)", "index s.i on s.t");
    creates_case("CREATE INDEX ON t (a)", "index (unnamed) on t");
    creates_case("CREATE SCHEMA IF NOT EXISTS s", "schema s ine");
    creates_case("CREATE SCHEMA AUTHORIZATION joe", "schema joe");
    creates_case("CREATE SCHEMA s CREATE TABLE t (a int) CREATE VIEW v AS SELECT 1 CREATE INDEX "
                 "i ON t (a)",
                 "schema s; table s.t; view s.v; index s.i on s.t");
    creates_case("CREATE EXTENSION IF NOT EXISTS pgcrypto WITH SCHEMA ext",
                 "extension pgcrypto ine");
    creates_case("ALTER TABLE t ADD a int", "");
    creates_case("SELECT 1", "");
}

/* ---- references ------------------------------------------------------------------------- */

static void refs_case(const char *sql, const char *want)
{
    const struct parse_stmt *st = one(sql);
    char *got = st ? refs(st) : xstrdup("(no statement)");
    is_owned(got, want, sql);
}

static void test_refs(void)
{
    const struct parse_stmt *st;
    const struct parse_ref *r;

    refs_case("SELECT a FROM s.t JOIN u USING (id) WHERE b IN (SELECT c FROM w)",
              "rel s.t, rel u, rel w");
    refs_case("SELECT f(1, 2), s.g(), count(*), now() FROM t",
              "func f/2, func s.g/0, func count/0, func now/0, rel t");
    refs_case("SELECT 1::bigint, CAST(x AS s.mytype), y::int[]",
              "type pg_catalog.int8, type s.mytype, type pg_catalog.int4");
    refs_case("CREATE TABLE t (a int, b s.mood, c text DEFAULT lower('X'), LIKE tmpl) INHERITS "
              "(hectic.created_at)",
              "type pg_catalog.int4, type s.mood, type text, func lower/1, rel tmpl, rel "
              "hectic.created_at");
    refs_case("CREATE VIEW v AS WITH x AS (SELECT 1) SELECT * FROM x, t",
              "rel t"); /* neither v (created) nor x (a WITH query) */
    refs_case("CREATE MATERIALIZED VIEW mv AS SELECT * FROM t", "rel t");
    refs_case("INSERT INTO log (a) SELECT a FROM src RETURNING id", "rel log, rel src");
    refs_case("UPDATE t SET a = f(b) FROM u WHERE t.id = u.id", "rel t, func f/1, rel u");
    refs_case("DELETE FROM t USING u WHERE t.id = u.id", "rel t, rel u");
    refs_case("CREATE TABLE t (id int DEFAULT nextval('s.Seq'), r regclass DEFAULT 'u'::regclass)",
              "type pg_catalog.int4, func nextval/1, rel s.seq, type regclass, rel u, type "
              "regclass");
    refs_case("ALTER TABLE t ADD FOREIGN KEY (a) REFERENCES u (id)", "rel t, rel u");
    refs_case("CREATE TRIGGER tr BEFORE UPDATE ON s.t FOR EACH ROW EXECUTE FUNCTION "
              "hectic.set_updated_at()",
              "func hectic.set_updated_at/0, rel s.t");
    refs_case("CREATE POLICY p ON t USING (owner = current_user AND allowed(id))",
              "rel t, func allowed/1");
    refs_case("CREATE AGGREGATE a(int) (sfunc = s.step, stype = int8, finalfunc = fin)",
              "type pg_catalog.int4, func s.step/-1, type int8, func fin/-1");
    refs_case("CREATE SUBSCRIPTION s CONNECTION 'x' PUBLICATION p WITH (connect = off)", "");
    refs_case("CREATE SEQUENCE q AS bigint", "type pg_catalog.int8");
    refs_case("DROP TABLE t; ", "");
    refs_case("DROP FUNCTION f(s.mytype)", "");
    refs_case("COMMENT ON TABLE t IS 'x'", "");
    refs_case("SELECT 1", "");

    /* SQL function bodies: the string is parsed */
    refs_case("CREATE FUNCTION f(a s.t) RETURNS int LANGUAGE sql AS $$\n"
              "  SELECT count(*) FROM items i JOIN s.owners o ON o.id = i.owner\n"
              "  WHERE helper(a, 2)\n$$",
              "body func count/0, body rel items, body rel s.owners, body func helper/2, type "
              "s.t, type pg_catalog.int4");
    st = one("CREATE FUNCTION f() RETURNS int\nLANGUAGE sql AS $$\n  SELECT 1;\n  SELECT x FROM "
             "deep\n$$");
    r = find_ref(st, "body rel deep");
    ok(r && r->in_body && r->pos.line == 4 && r->pos.col == 17,
       "a reference inside a $$ body has its line and column in the text");
    st = one("CREATE FUNCTION f() RETURNS int LANGUAGE sql\nAS 'SELECT n FROM t WHERE x = ''a''';");
    r = find_ref(st, "body rel t");
    ok(r && r->pos.line == 2, "a '' quoted body: references found, placed at AS");
    refs_case("CREATE FUNCTION f() RETURNS int LANGUAGE sql RETURN g(1) + 1",
              "type pg_catalog.int4, func g/1");
    refs_case("CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC INSERT INTO log SELECT * FROM t2; "
              "SELECT h(); END",
              "rel log, rel t2, func h/0");
    refs_case("CREATE FUNCTION f() RETURNS int LANGUAGE c AS 'lib', 'sym'", "type pg_catalog.int4");

    /* plpgsql bodies: through libpg_query's plpgsql compiler */
    st = one("CREATE FUNCTION f(a int) RETURNS int LANGUAGE plpgsql AS $$\n"
             "DECLARE v t.c%TYPE; n numeric(10,2) := scale(1); r record;\n"
             "BEGIN\n"
             "  SELECT c INTO v FROM t WHERE id = a;\n"
             "  v := g(a) + 1;\n"
             "  IF v > 0 THEN INSERT INTO log VALUES (v); END IF;\n"
             "  FOR r IN SELECT * FROM u LOOP\n    PERFORM h(r.x);\n  END LOOP;\n"
             "  EXECUTE format('SELECT 1 FROM %I', 'hidden');\n"
             "  RETURN v::mytype;\n"
             "END $$");
    ok(st && !st->body_error, "plpgsql: the body is analysed");
    like_owned(refs(st),
               "body rel t, body type pg_catalog.numeric, body func scale/1, body type record, "
               "body rel t, body func g/1, body rel log, body func h/1, body rel u, body func "
               "format/2, body type mytype",
               "plpgsql: queries, expressions, assignments and declared types");
    unlike_owned(refs(st), "hidden", "plpgsql: dynamic SQL is not seen (documented gap)");
    r = find_ref(st, "body func h/1");
    ok(r && r->pos.line == 8, "plpgsql: a reference is placed on its statement's line");
    r = find_ref(st, "body rel log");
    ok(r && r->pos.line == 6, "plpgsql: the IF's inner statement keeps its own line");
    refs_case("CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $$BEGIN\n"
              "  NEW.updated_at := clock_timestamp();\n"
              "  RETURN (SELECT x FROM cfg LIMIT 1);\nEND$$",
              "body func clock_timestamp/0, body rel cfg, type trigger");
    st = one("CREATE FUNCTION f() RETURNS TABLE (a int) LANGUAGE plpgsql AS $$\nBEGIN\n"
             "  a := g(1); RETURN NEXT;\n  a := h(); RETURN /* c */ NEXT\n ;\nEND $$");
    ok(st && !st->body_error && find_ref(st, "body func g/1") && find_ref(st, "body func h/0") &&
           find_ref(st, "body func h/0")->pos.line == 4,
       "plpgsql: a bare RETURN NEXT (OUT/TABLE parameters) does not stop the analysis");
    refs_case("DO $$BEGIN PERFORM q(); UPDATE audit SET x = 1; END$$",
              "body func q/0, body rel audit");
    refs_case("DO LANGUAGE plpgsql 'BEGIN PERFORM q(); END'", "body func q/0");
    st = one("DO $$DECLARE r pg_class%ROWTYPE; BEGIN r.relname := 'x'; END$$");
    ok(st && st->body_error && strstr(st->body_error, "relname"),
       "plpgsql: assigning a %%ROWTYPE field needs the catalog: body_error (documented gap)");
    st = one("CREATE FUNCTION f() RETURNS int LANGUAGE plpgsql AS $$ BEGIN retur 1; END $$");
    ok(st && st->status == PARSE_OK && st->body_error &&
           strstr(st->body_error, "plpgsql body not analysed") && st->body_error_pos.col == 55,
       "plpgsql: a body the compiler rejects is reported, the statement is still analysed");
    st = one("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS $$\nSELECT 1;\nSELECT * FROM "
             "JSON_TABLE('[]', '$' COLUMNS (a int))\n$$");
    ok(st && st->status == PARSE_OK && st->body_error && st->body_error_pos.line == 3 &&
           st->body_error_pos.col == 36 && st->creates_nr == 1,
       "a SQL body with PostgreSQL 17 syntax: body_error at the right place, the function "
       "is still known");

    /* lines and columns of references */
    st = one("SELECT 'é',\n  x FROM tbl");
    r = find_ref(st, "rel tbl");
    ok(r && r->pos.line == 2 && r->pos.col == 10 && r->pos.offset == 22,
       "reference positions: line, column in characters, byte offset");
}

/* ---- altered and dropped objects ------------------------------------------------------- */

static void changes_case(const char *sql, const char *want)
{
    const struct parse_stmt *st = one(sql);
    char *got = st ? changes(st) : xstrdup("(no statement)");
    is_owned(got, want, sql);
}

static void test_changes(void)
{
    changes_case("ALTER TABLE IF EXISTS s.t ADD COLUMN a int, DROP b, ALTER c TYPE text, ALTER d "
                 "SET NOT NULL, ADD CONSTRAINT k CHECK (a > 0), OWNER TO joe",
                 "alter table s.t if exists: AddColumn(a) DropColumn(b) AlterColumnType(c) "
                 "SetNotNull(d) AddConstraint(k) ChangeOwner()");
    changes_case("ALTER INDEX i SET (fillfactor = 70)", "alter index i: SetRelOptions()");
    changes_case("ALTER VIEW v ALTER COLUMN a SET DEFAULT 1", "alter view v: ColumnDefault(a)");
    changes_case("ALTER MATERIALIZED VIEW mv SET TABLESPACE ts",
                 "alter materialized view mv: SetTableSpace(ts)");
    changes_case("ALTER TYPE pair ADD ATTRIBUTE c int", "alter type pair: AddColumn(c)");
    changes_case("ALTER TYPE s.mood ADD VALUE IF NOT EXISTS 'meh' BEFORE 'ok'",
                 "alter type s.mood: AddValue(meh)");
    changes_case("ALTER TYPE mood RENAME VALUE 'sad' TO 'blue'",
                 "alter type mood: RenameValue(sad)");
    changes_case("ALTER TYPE base SET (storage = plain)", "alter type base: SetOptions()");
    changes_case("ALTER DOMAIN d SET NOT NULL", "alter domain d: SetNotNull()");
    changes_case("ALTER DOMAIN d DROP CONSTRAINT c", "alter domain d: DropConstraint(c)");
    changes_case("ALTER DOMAIN d ADD CONSTRAINT c CHECK (VALUE > 0)",
                 "alter domain d: AddConstraint(c)");
    changes_case("ALTER SEQUENCE s RESTART", "alter sequence s: SetOptions()");
    changes_case("ALTER FUNCTION s.f(int) STABLE", "alter function s.f(integer): SetOptions()");
    changes_case("ALTER PROCEDURE p SECURITY DEFINER", "alter procedure p: SetOptions()");
    changes_case("DROP TABLE IF EXISTS a, s.b CASCADE",
                 "drop table a cascade if exists; drop table s.b cascade if exists");
    changes_case("DROP VIEW v", "drop view v");
    changes_case("DROP MATERIALIZED VIEW s.mv", "drop materialized view s.mv");
    changes_case("DROP FUNCTION s.f(int, text), g", "drop function s.f(integer, text); drop "
                                                    "function g");
    changes_case("DROP PROCEDURE p()", "drop procedure p()");
    changes_case("DROP ROUTINE r(int)", "drop routine r(integer)");
    changes_case("DROP AGGREGATE cnt(*)", "drop aggregate cnt(*)");
    changes_case("DROP TYPE s.mood", "drop type s.mood");
    changes_case("DROP DOMAIN pos", "drop domain pos");
    changes_case("DROP TRIGGER tr ON s.t", "drop trigger tr on s.t");
    changes_case("DROP POLICY IF EXISTS p ON t", "drop policy p on t if exists");
    changes_case("DROP INDEX CONCURRENTLY s.i", "drop index s.i");
    changes_case("DROP SCHEMA s CASCADE", "drop schema s cascade");
    changes_case("DROP SEQUENCE q", "drop sequence q");
    changes_case("DROP EXTENSION pgcrypto", "drop extension pgcrypto");
    changes_case("DROP COLLATION c", "drop collation c");
    changes_case("ALTER TABLE t RENAME TO u", "rename table t to u");
    changes_case("ALTER TABLE s.t RENAME COLUMN a TO b", "rename column a on s.t to b");
    changes_case("ALTER TABLE t RENAME CONSTRAINT c TO d", "rename table constraint c on t to d");
    changes_case("ALTER VIEW v RENAME TO w", "rename view v to w");
    changes_case("ALTER TYPE mood RENAME TO feeling", "rename type mood to feeling");
    changes_case("ALTER FUNCTION f(int) RENAME TO g", "rename function f(integer) to g");
    changes_case("ALTER TRIGGER tr ON t RENAME TO tr2", "rename trigger tr on t to tr2");
    changes_case("ALTER SCHEMA s RENAME TO r", "rename schema s to r");
    changes_case("ALTER TABLE t SET SCHEMA archive", "set schema table t to archive");
    changes_case("ALTER FUNCTION s.f(int) SET SCHEMA r", "set schema function s.f(integer) to r");
    changes_case("ALTER TYPE mood SET SCHEMA r", "set schema type mood to r");
    changes_case("CREATE TABLE t (a int)", "");
    changes_case("SELECT 1", "");
}

/* ---- statements the PostgreSQL 15 grammar rejects -------------------------------------- */

static void unknown_case(const char *sql, unsigned line, unsigned col, const char *msg,
                         const char *what)
{
    const struct parse_stmt *st = one(sql);
    if (!ok(L.nr == 1 && st->status == PARSE_UNKNOWN && st->error && strstr(st->error, msg) &&
                st->error_pos.line == line && st->error_pos.col == col && !st->node &&
                !st->no_transaction && !st->refs_nr,
            "unknown: %s", what) &&
        st)
        printf("#   got: status %d '%s' at %u:%u\n", st->status, st->error ? st->error : "",
               st->error_pos.line, st->error_pos.col);
}

static void test_unknown(void)
{
    const struct parse_stmt *st;
    unknown_case("ALTER TABLE t ALTER COLUMN a SET EXPRESSION AS (1)", 1, 34,
                 "syntax error at or near \"EXPRESSION\"", "ALTER ... SET EXPRESSION (17)");
    unknown_case("MERGE INTO t USING u ON t.id = u.id\nWHEN MATCHED THEN DELETE\nRETURNING *", 3, 1,
                 "RETURNING", "MERGE ... RETURNING (17)");
    unknown_case("SELECT *\n  FROM JSON_TABLE('[]', '$[*]' COLUMNS (a int PATH '$'))", 2, 32,
                 "COLUMNS", "JSON_TABLE (17)");
    unknown_case("SELECT '{}' IS JSON OBJECT", 1, 16, "JSON", "IS JSON (16)");
    unknown_case("SELECT 'é' FROM", 1, 16, "end of input",
                 "a plain syntax error, after a "
                 "multi-byte character");
    unknown_case("SELECT 1 FROM t WHERE;", 1, 22, "syntax error", "a syntax error");

    parse_list_release(&L);
    parse_sql(&L, "\n  MERGE INTO t USING u ON true WHEN MATCHED THEN DELETE RETURNING *", 41, 5);
    st = L.nr == 1 ? &L.v[0] : NULL;
    ok(st && st->status == PARSE_UNKNOWN && st->pos.line == 42 && st->pos.col == 3 &&
           st->error_pos.line == 42 && st->error_pos.col == 57,
       "unknown: LINE and COL place the text in its file");

    parse_list_release(&L);
    parse_sql(&L, "select 1; select 2 from", 1, 1);
    ok(L.nr == 1 && L.v[0].status == PARSE_UNKNOWN && L.v[0].pos.offset == 0,
       "parse_sql: a text that fails is one unknown statement");
}

/* ---- positions, several statements, scripts ------------------------------------------------ */

static void test_positions(void)
{
    const struct parse_stmt *st;

    parse_list_release(&L);
    ok(parse_sql(&L, "", 1, 1) == 0 && L.nr == 0, "empty text: no statement");
    ok(parse_sql(&L, "  -- just a comment\n/* and /* nested */ another */\n", 1, 1) == 0 &&
           L.nr == 0,
       "comments only: no statement");
    ok(parse_sql(&L, ";;", 1, 1) == 0, "semicolons only: no statement");

    parse_list_release(&L);
    parse_sql(&L, "-- lead\n  /* c */ CREATE TABLE t (a int);  SELECT 1 ;\n\nDROP TABLE t", 10, 3);
    ok(L.nr == 3, "three statements in one text");
    st = &L.v[0];
    ok(st->pos.line == 11 && st->pos.col == 11 && st->pos.offset == 18 && st->len == 22,
       "first statement: after the comments, ';' excluded");
    st = &L.v[1];
    ok(st->pos.line == 11 && st->pos.col == 36 && st->len == 8,
       "second statement on the same line");
    st = &L.v[2];
    ok(st->pos.line == 13 && st->pos.col == 1 && st->len == 12 &&
           parse_stmt_finding(st, "drop-table"),
       "third statement, without ';'");
    ok(L.v[0].pos.col == 11, "COL applies to the first line only");
    is_str(L.v[1].node, "SelectStmt", "the node name");
}

static void test_script(void)
{
    const char *script = "-- migration\n"
                         "CREATE TABLE t (a int);\n"
                         "ALTER TABLE t ALTER COLUMN a SET EXPRESSION AS (1);\n"
                         "CREATE FUNCTION f() RETURNS int LANGUAGE sql\n"
                         "BEGIN ATOMIC\n  SELECT CASE WHEN true THEN 1 END;\n  SELECT 2;\nEND;\n"
                         "select 'x;y' /* ; */ -- ;\n;\n"
                         "CREATE INDEX CONCURRENTLY i ON t (a)";
    parse_list_release(&L);
    ok(parse_script(&L, script) == 5, "script with a PostgreSQL 17 statement: 5 statements");
    if (L.nr == 5) {
        ok(L.v[0].status == PARSE_OK && L.v[0].pos.line == 2, "script: 1st parsed, line 2");
        ok(L.v[1].status == PARSE_UNKNOWN && L.v[1].pos.line == 3 && L.v[1].error_pos.line == 3 &&
               L.v[1].error_pos.col == 34,
           "script: 2nd unknown at 3:34");
        ok(L.v[2].status == PARSE_OK && L.v[2].pos.line == 4 && L.v[2].creates_nr == 1,
           "script: BEGIN ATOMIC body kept whole (';' inside it does not split)");
        ok(L.v[3].status == PARSE_OK && L.v[3].pos.line == 9, "script: quotes and comments");
        ok(L.v[4].status == PARSE_OK && L.v[4].no_transaction && L.v[4].pos.line == 11,
           "script: last statement without ';'");
    }
    parse_list_release(&L);
    ok(parse_script(&L, "CREATE TABLE t (a int);\nDROP TABLE t;\n") == 2 && L.v[1].pos.line == 2 &&
           parse_stmt_finding(&L.v[1], "drop-table"),
       "script that parses whole");
    parse_list_release(&L);
    ok(parse_script(&L, "SELECT 1;\nSELECT 'open") == 2 && L.v[0].status == PARSE_OK &&
           L.v[1].status == PARSE_UNKNOWN && L.v[1].error_pos.line == 2 &&
           L.v[1].error_pos.col == 8,
       "script with an open quote: what comes before is analysed, the rest is unknown");
    parse_list_release(&L);
    ok(parse_script(&L, "'open;\nSELECT 1") == 1 && L.v[0].status == PARSE_UNKNOWN &&
           L.v[0].pos.offset == 0,
       "script that does not scan at all: one unknown");
    parse_list_release(&L);
    ok(parse_script(&L, "") == 0, "empty script");
}

static void test_fingerprint(void)
{
    char a[17], b[17], c[17];
    ok(parse_fingerprint("SELECT * FROM t WHERE a = 1", a) == 0 &&
           parse_fingerprint("select *  from t where a = 42", b) == 0 && !strcmp(a, b) &&
           strlen(a) == 16,
       "fingerprint: literals and spacing do not matter");
    ok(parse_fingerprint("SELECT * FROM u WHERE a = 1", c) == 0 && strcmp(a, c),
       "fingerprint: another table differs");
    ok(parse_fingerprint("SELECT FROM WHERE (", c) == -1, "fingerprint: -1 on a syntax error");
}

static void test_kinds(void)
{
    is_str(parse_obj_kind_name(PARSE_OBJ_MATVIEW), "materialized view", "kind name");
    ok(parse_obj_kind_is_type(PARSE_OBJ_ENUM) && parse_obj_kind_is_type(PARSE_OBJ_DOMAIN) &&
           !parse_obj_kind_is_type(PARSE_OBJ_TABLE),
       "type kinds");
}

int main(void)
{
    test_transactions();
    test_no_transaction();
    test_lint();
    test_creates();
    test_refs();
    test_changes();
    test_unknown();
    test_positions();
    test_script();
    test_fingerprint();
    test_kinds();
    parse_list_release(&L);
    parse_cleanup();
    return done_testing();
}
