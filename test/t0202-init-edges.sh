#!/bin/sh
# postgres-init failure cases (each with its exit code and message), deep
# working dirs past the socket path limit, descriptors and detaching.
. "${0%/*}/lib-pg.sh"

test_expect_code 1 'no PG_WORKING_DIR and no LOCAL_DIR: exit 1' '"$DBTOOL" postgres-init 2>err'
test_expect_success '...with a message naming both' '
    grep -q "PG_WORKING_DIR" err && grep -q "LOCAL_DIR" err
'
test_expect_code 1 'PG_WORKING_DIR is a regular file: exit 1' '
    echo x >afile && PG_WORKING_DIR=$TRASH/afile "$DBTOOL" postgres-init 2>err
'
test_expect_success '...saying so, and the file is untouched' '
    grep -q "is not a directory" err && test "$(cat afile)" = x
'
test_expect_code 3 'invalid PG_URL_VAR: exit 3' '
    PG_URL_VAR="BAD-NAME" PG_WORKING_DIR=$TRASH/u "$DBTOOL" postgres-init 2>err
'
test_expect_success '...naming the variable and the allowed pattern' '
    grep -q "PG_URL_VAR" err && grep -q "A-Za-z0-9_" err && ! test -e "$TRASH/u"
'
test_expect_code 3 'invalid PG_PORT: exit 3' 'PG_PORT=abc PG_WORKING_DIR=$TRASH/u "$DBTOOL" postgres-init 2>err'
if [ "$(id -u)" = 0 ]; then
    test_expect_code 1 'as root, a PG_OS_USER that does not exist fails' '
        PG_OS_USER=no_such_user_xyz PG_WORKING_DIR=$TRASH/u "$DBTOOL" postgres-init 2>err
    '
    test_expect_success '...saying PostgreSQL refuses root and how to fix it' '
        grep -q "no_such_user_xyz" err && grep -q "refuses to run as root" err
    '
    test_expect_code 1 'as root, an unreachable working dir is explained' '
        mkdir -m 700 closed && PG_WORKING_DIR=$TRASH/closed/w "$DBTOOL" postgres-init 2>err
    '
    test_expect_success '...naming the directory to open' 'grep -q "chmod o+x" err && grep -q closed err'
fi

test_expect_success 'socket held by another process: non-zero exit and a message' '
    mkdir -p busy/sock && chmod 777 busy busy/sock &&
    python3 -c "
import socket, sys, time, os
s = socket.socket(socket.AF_UNIX); s.bind(sys.argv[1]); s.listen(1)
open(sys.argv[2], \"w\").write(\"x\")
time.sleep(30)" "$TRASH/busy/sock/.s.PGSQL.5432" "$TRASH/ready" &
    lp=$! && test_when_finished "kill $lp" &&
    i=0; while ! test -e ready && [ $i -lt 100 ]; do sleep 0.05; i=$((i+1)); done &&
    ! PG_WORKING_DIR=$TRASH/busy "$DBTOOL" postgres-init 2>err &&
    grep -q "is held by another" err && test -S "$TRASH/busy/sock/.s.PGSQL.5432"
'

deep=$TRASH/$(printf "very-long-directory-name-%s/" 1 2 3 4 5)w
test_expect_success 'a working dir too deep for a socket path works' '
    PG_WORKING_DIR=$deep "$DBTOOL" postgres-init --env >env 2>err &&
    test_at_exit "PG_WORKING_DIR=$deep \"$DBTOOL\" postgres-cleanup" &&
    . ./env && test ${#deep} -gt 107 && test "$(psql_c "select 1")" = 1
'
test_expect_success '...the URL names the short socket dir actually used, and says so' '
    . ./env && case $POSTGRESQL_HOST in "$deep"*) false;; esac &&
    test ${#POSTGRESQL_HOST} -lt 60 && grep -q "short socket dir" err &&
    test "$(stat -c %a "$POSTGRESQL_HOST")" = 700 &&
    test "$(readlink "$deep/sock")" = "$POSTGRESQL_HOST"
'
test_expect_success '...reuse finds the same short dir; cleanup stops it' '
    . ./env && PG_REUSE=1 PG_WORKING_DIR=$deep "$DBTOOL" postgres-init --env >env2 2>/dev/null &&
    cmp env env2 && PG_WORKING_DIR=$deep "$DBTOOL" postgres-cleanup && ! test -S "$POSTGRESQL_HOST/.s.PGSQL.5432"
'

test_expect_success '$(postgres-init) returns: the server keeps no pipe of ours' '
    out=$(timeout 60 env PG_WORKING_DIR=$TRASH/p "$DBTOOL" postgres-init 2>&1) &&
    test_at_exit "PG_WORKING_DIR=$TRASH/p \"$DBTOOL\" postgres-cleanup" &&
    echo "$out" | grep -q "^postgresql://"
'
test_expect_success 'piping through cat returns too (stdout and stderr both pipes)' '
    PG_WORKING_DIR=$TRASH/p timeout 60 "$DBTOOL" postgres-init 2>&1 | timeout 60 cat >out &&
    grep -q "^postgresql://" out
'
test_expect_success 'no descriptor of the caller leaks into the server' '
    exec 7>"$TRASH/leak-marker" &&
    PG_WORKING_DIR=$TRASH/p "$DBTOOL" postgres-init >/dev/null 2>&1 &&
    exec 7>&- &&
    pid=$(head -n 1 "$TRASH/p/data/postmaster.pid") &&
    ! ls -l /proc/$pid/fd | grep -q leak-marker &&
    test "$(readlink /proc/$pid/fd/0)" = /dev/null &&
    PG_DISABLE_LOGGING=1 PG_WORKING_DIR=$TRASH/p "$DBTOOL" postgres-init >/dev/null 2>&1 7>"$TRASH/leak-marker" &&
    pid=$(head -n 1 "$TRASH/p/data/postmaster.pid") &&
    ! ls -l /proc/$pid/fd | grep -q leak-marker &&
    for fd in 0 1 2; do
        t=$(readlink /proc/$pid/fd/$fd) && case $t in /dev/null|*postgres.log) ;; *) echo "fd $fd -> $t"; exit 1;; esac
    done
'
test_expect_success 'the server runs in its own session and survives the caller' '
    pid=$(head -n 1 "$TRASH/p/data/postmaster.pid") &&
    test "$(ps -o sid= -p $pid | tr -d " ")" = "$pid" &&
    sh -c "PG_WORKING_DIR=$TRASH/q \"$DBTOOL\" postgres-init >/dev/null 2>&1; exit 0" &&
    test_at_exit "PG_WORKING_DIR=$TRASH/q \"$DBTOOL\" postgres-cleanup" &&
    sleep 0.2 && kill -0 "$(head -n 1 "$TRASH/q/data/postmaster.pid")"
'
test_expect_success 'NO_TTY=1: start output goes to the log file only' '
    NO_TTY=1 PG_WORKING_DIR=$TRASH/p "$DBTOOL" postgres-init >out 2>err &&
    ! grep -qi "database system\|redirecting log" out err && grep -qi "redirecting log" "$TRASH/p/postgres.log"
'
test_done
