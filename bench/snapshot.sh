#!/bin/sh
# bench/snapshot.sh — the snapshot cache and the fast first start against their floors,
# medians of $RUNS runs (default 5), all in one run so the ratios compare like with like.
#   project: bench/database.sh's (200 \ir files: a table, a function, 20 rows each;
#            test-data.sql of 10k INSERTs)
#   floors:  init:   initdb -N + pg_ctl -w start + createdb (fsync on, as postgres-init)
#            deploy: initdb -N + pg_ctl -w start + createdb + psql -f bundle files + psql -f
#                    entrypoint + psql -f test-data + pg_ctl stop + rm (fsync=off)
#   rows:    first postgres-init, empty cache, dbtool installed with its template (make install)
#            first postgres-init, empty cache, no installed template (initdb in place, as before)
#            deploy on a snapshot hit (target <= 0.1) / check on a hit (target <= 0.1)
#            deploy / check on a miss vs --no-snapshot (what they did before: target <= 1.05)
#            database clone: one database; 20 at once (--count 20); each as a test runner
#            sees it: from a warm pool (DBTOOL_CLONE_POOL, refilled between calls; 20 for
#            --count 20), and one made on the call (DBTOOL_CLONE_POOL=0)
# Usage: bench/snapshot.sh   (RUNS=N, DBTOOL=path)
# Every timed run starts after a sync (BENCH_SYNC=0 turns that off): the floor's and dbtool's.
BENCH_SYNC=${BENCH_SYNC:-1}
. "${0%/*}/lib.sh"
RUNS=${RUNS:-5}

W=$(mktemp -d /tmp/dbtool-bench.XXXXXX)
chmod 755 "$W"
P=$W/proj
export LOCAL_DIR=$P XDG_CACHE_HOME=$W/cache PG_SHARED_PRELOAD_LIBRARIES=
unset PG_FSYNC PG_WORKING_DIR DB_URL PGURL DBTOOL_SYNC_CACHE
trap '"$DBTOOL" database cleanup >/dev/null 2>&1; for d in "$W"/raw "$W"/raw-i* "$W"/iw*; do PG_WORKING_DIR=$d "$DBTOOL" postgres-cleanup >/dev/null 2>&1; as_pg "$PG_BINDIR/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1; done; rm -rf "$W"' EXIT

# ---- the project (bench/database.sh's) ----
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
# dbtool installed with its template, as `make install` does
make -C "$SRC_DIR" -s install PREFIX="$W/inst" >/dev/null 2>&1 || { echo "bench: make install failed" >&2; exit 1; }
IDB=$W/inst/bin/dbtool
# the installed copy's background jobs (its first init's template build) count too
wait_all_bg() {
    while pgrep -f "^($DBTOOL|$IDB) " >/dev/null 2>&1; do sleep 0.05; done
}

