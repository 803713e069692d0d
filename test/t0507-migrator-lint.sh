#!/bin/sh
# migrator lint (issue 16): hazards in pending migrations read with
# PostgreSQL's parser, each with FILE:LINE:COL and a rule name, suppressed by
# '-- dbtool:allow RULE', text and JSON, exit 1 on findings; statements the
# PostgreSQL 15 grammar rejects are notes; database check warns about
# findings and fails on entries migrate would stop at.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int, b text, c int) INHERITS (hectic.created_at)'
L=lint
mkmig $L 20240101000000-base "CREATE TABLE t $T;
CREATE INDEX t_b_new ON t (b);
CREATE TABLE other $T;"
mkmig $L 20240102000000-hazards "ALTER TABLE t DROP COLUMN b;
DROP TABLE gone;
ALTER TABLE t ALTER COLUMN c TYPE bigint;
ALTER TABLE t ADD COLUMN r float DEFAULT random();
ALTER TABLE t ADD CONSTRAINT fk FOREIGN KEY (id) REFERENCES other (id);
ALTER TABLE t ADD CONSTRAINT ck CHECK (id > 0);
CREATE INDEX t_id ON existing (id);
ALTER TABLE t ALTER COLUMN id SET NOT NULL;
ALTER TABLE t RENAME COLUMN c TO cc;
DROP TYPE mood;"
mkmig $L 20240103000000-allowed "-- dbtool:allow drop-table missing-lock-timeout
DROP TABLE old_one;
DROP TABLE old_two; -- dbtool:allow drop-table, missing-lock-timeout
-- dbtool:allow all
ALTER TABLE t DROP COLUMN id;"
mkmig $L 20240104000000-safe "SET LOCAL lock_timeout = '2s';
ALTER TABLE existing ADD COLUMN z int;
CREATE INDEX CONCURRENTLY e_z ON existing (z);"
mkmig $L 20240105000000-tx "BEGIN;
CREATE TABLE u $T;
COMMIT;"

test_expect_code 1 'lint --all: findings exit 1' 'migrator -d $L lint --all >out 2>err'
test_expect_success 'each rule at FILE:LINE:COL with its name' '
    f=$PWD/$L/20240102000000-hazards/up.sql && x=$PWD/$L/20240105000000-tx/up.sql &&
    for want in "$f:1:13: drop-column: DROP COLUMN b of t" "$f:2:1: drop-table: DROP TABLE gone" \
        "$f:3:28: alter-column-type:" "$f:4:34: add-column-volatile-default:" "$f:5:19: add-fk-without-not-valid:" \
        "$f:6:19: add-check-without-not-valid:" "$f:7:22: create-index-without-concurrently: CREATE INDEX t_id on existing" \
        "$f:8:13: set-not-null:" "$f:9:13: rename:" "$f:10:1: drop-type:" \
        "$x:1:1: transaction-control:" "$x:3:1: transaction-control:"; do
        grep -qF "$want" out || { echo "missing: $want"; cat out; exit 1; }
    done
'
test_expect_success 'missing-lock-timeout: once per migration, for a table the linted migrations did not create' '
    grep -q "hazards/up.sql:2:1: missing-lock-timeout: DROP TABLE takes a strong lock on gone without lock_timeout" out &&
    test "$(grep -c "hazards/up.sql.*missing-lock-timeout" out)" = 1 &&
    ! grep -q "safe/up.sql" out && ! grep -q "base/up.sql" out
'
test_expect_success 'an index on a table created earlier in the linted migrations is fine' '
    ! grep -q "t_b_new" out
'
test_expect_success '-- dbtool:allow RULE on the line before, on the same line, and all' '
    ! grep -q "allowed/up.sql" out && grep -q "^migrator: lint: 13 findings in 5 migrations" err
'
test_expect_success '--format json: findings, notes, the suppressed count' '
    migrator -d $L lint --all --format json >j 2>/dev/null; test $? = 1 &&
    python3 -c "import json; d=json.load(open(\"j\")); f=d[\"findings\"]; assert len(f)==13, len(f); \
assert f[0][\"rule\"]==\"drop-column\" and f[0][\"line\"]==1 and f[0][\"column\"]==13 and f[0][\"migration\"]==\"20240102000000-hazards\"; \
assert d[\"suppressed\"]==4, d[\"suppressed\"]; assert d[\"migrations\"]==5"
'
test_expect_success 'NAMEs lint those migrations; a clean one exits 0' '
    migrator -d $L lint 20240104000000-safe >out 2>err && ! test -s out &&
    migrator -d $L lint $L/20240103000000-allowed >out 2>err
