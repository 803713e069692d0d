#!/bin/sh
# The template cache prunes itself (at most once a day, in the background
# job): templates whose server binary is gone or changed (package upgrade,
# Nix garbage collection), templates unused for 30 days, copies left by
# killed jobs, job lock files unused for 30 days. The template in use, recent
# entries and a lock a job holds stay.
. "${0%/*}/lib-pg.sh"

export XDG_CACHE_HOME=$TRASH/cache
C=$XDG_CACHE_HOME/dbtool
test_at_exit "PG_WORKING_DIR=$TRASH/c1 '$DBTOOL' postgres-cleanup"
test_at_exit "PG_WORKING_DIR=$TRASH/c2 '$DBTOOL' postgres-cleanup"
fresh() { # DIR: a fresh init whose background job runs in the foreground
    PG_WORKING_DIR=$1 "$DBTOOL" postgres-cleanup >/dev/null 2>&1
    rm -rf "$1" && DBTOOL_SYNC_CACHE=1 HECTIC_LOG='info;cluster=debug;job=debug' PG_WORKING_DIR=$1 \
        "$DBTOOL" postgres-init >/dev/null 2>err
}
key() { ls "$C" | grep "^pg-[0-9a-f]*$"; }
fake() { # NAME [AGE]: a template dir (and spare) aged AGE ("40 days ago")
    mkdir -p "$C/$1" "$C/spare-$1-1-1" && echo 15 >"$C/$1/PG_VERSION" &&
    if [ -n "${2:-}" ]; then touch -d "$2" "$C/$1"; fi
}

test_expect_success 'a fresh init records the key beside the template' '
    fresh "$TRASH/c1" && K=$(key) && test -n "$K" && test -s "$C/$K.key" &&
    grep -q "^bin=$(readlink -f "$PG_BINDIR/postgres")$" "$C/$K.key" &&
    grep -q "^mtime=" "$C/$K.key" && test -e "$C/.pruned"
'
K=$(key)
test_expect_success 'set up: stale, unused, legacy, recent and leftover entries' '
    fake pg-aaaaaaaaaaaaaaaa &&
    sed "s|^bin=.*|bin=/nonexistent/postgres|" "$C/$K.key" >"$C/pg-aaaaaaaaaaaaaaaa.key" &&
    fake pg-bbbbbbbbbbbbbbbb && sed "s|^size=.*|size=1|" "$C/$K.key" >"$C/pg-bbbbbbbbbbbbbbbb.key" &&
    fake pg-cccccccccccccccc && cp "$C/$K.key" "$C/pg-cccccccccccccccc.key" &&
    touch -d "40 days ago" "$C/pg-cccccccccccccccc.key" &&
    fake pg-dddddddddddddddd "40 days ago" &&
    fake pg-eeeeeeeeeeeeeeee && cp "$C/$K.key" "$C/pg-eeeeeeeeeeeeeeee.key" &&
    fake pg-ffffffffffffffff "2 days ago" &&
    mkdir -p "$C/tmp-spare-99999/base" "$C/tmp-spare-99998" && touch -d "2 hours ago" "$C/tmp-spare-99999" &&
    touch -d "40 days ago" "$C/$K.key" && rm -f "$C/.pruned" &&
    mkdir -p "$C/jobs" && for n in 1 2 3; do : >"$C/jobs/wd-000000000000000$n.lock"; done &&
    touch -d "40 days ago" "$C/jobs/wd-0000000000000001.lock" "$C/jobs/wd-0000000000000002.lock" &&
    echo keep >"$TRASH/outside.lock" && touch -d "40 days ago" "$TRASH/outside.lock" &&
    ln -s "$TRASH/outside.lock" "$C/jobs/planted.lock"
'
test_expect_success 'the next background job prunes what can never or did not get used' '
    { ( exec 9<"$C/jobs/wd-0000000000000002.lock" && flock 9 && exec sleep 300 ) & } && held=$! &&
    test_when_finished "kill $held" &&
    i=0 && while flock -n "$C/jobs/wd-0000000000000002.lock" true; do
        i=$((i + 1)) && test $i -lt 600 && sleep 0.05 || break; done &&
    ! flock -n "$C/jobs/wd-0000000000000002.lock" true &&
    fresh "$TRASH/c2" &&
    ! test -e "$C/jobs/wd-0000000000000001.lock" &&
    grep -q "pruned the lock file .*wd-0000000000000001.lock: unused for 30 days" err &&
    ! test -e "$C/pg-aaaaaaaaaaaaaaaa" && ! test -e "$C/pg-aaaaaaaaaaaaaaaa.key" &&
    ! test -e "$C/spare-pg-aaaaaaaaaaaaaaaa-1-1" &&
    ! test -e "$C/pg-bbbbbbbbbbbbbbbb" && ! test -e "$C/spare-pg-bbbbbbbbbbbbbbbb-1-1" &&
    ! test -e "$C/pg-cccccccccccccccc" && ! test -e "$C/pg-dddddddddddddddd" &&
    ! test -e "$C/tmp-spare-99999" &&
    grep -q "pruning template pg-aaaaaaaaaaaaaaaa: its server binary is gone or changed" err &&
    grep -q "pruning template pg-bbbbbbbbbbbbbbbb: its server binary is gone or changed" err &&
    grep -q "pruning template pg-cccccccccccccccc: unused for 30 days" err &&
    grep -q "pruning template pg-dddddddddddddddd: unused for 30 days (no use recorded)" err
'
test_expect_success '...and keeps the template in use, recent entries and a fresh temp copy' '
    test -e "$C/$K/PG_VERSION" && test -e "$C/$K.key" &&
    test -e "$C/pg-eeeeeeeeeeeeeeee" && test -e "$C/spare-pg-eeeeeeeeeeeeeeee-1-1" &&
    test -e "$C/pg-ffffffffffffffff" && test -e "$C/tmp-spare-99998" &&
    test -e "$C/jobs/wd-0000000000000002.lock" && test -e "$C/jobs/wd-0000000000000003.lock" &&
    test -L "$C/jobs/planted.lock" && test "$(cat "$TRASH/outside.lock")" = keep &&
    ! ls "$C" | grep -q "^tmp-prune-"
'
test_expect_success 'using a template marks it used (the key file is touched)' '
    test "$(find "$C/$K.key" -mtime -1)" = "$C/$K.key"
'
test_expect_success 'a background job touches its lock file: one in use is never pruned' '
    touch -d "40 days ago" "$C"/jobs/wd-*.lock &&
    PG_WORKING_DIR=$TRASH/c1 "$DBTOOL" postgres-init >/dev/null 2>&1 && wait_bg &&
    test -n "$(find "$C/jobs" -name "wd-*.lock" -mtime -1)"
'
test_expect_success 'pruning runs at most once a day' '
    fake pg-1111111111111111 && sed "s|^bin=.*|bin=/nonexistent/postgres|" "$C/$K.key" >"$C/pg-1111111111111111.key" &&
    fresh "$TRASH/c2" && test -e "$C/pg-1111111111111111" &&
    touch -d "25 hours ago" "$C/.pruned" && fresh "$TRASH/c2" && ! test -e "$C/pg-1111111111111111"
'
test_expect_success 'the clusters made meanwhile work' '
    eval "$(PG_WORKING_DIR=$TRASH/c2 "$DBTOOL" postgres-init --env 2>/dev/null)" && test "$(psql_c "select 1")" = 1
'
test_done
