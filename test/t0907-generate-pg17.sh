#!/bin/sh
# t0907-generate-pg17 — the generate round trips of t0904-t0906 on
# PostgreSQL 17: the whole edit corpus and the rental, OpenStreetMap-like and
# 200-table schemas, their sides on this script's 17 cluster (--server), and
# the demo with throwaway clusters of 17. The server comes from PG17_BINDIR,
# else the first */bin/postgres under ~/.cache/dbtool-pg/17 or
# /var/cache/dbtool-pg/17 (where the majors fetched from the npm registry
# live); without one the script skips.
# (Any script of the suite runs on another server with PG_BINDIR=DIR.)
d=${PG17_BINDIR:-}
for c in "${HOME:-/nonexistent}/.cache/dbtool-pg/17" /var/cache/dbtool-pg/17; do
    [ -z "$d" ] && [ -d "$c" ] || continue
    d=$(find "$c" -maxdepth 7 -type f -name postgres -path '*/bin/postgres' 2>/dev/null | head -n 1)
    d=${d%/postgres}
done
if [ -z "$d" ] || [ ! -x "$d/postgres" ] || [ ! -x "$d/initdb" ]; then
    echo "1..0 # SKIP no PostgreSQL 17 (postgres, initdb) under ~/.cache/dbtool-pg/17 or /var/cache/dbtool-pg/17; set PG17_BINDIR"
    exit 0
fi
PG_BINDIR=$d
export PG_BINDIR
. "${0%/*}/lib-pg.sh"
# the npm packages ship the server only: psql of the system's newest client then
if [ ! -x "$PSQL" ]; then
    for c in /usr/lib/postgresql/*/bin/psql; do [ -x "$c" ] && PSQL=$c; done
fi
[ -x "$PSQL" ] || skip_all "no psql for the tests' own queries"
pg_cluster main || skip_all "could not start a PostgreSQL 17 cluster from $PG_BINDIR"
. "$TEST_DIR/fixtures/schema/lib.sh"

test_expect_success "setup: PostgreSQL 17 ($PG_BINDIR), roles" '
    "$PSQL" -X -At -d "$PGURL" -c "SHOW server_version_num" >v && test "$(cut -c1-2 v)" = 17 &&
    admin "CREATE ROLE reader" && admin "CREATE ROLE writer"
'
for e in "$FIX"/edits/*.sql; do
    n=${e##*/}
    test_expect_success "17: generate round trip: ${n%.sql}" "gen_roundtrip '$e'"
done
test_expect_success '17: rental' 'gen_whole rental "$FIX/rental.sql" "$PGURL"'
test_expect_success '17: OpenStreetMap-like' 'gen_whole osm "$FIX/osm.sql" "$PGURL"'
test_expect_success '17: 200 tables' '"$FIX/gen200.sh" 200 >gen200.sql && gen_whole g200 gen200.sql "$PGURL"'
test_expect_success '17: the demo in throwaway clusters' '
    export DBTOOL_SCRATCH_DIR="$TRASH/scratch" && mkdir -p "$DBTOOL_SCRATCH_DIR" &&
    cp -R "$TEST_DIR/../examples/demo" demo && rm -rf demo/db/migration/* &&
    fresh w && LOCAL_DIR=$PWD/demo "$DBTOOL" database migrator generate init >path 2>err &&
    gmig "$PWD/demo" w migrate up >out 2>err &&
    LOCAL_DIR=$PWD/demo "$DBTOOL" database drift --against "$(url_of w)" >out 2>err &&
    test_grep " server=17$" "$(cat path)/up.sql"
'
test_done
