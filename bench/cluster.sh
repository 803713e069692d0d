#!/bin/sh
# bench/cluster.sh — postgres-init / postgres-cleanup against their floors, medians
# of $RUNS runs (default 7), all in one run so the ratios compare like with like.
#   fresh init, cold cache   vs  initdb + pg_ctl -w start + createdb
#   fresh init, warm cache   vs  the same floor (target <= 0.25x)
#   reuse of a stopped one   vs  pg_ctl -w start
#   reuse of a running one   vs  psql -c 'select 1' on it (target <= 60 ms absolute)
#   cleanup (stop)           vs  pg_ctl -m fast -w stop (target <= 50 ms absolute)
# Usage: bench/cluster.sh   (RUNS=N to change the count)
. "${0%/*}/lib.sh"

W=$(mktemp -d /tmp/dbtool-bench.XXXXXX)
chmod 755 "$W"
trap 'PG_WORKING_DIR=$W/wd "$DBTOOL" postgres-cleanup >/dev/null 2>&1; as_pg "$PG_BINDIR/pg_ctl" -D "$W/raw" -m immediate stop >/dev/null 2>&1; rm -rf "$W"' EXIT
export XDG_CACHE_HOME=$W/cache PG_WORKING_DIR=$W/wd PG_SHARED_PRELOAD_LIBRARIES=
# same durability settings on both sides: fsync on (the default for real projects)
unset PG_FSYNC

raw_fresh() {
    rm -rf "$W/raw" && mkdir "$W/raw" && chmod 700 "$W/raw" && { [ "$(id -u)" != 0 ] || chown postgres "$W/raw"; } &&
    as_pg "$PG_BINDIR/initdb" -D "$W/raw" -A trust -E UTF8 --no-locale -N >/dev/null &&
    as_pg "$PG_BINDIR/pg_ctl" -D "$W/raw" -w -o "-k $W/raw -c listen_addresses=''" -l "$W/raw/server.log" start >/dev/null &&
    as_pg "$PG_BINDIR/createdb" -h "$W/raw" testdb
}
raw_stop() { as_pg "$PG_BINDIR/pg_ctl" -D "$W/raw" -m fast -w stop; }
raw_start() { as_pg "$PG_BINDIR/pg_ctl" -D "$W/raw" -w -o "-k $W/raw -c listen_addresses=''" -l "$W/raw/server.log" start; }
raw_select() { "$PG_BINDIR/psql" -X -At -h "$W/raw" -U "$PGU" -d testdb -c "select 1"; }
PGU=$(id -un); [ "$(id -u)" != 0 ] || PGU=postgres

floor_fresh="" floor_start="" floor_select="" floor_stop=""
cold="" warm="" reuse_stopped="" reuse_running="" stop=""
for i in $(seq "$RUNS"); do
    floor_fresh="$floor_fresh $(time_ms raw_fresh)"
    floor_select="$floor_select $(time_ms raw_select)"
    floor_stop="$floor_stop $(time_ms raw_stop)"
    floor_start="$floor_start $(time_ms raw_start)"
    raw_stop >/dev/null 2>&1

    # background jobs (template build, spare refill, old data removal) run between
    # commands, as they would between a developer's commands; not timed
    "$DBTOOL" postgres-cleanup >/dev/null 2>&1; rm -rf "$XDG_CACHE_HOME" "$W/wd"
    cold="$cold $(time_ms "$DBTOOL" postgres-init)"; wait_bg
    warm="$warm $(time_ms "$DBTOOL" postgres-init)"; wait_bg
    reuse_running="$reuse_running $(time_ms env PG_REUSE=1 "$DBTOOL" postgres-init)"
    stop="$stop $(time_ms "$DBTOOL" postgres-cleanup)"
    reuse_stopped="$reuse_stopped $(time_ms env PG_REUSE=1 "$DBTOOL" postgres-init)"
    "$DBTOOL" postgres-cleanup >/dev/null 2>&1; wait_bg
done

echo "PostgreSQL: $("$PG_BINDIR/postgres" --version)   runs: $RUNS (medians)"
row "fresh init, cold cache" "$(median "$cold")" "$(median "$floor_fresh")"
row "fresh init, warm cache (target <= 0.25)" "$(median "$warm")" "$(median "$floor_fresh")"
row "reuse of a stopped cluster" "$(median "$reuse_stopped")" "$(median "$floor_start")"
row "reuse of a running cluster (target 60 ms)" "$(median "$reuse_running")" "$(median "$floor_select")"
row "cleanup (target 50 ms)" "$(median "$stop")" "$(median "$floor_stop")"
