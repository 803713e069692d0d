# bench/lib.sh — timing helpers for the A/B benches: medians of N runs, in one run.
#   t=$(time_ms cmd args...)      one run, milliseconds (fails the bench if cmd fails)
#   median LIST                    median of whitespace-separated numbers
set -u
BENCH_DIR=$(cd "${0%/*}" && pwd)
SRC_DIR=$(cd "$BENCH_DIR/.." && pwd)
DBTOOL=${DBTOOL:-$SRC_DIR/build/dbtool}
RUNS=${RUNS:-7}
PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir)}
export PG_BINDIR

PSQL=$PG_BINDIR/psql

now_ns() { date +%s%N; }
now_us() { echo $(( $(now_ns) / 1000 )); }
# (runs inside $(...): a failure kills the whole bench, not just the subshell)
BENCH_PID=$$
# BENCH_SYNC=1: sync before each timed run (untimed), so a run does not pay for
# the writeback of what the runs before it wrote (ext4 here: a data dir copy
# took 25 ms after a sync and 300-600 ms with 100-400 MB dirty)
BENCH_SYNC=${BENCH_SYNC:-0}
time_ms() {
    [ "$BENCH_SYNC" = 0 ] || sync
    _t0=$(now_ns)
    "$@" >/dev/null 2>&1 || { echo "bench: command failed: $*" >&2; kill -TERM "$BENCH_PID"; exit 1; }
    _t1=$(now_ns)
    echo $(( (_t1 - _t0) / 1000 ))
}
# microseconds -> "12.3"
ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
median() { printf '%s\n' $1 | sort -n | awk '{ a[NR] = $1 } END { print (NR % 2) ? a[(NR + 1) / 2] : int((a[NR / 2] + a[NR / 2 + 1]) / 2) }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", a / b }'; }
# run as the server user when root (PostgreSQL refuses root)
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
row() { printf '%-44s %10s ms   floor %10s ms   ratio %6s\n' "$1" "$(ms "$2")" "$(ms "$3")" "$(ratio "$2" "$3")"; }
# wait until no dbtool background job runs (each holds a lock in the cache's jobs/)
wait_bg() {
    _c=${DBTOOL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbtool}
    for _l in "$_c"/jobs/*.lock; do
        [ -e "$_l" ] && flock -s -w 600 "$_l" true
    done
    return 0
}
# wait until no dbtool background job (a detached copy of a dbtool process,
# e.g. a spare refill after a throwaway cluster went) runs: floors are timed
# on a machine as quiet as dbtool's own runs
wait_all_bg() {
    while pgrep -f "^$DBTOOL " >/dev/null 2>&1; do sleep 0.05; done
}
# bench_cluster TAG: one throwaway cluster for the whole bench (fsync off and no
# preload, the same on both sides: these benches measure the client, not the disk)
# in W=/tmp/dbtool-TAG.XXXXXX; sets BASE (its URL); stopped and removed at exit.
bench_cluster() {
    W=$(mktemp -d "/tmp/dbtool-$1.XXXXXX")
    chmod 755 "$W"
    export PG_WORKING_DIR=$W/wd XDG_CACHE_HOME=${XDG_CACHE_HOME:-/tmp/dbtool-bench-cache} \
           PG_SHARED_PRELOAD_LIBRARIES= PG_FSYNC=0 NO_TTY=1
    trap '"$DBTOOL" postgres-cleanup >/dev/null 2>&1; rm -rf "$W"' EXIT
    eval "$("$DBTOOL" postgres-init --env 2>/dev/null)"
    BASE=$PGURL
}
# the URL of database $1 in the bench cluster; an admin statement on it
url_for() { printf '%s\n' "$BASE" | sed "s|@/[^?]*?|@/$1?|"; }
admin() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$BASE" -c "$1" >/dev/null 2>&1; }
