#!/bin/sh
# PG_REUSE: keep a running cluster, restart a stopped one, re-create a dropped
# database, adopt a cluster made elsewhere, self-heal one that cannot start.
# postgres-cleanup: stop, forgiving cases.
. "${0%/*}/lib-pg.sh"

W=$TRASH/w
init() { PG_WORKING_DIR=$W "$DBTOOL" postgres-init --env "$@"; }
cleanup() { PG_WORKING_DIR=$W "$DBTOOL" postgres-cleanup; }
test_at_exit "PG_WORKING_DIR=$W '$DBTOOL' postgres-cleanup"
pid() { head -n 1 "$W/data/postmaster.pid"; }

test_expect_success 'setup: a cluster with data' '
    init >env && . ./env && psql_c "create table keep(x int); insert into keep values (42)"
'
test_expect_success 'PG_REUSE=1 leaves a running cluster with matching settings alone' '
    . ./env &&
    before=$(pid) && PG_REUSE=1 init >env2 2>err && test "$(pid)" = "$before" &&
    grep -q "already running" err && cmp env env2 &&
    test "$(psql_c "select x from keep")" = 42
'
test_expect_success '--reuse is the same as PG_REUSE=1' '
    before=$(pid) && init --reuse >/dev/null 2>&1 && test "$(pid)" = "$before"
'
test_expect_success 'reuse restarts a running cluster whose settings changed' '
    . ./env &&
    before=$(pid) && PG_REUSE=1 PG_DISABLE_LOGGING=1 init >/dev/null 2>&1 &&
    test "$(pid)" != "$before" && test "$(psql_c "show logging_collector")" = off &&
    test "$(psql_c "select x from keep")" = 42
'
test_expect_success 'postgres-cleanup stops the server and keeps the data' '
    p=$(pid) && cleanup && pid_gone "$p" && ! test -e "$W/data/postmaster.pid" &&
    test -e "$W/data/PG_VERSION"
'
test_expect_success 'reuse starts a stopped cluster with its data' '
    . ./env &&
    PG_REUSE=1 init >/dev/null 2>err && grep -q "(reused)" err &&
    test "$(psql_c "select x from keep")" = 42
'
test_expect_success 'reuse re-creates a dropped database' '
    . ./env &&
    "$PSQL" -X -q -d "postgresql://$POSTGRESQL_USER@/postgres?host=$POSTGRESQL_HOST&port=5432" \
        -c "drop database testdb" &&
    PG_REUSE=1 init >/dev/null 2>&1 && test "$(psql_c "select 1")" = 1 &&
    test "$(psql_c "select count(*) from pg_tables where tablename = '"'keep'"'")" = 0
'
test_expect_success 'a cluster moved elsewhere starts there (runtime knobs rewritten)' '
    . ./env &&
    psql_c "create table moved(x int)" && cleanup &&
    mv "$W" "$TRASH/w2" && PG_REUSE=1 PG_WORKING_DIR=$TRASH/w2 "$DBTOOL" postgres-init --env >env3 &&
    . ./env3 && test "$POSTGRESQL_HOST" = "$TRASH/w2/sock" &&
    test "$(psql_c "select count(*) from pg_tables where tablename = '"'moved'"'")" = 1 &&
    grep -q "$TRASH/w2/data/pg_hba.conf" "$TRASH/w2/data/dbtool.conf" &&
    PG_WORKING_DIR=$TRASH/w2 "$DBTOOL" postgres-cleanup && mv "$TRASH/w2" "$W"
'
test_expect_success 'a cluster made by other tools (no include line) is adopted' '
    sed -i "/dbtool/d" "$W/data/postgresql.conf" && rm -f "$W/data/dbtool.conf" &&
    echo "port = 9999" >>"$W/data/postgresql.conf" &&
    PG_REUSE=1 init >env4 2>/dev/null && . ./env4 && test "$(psql_c "show port")" = 5432 &&
    grep -q "include_if_exists = .dbtool.conf." "$W/data/postgresql.conf"
'
test_expect_success 'reuse of a cluster that cannot start self-heals, keeping the old data aside' '
    cleanup && echo 11 >"$W/data/PG_VERSION" &&
    PG_REUSE=1 init >env5 2>err && . ./env5 && test "$(psql_c "select 1")" = 1 &&
    grep -q "cannot start" err && grep -q "re-initialising" err &&
    grep -q "initialised by PostgreSQL 11" err && grep -q "is PostgreSQL [0-9]" err &&
    ls -d "$W"/data.failed-* >/dev/null
'
test_expect_success 'a damaged cluster of this version also self-heals, naming the server error' '
    . ./env5 && PG_WORKING_DIR=$W "$DBTOOL" postgres-cleanup && rm -f "$W/data/global/pg_control" &&
    PG_REUSE=1 init >env5b 2>err && . ./env5b && test "$(psql_c "select 1")" = 1 &&
    grep -q "cannot start" err && grep -qi "pg_control" err
'
test_expect_success 'PG_REUSE with no data dir makes a fresh cluster' '
    cleanup && rm -rf "$W" && PG_REUSE=1 init >env6 2>/dev/null && . ./env6 && test "$(psql_c "select 1")" = 1
'
test_expect_success 'postgres-cleanup: nothing running is success' '
    cleanup && cleanup
'
test_expect_success 'postgres-cleanup: a stale pid is success and deletes nothing' '
    printf "999999\n%s\n0\n5432\n%s\n\n0\nready   \n" "$W/data" "$W/sock" >"$W/data/postmaster.pid" &&
    cleanup && test -e "$W/data/PG_VERSION" && rm -f "$W/data/postmaster.pid"
'
test_expect_success 'postgres-cleanup: no working dir resolvable is success' '
    "$DBTOOL" postgres-cleanup
'
test_expect_success 'postgres-cleanup: a working dir that does not exist is success' '
    PG_WORKING_DIR=$TRASH/nope "$DBTOOL" postgres-cleanup
'
test_expect_success 'a crashed server (SIGKILL, busy backend) restarts with its data on reuse' '
    rm -rf "$W"/data.failed-* &&
    init >env7 2>/dev/null && . ./env7 && psql_c "create table survived(x int); insert into survived values (7)" &&
    { "$PSQL" -X -d "$PGURL" -c "select pg_sleep(60)" >/dev/null 2>&1 & } &&
    sleep 0.3 && kill -9 "$(pid)" &&
    PG_REUSE=1 init >/dev/null 2>err && test "$(psql_c "select x from survived")" = 7 &&
    ! ls -d "$W"/data.failed-* 2>/dev/null
'
test_done
