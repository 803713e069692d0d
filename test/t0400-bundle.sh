#!/bin/sh
# dbtool bundle: list / print / write, apply (all or one part, idempotent,
# HECTIC_INHERITANCE_SQL), the version check before anything changes, URL
# handling, postgres-init with and without PG_HECTIC_INHERITANCE.
. "${0%/*}/lib-pg.sh"

# newdb NAME: a fresh empty database in the cluster; dburl NAME: its URL; q NAME SQL
dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl "$1")" -c "$2"; }
newdb() { q postgres "DROP DATABASE IF EXISTS $1" && q postgres "CREATE DATABASE $1"; }
# (pg_dump's failure is the function's: a dump that failed never compares equal)
schema_dump() {
    "$PG_DUMP" --schema-only --no-owner -d "$(dburl "$1")" >"$TRASH/.schema_dump" &&
    grep -Ev '^\\(un)?restrict ' "$TRASH/.schema_dump"
}

# --- offline: list, print, write -----------------------------------------

test_expect_success 'bundle list prints the parts in order' '
    "$DBTOOL" bundle list >out &&
    printf "01-version\n02-secret\n03-migration\n04-inheritance\n05-code\n" >want &&
    test_cmp want out
'
test_expect_success 'bundle print PART prints that file exactly (full or short name)' '
    for p in 01-version 02-secret 03-migration 04-inheritance; do
        "$DBTOOL" bundle print $p >out && test_cmp "$SRC_DIR/bundle/$p.sql" out || exit 1
    done &&
    "$DBTOOL" bundle print inheritance >out && test_cmp "$SRC_DIR/bundle/04-inheritance.sql" out &&
    "$DBTOOL" bundle print upgrade-0.1.0 >out && test_cmp "$SRC_DIR/bundle/upgrade-0.1.0.sql" out
'
test_expect_success 'bundle print wraps every part in its own transaction' '
    "$DBTOOL" bundle print >all &&
    test "$(grep -c "^BEGIN;$" all)" = 5 && test "$(grep -c "^COMMIT;$" all)" = 5 &&
    grep -q "^-- part 01-version$" all && grep -q "^-- part 04-inheritance$" all &&
    ! grep -q "^-- part upgrade" all
'
test_expect_code 9 'bundle print of an unknown part exits 9' '"$DBTOOL" bundle print nope 2>err'
test_expect_success '...naming it' 'grep -q "unknown bundle part .nope." err'
test_expect_code 9 'unknown subcommand exits 9' '"$DBTOOL" bundle frob 2>err'
test_expect_code 1 'no subcommand: help on stderr, exit 1' '"$DBTOOL" bundle 2>err'
test_expect_success 'bundle --help lists every subcommand on stdout' '
    "$DBTOOL" bundle --help >out &&
    for s in apply list load-secrets print upgrade write; do grep -q "^    $s " out || exit 1; done &&
    "$DBTOOL" bundle apply --help | grep -q "bundle apply"
'
test_expect_success 'bundle write DIR writes the parts and hectic-inheritance.sql' '
    "$DBTOOL" bundle write share/hectic 2>err &&
    (cd share/hectic && ls) >out &&
    printf "01-version.sql\n02-secret.sql\n03-migration.sql\n04-inheritance.sql\n05-code.sql\nhectic-inheritance.sql\n" >want &&
    test_cmp want out &&
    for p in 01-version 02-secret 03-migration 04-inheritance; do
        cmp "$SRC_DIR/bundle/$p.sql" share/hectic/$p.sql || exit 1
    done &&
    cmp "$SRC_DIR/bundle/04-inheritance.sql" share/hectic/hectic-inheritance.sql &&
    test "$(stat -c %a share/hectic/hectic-inheritance.sql)" = 644
'
test_expect_success 'bundle version, dbtool --version and 01-version.sql agree' '
    v=$(sed -n "s/.*bundle_version constant text := .\([0-9.]*\).;.*/\1/p" "$SRC_DIR/bundle/01-version.sql") &&
    test -n "$v" && test "$("$DBTOOL" --version)" = "dbtool $v" &&
    mk=$(sed -n "s/^VERSION *:= *//p" "$SRC_DIR/Makefile") && test "$mk" = "$v"
'
test_expect_code 3 'bundle apply without any URL exits 3' '"$DBTOOL" bundle apply 2>err'
test_expect_success '...saying how to give one' 'grep -q "DB_URL" err'
test_expect_code 3 'an unsupported URL scheme exits 3' '"$DBTOOL" bundle apply -u sqlite:///x.db 2>err'

# --- on a server ----------------------------------------------------------

pg_cluster pg || exit 1

test_expect_success 'postgres-init alone creates no hectic schema' '
    test "$(q testdb "select count(*) from pg_namespace where nspname = '"'hectic'"'")" = 0
'

