#!/bin/sh
# bench/code.sh — schema as code (issue 17): `database apply` and `database
# watch` against their floors, medians of $RUNS runs (default 7, at least 5), in one run.
#   project: a table (one migration) and a code directory of 300 objects in 300
#            files: 20 chains of 10 views, 50 SQL functions, 29 plpgsql
#            functions, and a view `hub` with 20 views over it (hub_dep01..20)
#   unchanged: `database apply` with nothing to do (300 objects, no pending
#            migration); target <= 30 ms. Floor: one psql that connects and runs
#            nothing (`psql -c ''`), the least any client pays.
#   hub:     `database apply` after hub.sql changed (alternating two texts): drop
#            the 20 dependents and hub, create hub and the 20, record them, all
#            in one transaction; target <= 2x the floor. Floor: one `psql -1 -f`
#            of exactly those 42 statements on a twin database.
#   watch:   `database watch` running; from the save of one leaf view file (the
#            time taken just before the write) to the commit (the time on the line
#            watch prints after COMMIT); target <= 150 ms. No floor: the 100 ms
#            debounce is most of it.
# Usage: bench/code.sh   (RUNS=N, DBTOOL=path)
. "${0%/*}/lib.sh"
[ "$RUNS" -ge 5 ] || RUNS=5
bench_cluster code
P=$W/proj
C=$P/db/code
mkdir -p "$C/chains" "$C/functions" "$C/hub" "$P/db/migration/20240101000000-t"
export LOCAL_DIR=$P
WATCH=""
trap '[ -z "$WATCH" ] || kill -INT $WATCH 2>/dev/null; "$DBTOOL" postgres-cleanup >/dev/null 2>&1; rm -rf "$W"' EXIT

cat >"$P/db/migration/20240101000000-t/up.sql" <<'EOF'
CREATE TABLE public.t (id integer PRIMARY KEY, a integer NOT NULL, b text) INHERITS (hectic.created_at);
INSERT INTO public.t (id, a, b) SELECT g, g % 100, 'row ' || g FROM generate_series(1, 1000) g;
EOF
echo "DROP TABLE public.t;" >"$P/db/migration/20240101000000-t/down.sql"
n=0
for c in $(seq 20); do
    prev=public.t
    for k in $(seq 10); do
        v=$(printf 'c%02d_v%02d' "$c" "$k")
        printf 'CREATE VIEW public.%s AS\n    SELECT id, a + %d AS a, b FROM %s WHERE a >= 0;\n' "$v" "$k" "$prev" \
            >"$C/chains/$v.sql"
        prev=public.$v
        n=$((n + 1))
    done
done
for f in $(seq 50); do
    printf 'CREATE FUNCTION public.f%02d(x integer) RETURNS integer LANGUAGE sql IMMUTABLE\n    RETURN x * %d + 1;\n' "$f" "$f" \
        >"$C/functions/f$f.sql"
    n=$((n + 1))
done
for f in $(seq 29); do
    cat >"$C/functions/p$f.sql" <<EOF
CREATE FUNCTION public.p$f(x integer) RETURNS bigint LANGUAGE plpgsql STABLE AS \$\$
DECLARE r bigint;
BEGIN
    SELECT count(*) INTO r FROM public.c01_v10 WHERE a > x + $f;
    RETURN r;
END \$\$;
EOF
    n=$((n + 1))
done
hub_text() { printf 'CREATE VIEW public.hub AS\n    SELECT id, a, b, %s AS variant FROM public.t;\n' "$1"; }
hub_text 1 >"$C/hub/hub.sql"
for d in $(seq 20); do
    v=$(printf 'hub_dep%02d' "$d")
    printf 'CREATE VIEW public.%s AS SELECT id, a * %d AS a, variant FROM public.hub;\n' "$v" "$d" >"$C/hub/$v.sql"
done
n=$((n + 21))
[ "$n" = 300 ] || { echo "bench: $n objects, not 300" >&2; exit 1; }

admin "CREATE DATABASE a" && admin "CREATE DATABASE b" && admin "CREATE DATABASE c" || exit 1
A=$(url_for a) B=$(url_for b) CU=$(url_for c)
for u in "$A" "$CU"; do
    "$DBTOOL" database -u "$u" apply >/dev/null 2>"$W/err" || { cat "$W/err"; exit 1; }
