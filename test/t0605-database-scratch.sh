#!/bin/sh
# Throwaway clusters (check, diff, normalize-backup) live in RAM when a tmpfs
# has room (lib/scratch): where they go, the fallbacks, the overrides, the
# lock that keeps a running one safe from other runs' sweeps, and the sweep
# of a killed run's cluster. Leftover checks are scoped to this script's own
# names: other scripts share /dev/shm/dbtool-UID under prove -j.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src" "$P/slow/src"
export LOCAL_DIR=$P PG_DATABASE=appdb
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
RAM=/dev/shm/dbtool-$(id -u)

cat >"$P/db/src/entrypoint.sql" <<'EOF'
CREATE TABLE item (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);
INSERT INTO item(name) VALUES ('a'), ('b');
EOF
echo "INSERT INTO item(name) VALUES ('patched');" >"$P/test-data.sql"
# a hydrate that runs until the test says so (touch $TRASH/release), not for a
# fixed time a loaded machine may outlast; it gives up after 5 minutes, or when
# the trash dir is gone
cat >"$P/slow/src/entrypoint.sql" <<EOF
CREATE TEMP TABLE gate (x int);
COPY gate FROM PROGRAM 'i=0; while [ -d $TRASH ] && [ ! -e $TRASH/release ] && [ \$i -lt 6000 ]; do sleep 0.05; i=\$((i + 1)); done; echo 1';
EOF