test_expect_success 'bundle apply creates the schema, the seven tables and the version row' '
    newdb a && "$DBTOOL" bundle apply -u "$(dburl a)" 2>err &&
    q a "select string_agg(relname, '"' '"' order by relname) from pg_class c join pg_namespace n
           on n.oid = c.relnamespace where nspname = '"'hectic'"' and relkind = '"'r'"'" >out &&
    echo "code_object created_at immutable migration secret updated_at version" >want && test_cmp want out &&
    q a "select name || '"' '"' || version from hectic.version" >out &&
    echo "hectic 0.3.0" >want && test_cmp want out &&
    q a "select string_agg(evtname, '"' '"' order by evtname) from pg_event_trigger" >out &&
    grep -q hectic_enforce_created_at_inheritance out
'
test_expect_success '...says so on stderr, nothing on stdout, no notices' '
    "$DBTOOL" bundle apply -u "$(dburl a)" >out 2>err && test ! -s out &&
    grep -q "applied" err && ! grep -q NOTICE err
'
test_expect_success 're-applying changes nothing (same event triggers, one version row)' '
    q a "select oid from pg_event_trigger order by 1" >ev1 &&
    "$DBTOOL" bundle apply -u "$(dburl a)" 2>err &&
    "$DBTOOL" bundle apply -u "$(dburl a)" 2>err &&
    q a "select oid from pg_event_trigger order by 1" >ev2 && test_cmp ev1 ev2 &&
    test "$(q a "select count(*) from hectic.version")" = 1
'
test_expect_success CLIENT_MATCHES_SERVER '...and the schema dump is identical' '
    schema_dump a >before.sql && "$DBTOOL" bundle apply -u "$(dburl a)" 2>err &&
    schema_dump a >after.sql && test_cmp before.sql after.sql
'
test_expect_success CLIENT_MATCHES_SERVER 'the written files applied with psql -1 -f are idempotent on top' '
    for f in share/hectic/0*.sql share/hectic/hectic-inheritance.sql; do
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$(dburl a)" -f $f 2>/dev/null || exit 1
    done &&
    schema_dump a >after2.sql && test_cmp before.sql after2.sql
'
test_expect_success CLIENT_MATCHES_SERVER 'bundle print | psql installs the same bundle' '
    newdb p && "$DBTOOL" bundle print | "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(dburl p)" >/dev/null 2>&1 &&
    schema_dump p | sed "s/\\\\connect.*//" >p.sql && sed "s/\\\\connect.*//" before.sql >a.sql &&
    test_cmp a.sql p.sql
'
test_expect_success 'URL from -u before the subcommand, from DB_URL, from PGURL' '
    newdb u1 && "$DBTOOL" bundle -u "$(dburl u1)" apply 2>err &&
    test "$(q u1 "select version from hectic.version")" = 0.3.0 &&
    newdb u2 && DB_URL=$(dburl u2) "$DBTOOL" bundle apply 2>err &&
    test "$(q u2 "select version from hectic.version")" = 0.3.0 &&
    newdb u3 && PGURL=$(dburl u3) "$DBTOOL" bundle apply 2>err &&
    test "$(q u3 "select version from hectic.version")" = 0.3.0
'
test_expect_success 'bundle apply inheritance: the version part and that part only' '
    newdb i && "$DBTOOL" bundle apply -u "$(dburl i)" inheritance 2>err &&
    test "$(q i "select version from hectic.version")" = 0.3.0 &&
    test "$(q i "select to_regclass('"'hectic.created_at'"') is not null")" = t &&
    test "$(q i "select to_regclass('"'hectic.secret'"') is null")" = t &&
    test "$(q i "select to_regclass('"'hectic.migration'"') is null")" = t
'
test_expect_code 9 'bundle apply of an unknown part exits 9' '"$DBTOOL" bundle apply -u "$(dburl i)" nope 2>err'

cat >custom.sql <<'EOF'
CREATE SCHEMA IF NOT EXISTS hectic;
CREATE TABLE IF NOT EXISTS hectic.custom_inheritance_marker ();
EOF
test_expect_success 'HECTIC_INHERITANCE_SQL replaces the inheritance part' '
    newdb h && HECTIC_INHERITANCE_SQL=$TRASH/custom.sql "$DBTOOL" bundle apply -u "$(dburl h)" 2>err &&
    test "$(q h "select to_regclass('"'hectic.custom_inheritance_marker'"') is not null")" = t &&
    test "$(q h "select to_regclass('"'hectic.created_at'"') is null")" = t &&
    test "$(q h "select to_regclass('"'hectic.secret'"') is not null")" = t &&
    HECTIC_INHERITANCE_SQL=$TRASH/custom.sql "$DBTOOL" bundle print inheritance >out &&
    test_cmp custom.sql out
'
test_expect_code 1 'an unreadable HECTIC_INHERITANCE_SQL fails' '
    HECTIC_INHERITANCE_SQL=$TRASH/missing.sql "$DBTOOL" bundle apply -u "$(dburl h)" 2>err
'
test_expect_success '...naming the variable and the file' 'grep -q "HECTIC_INHERITANCE_SQL not readable: .*missing.sql" err'

