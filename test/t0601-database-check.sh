#!/bin/sh
# database check: the whole deploy in a throwaway cluster, always removed
# (success, failure, Ctrl-C), never touching the developer's cluster.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src" "$P/bad/src" "$P/slow/src"
export LOCAL_DIR=$P
# throwaway clusters on disk, where the leftover checks look (t0605: in RAM)
export DBTOOL_SCRATCH_DIR=$P/focus
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"

cat >"$P/db/src/entrypoint.sql" <<'EOF'
CREATE TABLE item (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);
\if :{?USE_MOCK}
SELECT mock_only_function_that_does_not_exist();
\endif
EOF
echo "INSERT INTO item(name) VALUES ('patched');" >"$P/test-data.sql"
printf 'CREATE TABLE ok (x int) INHERITS (hectic.created_at);\nSELECT 1/0;\n' >"$P/bad/src/entrypoint.sql"
i=0; while [ $i -lt 600 ]; do echo "SELECT pg_sleep(0.05);"; i=$((i + 1)); done >"$P/slow/src/entrypoint.sql"

q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$U" -c "$1"; }
# no leftovers: no check dirs, no server whose data dir is a check dir
no_leftovers() {
    ls -d "$P"/focus/check-* 2>/dev/null && { echo "leftover check dir"; return 1; }
    for pid in $(pgrep -x postgres 2>/dev/null); do
        d=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
        case "$d" in "$P"/focus/check-*) echo "leftover server $pid in $d"; return 1;; esac
    done
    return 0
}
dev_intact() {
    test "$(head -n 1 "$P/focus/postgresql/data/postmaster.pid")" = "$DEVPID" &&
    test "$(q "select string_agg(name, ',' order by id) from item")" = "patched,dev-only"
}

test_expect_success 'set up: the developer cluster, deployed, with extra data' '
    "$DBTOOL" database deploy >out 2>err && U=$(tail -n 1 out) &&
    q "insert into item(name) values (\$\$dev-only\$\$)"
'
U=$(tail -n 1 out)
DEVPID=$(head -n 1 "$P/focus/postgresql/data/postmaster.pid")
export U DEVPID

test_expect_success 'check passes on a good project' '
    "$DBTOOL" database check >out 2>err && grep -q "check: passed in" err &&
    grep -q "throwaway cluster on disk: $P/focus/check-" err
'
test_expect_success '...the developer cluster keeps running with its data intact' 'dev_intact'
test_expect_success '...and nothing is left behind' 'no_leftovers'
test_expect_success 'check -P -H (just a cluster) passes' '
    "$DBTOOL" database check -P -H >out 2>err && ! grep -q "hydrate:" err && no_leftovers
'
test_expect_code 1 'check -m hydrates with USE_MOCK=1 (a mock-only failure fails)' '
    "$DBTOOL" database check -m >out 2>err
'
test_expect_success '...removed anyway; dev cluster intact' 'no_leftovers && dev_intact'
test_expect_code 1 'check with a failing hydrate exits 1' '
    DATABASE_SOURCE=$P/bad/src "$DBTOOL" database check >out 2>err
'
test_expect_success '...names the file and line and says FAILED' '
    grep -q "entrypoint.sql:2: ERROR:  division by zero" err && grep -q "check FAILED" err
'
test_expect_success '...the throwaway cluster is removed; dev cluster intact' 'no_leftovers && dev_intact'
test_expect_code 1 'check with a failing patch exits 1' '
    echo "INSERT INTO nosuch VALUES (1);" >"$TRASH/td.sql" && mkdir -p "$TRASH/prof" &&
    cp "$TRASH/td.sql" "$TRASH/prof/test-data.sql" &&
    PROFILE_DIR=$TRASH/prof "$DBTOOL" database check >out 2>err
'
test_expect_success '...removed; dev cluster intact' 'no_leftovers && dev_intact'
test_expect_success 'check interrupted (SIGINT) in the middle of hydrate removes its cluster' '
    DATABASE_SOURCE=$P/slow/src "$DBTOOL" database check >out 2>err &
    pid=$! && wait_line "hydrate: running" err $pid &&
    sleep 0.3 && kill -INT $pid && { wait $pid; rc=$?; } &&
    test "$rc" != 0 && grep -q "interrupted" err && grep -q "check interrupted after" err &&
    ! grep -q "FAILED" err && no_leftovers && dev_intact
'
test_expect_success 'check interrupted (SIGTERM) right after the cluster started removes it too' '
    DATABASE_SOURCE=$P/slow/src "$DBTOOL" database check -P >out 2>err &
    pid=$! && wait_line "cluster ready" err $pid &&
    kill -TERM $pid && { wait $pid; rc=$?; } && test "$rc" != 0 && no_leftovers && dev_intact
'
test_expect_success 'check when the developer cluster is stopped leaves it stopped' '
    "$DBTOOL" postgres-cleanup 2>/dev/null && ! test -e "$P/focus/postgresql/data/postmaster.pid" &&
    "$DBTOOL" database check >out 2>err && ! test -e "$P/focus/postgresql/data/postmaster.pid" &&
    no_leftovers
'
test_expect_success 'check with PG_LOG_PATH keeps its server logs out of it' '
    mkdir -p "$TRASH/pglog" && PG_LOG_PATH=$TRASH/pglog "$DBTOOL" database check >out 2>err &&
    ! test -e "$TRASH/pglog/postgres.log" && test -s "$TRASH/pglog/hydrate.stdout.log" && no_leftovers
'
test_expect_success 'check in a deep LOCAL_DIR (private socket dir) removes the socket dir too' '
    deep=$TRASH/$(printf "a-rather-long-directory-name-%s/" 1 2 3 4 5)proj &&
    mkdir -p "$deep" && cp -R "$P/db" "$P/test-data.sql" "$deep/" &&
    LOCAL_DIR=$deep DBTOOL_SCRATCH_DIR=$deep/focus "$DBTOOL" database check >out 2>err &&
    grep -q "short socket dir" err &&
    sock=$(sed -n "s/.*cluster ready.*host=\([^&]*\)&.*/\1/p" err) && test -n "$sock" &&
    case "$sock" in "$deep"*) exit 1;; esac && ! test -e "$sock" &&
    ! ls -d "$deep"/focus/check-* 2>/dev/null
'
test_done
