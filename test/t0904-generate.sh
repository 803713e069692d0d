#!/bin/sh
# t0904-generate — `migrator generate`, `database drift` and the baseline
# check with their sides in throwaway clusters, as a user runs them: the demo
# project generated from nothing and edited (schema and reference data), the
# hazards refused and allowed, a migration that runs outside a transaction,
# the baseline refusing a database changed by hand, usage errors; then the
# rental, OpenStreetMap-like and generated 200-table schemas from nothing to
# everything and back.
. "${0%/*}/lib-pg.sh"
pg_cluster main || skip_all "could not start a cluster"
. "$TEST_DIR/fixtures/schema/lib.sh"

P="$TRASH/demo"
M="$P/db/migration"
export DBTOOL_SCRATCH_DIR="$TRASH/scratch"
mkdir -p "$DBTOOL_SCRATCH_DIR"
gen() { LOCAL_DIR=$P "$DBTOOL" database migrator generate "$@"; }
drift() { LOCAL_DIR=$P "$DBTOOL" database drift "$@"; }
mig() { gmig "$P" "$@"; }
# no throwaway cluster left behind
no_leftovers() {
    ls "$DBTOOL_SCRATCH_DIR" | grep -v "^\." >left
    test_must_be_empty left
}
expect_rc() {
    _w=$1; shift
    "$@"; _r=$?
    [ "$_r" = "$_w" ] || { echo "expected exit $_w, got $_r: $*"; return 1; }
}

# has_lines FILE WANT: every line of WANT is a line of FILE
has_lines() {
    while IFS= read -r _l; do
        grep -qxF -- "$_l" "$1" || { echo "no line '$_l' in $1:"; cat "$1"; return 1; }
    done <"$2"
}
# an edit of the demo's reference rows, and what generate must make of it
cat >"$TRASH/rows-edit.sql" <<'EOF'
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
UPDATE public.task_status SET label = 'Blocked, it''s stuck' WHERE code = 'blocked';
INSERT INTO public.task_status (code, label) VALUES ('wip', 'in\progress');
COMMIT;
EOF
cat >"$TRASH/rows-up.want" <<'EOF'
SET LOCAL hectic.migration_mode = 'on';
UPDATE ONLY "public"."task_status" SET "label" = 'Blocked, it''s stuck' WHERE "code" = 'blocked';
INSERT INTO "public"."task_status" ("code", "label") OVERRIDING SYSTEM VALUE VALUES ('wip', E'in\\progress');
EOF
printf '%s\n' "Blocked, it's stuck" 'in\progress' >"$TRASH/rows.want"

