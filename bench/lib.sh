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

now_ns() { date +%s%N; }
# (runs inside $(...): a failure kills the whole bench, not just the subshell)
BENCH_PID=$$
time_ms() {
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
# wait until no dbtool background job runs in $PG_WORKING_DIR
wait_bg() {
    while [ -e "$PG_WORKING_DIR/.dbtool-bg.pid" ] && kill -0 "$(cat "$PG_WORKING_DIR/.dbtool-bg.pid" 2>/dev/null)" 2>/dev/null; do
        sleep 0.05
    done
}