'
test_expect_success 'lock_timeout from migration.yaml or dbtool.yaml satisfies missing-lock-timeout' '
    mkmig LT 20240101000000-x "ALTER TABLE far ADD COLUMN y int;" &&
    migrator -d LT lint >out 2>/dev/null; test $? = 1 && grep -q missing-lock-timeout out &&
    MIGRATION_LOCK_TIMEOUT=3s migrator -d LT lint >out 2>/dev/null &&
    echo "lock_timeout: 1s" >LT/20240101000000-x/migration.yaml && migrator -d LT lint >out 2>/dev/null
'
test_expect_success 'a statement the PostgreSQL 15 grammar rejects is a note (stderr, JSON), not a finding' '
    mkmig NA 20240101000000-pg16 "SELECT '"'"'{}'"'"' IS JSON OBJECT;
SET LOCAL lock_timeout = '"'"'1s'"'"';
DROP TABLE t;" &&
    migrator -d NA lint >out 2>err; test $? = 1 &&
    grep -q "pg16/up.sql:1: note: not analysed: the PostgreSQL 15 grammar rejects it (syntax error at or near" err &&
    test "$(wc -l <out)" = 1 && grep -q "up.sql:3:1: drop-table" out &&
    migrator -d NA lint --format json >j 2>/dev/null;
    python3 -c "import json; d=json.load(open(\"j\")); assert len(d[\"notes\"])==1 and d[\"notes\"][0][\"line\"]==1"
'
test_expect_success 'variables and includes are followed as migrate would' '
    mkdir -p INC/20240101000000-inc && printf "\\\\set victim doomed\n\\\\ir parts/drop.sql\n" >INC/20240101000000-inc/up.sql &&
    mkdir INC/20240101000000-inc/parts && echo "DROP TABLE :\"victim\";" >INC/20240101000000-inc/parts/drop.sql &&
    migrator -d INC lint >out 2>/dev/null; test $? = 1 && grep -q "parts/drop.sql:1:1: drop-table: DROP TABLE doomed" out
'

# --- pending ones, with a database ------------------------------------------------------

pg_cluster pg || exit 1
test_expect_success 'with a URL, lint looks at the pending migrations only' '
    newdb p >/dev/null && mkmig P 20240101000000-t "CREATE TABLE t (id int) INHERITS (hectic.created_at); DROP TABLE t;" "SELECT 1;" &&
    mkmig P 20240102000000-u "CREATE TABLE u (id int) INHERITS (hectic.created_at);" "DROP TABLE u;" &&
    mig p P lint >out 2>/dev/null; test $? = 1 && grep -q "20240101000000-t/up.sql:1:.*drop-table" out &&
    mig p P migrate up 2>/dev/null && mig p P lint >out 2>err && ! test -s out && grep -q "0 findings in 1 migration" err &&
    { mig p P lint --all >out 2>/dev/null; test $? = 1; }
'

# --- database check -----------------------------------------------------------------------

PR=$TRASH/proj
mkdir -p "$PR/db/src" "$PR/db/migration"
echo "CREATE TABLE app (id int) INHERITS (hectic.created_at);" >"$PR/db/src/entrypoint.sql"
mkmig "$PR/db/migration" 20240101000000-drop "DROP TABLE app;" "SELECT 1;"
test_expect_success 'database check lints the migrations: findings are warnings, the check passes' '
    LOCAL_DIR=$PR "$DBTOOL" database check -P >out 2>err &&
    grep -q "lint: .*20240101000000-drop/up.sql:1:1: drop-table: DROP TABLE app" err &&
    grep -q "check: lint: 2 findings in 1 migration" err && grep -q "check: passed" err
'
test_expect_code 2 'database check fails on an entry migrate would stop at' '
    mkdir "$PR/db/migration/20240102000000-noup" && LOCAL_DIR=$PR "$DBTOOL" database check -P >out 2>err
'
test_expect_success '...naming it' 'grep -q "20240102000000-noup: incomplete migration: no up.sql" err'
test_done