PGU=$(id -un); [ "$(id -u)" != 0 ] || PGU=postgres
raw_init() {
    R=$W/raw-i$1
    mkdir "$R" && chmod 700 "$R" && { [ "$(id -u)" != 0 ] || chown postgres "$R"; } &&
    as_pg "$PG_BINDIR/initdb" -D "$R" -A trust -E UTF8 --no-locale -N >/dev/null &&
    as_pg "$PG_BINDIR/pg_ctl" -D "$R" -w -o "-k $R -c listen_addresses=''" -l "$R/server.log" start >/dev/null &&
    "$PG_BINDIR/createdb" -h "$R" -U "$PGU" testdb &&
    as_pg "$PG_BINDIR/pg_ctl" -D "$R" -m immediate -w stop >/dev/null
}
raw_full() {
    RAW=$W/raw
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
WD=$P/focus/postgresql
bg_idle() { PG_WORKING_DIR=$WD wait_bg; wait_all_bg; }
# a first init: empty cache ($W/empty-N), fresh working dir, then stopped (untimed)
first_inst() { XDG_CACHE_HOME=$W/empty-i$1 PG_WORKING_DIR=$W/iwi$1 "$IDB" postgres-init; }
first_ram() { XDG_CACHE_HOME=$W/empty-r$1 PG_WORKING_DIR=$W/iwr$1 "$DBTOOL" postgres-init; }
stop_first() { PG_WORKING_DIR=$1 "$DBTOOL" postgres-cleanup >/dev/null 2>&1; }
# a miss: an input nobody deployed yet (a comment in test-data.sql)
new_input() { echo "-- run $1 $2" >>"$P/test-data.sql"; }
URLS=$W/urls
clone_one() { "$DBTOOL" database clone >"$URLS"; }
clone_pool() { DBTOOL_CLONE_POOL=20 "$DBTOOL" database clone --count 20 >"$URLS"; }
clone_cold() { DBTOOL_CLONE_POOL=0 "$DBTOOL" database clone >"$URLS"; }
drop_clones() { "$DBTOOL" database clone --all >/dev/null 2>&1; }
# fill the warm pool (size $1) and wait for its refill job (untimed)
warm_pool() { bg_idle; DBTOOL_CLONE_POOL=$1 "$DBTOOL" database clone >/dev/null 2>&1; bg_idle; }

# the first starts, and their floor, before anything is removed: this ext4 (no
# journal) allocates inodes slowly for 1-5 min after a mass removal (its
# recently_deleted scan: ~130 us a file instead of ~18), so a data dir's 1300
# files cost 4x right after another was deleted; a fresh CI machine has none.
# Fresh dirs, nothing removed between runs (postgres-cleanup only stops).
floor_init="" inst="" ram=""
for i in $(seq "$RUNS"); do
    wait_all_bg
    floor_init="$floor_init $(time_ms raw_init "$i")"
    inst="$inst $(time_ms first_inst "$i")"; stop_first "$W/iwi$i"; wait_all_bg
    ram="$ram $(time_ms first_ram "$i")"; stop_first "$W/iwr$i"; wait_all_bg
done

# ab_pair RUN COMMAND NOSNAP MISS: `database COMMAND --no-snapshot` and a miss (a new
# input first) appended to the lists named NOSNAP and MISS, in RUN's order
ab_pair() {
    for _side in $( [ $(($1 % 2)) = 1 ] && echo "nosnap miss" || echo "miss nosnap"); do
        if [ "$_side" = nosnap ]; then
            _t=$(time_ms "$DBTOOL" database "$2" --no-snapshot); eval "$3=\"\$$3 $_t\""
        else
            new_input "$1" "$2"; _t=$(time_ms "$DBTOOL" database "$2"); eval "$4=\"\$$4 $_t\""
        fi
        bg_idle
    done
}

# warm the template cache and the snapshot of the project as it is
"$DBTOOL" database deploy >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
bg_idle
"$DBTOOL" database deploy >/dev/null 2>"$W/err" && grep -q "from snapshot" "$W/err" ||
    { echo "bench: no snapshot hit after a warm-up" >&2; cat "$W/err" >&2; exit 1; }
bg_idle

floor_full="" hit="" chit="" miss="" nosnap="" cmiss="" cnosnap=""
clone1="" pool="" cold=""
for i in $(seq "$RUNS"); do
    wait_all_bg
    floor_full="$floor_full $(time_ms raw_full)"
    bg_idle
    hit="$hit $(time_ms "$DBTOOL" database deploy)"; bg_idle
    chit="$chit $(time_ms "$DBTOOL" database check)"; bg_idle
    drop_clones
    cold="$cold $(time_ms clone_cold)"
    warm_pool 4
    clone1="$clone1 $(time_ms clone_one)"
    warm_pool 20
    pool="$pool $(time_ms clone_pool)"
    drop_clones
    # each pair in both orders (odd runs replay first, even runs miss first): what the
    # run before left behind (a removal, a store job's writes) falls on both sides alike
    ab_pair "$i" deploy nosnap miss
    ab_pair "$i" check cnosnap cmiss
done

# clones once more on a cluster with fsync off (what test clusters run with: PG_FSYNC=0)
PG_FSYNC=0 "$DBTOOL" database deploy >/dev/null 2>&1; bg_idle
c1f="" poolf=""
for i in $(seq "$RUNS"); do
    drop_clones; wait_all_bg
    warm_pool 4
    c1f="$c1f $(time_ms clone_one)"
    warm_pool 20
    poolf="$poolf $(time_ms clone_pool)"
done
drop_clones

echo "PostgreSQL: $("$PG_BINDIR/postgres" --version)   runs: $RUNS (medians)   load: $(cut -d' ' -f1-3 /proc/loadavg)   sync before each run: $BENCH_SYNC"
echo "project: 200 \\ir files (200 tables, 200 functions, 4000 rows), test-data.sql 10k INSERTs"
row "first init, empty cache, installed template" "$(median "$inst")" "$(median "$floor_init")"
row "first init, empty cache, no template (initdb)" "$(median "$ram")" "$(median "$floor_init")"
row "deploy, snapshot hit (target <= 0.1)" "$(median "$hit")" "$(median "$floor_full")"
row "check, snapshot hit (target <= 0.1)" "$(median "$chit")" "$(median "$floor_full")"
row "deploy, miss vs --no-snapshot (<= 1.05)" "$(median "$miss")" "$(median "$nosnap")"
row "check, miss vs --no-snapshot (<= 1.05)" "$(median "$cmiss")" "$(median "$cnosnap")"
printf '%-44s %10s ms   (target <= 25 ms)\n' "clone, one database (warm pool)" "$(ms "$(median "$clone1")")"
printf '%-44s %10s ms   (target <= 500 ms)\n' "clone --count 20 (warm pool of 20)" "$(ms "$(median "$pool")")"
printf '%-44s %10s ms   (target <= 25 ms)\n' "clone, one database, PG_FSYNC=0 cluster" "$(ms "$(median "$c1f")")"
printf '%-44s %10s ms   (target <= 500 ms)\n' "clone --count 20, PG_FSYNC=0 cluster" "$(ms "$(median "$poolf")")"
printf '%-44s %10s ms   (no pool: CREATE DATABASE)\n' "clone, one database, DBTOOL_CLONE_POOL=0" "$(ms "$(median "$cold")")"
