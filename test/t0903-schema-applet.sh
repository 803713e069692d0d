#!/bin/sh
# t0903-schema-applet — `dbtool schema` itself: help and exit codes, JSON,
# the hazard report with the safe defaults on and off, what the model
# leaves out (owners, extension members), reading as a role without
# privileges, and the DDL run by dbtool's own script runner.
. "${0%/*}/lib-pg.sh"

# expect_rc CODE CMD...: CMD must exit with CODE
expect_rc() {
    _w=$1; shift
    "$@"; _r=$?
    [ "$_r" = "$_w" ] || { echo "expected exit $_w, got $_r: $*"; return 1; }
}

test_expect_success 'help goes to stdout and exits 0' '
    "$DBTOOL" schema --help >out && test_grep "dump" out && test_grep "diff" out &&
    "$DBTOOL" schema diff --help >out && test_grep "blocking-indexes" out && test_grep "Exit status" out
'

test_expect_success 'usage: no subcommand 1, unknown one 9, missing URLs 3, extra or bad options 9' '
    expect_rc 1 "$DBTOOL" schema 2>err &&
    expect_rc 9 "$DBTOOL" schema nope 2>err &&
    expect_rc 3 "$DBTOOL" schema dump 2>err && test_grep "missing the database URL" err &&
    expect_rc 3 "$DBTOOL" schema diff x 2>err && test_grep "missing the TO URL" err &&
    expect_rc 9 "$DBTOOL" schema diff a b c 2>err &&
    expect_rc 9 "$DBTOOL" schema diff --format xml a b 2>err &&
    expect_rc 9 "$DBTOOL" schema dump --nope a 2>err
'

test_expect_success 'a database that cannot be read: exit 13, the password masked' '
    expect_rc 13 "$DBTOOL" schema dump "postgresql://u:sekret@/x?host=/nonexistent" 2>err &&
    test_grep "cannot read the schema of" err && test_grep -v sekret err
'

pg_cluster main || skip_all "could not start a cluster"
. "$TEST_DIR/fixtures/schema/lib.sh"

test_expect_success 'setup: roles and the base schema' '
    schema_setup && admin "CREATE ROLE alice" && admin "CREATE ROLE peek LOGIN"
'

test_expect_success 'no difference: exit 0, nothing on stdout' '
    fresh same base &&
    "$DBTOOL" schema diff "$(url_of base)" "$(url_of same)" >out 2>err &&
    test_must_be_empty out && test_must_be_empty err
'

# side: DB [SQL...] — a copy of base with SQL run in it
side() {
    _db=$1; shift
    fresh "$_db" base && for _s in "$@"; do admin_db "$_db" "$_s" || return 1; done
}
admin_db() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(url_of "$1")" -c "$2" >/dev/null; }

test_expect_success 'hazards: data loss, rewrite, mass drop, each with its reason' '
    side hz1 "DROP TABLE app.doc" "ALTER TABLE app.orders ALTER COLUMN note TYPE varchar(10)" &&
    expect_diff base hz1 out.sql &&
    test_grep "^-- hazard data-loss (drop-table): drops table app.doc$" out.sql &&
    test_grep "^-- hazard table-rewrite (alter-column-type): changes the type of column app.orders.note" out.sql.err &&
    test_grep -v mass-drop out.sql &&
    side hz2 "DROP SCHEMA app CASCADE" &&
    expect_diff base hz2 out2.sql &&
    test_grep "^-- hazard data-loss, mass-drop (drop-table): drops table app.customer; [0-9]* of [0-9]* objects dropped" out2.sql
'

test_expect_success 'safe defaults: NOT VALID then VALIDATE on its own, indexes CONCURRENTLY, no hazard' '
    side safe "ALTER TABLE app.doc ADD COLUMN cid bigint REFERENCES app.customer (id)" \
        "CREATE INDEX doc_owner_idx ON app.doc (owner)" \
        "ALTER TABLE app.doc ALTER COLUMN body SET NOT NULL" &&
    fresh safe_a base && admin_db safe_a "ALTER TABLE app.doc ADD COLUMN cid bigint" &&
    expect_diff safe_a safe out.sql &&
    test_must_be_empty out.sql.err &&
    test_grep "ADD CONSTRAINT doc_cid_fkey FOREIGN KEY (cid) REFERENCES app.customer(id) NOT VALID;" out.sql &&
    test_grep -v hazard out.sql &&
    awk "/VALIDATE CONSTRAINT doc_cid_fkey/ { print prev } { prev = \$0 }" out.sql >before &&
    test_grep "^-- outside a transaction block$" before &&
    test_grep "^CREATE INDEX CONCURRENTLY doc_owner_idx ON app.doc" out.sql
'

test_expect_success 'safe defaults off: the same changes carry their hazards' '
    "$DBTOOL" schema diff --plain-constraints --blocking-indexes "$(url_of safe_a)" "$(url_of safe)" >out.sql 2>err;
    test $? = 1 &&
    test_grep "^-- hazard full-scan-under-lock (add-fk-without-not-valid): checks every row of app.doc under lock$" out.sql &&
    test_grep "^-- hazard full-scan-under-lock (set-not-null): checks every row of app.doc under lock$" out.sql &&
    test_grep "^-- hazard blocking-index-build (create-index-without-concurrently): builds index app.doc_owner_idx" out.sql &&
    test_grep "^CREATE INDEX doc_owner_idx ON app.doc" out.sql &&
    test "$(grep -c "^-- hazard" err)" = "$(grep -c "^-- hazard" out.sql)"
