#!/bin/sh
# bench/generate.sh — `migrator generate` and `database drift` on a project
# whose sources are the generated N-table schema (default 200, every object
# class: test/fixtures/schema/gen200.sh) and whose migrations build it all but
# one change (a column, an index, a reference row), medians of $RUNS runs
# (default 7), in one run.
#   generate: both sides in throwaway clusters (RAM scratch: the default),
#     migrations (bundle + migrate up all) and sources (hydrate) built at once,
#     both catalogs read, diffed both ways, reference rows diffed, nothing
#     written (--dry-run). Target <= 1.5 s.
#   drift --against: the live database (the migrated project) against the
#     sources, whose schema is cached by generate (the common case: sources
#     unchanged since the last build). Target <= 100 ms.
#   drift --no-cache: the same with the sources side built again.
#   floors: the catalog read alone (`dbtool schema dump` of the live database);
#     a fresh throwaway cluster (`database check -H -P` of an empty project);
#     running the sources' SQL once with psql into an empty database (what
#     building one side costs at least; generate builds two at once).
# Usage: bench/generate.sh [N]   (RUNS=N, DBTOOL=path)
. "${0%/*}/lib.sh"
N=${1:-200}
bench_cluster generate
P=$W/project
mkdir -p "$P/db/src" "$P/db/migration/00000000000001-base" "$W/empty/db/src"
: >"$W/empty/db/src/entrypoint.sql"
"$SRC_DIR/test/fixtures/schema/gen200.sh" "$N" >"$P/db/src/entrypoint.sql"
# the migrations: the same schema, less one column, one index and one reference row
cat "$P/db/src/entrypoint.sql" |
    awk '/^CREATE INDEX t7_state_idx/ { next } { print }' |
    sed "s/, ('CHF', 'Swiss franc')//" >"$P/db/migration/00000000000001-base/up.sql"
echo "ALTER TABLE app.t3 ADD COLUMN extra text;" >>"$P/db/src/entrypoint.sql"
echo "SELECT 1;" >"$P/db/migration/00000000000001-base/down.sql"
export LOCAL_DIR=$P
admin "CREATE DATABASE live TEMPLATE template0"
LIVE=$(url_for live)
"$DBTOOL" migrator -u "$LIVE" -d "$P/db/migration" migrate up >/dev/null 2>&1 || { echo "bench: migrate failed" >&2; exit 1; }
"$DBTOOL" migrator -d "$P/db/migration" generate --dry-run --allow-hazards=all x >"$W/up.sql" 2>"$W/err" ||
    { cat "$W/err" >&2; exit 1; }
tables=$("$PSQL" -X -At -d "$LIVE" -c "SELECT count(*) FROM pg_class WHERE relkind IN ('r', 'p') AND relnamespace IN ('app'::regnamespace, 'audit'::regnamespace)")
echo "project: $tables tables; the generated migration has $(grep -c ';$' "$W/up.sql") statement lines (medians of $RUNS runs)"
grep -E "^(ALTER TABLE app.t3|CREATE INDEX CONCURRENTLY t7|INSERT INTO)" "$W/up.sql" | sed 's/^/  | /'

gt= dt= nt= ft= ct= st=
i=0
while [ $i -lt "$RUNS" ]; do
    wait_all_bg
    gt="$gt $(time_ms "$DBTOOL" migrator -d "$P/db/migration" generate --dry-run --allow-hazards=all x)"
    t0=$(now_ns)
    "$DBTOOL" database drift --against "$LIVE" >/dev/null 2>&1
    [ $? = 1 ] || { echo "bench: drift did not find the drift" >&2; exit 1; }
    dt="$dt $(( ($(now_ns) - t0) / 1000 ))"
    ft="$ft $(time_ms "$DBTOOL" schema dump "$LIVE")"
    wait_all_bg
    t0=$(now_ns)
    "$DBTOOL" database drift --no-cache --against "$LIVE" >/dev/null 2>&1
    nt="$nt $(( ($(now_ns) - t0) / 1000 ))"
    wait_all_bg
    ct="$ct $(time_ms env LOCAL_DIR="$W/empty" "$DBTOOL" database check -H -P)"
    admin "DROP DATABASE IF EXISTS raw" && admin "CREATE DATABASE raw TEMPLATE template0"
    st="$st $(time_ms "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(url_for raw)" -f "$P/db/src/entrypoint.sql")"
    i=$((i + 1))
done
row "migrator generate ($tables tables)" "$(median "$gt")" "$(median "$ct")"
row "  floor: psql -f of the sources (one side)" "$(median "$st")" "$(median "$st")"
row "database drift --against (sources cached)" "$(median "$dt")" "$(median "$ft")"
row "database drift --against --no-cache" "$(median "$nt")" "$(median "$ct")"
printf '%-44s %10s ms   (target <= 1500 ms; floor: one empty throwaway cluster)\n' "  generate" "$(ms "$(median "$gt")")"
printf '%-44s %10s ms   (target <= 100 ms; floor: the catalog read alone)\n' "  drift --against" "$(ms "$(median "$dt")")"
