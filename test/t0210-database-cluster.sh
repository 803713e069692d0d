#!/bin/sh
# database init | cleanup | log, the front door's option handling, and the
# safety rules of `database cleanup`.
. "${0%/*}/lib-pg.sh"

mkdir -p proj
export LOCAL_DIR=$TRASH/proj
test_at_exit "LOCAL_DIR=$TRASH/proj '$DBTOOL' postgres-cleanup"

test_expect_code 1 'database with no subcommand: help and exit 1' '"$DBTOOL" database >out 2>err'
test_expect_success '...the help lists subcommands' 'grep -q "subcommands:" err && grep -q "cleanup" err'
test_expect_code 9 'unknown subcommand exits 9' '"$DBTOOL" database frobnicate 2>err'
test_expect_code 9 'unknown option exits 9' '"$DBTOOL" database --frob init 2>err'
test_expect_code 9 'unknown subcommand option exits 9' '"$DBTOOL" database init --frob 2>err'
test_expect_success 'database --help lists every subcommand on stdout' '
    "$DBTOOL" database --help >out && for s in init cleanup log; do grep -q "^    $s " out || exit 1; done
'
test_expect_success 'every subcommand answers --help without LOCAL_DIR (stdout, exit 0, no error)' '
    for s in $("$DBTOOL" database --help | sed -n "/^subcommands:/,\$s/^    \([a-z_-]*\) .*/\1/p"); do
        env -u LOCAL_DIR "$DBTOOL" database $s --help >out 2>err && grep -q "^usage:" out && ! test -s err ||
            { echo "database $s --help:"; cat err; exit 1; }
    done
'
test_expect_code 3 'a mistyped LOCAL_DIR: exit 3 with a message' '
    LOCAL_DIR=$TRASH/porj "$DBTOOL" database init 2>err
'
test_expect_success '...naming LOCAL_DIR, and nothing is created there' '
    grep -q "LOCAL_DIR .*porj. does not exist" err && ! test -e "$TRASH/porj"
'

test_expect_success 'database log on a project with no logs warns and exits 0' '
    "$DBTOOL" database log list >out 2>err && grep -q "no server logs" err
'
test_expect_success 'database init starts the project cluster and prints its URL' '
    "$DBTOOL" database init >url 2>err && grep -q "host=$LOCAL_DIR/focus/postgresql/sock" url &&
    test "$("$PSQL" -X -At -d "$(cat url)" -c "select 1")" = 1
'
test_expect_success 'database init --reuse keeps data' '
    "$PSQL" -X -q -d "$(cat url)" -c "create table kept(x int)" &&
    "$DBTOOL" database init --reuse >/dev/null 2>&1 &&
    test "$("$PSQL" -X -At -d "$(cat url)" -c "select count(*) from kept")" = 0
'
test_expect_success 'database log list numbers the server logs' '
    "$DBTOOL" database log list >out && grep -q "^  1  postgresql-" out
'
test_expect_success 'database log 1 and by name show a log; all logs when piped' '
    "$DBTOOL" database log 1 >one && grep -q "LOG:" one &&
    name=$(sed -n "1s/^ *1  \([^ ]*\).*/\1/p" out) &&
    "$DBTOOL" database log "$name" >byname && cmp one byname &&
    "$DBTOOL" database log >all && grep -q "LOG:" all
'
test_expect_success 'database log with a bad index or name fails clearly' '
    ! "$DBTOOL" database log 99 2>err && grep -q "no log with index 99" err &&
    ! "$DBTOOL" database log nomatch 2>err && grep -q "matches no log" err
'
test_expect_code 1 'database cleanup refuses PG_WORKING_DIR = LOCAL_DIR' '
    PG_WORKING_DIR=$LOCAL_DIR "$DBTOOL" database cleanup 2>err
'
test_expect_success '...saying why, and removes nothing' 'grep -q "LOCAL_DIR itself" err && test -d "$LOCAL_DIR/focus"'
test_expect_code 1 'database cleanup refuses $HOME' '
    mkdir -p fakehome/data && HOME=$TRASH/fakehome PG_WORKING_DIR=$TRASH/fakehome "$DBTOOL" database cleanup 2>err
'
test_expect_code 1 'database cleanup refuses /' 'PG_WORKING_DIR=/ "$DBTOOL" database cleanup 2>err'
test_expect_code 1 'database cleanup refuses a directory that is not a cluster root' '
    mkdir -p notcluster/data && echo precious >notcluster/important.txt &&
    PG_WORKING_DIR=$TRASH/notcluster "$DBTOOL" database cleanup 2>err
'
test_expect_success '...naming what it found, and the file survives' '
    grep -q "important.txt" err && test "$(cat notcluster/important.txt)" = precious
'
test_expect_success 'database cleanup stops the cluster and removes the working dir' '
    pid=$(head -n 1 "$LOCAL_DIR/focus/postgresql/data/postmaster.pid") &&
    "$DBTOOL" database cleanup 2>err && ! test -e "$LOCAL_DIR/focus/postgresql" && pid_gone "$pid" &&
    test -d "$LOCAL_DIR"
'
test_expect_success 'database cleanup with nothing there is success' '"$DBTOOL" database cleanup 2>err'
test_expect_success 'database cleanup removes a private short socket dir too' '
    deep=$TRASH/$(printf "a-rather-long-directory-name-%s/" 1 2 3 4 5)w &&
    PG_WORKING_DIR=$deep "$DBTOOL" database init >url 2>/dev/null &&
    sock=$(sed "s/.*host=\([^&]*\).*/\1/" url) && test -d "$sock" &&
    PG_WORKING_DIR=$deep "$DBTOOL" database cleanup 2>/dev/null && ! test -e "$sock" && ! test -e "$deep"
'
test_done