'

test_expect_success 'json: statements with their transaction flag and hazards' '
    "$DBTOOL" schema diff --format json "$(url_of safe_a)" "$(url_of safe)" >out.json 2>/dev/null;
    test $? = 1 &&
    if command -v jq >/dev/null; then
        jq -e ".statements | length > 3" out.json >/dev/null &&
        jq -e "[.statements[] | select(.sql | startswith(\"CREATE INDEX CONCURRENTLY\")) | .transaction] == [false]" out.json >/dev/null &&
        jq -e ".hazards == [] and .dropped == 0 and .objects > 10" out.json >/dev/null &&
        "$DBTOOL" schema diff --format json --blocking-indexes "$(url_of safe_a)" "$(url_of safe)" >out2.json 2>/dev/null;
        jq -e "[.statements[] | select(.hazards == [\"blocking-index-build\"]) | .rules] == [[\"create-index-without-concurrently\"]]" out2.json >/dev/null
    else
        test_grep "\"transaction\":false" out.json
    fi
'

test_expect_success 'owners are left out unless --owner' '
    side owned "ALTER TABLE app.customer OWNER TO alice" "ALTER SCHEMA app OWNER TO alice" &&
    dump base >base.dump && dump owned >owned.dump && test_cmp base.dump owned.dump &&
    "$DBTOOL" schema dump --owner "$(url_of owned)" >owned2.dump &&
    test_grep "^    owner alice$" owned2.dump &&
    "$DBTOOL" schema diff --owner "$(url_of base)" "$(url_of owned)" >out.sql; test $? = 1 &&
    test_grep "ALTER TABLE app.customer OWNER TO alice" out.sql
'

test_expect_success 'objects of extensions belong to the extension' '
    side ext "CREATE EXTENSION citext" && dump ext >ext.dump &&
    test_grep "^extension citext$" ext.dump &&
    test_grep -v "^function public\." ext.dump && test_grep -v "^type public.citext" ext.dump
'

test_expect_success 'a role with no privileges reads the same model (catalog access only)' '
    "$DBTOOL" schema dump "$(url_of base | sed "s|//[^@]*@|//peek@|")" >peek.dump &&
    dump base >base.dump && test_cmp base.dump peek.dump
'

test_expect_success 'the DDL runs through dbtool sql as well as psql' '
    side target "ALTER TYPE app.status ADD VALUE '"'"'archived'"'"'" \
        "CREATE INDEX orders_note_idx ON app.orders (note)" \
        "ALTER TABLE app.orders ALTER COLUMN note TYPE varchar(300)" &&
    fresh start base &&
    expect_diff start target run.sql &&
    "$DBTOOL" sql -q -u "$(url_of start)" -f run.sql &&
    dump start >start.dump && dump target >target.dump && test_cmp target.dump start.dump
'

test_expect_success 'the DDL keeps the rows of the tables it changes' '
    fresh data base &&
    admin_db data "INSERT INTO app.customer (name, status) VALUES ('"'"'ann'"'"', '"'"'new'"'"'), ('"'"'bob'"'"', '"'"'active'"'"')" &&
    admin_db data "INSERT INTO app.orders (customer_id, amount, note) SELECT id, 10, name FROM app.customer" &&
    side want "ALTER TABLE app.customer ALTER COLUMN status DROP DEFAULT" \
        "ALTER TABLE app.customer ALTER COLUMN status TYPE text" "DROP TYPE app.status" \
        "CREATE TYPE app.status AS ENUM ('"'"'new'"'"', '"'"'active'"'"')" \
        "ALTER TABLE app.customer ALTER COLUMN status TYPE app.status USING status::app.status" \
        "ALTER TABLE app.customer ALTER COLUMN status SET DEFAULT '"'"'new'"'"'" \
        "ALTER TABLE app.orders ALTER COLUMN note TYPE varchar(300)" \
        "ALTER TABLE app.orders ALTER COLUMN note SET NOT NULL" \
        "ALTER TABLE app.customer ADD CONSTRAINT customer_name_key UNIQUE (name)" \
        "CREATE INDEX orders_note_idx ON app.orders (note)" &&
    expect_diff data want keep.sql &&
    test_grep "RENAME TO status__dbtool_old" keep.sql &&
    apply data keep.sql &&
    dump data >data.dump && dump want >want.dump && test_cmp want.dump data.dump &&
    "$PSQL" -X -At -d "$(url_of data)" -c "SELECT string_agg(c.name || '"'"':'"'"' || c.status || '"'"':'"'"' || o.note, '"'"' '"'"' ORDER BY c.name) FROM app.customer c JOIN app.orders o ON o.customer_id = c.id" >rows &&
    echo "ann:new:ann bob:active:bob" >want.rows && test_cmp want.rows rows
'

test_done
