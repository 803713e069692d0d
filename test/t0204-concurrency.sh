#!/bin/sh
# Two clusters side by side; the template cache under concurrent inits;
# a non-root run.
. "${0%/*}/lib-pg.sh"

export XDG_CACHE_HOME=$TRASH/cache
for n in 1 2 3 4; do test_at_exit "PG_WORKING_DIR=$TRASH/c$n '$DBTOOL' postgres-cleanup"; done

test_expect_success 'four concurrent fresh inits on a cold cache all succeed' '
    for n in 1 2 3 4; do
        (PG_WORKING_DIR=$TRASH/c$n "$DBTOOL" postgres-init --env >env$n 2>err$n; echo $? >rc$n) &
    done; wait &&
    for n in 1 2 3 4; do test "$(cat rc$n)" = 0 || { cat err$n; exit 1; }; done
'
test_expect_success '...each cluster works and holds its own data' '
    for n in 1 2 3 4; do
        (. ./env$n && psql_c "create table t$n(x int)") || exit 1
    done &&
    for n in 1 2 3 4; do
        (. ./env$n && test "$(psql_c "select string_agg(tablename, '"','"') from pg_tables where schemaname = '"'public'"'")" = t$n) || exit 1
    done
'
test_expect_success '...and the cache holds exactly one complete template, no temp leftovers' '
    wait_bg "$TRASH"/c1 "$TRASH"/c2 "$TRASH"/c3 "$TRASH"/c4 &&
    ls "$XDG_CACHE_HOME/dbtool" &&
    test "$(ls "$XDG_CACHE_HOME/dbtool" | grep -c "^pg-[0-9a-f]*$")" = 1 &&
    test "$(ls "$XDG_CACHE_HOME/dbtool" | grep -v "^spare-" | grep -v "^jobs$" | grep -v "^major-" | grep -v "^generic-" | grep -vc "^pg-")" = 0 &&
    test -e "$XDG_CACHE_HOME/dbtool/$(ls "$XDG_CACHE_HOME/dbtool" | grep "^pg-[0-9a-f]*$")/PG_VERSION"
'
test_expect_success 'two clusters side by side keep running independently' '
    PG_WORKING_DIR=$TRASH/c1 "$DBTOOL" postgres-cleanup &&
    (. ./env2 && test "$(psql_c "select 1")" = 1) &&
    ! (. ./env1 && psql_c "select 1" 2>/dev/null)
'
test_expect_success 'concurrent warm inits copy from the cache' '
    for n in 1 2 3 4; do
        (PG_WORKING_DIR=$TRASH/c$n "$DBTOOL" postgres-init --env >env$n 2>err$n; echo $? >rc$n) &
    done; wait &&
    for n in 1 2 3 4; do test "$(cat rc$n)" = 0 || { cat err$n; exit 1; }; ! grep -q initdb err$n || exit 1; done
'
test_expect_success 'a changed initdb option (another database name) is a new cache entry' '
    wait_bg "$TRASH"/c1 "$TRASH"/c2 "$TRASH"/c3 "$TRASH"/c4 &&
    PG_DATABASE=otherdb PG_WORKING_DIR=$TRASH/c1 "$DBTOOL" postgres-init >/dev/null 2>err &&
    grep -q "initdb\|generic template" err && wait_bg "$TRASH/c1" && test "$(ls "$XDG_CACHE_HOME/dbtool" | grep -c "^pg-[0-9a-f]*$")" = 2
'
test_expect_success 'warm fresh inits claim a ready spare (no copy on the critical path)' '
    wait_bg "$TRASH/c1" && test "$(ls "$XDG_CACHE_HOME/dbtool" | grep -c "^spare-")" -ge 1 &&
    HECTIC_LOG=cluster=debug PG_WORKING_DIR=$TRASH/c1 "$DBTOOL" postgres-init >/dev/null 2>err &&
    grep -q "claimed a spare" err && wait_bg "$TRASH/c1" &&
    ! ls -d "$TRASH"/c1/.old-data-* 2>/dev/null