done
# the twin for the floor: the same objects, made by psql
"$DBTOOL" bundle apply -u "$B" >/dev/null 2>&1 &&
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$B" -f "$P/db/migration/20240101000000-t/up.sql" >/dev/null || exit 1
# create everything on b in dbtool's order (its plan on b, still without them, says it)
"$DBTOOL" database -u "$B" plan --format json 2>/dev/null |
    python3 -c 'import json, sys; [print(s["sql"]) for s in json.load(sys.stdin)["steps"] if s["action"] == "create"]' \
    >"$W/all.sql"
"$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$B" -f "$W/all.sql" >/dev/null || exit 1

# the floor's DDL for a hub change: what apply runs
hub_floor_file() { # VARIANT
    {
        for d in $(seq 20 | sort -rn); do printf 'DROP VIEW public.hub_dep%02d;\n' "$d"; done
        echo "DROP VIEW public.hub;"
        hub_text "$1"
        for d in $(seq 20); do cat "$(printf '%s/hub/hub_dep%02d.sql' "$C" "$d")"; done
    } >"$W/hub-$1.sql"
}
hub_floor_file 1
hub_floor_file 2

check_unchanged() {
    "$DBTOOL" database -u "$A" plan >/dev/null 2>&1
    [ $? = 0 ] || { echo "bench: the code directory is not applied" >&2; exit 1; }
}
check_unchanged
unchanged="" ufloor="" hub="" hfloor="" watch=""
variant=1
for i in $(seq "$RUNS"); do
    wait_all_bg
    unchanged="$unchanged $(time_ms "$DBTOOL" database -u "$A" apply)"
    ufloor="$ufloor $(time_ms "$PSQL" -X -q -d "$A" -c '')"
    variant=$((3 - variant))
    hub_text $variant >"$C/hub/hub.sql"
    hub="$hub $(time_ms "$DBTOOL" database -u "$A" apply)"
    hfloor="$hfloor $(time_ms "$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$B" -f "$W/hub-$variant.sql")"
    check_unchanged
done

# watch: start it on c, then save a leaf view RUNS times
"$DBTOOL" database -u "$CU" watch >"$W/watch.out" 2>"$W/watch.err" &
WATCH=$!
while ! grep -q "watching" "$W/watch.err" 2>/dev/null; do sleep 0.05; done
sleep 0.5
leaf=$C/chains/c20_v10.sql
for i in $(seq "$RUNS"); do
    before=$(grep -c "re-created view public.c20_v10" "$W/watch.out")
    t0=$(date +%H:%M:%S.%N)
    printf 'CREATE VIEW public.c20_v10 AS\n    SELECT id, a + %d AS a, b FROM public.c20_v09 WHERE a >= 0;\n' "$((100 + i))" >"$leaf"
    k=0
    while [ "$(grep -c "re-created view public.c20_v10" "$W/watch.out")" -le "$before" ]; do
        k=$((k + 1)); [ $k -lt 600 ] || { echo "bench: watch did not apply" >&2; cat "$W/watch.err" >&2; exit 1; }
        sleep 0.01
    done
    t1=$(grep "re-created view public.c20_v10" "$W/watch.out" | tail -n 1 | cut -d' ' -f1)
    watch="$watch $(awk -v a="$t0" -v b="$t1" 'function us(t, p) { split(t, p, ":"); return ((p[1] * 60 + p[2]) * 60 + p[3]) * 1000000 } BEGIN { printf "%d", us(b) - us(a) }')"
    sleep 0.3
done
kill -INT $WATCH && wait $WATCH
WATCH=""

echo "PostgreSQL: $("$PG_BINDIR/postgres" --version)   runs: $RUNS (medians)"
echo "code directory: 300 objects in 300 files (200 views in 20 chains, 79 functions, hub + 20 views over it)"
row "apply, unchanged (target <= 30 ms)" "$(median "$unchanged")" "$(median "$ufloor")"
row "apply, hub changed, 20 dependents (target <= 2x)" "$(median "$hub")" "$(median "$hfloor")"
printf '%-44s %10s ms   (runs: %s us)\n' "watch, save to commit, one view (<= 150 ms)" "$(ms "$(median "$watch")")" "$watch"
