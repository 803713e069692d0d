#!/bin/sh
# dbtool doctor on a good and on broken environments.
. "${0%/*}/lib-pg.sh"

mkdir -p proj/db/src proj/db/migration && echo "select 1;" >proj/db/src/entrypoint.sql
test_expect_success 'doctor on a good project: exit 0, programs and project checked' '
    LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err &&
    grep -q "^\[ok  \] postgres .*PostgreSQL" out && grep -q "^\[ok  \] LOCAL_DIR" out &&
    grep -q "^\[ok  \] hydrate entrypoint" out && grep -q "^0 problems found" out
'
test_expect_success 'doctor says where throwaway clusters go (DBTOOL_SCRATCH_RAM: none here -> disk)' '
    DBTOOL_SCRATCH_RAM=$TRASH LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err &&
    grep -q "^\[ok  \] throwaway clusters *on disk: $TRASH/proj/focus (" out &&
    DBTOOL_SCRATCH_DIR=$TRASH/scr LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err &&
    grep -q "^\[ok  \] throwaway clusters .*: $TRASH/scr (" out
'
test_expect_success CLIENT_MATCHES_SERVER 'doctor reports the client/server pairing: ok' '
    LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err &&
    grep -q "^\[ok  \] pg_dump *$PG_CLIENT_BINDIR/pg_dump (PostgreSQL $PG_CLIENT_MAJOR for server $PG_SERVER_MAJOR, from PG_CLIENT_BINDIR)" out &&
    grep -q "^\[ok  \] pg_basebackup *$PG_CLIENT_BINDIR/pg_basebackup" out
'
test_expect_success !CLIENT_MATCHES_SERVER 'doctor reports the client/server pairing: an older client is a warning' '
    LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err &&
    grep -q "^\[warn\] pg_dump *$PG_CLIENT_BINDIR/pg_dump is PostgreSQL $PG_CLIENT_MAJOR, older than the server ($PG_SERVER_MAJOR)" out &&
    grep -q "^\[warn\] pg_basebackup .*older than the server" out && grep -q "^0 problems found" out
'
test_expect_success 'doctor: no client programs beside the server and no PG_CLIENT_BINDIR is a warning naming the fix' '
    mkdir -p srv && ln -sf "$PG_BINDIR/postgres" "$PG_BINDIR/initdb" srv/ &&
    (unset PG_CLIENT_BINDIR && PG_BINDIR=$TRASH/srv LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err) &&
    grep -q "^\[warn\] pg_dump *not in $TRASH/srv (the server.s bin dir): .database diff. needs it" out &&
    grep -q "PG_CLIENT_BINDIR" out
'
test_expect_code 1 'doctor with PG_BINDIR pointing nowhere fails' '
    PG_BINDIR=$TRASH/nowhere LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err
'
test_expect_success '...saying what to set' 'grep -q "PG_BINDIR" out err'
test_expect_code 1 'doctor with a preload library that is not installed fails' '
    PG_SHARED_PRELOAD_LIBRARIES=no_such_lib_xyz LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err
'
test_expect_success '...naming it and how to disable it' '
    grep -q "FAIL.*preload" out && grep -q "no_such_lib_xyz" err && grep -q "PG_SHARED_PRELOAD_LIBRARIES=" err
'
test_expect_code 1 'doctor with an unreadable dotenv file fails' '
    HECTIC_DOTENV_FILE=$TRASH/missing.env LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err
'
if [ "$(id -u)" = 0 ]; then
    test_expect_code 1 'doctor as root with a missing PG_OS_USER fails' '
        PG_OS_USER=no_such_user_xyz LOCAL_DIR=$TRASH/proj "$DBTOOL" doctor >out 2>err
    '
    test_expect_success '...saying how to fix it' 'grep -q "useradd" out'
fi
test_expect_success 'doctor without a project only warns' '
    "$DBTOOL" doctor >out 2>err && grep -q "^\[warn\] LOCAL_DIR" out
'
test_expect_code 1 'doctor with a broken dbtool.yaml goes on and reports it as a problem' '
    echo "bogus: 1" >proj/dbtool.yaml && LOCAL_DIR=$TRASH/proj PG_PORT=abc "$DBTOOL" doctor >out 2>err
'
test_expect_success '...each problem inline, the other checks still run' '
    grep -q "FAIL.*configuration.*dbtool.yaml:1:1: unknown key .bogus." out &&
    grep -q "FAIL.*configuration.*PG_PORT: expected a number, got .abc." out &&
    grep -q "template cache" out && grep -q "problems found" out
'
test_done
