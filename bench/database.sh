#!/bin/sh
# bench/database.sh — `database deploy`, `database check` and `database backup`
# against their floors, medians of $RUNS runs (default 7, at least 5), in one run.
#   project: a 200-file \ir source tree (a table, a function and rows per file) and a
#   test-data.sql of 10k single-row INSERTs; the hectic bundle applied on both sides.
#   floor (check/deploy): initdb -N + pg_ctl -w start + createdb + psql -f bundle files
#                         + psql -f entrypoint + psql -f test-data + pg_ctl stop + rm -rf
#                         (fsync=off like check's throwaway cluster)
#   deploy: `database deploy` after `database cleanup` (untimed), warm template cache,
#           fsync on (a developer's cluster)
#   check:  `database check` (throwaway cluster, fsync off, removed), warm template cache;
#           in RAM when /dev/shm has room (lib/scratch), and once more on disk
#           (DBTOOL_SCRATCH_DIR=$LOCAL_DIR/focus) next to the floor run in RAM too
#           (its data dir on /dev/shm), so the gain of the RAM filesystem and
#           the tool's own are both visible
#   backup: `database backup` vs pg_basebackup -Ft -z -X stream --checkpoint=fast of the
#           same freshly deployed cluster
# Usage: bench/database.sh   (RUNS=N, DBTOOL=path)
. "${0%/*}/lib.sh"
[ "$RUNS" -ge 5 ] || RUNS=5

W=$(mktemp -d /tmp/dbtool-bench.XXXXXX)
chmod 755 "$W"
P=$W/proj
export LOCAL_DIR=$P XDG_CACHE_HOME=$W/cache PG_SHARED_PRELOAD_LIBRARIES=
unset PG_FSYNC PG_WORKING_DIR DB_URL PGURL
trap '"$DBTOOL" database cleanup >/dev/null 2>&1; for d in "$W/raw" "${SHM:-/nonexistent}/raw"; do as_pg "$PG_BINDIR/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1; done; rm -rf "$W" ${SHM:+"$SHM"}' EXIT

# ---- the project ----
mkdir -p "$P/db/src/parts" "$W/bundle"
: >"$P/db/src/entrypoint.sql"
i=1
while [ $i -le 200 ]; do
    f=$(printf 'f%03d.sql' $i)
    echo "\\ir parts/$f" >>"$P/db/src/entrypoint.sql"
    cat >"$P/db/src/parts/$f" <<EOF
CREATE TABLE t$i (id serial PRIMARY KEY, name text NOT NULL, n int) INHERITS (hectic.created_at);
CREATE FUNCTION f$i(x int) RETURNS int LANGUAGE sql IMMUTABLE AS \$\$ SELECT x + $i \$\$;
INSERT INTO t$i(name, n) SELECT 'row ' || g, f$i(g) FROM generate_series(1, 20) g;
COMMENT ON TABLE t$i IS 'bench table $i';
EOF
    i=$((i + 1))
done
awk 'BEGIN { for (i = 1; i <= 10000; i++) printf "INSERT INTO t1(name, n) VALUES (%c%s %d%c, %d);\n", 39, "patched", i, 39, i }' \
    >"$P/test-data.sql"
"$DBTOOL" bundle write "$W/bundle" >/dev/null 2>&1 || { echo "bench: bundle write failed" >&2; exit 1; }
BUNDLE_FILES=$(ls "$W/bundle"/[0-9]*.sql)

PGU=$(id -un); [ "$(id -u)" != 0 ] || PGU=postgres
PSQL="$PG_BINDIR/psql"
raw_full() { # [DIR]: the data dir, default $W/raw
    RAW=${1:-$W/raw}
    rm -rf "$RAW" && mkdir "$RAW" && chmod 700 "$RAW" && { [ "$(id -u)" != 0 ] || chown postgres "$RAW"; } &&
    as_pg "$PG_BINDIR/initdb" -D "$RAW" -A trust -E UTF8 --no-locale -N >/dev/null &&
    as_pg "$PG_BINDIR/pg_ctl" -D "$RAW" -w -o "-k $RAW -c listen_addresses='' -c fsync=off" \
        -l "$RAW/server.log" start >/dev/null &&
    "$PG_BINDIR/createdb" -h "$RAW" -U "$PGU" testdb &&
    for b in $BUNDLE_FILES; do "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$RAW" -U "$PGU" -d testdb -f "$b" || return 1; done &&
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$RAW" -U "$PGU" -d testdb -f "$P/db/src/entrypoint.sql" &&
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$RAW" -U "$PGU" -d testdb -f "$P/test-data.sql" &&
    as_pg "$PG_BINDIR/pg_ctl" -D "$RAW" -m fast -w stop >/dev/null &&
    rm -rf "$RAW"
}
# the same floor with its data dir in RAM (when /dev/shm is a tmpfs)
SHM=""
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
    SHM=$(mktemp -d /dev/shm/dbtool-bench.XXXXXX) && chmod 755 "$SHM"
fi
raw_full_ram() { raw_full "$SHM/raw"; }
check_disk() { DBTOOL_SCRATCH_DIR=$P/focus "$DBTOOL" database check; }
WD=$P/focus/postgresql
bg_idle() { PG_WORKING_DIR=$WD wait_bg; }
raw_basebackup() {
    rm -rf "$W/bb" && "$PG_BINDIR/pg_basebackup" -d "$URL" -D "$W/bb" -Ft -z -X stream --checkpoint=fast
}

# warm the template cache (and check the project deploys at all)
"$DBTOOL" database deploy >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
bg_idle
"$DBTOOL" database check >/dev/null 2>&1 || { echo "bench: check failed" >&2; exit 1; }

floor="" deploy="" check="" backup="" bbfloor="" cdisk="" framfloor=""
for i in $(seq "$RUNS"); do
    wait_all_bg
    floor="$floor $(time_ms raw_full)"
    [ -z "$SHM" ] || framfloor="$framfloor $(time_ms raw_full_ram)"
    "$DBTOOL" database cleanup >/dev/null 2>&1; bg_idle
    deploy="$deploy $(time_ms "$DBTOOL" database deploy)"
    bg_idle
    URL=$("$DBTOOL" database deploy --reuse 2>/dev/null | tail -n 1)
    bbfloor="$bbfloor $(time_ms raw_basebackup)"
    backup="$backup $(time_ms "$DBTOOL" database backup)"
    check="$check $(time_ms "$DBTOOL" database check)"
    cdisk="$cdisk $(time_ms check_disk)"
done

echo "PostgreSQL: $("$PG_BINDIR/postgres" --version)   runs: $RUNS (medians)"
echo "project: 200 \\ir files (200 tables, 200 functions, 4000 rows), test-data.sql 10k INSERTs"
row "deploy (fsync on, warm cache)" "$(median "$deploy")" "$(median "$floor")"
row "check (target <= 0.6)" "$(median "$check")" "$(median "$floor")"
row "  check on disk (DBTOOL_SCRATCH_DIR)" "$(median "$cdisk")" "$(median "$floor")"
[ -z "$SHM" ] || row "  check vs the floor in RAM too" "$(median "$check")" "$(median "$framfloor")"
row "backup (target <= 1.5)" "$(median "$backup")" "$(median "$bbfloor")"