test_expect_success 'setup: the demo project without migrations, an empty database' '
    cp -R "$TEST_DIR/../examples/demo" "$P" && rm -rf "$M"/* && fresh d
'

test_expect_success 'usage: no label 3, a bad label 9, an unknown hazard 9, no LOCAL_DIR 3' '
    expect_rc 3 gen 2>err && test_grep "needs a LABEL" err &&
    expect_rc 9 gen a/b 2>err && test_grep "invalid migration label" err &&
    expect_rc 9 gen --allow-hazards=nope x 2>err && test_grep "unknown hazard .nope." err &&
    expect_rc 3 env -u LOCAL_DIR "$DBTOOL" migrator -d "$M" generate x 2>err &&
    test_grep "LOCAL_DIR is not set" err &&
    "$DBTOOL" migrator generate --help >out && test_grep "allow-hazards" out &&
    "$DBTOOL" database drift --help >out && test_grep "Exit status" out &&
    ls "$M" >list && test_must_be_empty list
'

test_expect_success 'the demo from nothing: one migration, reference rows in migration mode' '
    gen init >path 2>err && dir=$(cat path) && test -d "$dir" &&
    test "$(ls "$M")" = "$(basename "$dir")" &&
    test_grep "^-- dbtool-baseline: sha256=[0-9a-f]\{64\} server=[0-9]*$" "$dir/up.sql" &&
    test_grep "^-- Hazards: none.$" "$dir/up.sql" &&
    test_grep "^CREATE TABLE public.task_status" "$dir/up.sql" &&
    test_grep "^SET LOCAL hectic.migration_mode = .on.;$" "$dir/up.sql" &&
    test_grep "^INSERT INTO \"public\".\"task_status\" (\"code\", \"label\") OVERRIDING SYSTEM VALUE VALUES (.blocked., .Blocked.);$" "$dir/up.sql" &&
    test_grep "^DROP TABLE public.task_status" "$dir/down.sql" &&
    test_grep "^DROP TABLE public.task_status;$" "$dir/down.sql" &&
    test_grep "hazard data-loss, mass-drop (drop-table): drops table public.task_status; [0-9]* of [0-9]* objects dropped" "$dir/down.sql" &&
    test ! -e "$dir/migration.yaml" &&
    no_leftovers
'

test_expect_success 'database drift: drift on the empty database, json, exit 1; the cache from generate' '
    expect_rc 1 drift --against "$(url_of d)" >out 2>err &&
    test_grep "^+ table public.task$" out && test_grep "^drift: [0-9]* objects differ" out &&
    expect_rc 1 drift --against "$(url_of d)" --format json >out.json 2>err &&
    test_grep "\"drift\":true" out.json && test_grep "\"cached\":true" out.json &&
    test_grep "{\"kind\":\"table\",\"name\":\"public.task_status\",\"change\":\"added\"}" out.json &&
    if command -v jq >/dev/null; then jq -e ".objects | length > 5" out.json >/dev/null; fi
'

test_expect_success 'migrate up: the database has the sources'"'"' schema and rows; no drift' '
    mig d migrate up >out 2>err && dump d >d.dump && cached_sources "$P" >src.dump &&
    test_cmp src.dump d.dump &&
    "$PSQL" -X -At -d "$(url_of d)" -c "SELECT string_agg(code, \$\$,\$\$ ORDER BY code) FROM public.task_status" >rows &&
    echo "blocked,done,open" >want && test_cmp want rows &&
    drift --against "$(url_of d)" >out 2>err && test "$(cat out)" = "no drift" &&
    drift --against "$(url_of d)" --format json >out.json && test_grep "\"drift\":false,\"live\":" out.json
'

test_expect_success 'nothing to generate: exit 0, nothing written' '
    gen again >out 2>err && test_must_be_empty out && test_grep "nothing to generate" err &&
    test "$(ls "$M" | wc -l)" = 1 && no_leftovers
'

test_expect_success 'an edit of the sources: ALTER and UPDATE/INSERT, applied; down reverts both' '
    sed -i "s/priority int NOT NULL DEFAULT 0/priority int NOT NULL DEFAULT 0,\n    due date/" \
        "$P/db/src/schema/tables.sql" && cat "$TRASH/rows-edit.sql" >>"$P/db/src/schema/tables.sql" &&
    expect_rc 1 drift --against "$(url_of d)" >out && test_grep "^~ table public.task$" out &&
    gen tweak >path 2>err && dir=$(cat path) &&
    test_grep "^ALTER TABLE public.task ADD COLUMN due date;$" "$dir/up.sql" &&
    has_lines "$dir/up.sql" "$TRASH/rows-up.want" &&
    test_grep "^DELETE FROM ONLY \"public\".\"task_status\" WHERE \"code\" = .wip.;$" "$dir/down.sql" &&
    test_grep "hazard data-loss (drop-column): drops column public.task.due" "$dir/down.sql" &&
    dump d >before.dump && mig d migrate up >out 2>err &&
    dump d >after.dump && cached_sources "$P" >src.dump && test_cmp src.dump after.dump &&
    "$PSQL" -X -At -d "$(url_of d)" -c "SELECT label FROM public.task_status WHERE code IN (\$\$blocked\$\$, \$\$wip\$\$) ORDER BY code" >rows &&
    test_cmp "$TRASH/rows.want" rows &&
    drift --against "$(url_of d)" >out &&
    mig d migrate down >out 2>err && dump d >back.dump && test_cmp before.dump back.dump &&
    "$PSQL" -X -At -d "$(url_of d)" -c "SELECT string_agg(code || \$\$=\$\$ || label, \$\$,\$\$ ORDER BY code) FROM public.task_status" >rows &&
    echo "blocked=Blocked,done=Done,open=Open" >want && test_cmp want rows &&
    mig d migrate up >out 2>err
'

test_expect_success 'hazards: a dropped column is refused, nothing written; allowed by rule or class' '
    sed -i "s/^    due date//; s/DEFAULT 0,$/DEFAULT 0/" "$P/db/src/schema/tables.sql" &&
    expect_rc 1 gen drop-due >out 2>err && test_must_be_empty out &&
    test_grep "REFUSED hazard data-loss (drop-column): drops column public.task.due" err &&
    test_grep "allow-hazards" err && test "$(ls "$M" | wc -l)" = 2 && no_leftovers &&
    gen --dry-run --allow-hazards=data-loss drop-due >dry.sql 2>err &&
    test_grep "^ALTER TABLE public.task DROP COLUMN due;$" dry.sql && test "$(ls "$M" | wc -l)" = 2 &&
    expect_rc 1 gen --allow-hazards=drop-table drop-due >out 2>err &&
    gen --allow-hazards=drop-column drop-due >path 2>err && dir=$(cat path) &&
    test_grep "^--   hazard data-loss (drop-column): drops column public.task.due$" "$dir/up.sql" &&
    test_grep "^-- hazard data-loss (drop-column): drops column public.task.due$" "$dir/up.sql"
'

test_expect_success 'baseline: a database changed by hand is refused (exit 2), --force-after-drift applies' '
    "$PSQL" -X -q -d "$(url_of d)" -c "CREATE INDEX by_hand ON public.task (title)" &&
    expect_rc 2 mig d migrate up >out 2>err &&
    test_grep "refusing to apply .*drop-due: it was generated against a schema with hash" err &&
    test_grep "force-after-drift" err &&
    mig d migrate up --force-after-drift >out 2>err && test_grep "applying it anyway" err &&
    "$PSQL" -X -q -d "$(url_of d)" -c "DROP INDEX public.by_hand" &&
    drift --against "$(url_of d)" >out
'

test_expect_success 'a new index on an existing table: CONCURRENTLY, outside a transaction (migration.yaml)' '
    echo "CREATE INDEX task_title_idx ON public.task (title);" >>"$P/db/src/schema/tables.sql" &&
    gen title-idx >path 2>err && dir=$(cat path) &&
    test_grep "^transaction: false$" "$dir/migration.yaml" &&
    test_grep "^CREATE INDEX CONCURRENTLY task_title_idx ON public.task" "$dir/up.sql" &&
    test_grep "^-- Runs outside a transaction (migration.yaml)" "$dir/up.sql" &&
    "$DBTOOL" migrator -d "$M" list --format json >out && test_grep "title-idx\", \"valid\": true, \"up\": true, \"down\": true, \"multi_file\": false, \"transaction\": false" out &&
    mig d migrate up >out 2>err && drift --against "$(url_of d)" >out &&
    mig d migrate down >out 2>err && expect_rc 1 drift --against "$(url_of d)" >out &&
    test_grep "^+ index public.task_title_idx$" out && mig d migrate up >out 2>err
'

test_expect_success 'drift --sql: the DDL that brings the live database to the sources' '
    "$PSQL" -X -q -d "$(url_of d)" -c "ALTER TABLE public.project ADD COLUMN note text" &&
    expect_rc 1 drift --against "$(url_of d)" --sql >fix.sql 2>err &&
    test_grep "^ALTER TABLE public.project DROP COLUMN note;$" fix.sql &&
    test_grep "hazard data-loss (drop-column)" err &&
    "$DBTOOL" sql -q -u "$(url_of d)" -f fix.sql && drift --against "$(url_of d)" >out
'

test_expect_success CLIENT_MATCHES_SERVER 'database diff --sql: the DDL and the reference rows, from a live database to the sources' '
    "$PSQL" -X -q -d "$(url_of d)" -c "ALTER TABLE public.project ADD COLUMN note text" \
        -c "BEGIN" -c "SET LOCAL hectic.migration_mode = on" \
        -c "UPDATE public.task_status SET label = label || 1 WHERE code = \$\$open\$\$" -c "COMMIT" &&
    expect_rc 1 env LOCAL_DIR="$P" "$DBTOOL" database diff --against "$(url_of d)" --sql >fix.sql 2>err &&
    test_grep "^ALTER TABLE public.project DROP COLUMN note;$" fix.sql &&
    test_grep "^UPDATE ONLY \"public\".\"task_status\" SET \"label\" = .Open. WHERE \"code\" = .open.;$" fix.sql &&
    "$DBTOOL" sql -q -u "$(url_of d)" -f fix.sql &&
    env LOCAL_DIR="$P" "$DBTOOL" database diff --against "$(url_of d)" >out 2>err &&
    test "$(tail -n 1 out)" = "no differences found" &&
    expect_rc 9 env LOCAL_DIR="$P" "$DBTOOL" database diff --sql --format json 2>err
'

test_expect_success 'drift: a bad URL exits 4; a reader with catalog access only is enough' '
    expect_rc 4 drift --against "postgresql://u:sekret@/x?host=/nonexistent" >out 2>err &&
    test_grep -v sekret err &&
    admin "CREATE ROLE peek LOGIN" &&
    { drift --against "$(url_of d)" >want 2>err; want_rc=$?; } &&
    { drift --against "$(url_of d | sed "s|//[^@]*@|//peek@|")" >out 2>err; test $? = $want_rc; } &&
    test_cmp want out && test_grep -v "error" err
'

test_expect_success PG14 'rental (Pagila-like): nothing -> everything -> nothing' '
    gen_whole rental "$FIX/rental.sql" && test_grep "CREATE TABLE rental.payment_p2022_01 PARTITION OF" "$dir/up.sql"
'

test_expect_success PG14 'OpenStreetMap-like: nothing -> everything -> nothing' '
    gen_whole osm "$FIX/osm.sql" && test_grep "CREATE EVENT TRIGGER osm_ddl" "$dir/up.sql" &&
    test_grep "EXCLUDE USING gist" "$dir/up.sql"
'

test_expect_success 'generated 200 tables, every object class, reference rows: nothing -> everything -> nothing' '
    "$FIX/gen200.sh" 200 >gen200.sql &&
    gen_whole g200 gen200.sql && test_grep "^CREATE TABLE audit.t200 " "$dir/up.sql" &&
    test_grep "^INSERT INTO \"app\".\"currency\"" "$dir/up.sql" && no_leftovers
'

test_done
