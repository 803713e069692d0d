#!/bin/sh
# bench/diff.sh — `database diff` against its floors, medians of $RUNS runs
# (default 3), in one run.
#   data part: an immutable table big(id int PK, name text, val int, note text) of
#     N = 10k, 100k, 1M rows; the live database has 1% of the rows changed.
#     dbtool: `database diff --against LIVE` (side 2 hydrated from sources with
#     the same N rows); the time of the data part is its own debug timing
#     ("data compared in"), peak RSS of the whole process tree (GNU time %M).
#     floor: psql COPY (SELECT * FROM big ORDER BY id) TO STDOUT of two
#     databases with the same contents into files + diff -u of the files.
#   whole diff of a small backup (200 rows, one migration): `database diff` vs
#     the shell floor: tar -xzf base+wal, pg_ctl -w start, psql -f the migration;
#     initdb -N + pg_ctl -w start + createdb + psql -f bundle + entrypoint; two
#     pg_dump --schema-only; diff -u; two pg_ctl stop -m fast + rm -rf.
#     dbtool's throwaway clusters go to RAM when /dev/shm has room (lib/scratch):
#     also timed on disk (DBTOOL_SCRATCH_DIR=$LOCAL_DIR/focus), and the floor
#     also with its two data dirs on /dev/shm.
# Usage: bench/diff.sh [N...]   (RUNS=N, DBTOOL=path)
. "${0%/*}/lib.sh"
RUNS=${RUNS:-3}
SIZES=${*:-10000 100000 1000000}

W=$(mktemp -d /tmp/dbtool-bench.XXXXXX)
chmod 755 "$W"
P=$W/proj
export LOCAL_DIR=$P XDG_CACHE_HOME=$W/cache PG_SHARED_PRELOAD_LIBRARIES= PG_DATABASE=appdb
unset PG_FSYNC PG_WORKING_DIR DB_URL PGURL HECTIC_LOG
trap '"$DBTOOL" database cleanup >/dev/null 2>&1; for d in "$W"/fl1 "$W"/fl2 "${SHM:-/nonexistent}"/fl1 "${SHM:-/nonexistent}"/fl2; do as_pg "$PG_BINDIR/pg_ctl" -D "$d" -m immediate stop >/dev/null 2>&1; done; rm -rf "$W" ${SHM:+"$SHM"}' EXIT
PSQL="$PG_BINDIR/psql"
mkdir -p "$P/db/src" "$P/db/migration" "$W/bundle"
: >"$P/test-data.sql"
"$DBTOOL" bundle write "$W/bundle" >/dev/null 2>&1

sources() { # N
    cat >"$P/db/src/entrypoint.sql" <<EOF
CREATE TABLE big (id int PRIMARY KEY, name text NOT NULL, val int, note text)
    INHERITS (hectic.created_at, hectic.immutable);
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO big (id, name, val, note)
    SELECT g, 'name ' || g, g * 7, CASE WHEN g % 3 = 0 THEN NULL ELSE 'note' || E'\t' || g END
    FROM generate_series(1, $1) g;
COMMIT;
EOF
}

echo "data part: immutable table, 1% of the rows changed (medians of $RUNS runs)"
for n in $SIZES; do
    sources "$n"
    "$DBTOOL" database deploy >"$W/out" 2>"$W/err" || { cat "$W/err"; exit 1; }
    LIVE=$(tail -n 1 "$W/out")
    COPY2=$(printf '%s' "$LIVE" | sed 's|@/appdb?|@/copy?|')
    "$PSQL" -X -q -d "$LIVE" -c "CREATE DATABASE copy TEMPLATE appdb" 2>/dev/null ||
        "$PSQL" -X -q -d "$(printf '%s' "$LIVE" | sed 's|@/appdb?|@/postgres?|')" -c "CREATE DATABASE copy TEMPLATE appdb"
    "$PSQL" -X -q -d "$LIVE" -c "BEGIN; SET LOCAL hectic.migration_mode = 'on'; UPDATE big SET val = val + 1 WHERE id % 100 = 0; COMMIT;" -c "VACUUM ANALYZE big"
    "$PSQL" -X -q -d "$COPY2" -c "VACUUM ANALYZE big"
    dt= ft= rss=
    i=0
    while [ $i -lt "$RUNS" ]; do
        HECTIC_LOG='info;diff=debug' /usr/bin/time -f '%M' -o "$W/rss" "$DBTOOL" database diff --against "$LIVE" >"$W/dout" 2>"$W/derr"
        [ $? = 1 ] || { echo "bench: diff did not find the drift" >&2; cat "$W/derr" >&2; exit 1; }
        t=$(sed -n 's/.*data compared in \([0-9.]*\) \(m\{0,1\}s\).*/\1 \2/p' "$W/derr" | awk '{ print ($2 == "ms") ? $1 * 1000 : $1 * 1000000 }')
        dt="$dt $t"
        rss="$rss $(tail -n 1 "$W/rss")"
        t0=$(now_ns)
        "$PSQL" -X -q -d "$LIVE" -c "COPY (SELECT id, name, val, note FROM big ORDER BY id) TO STDOUT" >"$W/a.copy"
        "$PSQL" -X -q -d "$COPY2" -c "COPY (SELECT id, name, val, note FROM big ORDER BY id) TO STDOUT" >"$W/b.copy"
        diff -u "$W/a.copy" "$W/b.copy" >"$W/floor.diff"
        t1=$(now_ns)
        ft="$ft $(( (t1 - t0) / 1000 ))"
        i=$((i + 1))
    done
    changed=$(grep -c '^+[0-9]' "$W/dout")
    row "data part, $n rows ($changed changed)" "$(median "$dt")" "$(median "$ft")"
    printf '%-44s %10s kB (target < 65536 kB)\n' "  peak RSS of database diff" "$(median "$rss")"
    "$DBTOOL" database cleanup >/dev/null 2>&1
