#!/bin/sh
# The server killed (SIGKILL of the postmaster) in the middle of a hydrate and of
# a migration: dbtool exits non-zero with a clear error within a bounded time,
# and after a restart nothing is half-recorded.
TEST_LIB=$(cd "${0%/*}/.." && pwd); . "$TEST_LIB/lib-pg.sh"

mkdir -p proj/db/src proj/db/migration/20260101000001-slow
printf 'CREATE TABLE public.before_kill (x int) INHERITS (hectic.created_at);\nSELECT pg_sleep(60);\n' >proj/db/src/entrypoint.sql
printf 'CREATE TABLE public.m (x int) INHERITS (hectic.created_at);\nSELECT pg_sleep(60);\n' >proj/db/migration/20260101000001-slow/up.sql
echo 'DROP TABLE public.m;' >proj/db/migration/20260101000001-slow/down.sql
export LOCAL_DIR=$TRASH/proj PG_WORKING_DIR=$TRASH/w
test_at_exit "'$DBTOOL' postgres-cleanup"

kill_server_when_sleeping() {
    n=0
    until [ "$(psql_c "select count(*) from pg_stat_activity where query like 'SELECT pg_sleep(60)%'")" = 1 ]; do
        n=$((n + 1)); [ $n -lt 400 ] || return 1; sleep 0.05
    done
    kill -9 "$(head -n 1 "$PG_WORKING_DIR/data/postmaster.pid")"
}

test_expect_success 'server killed mid-hydrate: non-zero exit, clear error, no hang' '
    eval "$("$DBTOOL" postgres-init --env 2>/dev/null)" &&
    { timeout 30 "$DBTOOL" database hydrate >out 2>err & } && p=$! &&
    kill_server_when_sleeping && { wait $p; rc=$?; } &&
    echo "rc=$rc" && test $rc != 0 && test $rc != 124 &&
    grep -qi "server closed the connection\|terminat\|connection" err
'
test_expect_success 'server killed mid-migration: non-zero exit, clear error, nothing recorded' '
    eval "$(PG_REUSE=1 "$DBTOOL" postgres-init --env 2>/dev/null)" &&
    "$DBTOOL" migrator init >/dev/null 2>&1 &&
    { timeout 30 "$DBTOOL" database migrator migrate up all >out 2>err & } && p=$! &&
    kill_server_when_sleeping && { wait $p; rc=$?; } &&
    echo "rc=$rc" && cat err && test $rc != 0 && test $rc != 124 &&
    grep -qi "server closed the connection\|terminat\|connection" err &&
    eval "$(PG_REUSE=1 "$DBTOOL" postgres-init --env 2>/dev/null)" &&
    test "$(psql_c "select count(*) from hectic.migration")" = 0 &&
    test "$(psql_c "select count(*) from pg_tables where tablename = '"'m'"'")" = 0
'
echo "# r0200 server-killed: trials=2 (hydrate, migration)"
test_done
