#!/bin/sh
# SIGKILL of `database check` at random points (cluster start, hydrate, patch,
# removal), TRIALS times (default 12), in a scratch dir of its own: the killed
# run leaves its cluster (nothing can run after SIGKILL), and the next check
# stops that server and removes the dir, so no server keeps running and no
# RAM filesystem fills up with dead checks. The developer's cluster is never
# touched, and each sweeping check itself passes.
TEST_LIB=$(cd "${0%/*}/.." && pwd); . "$TEST_LIB/lib-pg.sh"
# a failing trial, said on stdout and kept for the failing test's report
trial_log() { echo "$*"; echo "$*" >>"$TRASH/trials.log"; }

TRIALS=${TRIALS:-12}
P=$TRASH/proj
S=$TRASH/scr
mkdir -p "$P/db/src"
export LOCAL_DIR=$P DBTOOL_SCRATCH_DIR=$S
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
i=0
while [ $i -lt 40 ]; do
    echo "CREATE TABLE t$i (id serial PRIMARY KEY, v text) INHERITS (hectic.created_at);"
    echo "INSERT INTO t$i (v) SELECT md5(g::text) FROM generate_series(1, 500) g;"
    echo "SELECT pg_sleep(0.005);"
    i=$((i + 1))
done >"$P/db/src/entrypoint.sql"
awk 'BEGIN { for (i = 1; i <= 2000; i++) printf "INSERT INTO t0 (v) VALUES (%c%d%c);\n", 39, i, 39 }' >"$P/test-data.sql"

# servers whose cwd is under the scratch dir (pids), and what is in it
servers_in_scratch() {
    for pid in $(pgrep -x postgres 2>/dev/null); do
        d=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
        case "$d" in "$S"/*) echo "$pid";; esac
    done
}
entries() { ls -A "$S" 2>/dev/null; }

"$DBTOOL" database deploy >out 2>err || { cat err; exit 1; }
U=$(tail -n 1 out)
DEVPID=$(head -n 1 "$P/focus/postgresql/data/postmaster.pid")
"$PSQL" -X -q -d "$U" -c "CREATE TABLE marker (x int) INHERITS (hectic.created_at); INSERT INTO marker (x) VALUES (42)"
# one undisturbed run: how long a check takes here, so the kills spread over all of it
t0=$(date +%s%N)
"$DBTOOL" database check >/dev/null 2>err || { cat err; exit 1; }
full_ms=$(( ($(date +%s%N) - t0) / 1000000 ))

bad=0 left=0 t=1
while [ $t -le $TRIALS ]; do
    delay=$(awk -v s="$t" -v f="$full_ms" 'BEGIN { srand(s * 104729); printf "%.3f", rand() * f / 1000 }')
    "$DBTOOL" database check >/dev/null 2>"kill$t.err" &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    # (a kill after the run ended leaves nothing; one during it leaves its dir)
    [ -z "$(entries)" ] || left=$((left + 1))
    if ! "$DBTOOL" database check -P -H >/dev/null 2>"sweep$t.err"; then
        bad=$((bad + 1)); trial_log "# trial $t: the next check failed"; sed 's/^/#   /' "sweep$t.err" | tee -a "$TRASH/trials.log"
    fi
    # nothing of any earlier run is left: no dir, no lock file, no server
    i=0
    while [ -n "$(servers_in_scratch)" ] && [ $i -lt 100 ]; do sleep 0.05; i=$((i + 1)); done
    if [ -n "$(entries)" ] || [ -n "$(servers_in_scratch)" ]; then
        bad=$((bad + 1)); trial_log "# trial $t (kill at ${delay}s): left: $(entries | tr '\n' ' ') servers: $(servers_in_scratch | tr '\n' ' ')"
    fi
    t=$((t + 1))
done
lost=0
[ "$(head -n 1 "$P/focus/postgresql/data/postmaster.pid")" = "$DEVPID" ] &&
    [ "$("$PSQL" -X -At -d "$U" -c "SELECT x FROM marker")" = 42 ] || lost=1
echo "# r0700 kill-check: trials=$TRIALS killed-mid-run=$left failures=$bad data-lost=$lost (check takes ${full_ms} ms here)"
test_expect_success "$TRIALS SIGKILLed checks: the next check swept each one (no dir, lock or server left)" \
    "test $bad = 0 || { cat \"$TRASH/trials.log\"; false; }"
test_expect_success 'most kills landed while the check ran (they left something to sweep)' "test $left -ge $((TRIALS / 2))"
test_expect_success "the developer's cluster kept running with its data" "test $lost = 0"
test_done