done

# ---- whole diff of a small backup ----
sources 200
"$DBTOOL" database deploy >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
"$DBTOOL" database backup >/dev/null 2>&1
"$DBTOOL" database cleanup >/dev/null 2>&1
mkdir -p "$P/db/migration/20240101000000-one"
echo "ALTER TABLE big ADD COLUMN extra int; BEGIN; SET LOCAL hectic.migration_mode = 'on'; UPDATE big SET val = 0 WHERE id = 7; COMMIT;" >"$P/db/migration/20240101000000-one/up.sql"
echo "SELECT 1;" >"$P/db/migration/20240101000000-one/down.sql"
B=$P/focus/postgresql-backup
floor_whole() { # [DIR]: where the data dirs go, default $W
    F=${1:-$W}
    rm -rf "$F/fl1" "$F/fl2" "$W/s1" "$W/s2"
    mkdir -p "$F/fl1/pg_wal" "$W/s1" "$W/s2"
    tar -xzf "$B/base.tar.gz" -C "$F/fl1" && tar -xzf "$B/pg_wal.tar.gz" -C "$F/fl1/pg_wal"
    chmod 700 "$F/fl1"
    [ "$(id -u)" = 0 ] && chown -R postgres "$F/fl1" "$W/s1" "$W/s2"
    as_pg "$PG_BINDIR/pg_ctl" -D "$F/fl1" -w -s -l "$W/s1/log" -o "-k $W/s1 -c listen_addresses= -c fsync=off -c shared_preload_libraries= -c logging_collector=off" start
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$W/s1" -U postgres -d appdb -f "$P/db/migration/20240101000000-one/up.sql"
    as_pg "$PG_BINDIR/initdb" -A trust -N -E UTF8 --no-locale -U postgres -D "$F/fl2" >/dev/null
    as_pg "$PG_BINDIR/pg_ctl" -D "$F/fl2" -w -s -l "$W/s2/log" -o "-k $W/s2 -c listen_addresses= -c fsync=off" start
    "$PG_BINDIR/createdb" -h "$W/s2" -U postgres appdb
    for f in "$W"/bundle/0*.sql "$P/db/src/entrypoint.sql"; do
        "$PSQL" -X -q -v ON_ERROR_STOP=1 -h "$W/s2" -U postgres -d appdb -f "$f" >/dev/null
    done
    "$PG_BINDIR/pg_dump" --schema-only --no-owner --no-privileges -h "$W/s1" -U postgres appdb >"$W/d1"
    "$PG_BINDIR/pg_dump" --schema-only --no-owner --no-privileges -h "$W/s2" -U postgres appdb >"$W/d2"
    diff -u "$W/d1" "$W/d2" >/dev/null
    as_pg "$PG_BINDIR/pg_ctl" -D "$F/fl1" -m fast -s stop
    as_pg "$PG_BINDIR/pg_ctl" -D "$F/fl2" -m fast -s stop
    rm -rf "$F/fl1" "$F/fl2"
}
SHM=""
if [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
    SHM=$(mktemp -d /dev/shm/dbtool-bench.XXXXXX) && chmod 755 "$SHM"
fi
floor_whole_ram() { floor_whole "$SHM"; }
whole_diff() { "$DBTOOL" database diff; [ $? = 1 ]; }
whole_diff_disk() { DBTOOL_SCRATCH_DIR=$P/focus "$DBTOOL" database diff; [ $? = 1 ]; }
dt= ft= dd= fr= i=0
while [ $i -lt "$RUNS" ]; do
    dt="$dt $(time_ms whole_diff)"
    wait_all_bg
    ft="$ft $(time_ms floor_whole)"
    dd="$dd $(time_ms whole_diff_disk)"
    wait_all_bg
    [ -z "$SHM" ] || fr="$fr $(time_ms floor_whole_ram)"
    i=$((i + 1))
done
row "whole diff, small backup + 1 migration" "$(median "$dt")" "$(median "$ft")"
row "  whole diff on disk (DBTOOL_SCRATCH_DIR)" "$(median "$dd")" "$(median "$ft")"
[ -z "$SHM" ] || row "  whole diff vs the floor in RAM too" "$(median "$dt")" "$(median "$fr")"
