#!/bin/sh
# A statement libpg_query's PostgreSQL 15 grammar cannot read never blocks the
# migrator (issue 16): it runs as written, the migrator says once which
# FILE:LINE was not analysed and why, and the server decides — on this
# PostgreSQL 15 server a PostgreSQL 16 statement is the server's syntax error
# (rolled back, exit 4); on 16+ it runs.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int) INHERITS (hectic.created_at)'
pg_cluster pg || exit 1
newdb u >/dev/null
V=$(q u "show server_version_num")
mkmig U 20240101000000-pg16 "CREATE TABLE j (doc text) INHERITS (hectic.created_at);
INSERT INTO j (doc) VALUES ('{}');
SELECT doc IS JSON OBJECT AS is_object FROM j;
CREATE TABLE after_it $T;" "DROP TABLE j;"

if [ "$V" -lt 160000 ]; then
    test_expect_code 4 "PostgreSQL $V: the PostgreSQL 16 statement is run, the server refuses it, exit 4" 'mig u U migrate up 2>err'
    test_expect_success '...said once: FILE:LINE not analysed, and why; then the server'"'"'s own error; rolled back' '
        { test "$(grep -c "not analysed" err)" = 1 || { cat err; false; }; } &&
        grep -q "U/20240101000000-pg16/up.sql:3: not analysed (the PostgreSQL 15 grammar dbtool reads SQL with rejects it: syntax error at or near \"JSON\"); it runs as written and the server decides" err &&
        grep -q "up.sql:3: ERROR:  syntax error at or near \"JSON\"" err &&
        test "$(nmig u)" = 0 && test "$(q u "select to_regclass('"'j'"') is null")" = t
    '
else
    test_expect_success "PostgreSQL $V: the statement the PostgreSQL 15 grammar cannot read runs" '
        mig u U migrate up 2>err && grep -q "up.sql:3: not analysed" err && test "$(nmig u)" = 1
    '
fi
test_expect_success 'it does not hide what comes after it: a held-back statement is still found' '
    newdb u2 >/dev/null &&
    mkmig U2 20240101000000-mixed "CREATE TABLE k $T;
SELECT 1 WHERE 1 = ANY('"'{1}'"') \\; SELECT pg_catalog.now();
CREATE INDEX CONCURRENTLY k_id ON k (id);" "DROP TABLE k;" &&
    mig u2 U2 migrate up 2>err && grep -q "up.sql:3: CREATE INDEX CONCURRENTLY cannot run inside a transaction block" err &&
    test "$(nmig u2)" = 1
'
test_expect_success 'in a transaction: false migration, and in the dry run, it is reported too' '
    echo "transaction: false" >U/20240101000000-pg16/migration.yaml && newdb u3 >/dev/null &&
    mig u3 U migrate up --dry-run >dry 2>err && grep -q "up.sql:3: not analysed" err &&
    grep -q "IS JSON OBJECT" dry
'
test_done