at_999() { # DB: a database whose hectic.version says 9.9.9
    newdb "$1" &&
    q "$1" "create schema hectic; create table hectic.version (name text primary key, version text, installed_at timestamptz default now()); insert into hectic.version(name, version) values ('"'hectic'"', '"'9.9.9'"')"
}
at_010() { # DB: a database as the shell tools left it (bundle 0.1.0)
    newdb "$1" && "$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$(dburl "$1")" -f "$TEST_DIR/fixtures/hectic-0.1.0.sql"
}
test_expect_success 'a database at another version is refused before anything changes' '
    at_999 v &&
    ! "$DBTOOL" bundle apply -u "$(dburl v)" 2>err &&
    grep -q "version mismatch: the database has 9.9.9 and this bundle is 0.3.0" err &&
    ! "$DBTOOL" bundle apply -u "$(dburl v)" inheritance 2>err &&
    test "$(q v "select count(*) from pg_event_trigger")" = 0 &&
    test "$(q v "select version from hectic.version")" = 9.9.9
'
test_expect_success CLIENT_MATCHES_SERVER '...its schema dump is the same before and after' '
    at_999 v2 && schema_dump v2 >v1.sql &&
    ! "$DBTOOL" bundle apply -u "$(dburl v2)" 2>err && ! "$DBTOOL" bundle apply -u "$(dburl v2)" inheritance 2>err &&
    schema_dump v2 >v2.sql && test_cmp v1.sql v2.sql
'
test_expect_success 'a 0.1.0 database is refused with a pointer to dbtool bundle upgrade' '
    at_010 old &&
    ! "$DBTOOL" bundle apply -u "$(dburl old)" 2>err &&
    grep -q "version mismatch: the database has 0.1.0" err && grep -q "dbtool bundle upgrade" err &&
    test "$(q old "select version from hectic.version")" = 0.1.0
'
test_expect_success CLIENT_MATCHES_SERVER '...its schema dump is the same before and after' '
    at_010 old2 && schema_dump old2 >o1.sql &&
    ! "$DBTOOL" bundle apply -u "$(dburl old2)" 2>err &&
    schema_dump old2 >o2.sql && test_cmp o1.sql o2.sql
'
test_expect_success 'the version check is in the SQL too (psql -f users)' '
    ! "$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$(dburl old)" -f share/hectic/01-version.sql 2>err &&
    grep -q "dbtool bundle upgrade" err
'
test_expect_success 'two concurrent applies on a fresh database both succeed' '
    newdb c &&
    { "$DBTOOL" bundle apply -u "$(dburl c)" 2>err1 & } && pid=$! &&
    "$DBTOOL" bundle apply -u "$(dburl c)" 2>err2 && wait $pid &&
    test "$(q c "select count(*) from hectic.version")" = 1
'
test_expect_success 'a failing part is rolled back and named' '
    newdb f && printf "CREATE TABLE hectic.half_done ();\nSELECT 1/0;\n" >bad.sql &&
    ! HECTIC_INHERITANCE_SQL=$TRASH/bad.sql "$DBTOOL" bundle apply -u "$(dburl f)" 2>err &&
    grep -q "hectic bundle 04-inheritance.*division by zero" err &&
    test "$(q f "select to_regclass('"'hectic.half_done'"') is null")" = t &&
    test "$(q f "select to_regclass('"'hectic.migration'"') is not null")" = t
'

# --- postgres-init -------------------------------------------------------

test_expect_success 'postgres-init without PG_HECTIC_INHERITANCE: no hectic schema' '
    PG_WORKING_DIR=$TRASH/n "$DBTOOL" postgres-init --env >envn 2>err &&
    test_at_exit "PG_WORKING_DIR=$TRASH/n \"$DBTOOL\" postgres-cleanup" &&
    ( . ./envn && test "$("$PSQL" -X -At -d "$PGURL" -c "select count(*) from pg_namespace where nspname like '"'hectic%'"'")" = 0 ) &&
    PG_WORKING_DIR=$TRASH/n "$DBTOOL" postgres-cleanup 2>/dev/null
'
if grep -q bundle_apply_inheritance_url "$SRC_DIR/lib/cluster.c" 2>/dev/null; then
    test_expect_success 'postgres-init with PG_HECTIC_INHERITANCE=1 applies the inheritance part' '
        PG_HECTIC_INHERITANCE=1 PG_WORKING_DIR=$TRASH/y "$DBTOOL" postgres-init --env >envy 2>err &&
        test_at_exit "PG_WORKING_DIR=$TRASH/y \"$DBTOOL\" postgres-cleanup" &&
        ( . ./envy &&
          test "$("$PSQL" -X -At -d "$PGURL" -c "select to_regclass('"'hectic.created_at'"') is not null")" = t &&
          test "$("$PSQL" -X -At -d "$PGURL" -c "select count(*) from pg_event_trigger where evtname = '"'hectic_enforce_created_at_inheritance'"'")" = 1 ) &&
        PG_WORKING_DIR=$TRASH/y "$DBTOOL" postgres-cleanup 2>/dev/null
    '
else
    test_skip 'postgres-init with PG_HECTIC_INHERITANCE=1 applies the inheritance part' \
        'cluster_init does not call bundle_apply_inheritance_url yet'
fi

test_done
