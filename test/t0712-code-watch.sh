#!/bin/sh
# Schema as code (issue 17): database watch. A good save is applied and
# printed (one line per object, with the time); a bad save prints file:line,
# leaves the database as it was and watching goes on; the fix applies; an
# object moved to another file is not re-created (same hash); Ctrl-C exits
# 130 and leaves the last good state.
. "${0%/*}/lib-pg.sh"

pg_cluster pg || exit 1
dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl "$1")" -c "$2"; }
q postgres "CREATE DATABASE w"

P=$TRASH/proj
C=$P/db/code
mkdir -p "$C"
export LOCAL_DIR=$P
U=$(dburl w)
export U C

# wait_count PATTERN FILE N PID: until FILE has N lines matching PATTERN (30 s)
wait_count() {
    _i=0
    while [ "$(grep -c -- "$1" "$2" 2>/dev/null)" -lt "$3" ]; do
        _i=$((_i + 1)); [ $_i -lt 600 ] || { kill "$4" 2>/dev/null; echo "not $3 '$1' in $2 after 30 s"; cat "$2"; return 1; }
        sleep 0.05
    done
}

echo "CREATE VIEW public.w1 AS SELECT 1 AS a;" >"$C/w1.sql"
echo "CREATE VIEW public.w2 AS SELECT a FROM public.w1;" >"$C/w2.sql"
# in a subshell that waits for it: its exit status lands in watch.rc
( "$DBTOOL" database -u "$U" watch >watch.out 2>watch.err &
  echo $! >watch.pid; wait $!; echo $? >watch.rc ) &
while ! test -s watch.pid; do sleep 0.05; done
WATCH=$(cat watch.pid)
test_at_exit "kill $WATCH 2>/dev/null"
export WATCH

test_expect_success 'watch applies the directory when it starts' '
    wait_count "created    view public.w2" watch.out 1 $WATCH &&
    test "$(q w "select a from public.w2")" = 1
'
test_expect_success '...one line per object with the time of the commit' '
    grep -E "^[0-9]{2}:[0-9]{2}:[0-9]{2}\.[0-9]{3} created    view public.w1  w1.sql:1  [0-9.]+ ms$" watch.out
'
test_expect_success 'a good save: the view and its dependent are re-created' '
    echo "CREATE VIEW public.w1 AS SELECT 2 AS a;" >"$C/w1.sql" &&
    wait_count "re-created view public.w2" watch.out 1 $WATCH &&
    test "$(q w "select a from public.w2")" = 2 &&
    grep -q "dropped    view public.w2" watch.out
'
test_expect_success 'a bad save: file:line on stderr, the database keeps the last good state' '
    oid=$(q w "select '"'public.w1'"'::regclass::oid") &&
    printf "CREATE VIEW public.w1 AS\n    SELEC 3 AS a;\n" >"$C/w1.sql" &&
    wait_line "watching on" watch.err $WATCH &&
    test_grep "$C/w1.sql:2: ERROR:  syntax error at or near \"SELEC\"" watch.err &&
    test_grep "$C/w1.sql:2:5: not analysed" watch.err &&
    test "$(q w "select a from public.w2")" = 2 &&
    test "$(q w "select '"'public.w1'"'::regclass::oid")" = "$oid"
'
test_expect_success 'the fix applies' '
    echo "CREATE VIEW public.w1 AS SELECT 3 AS a;" >"$C/w1.sql" &&
    wait_count "re-created view public.w2" watch.out 2 $WATCH &&
    test "$(q w "select a from public.w2")" = 3
'
test_expect_success 'an object moved to another file: recorded, not re-created, same hash' '
    oid=$(q w "select '"'public.w1'"'::regclass::oid") &&
    h=$(q w "select sha256 from hectic.code_object where identity = '"'view public.w1'"'") &&
    mkdir "$C/sub" &&
    { echo "-- w1 lives here now"; cat "$C/w1.sql"; } >"$C/sub/moved.sql" && rm "$C/w1.sql" &&
    wait_count "moved      view public.w1  sub/moved.sql:2" watch.out 1 $WATCH &&
    test "$(q w "select '"'public.w1'"'::regclass::oid")" = "$oid" &&
    test "$(q w "select sha256 || '"' '"' || file from hectic.code_object where identity = '"'view public.w1'"'")" = "$h sub/moved.sql"
'
test_expect_success 'a file in a new subdirectory is watched too' '
    mkdir -p "$C/new/deeper" && sleep 0.3 &&
    echo "CREATE VIEW public.w3 AS SELECT a + 1 AS b FROM public.w1;" >"$C/new/deeper/w3.sql" &&
    wait_count "created    view public.w3" watch.out 1 $WATCH &&
    test "$(q w "select b from public.w3")" = 4
'
test_expect_success 'Ctrl-C: exit 130' '
    kill -INT $WATCH &&
    i=0 && while ! test -s watch.rc; do i=$((i + 1)); test $i -lt 600 || exit 1; sleep 0.05; done &&
    test "$(cat watch.rc)" = 130
'
test_expect_success '...the last good state stays, nothing was left half done' '
    test "$(q w "select b from public.w3")" = 4 &&
    test "$(q w "select count(*) from hectic.code_object")" = 3 &&
    test_grep "watch: stopped" watch.err
'
test_expect_code 3 'watch without a code directory exits 3' '
    CODE_DIR=$TRASH/none "$DBTOOL" database -u "$U" watch 2>err
'
test_done