'
test_expect_success 'a lost cache entry is rebuilt' '
    wait_bg "$TRASH/c1" && rm -rf "$XDG_CACHE_HOME/dbtool"/* &&
    PG_WORKING_DIR=$TRASH/c1 "$DBTOOL" postgres-init >/dev/null 2>&1 &&
    (. ./env1 && test "$(psql_c "select 1")" = 1) && wait_bg "$TRASH/c1" &&
    test "$(ls "$XDG_CACHE_HOME/dbtool" | grep -c "^pg-[0-9a-f]*$")" = 1
'
test_expect_success 'with the cache on another filesystem it still works (copy, no spares)' '
    if [ -d /dev/shm ] && [ -w /dev/shm ]; then
        c=$(mktemp -d /dev/shm/dbtool-cache.XXXXXX) &&
        test_when_finished "XDG_CACHE_HOME=$c wait_bg; rm -rf $c" &&
        XDG_CACHE_HOME=$c PG_WORKING_DIR=$TRASH/c1 "$DBTOOL" postgres-init >/dev/null 2>&1 &&
        XDG_CACHE_HOME=$c wait_bg &&
        XDG_CACHE_HOME=$c PG_WORKING_DIR=$TRASH/c1 "$DBTOOL" postgres-init >/dev/null 2>&1 &&
        XDG_CACHE_HOME=$c wait_bg && (. ./env1 && test "$(psql_c "select 1")" = 1) &&
        test "$(ls "$c/dbtool" | grep -c "^spare-")" = 0
    fi
'

test_expect_success 'a lock removed with its cluster while another waits on it: the waiter locks the new file' '
    w=$TRASH/w9 && l=$TRASH/.w9.dbtool-lock &&
    test_when_finished "PG_WORKING_DIR=$w \"$DBTOOL\" postgres-cleanup >/dev/null 2>&1; touch a-go c-go" &&
    { flock "$l" sh -c ": >a-held; until [ -e a-go ]; do sleep 0.05; done" & } &&
    until [ -e a-held ]; do sleep 0.05; done &&
    { HECTIC_LOG="info;cluster=debug" PG_WORKING_DIR=$w "$DBTOOL" postgres-init >/dev/null 2>errb & pidb=$!; } &&
    wait_line "another dbtool" errb $pidb &&
    rm "$l" &&
    { flock -n "$l" sh -c ": >c-held; until [ -e c-go ]; do sleep 0.05; done" & } &&
    until [ -e c-held ]; do sleep 0.05; done &&
    : >a-go && wait_line "was removed while we waited" errb $pidb &&
    ! test -e "$w/data" &&
    : >c-go && wait $pidb && test -d "$w/data"
'
test_expect_success 'right after a cold init the working dir is removable: the template is built in the cache' '
    c=$TRASH/cold-cache && mkdir -p proj &&
    XDG_CACHE_HOME=$c LOCAL_DIR=$TRASH/proj PG_WORKING_DIR=$TRASH/race "$DBTOOL" postgres-init >/dev/null 2>&1 &&
    ls "$c"/dbtool/jobs/*.lock >/dev/null &&
    PG_WORKING_DIR=$TRASH/race "$DBTOOL" postgres-cleanup && rm -r "$TRASH/race" &&
    ! ls -a "$TRASH" | grep -q "^race$" &&
    XDG_CACHE_HOME=$c wait_bg && ! test -e "$TRASH/race" &&
    ls "$c/dbtool" | grep -q "^pg-[0-9a-f]*$" && ! ls "$c/dbtool" | grep -q "^tmp"
'
test_expect_success 'a SIGKILLed check: its cache job goes on when the command is gone, not after 10 min' '
    k=$TRASH/kc && mkdir -p "$TRASH/kp/db/src" && echo "SELECT 1;" >"$TRASH/kp/db/src/entrypoint.sql" &&
    ke="XDG_CACHE_HOME=$k/cache LOCAL_DIR=$TRASH/kp DBTOOL_SCRATCH_DIR=$k/scr DBTOOL_SCRATCH_RAM=0" &&
    test_when_finished "echo \"SELECT 1;\" >\"$TRASH/kp/db/src/entrypoint.sql\";
        env $ke \"$DBTOOL\" database check -P -H >/dev/null 2>&1" &&
    env $ke "$DBTOOL" database check >/dev/null 2>err && XDG_CACHE_HOME=$k/cache wait_bg &&
    echo "SELECT pg_sleep(120);" >"$TRASH/kp/db/src/entrypoint.sql" &&
    { env $ke "$DBTOOL" database check >/dev/null 2>kerr & } && pid=$! &&
    wait_line "hydrate: running" kerr $pid && kill -9 $pid && { wait $pid; true; } &&
    ls "$k/scr" | grep -q . &&
    for l in "$k"/cache/dbtool/jobs/*.lock; do flock -s -w 20 "$l" true || exit 1; done
'
if [ "$(id -u)" = 0 ]; then
    if id postgres >/dev/null 2>&1; then
        test_expect_success 'non-root run: the invoking user runs the server and names the role' '
            mkdir nr && chown postgres nr &&
            runuser -u postgres -- env XDG_CACHE_HOME=$TRASH/nr/cache PG_WORKING_DIR=$TRASH/nr/w \
                PATH="$PATH" PG_FSYNC=0 PG_SHARED_PRELOAD_LIBRARIES= "$DBTOOL" postgres-init --env >envnr 2>err &&
            test_at_exit "runuser -u postgres -- env PG_WORKING_DIR=$TRASH/nr/w \"$DBTOOL\" postgres-cleanup" &&
            . ./envnr && test "$POSTGRESQL_USER" = postgres &&
            test "$(psql_c "select current_user")" = postgres &&
            test "$(stat -c %U "$TRASH/nr/w/data")" = postgres &&
            runuser -u postgres -- env PG_WORKING_DIR=$TRASH/nr/w "$DBTOOL" postgres-cleanup
        '
    else
        test_skip 'non-root run' 'no postgres user'
    fi
else
    test_expect_success 'non-root run: the invoking user runs the server' '
        PG_WORKING_DIR=$TRASH/nr "$DBTOOL" postgres-init --env >envnr &&
        test_at_exit "PG_WORKING_DIR=$TRASH/nr \"$DBTOOL\" postgres-cleanup" &&
        . ./envnr && test "$POSTGRESQL_USER" = "$(id -un)"
    '
fi
test_done