# the throwaway dir a run announced in ERRFILE ("...: /path/check-N")
announced() { sed -n 's/.* cluster \(in RAM (tmpfs)\|on disk\): \(\/.*\)$/\2/p' "$1" | head -n 1; }
# DIR, its lock file and any server whose cwd is inside it are gone
gone() {
    test -n "$1" || { echo "no dir announced"; return 1; }
    ! test -e "$1" || { echo "left: $1"; ls -la "$1"; return 1; }
    ! test -e "$(dirname "$1")/.$(basename "$1").lock" || { echo "lock file left for $1"; return 1; }
    for pid in $(pgrep -x postgres 2>/dev/null); do
        d=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
        case "$d" in "$1"/*) echo "server $pid left in $d"; return 1;; esac
    done
    return 0
}
tmpfs_room() { # DIR: a tmpfs with at least 512 MiB free
    test "$(stat -f -c %T "$1" 2>/dev/null)" = tmpfs &&
    test "$(df -Pk "$1" | awk 'NR == 2 { print $4 }')" -gt 524288
}
can_mount() { test "$(id -u)" = 0 && mkdir -p "$TRASH/mnt-probe" && mount -t tmpfs -o size=1m none "$TRASH/mnt-probe" 2>/dev/null && umount "$TRASH/mnt-probe"; }

if tmpfs_room /dev/shm; then
    test_expect_success 'check runs in RAM (/dev/shm) by default, and says so' '
        "$DBTOOL" database check >out 2>err && d=$(announced err) &&
        grep -q "throwaway cluster in RAM (tmpfs): $RAM/check-" err &&
        case "$d" in "$RAM"/check-*) ;; *) exit 1;; esac && gone "$d" &&
        test "$(stat -c %a "$RAM")" = "$( [ "$(id -u)" = 0 ] && echo 711 || echo 700)"
    '
    test_expect_success 'a failing check in RAM is removed as well' '
        echo "SELECT 1/0;" >"$TRASH/bad.sql" && mkdir -p "$TRASH/prof" && cp "$TRASH/bad.sql" "$TRASH/prof/test-data.sql" &&
        { PROFILE_DIR=$TRASH/prof "$DBTOOL" database check >out 2>err; test $? = 1; } &&
        grep -q "division by zero" err && gone "$(announced err)"
    '
    test_expect_success 'a second check while one runs: both pass, neither sweeps the other' '
        # (a list ending in & runs in the background as a whole: the set-up ends first)
        { rm -f "$TRASH/release" err1 && test_when_finished "touch \"$TRASH/release\""; } || exit 1
        DATABASE_SOURCE=$P/slow/src "$DBTOOL" database check -P >out1 2>err1 &
        pid=$! && wait_line "hydrate: running" err1 $pid &&
        d1=$(announced err1) && test -d "$d1" &&
        "$DBTOOL" database check >out2 2>err2 && ! grep -q "left by a process that is gone" err2 &&
        test -d "$d1" && touch "$TRASH/release" && wait $pid && gone "$d1" && gone "$(announced err2)"
    '
    test_expect_success 'a SIGKILLed check leaves its cluster; the next run stops and removes it' '
        # (a list ending in & runs in the background as a whole: the set-up ends first)
        { rm -f "$TRASH/release" err1 && test_when_finished "touch \"$TRASH/release\""; } || exit 1
        DATABASE_SOURCE=$P/slow/src "$DBTOOL" database check -P >out1 2>err1 &
        pid=$! && wait_line "hydrate: running" err1 $pid &&
        d1=$(announced err1) && kill -KILL $pid && { wait $pid; true; } &&
        { test -d "$d1" || { echo "no dir $d1 after the kill:"; cat err1; exit 1; }; } &&
        spid=$(head -n 1 "$d1/data/postmaster.pid") &&
        { kill -0 "$spid" || { echo "its server $spid is not running"; exit 1; }; } &&
        { "$DBTOOL" database check -P -H >out 2>err || { echo "the next check failed:"; cat err; exit 1; }; } &&
        # this check sweeps it, unless a check or diff of a script running alongside
        # (the same RAM base) got there first
        { grep -q "removing the throwaway cluster $d1 left by a process that is gone" err ||
          ! test -e "$d1"; } &&
        gone "$d1" && i=0 && until pid_gone "$spid"; do i=$((i + 1)); [ $i -lt 600 ] || { echo "server $spid still running"; exit 1; }; sleep 0.05; done
    '
    test_expect_success CLIENT_MATCHES_SERVER 'diff and normalize-backup build their clusters in RAM and remove them' '
        "$DBTOOL" database deploy >/dev/null 2>err && "$DBTOOL" database backup >/dev/null 2>err &&
        { "$DBTOOL" database diff >out 2>err; test $? = 0; } && grep -q "no differences found" out &&
        grep -q "restoring .* into a throwaway cluster in RAM (tmpfs)" err &&
        test "$(grep -c "removed $RAM/diff-" err)" = 2 &&
        for n in $(sed -n "s|.*: removed \($RAM/diff-.*\)$|\1|p" err); do gone "$n" || exit 1; done &&
        "$DBTOOL" database normalize-backup -o "$TRASH/norm" >out 2>err &&
        grep -q "temporary cluster in RAM (tmpfs): $RAM/normalize-" err &&
        gone "$(announced err)" && test -s "$TRASH/norm/base.tar.gz"
    '
else
    test_skip 'check runs in RAM by default' '/dev/shm is not a tmpfs with 512 MiB free'
fi

test_expect_success 'a check on a cold cache leaves the template behind (a CI cache warms up)' '
    XDG_CACHE_HOME=$TRASH/cold "$DBTOOL" database check -P >out 2>err &&
    ls "$TRASH/cold/dbtool" | grep -q "^pg-[0-9a-f]*$" &&
    XDG_CACHE_HOME=$TRASH/cold HECTIC_LOG="info;cluster=debug" "$DBTOOL" database check -P >out 2>err &&
    ! grep -q "initialising a new cluster" err && grep -q -e "copied template" -e "claimed a spare" err
'
test_expect_success 'DBTOOL_SCRATCH_RAM naming no tmpfs: the check runs on disk in $LOCAL_DIR/focus' '
    DBTOOL_SCRATCH_RAM=$TRASH "$DBTOOL" database check >out 2>err &&
    grep -q "throwaway cluster on disk: $P/focus/check-" err && gone "$(announced err)"
'
test_expect_success 'DBTOOL_SCRATCH_DIR puts it where it says' '
    DBTOOL_SCRATCH_DIR=$TRASH/scr "$DBTOOL" database check >out 2>err &&
    grep -q "throwaway cluster on disk: $TRASH/scr/check-" err && gone "$(announced err)" &&
    test -d "$TRASH/scr"
'
test_expect_success 'a dir without a lock file is never swept' '
    mkdir -p "$TRASH/scr/check-1/data" && echo keep >"$TRASH/scr/check-1/data/PG_VERSION" &&
    DBTOOL_SCRATCH_DIR=$TRASH/scr "$DBTOOL" database check -P -H >out 2>err &&
    test "$(cat "$TRASH/scr/check-1/data/PG_VERSION")" = keep
'

if can_mount; then
    R=$TRASH/ram
    mkdir -p "$R/small" "$R/theirs" "$R/open"
    test_at_exit "umount '$R/small' '$R/theirs' '$R/open' '$R/tiny'"
    mount -t tmpfs -o size=64m none "$R/small" &&
    mount -t tmpfs -o size=2g none "$R/theirs" &&
    mount -t tmpfs -o size=2g none "$R/open"
    test_expect_success 'a tmpfs without room (64 MiB < 64 MiB + 256 MiB reserve): on disk' '
        DBTOOL_SCRATCH_RAM=$R/small "$DBTOOL" database check >out 2>err &&
        grep -q "throwaway cluster on disk: $P/focus/check-" err && ! ls -A "$R/small" | grep -q .
    '
    test_expect_success 'a base dir owned by someone else is refused: on disk' '
        mkdir "$R/theirs/dbtool-$(id -u)" && chown nobody "$R/theirs/dbtool-$(id -u)" &&
        DBTOOL_SCRATCH_RAM=$R/theirs "$DBTOOL" database check >out 2>err &&
        grep -q "throwaway cluster on disk:" err && ! ls -A "$R/theirs/dbtool-$(id -u)" | grep -q .
    '
    test_expect_success 'a base dir others may write (or a symlink) is refused: on disk' '
        mkdir -m 777 "$R/open/dbtool-$(id -u)" && chmod 777 "$R/open/dbtool-$(id -u)" &&
        DBTOOL_SCRATCH_RAM=$R/open "$DBTOOL" database check >out 2>err &&
        grep -q "throwaway cluster on disk:" err &&
        rmdir "$R/open/dbtool-$(id -u)" && ln -s "$TRASH/scr" "$R/open/dbtool-$(id -u)" &&
        DBTOOL_SCRATCH_RAM=$R/open "$DBTOOL" database check >out 2>err &&
        grep -q "throwaway cluster on disk:" err
    '
    test_expect_success 'the second RAM dir of the list is used when the first has no room' '
        rm "$R/open/dbtool-$(id -u)" &&
        DBTOOL_SCRATCH_RAM=$R/small:$R/open "$DBTOOL" database check >out 2>err &&
        grep -q "throwaway cluster in RAM (tmpfs): $R/open/dbtool-$(id -u)/check-" err && gone "$(announced err)"
    '
    test_expect_success 'a RAM dir that fills up: the check fails cleanly and says how to use disk' '
        mkdir -p "$R/tiny" && mount -t tmpfs -o size=48m none "$R/tiny" &&
        mkdir -p "$TRASH/big" &&
        echo "INSERT INTO item(name) SELECT repeat(md5(g::text), 20) FROM generate_series(1, 60000) g;" >"$TRASH/big/test-data.sql" &&
        { PROFILE_DIR=$TRASH/big DBTOOL_SCRATCH_DIR=$R/tiny "$DBTOOL" database check >out 2>err; test $? = 1; } &&
        grep -q -e "No space left on device" -e "could not extend file" err && grep -q "DBTOOL_SCRATCH_DIR=" err &&
        gone "$(announced err)" && test "$(ls -A "$R/tiny")" = ""
    '
else
    test_skip 'tmpfs edge cases (small, not ours, writable by others, full)' 'needs root to mount a tmpfs'
fi
test_done
