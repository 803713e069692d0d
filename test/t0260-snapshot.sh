#!/bin/sh
# The snapshot cache: deploy and check claim a snapshot of identical inputs,
# replay (and store) otherwise; a hit deploys exactly what a replay does.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src/parts"
export LOCAL_DIR=$P
# a cache of its own: entries and their count are checked
export DBTOOL_CACHE_DIR=$TRASH/cache
# stores happen in the foreground: deterministic tests
export DBTOOL_SYNC_CACHE=1 DBTOOL_SNAPSHOT_BUDGET=2G
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"

# deterministic data: no now() (created_at given), so two replays dump alike
cat >"$P/db/src/entrypoint.sql" <<'EOF'
\ir parts/item.sql
\if :{?USE_MOCK}
INSERT INTO item(name, created_at) VALUES ('mock', '2020-01-01');
\endif
EOF
cat >"$P/db/src/parts/item.sql" <<'EOF'
CREATE TABLE item (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);
CREATE TABLE ref (code text PRIMARY KEY) INHERITS (hectic.created_at, hectic.immutable);
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO ref(code, created_at) VALUES ('a', '2020-01-01'), ('b', '2020-01-01');
COMMIT;
CREATE FUNCTION answer() RETURNS int LANGUAGE sql AS $$ SELECT 42 $$;
EOF
echo "INSERT INTO item(name, created_at) VALUES ('patched', '2020-01-01');" >"$P/test-data.sql"
echo "API_KEY=one" >"$P/.env.dev"
export ENVIRONMENT=dev

entries() { ls "$DBTOOL_CACHE_DIR/snapshots" | grep -c '^[0-9a-f]\{16\}-[0-9a-f]\{16\}$'; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(tail -n 1 out)" -c "$1"; }
# secrets are encrypted with a random IV, and hectic.version has installed_at = now()
dump() { "$PG_DUMP" --no-owner --exclude-table-data=hectic.secret --exclude-table-data=hectic.version -d "$(tail -n 1 out)" | grep -v '^\\\(un\)\?restrict ' >"$1"; }

test_expect_success 'first deploy: a miss replays and stores the snapshot' '
    "$DBTOOL" database deploy >out 2>err && test_grep "hydrate: done" err &&
    test_grep "snapshot: storing" err && test "$(entries)" = 1 &&
    test "$(q "select string_agg(name, \$\$,\$\$ order by id) from item")" = patched
'
test_expect_success 'second deploy: from snapshot, no replay' '
    "$DBTOOL" database deploy >out 2>err && test_grep "deploy: from snapshot [0-9a-f]\{8\}" err &&
    test_grep -v "hydrate:" err && test_grep -v "patch:" err &&
    test "$(q "select string_agg(name, \$\$,\$\$ order by id) from item")" = patched &&
    test "$(q "select answer()")" = 42 && test "$(q "select hectic.get_secret(\$\$API_KEY\$\$)")" = one
'
test_expect_success CLIENT_MATCHES_SERVER 'a snapshot-served deploy dumps exactly like a replayed one (pg_dump)' '
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err && dump hit.sql &&
    "$DBTOOL" database deploy --no-snapshot >out 2>err && test_grep "hydrate: done" err &&
    test_grep -v "from snapshot" err && dump replay.sql &&
    test_cmp replay.sql hit.sql && grep -q "bench\|COPY public.item" hit.sql
'
test_expect_success '--no-snapshot stores nothing new and forces a replay' '
    test "$(entries)" = 1
'
test_expect_success 'a changed included file misses, and the old entry serves again once it is back' '
    cp "$P/db/src/parts/item.sql" item.orig &&
    echo "CREATE TABLE extra (x int) INHERITS (hectic.created_at);" >>"$P/db/src/parts/item.sql" &&
    "$DBTOOL" database deploy >out 2>err && test_grep "hydrate: done" err &&
    test "$(q "select count(*) from pg_tables where tablename = \$\$extra\$\$")" = 1 &&
    test "$(entries)" = 2 &&
    cp item.orig "$P/db/src/parts/item.sql" &&
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err &&
    test "$(q "select count(*) from pg_tables where tablename = \$\$extra\$\$")" = 0
'
test_expect_success 'a file included only under \if (--mock) is part of what a run read' '
    "$DBTOOL" database deploy -m >out 2>err && test_grep "hydrate: done" err &&
    test "$(q "select count(*) from item where name = \$\$mock\$\$")" = 1 &&
    "$DBTOOL" database deploy -m >out 2>err && test_grep "from snapshot" err &&
    test "$(q "select count(*) from item where name = \$\$mock\$\$")" = 1
'
test_expect_success 'a changed test-data.sql misses' '
    echo "INSERT INTO item(name, created_at) VALUES (\$\$more\$\$, \$\$2020-01-01\$\$);" >>"$P/test-data.sql" &&
    "$DBTOOL" database deploy >out 2>err && test_grep "patch: done" err &&
    test "$(q "select count(*) from item")" = 2
'
test_expect_success 'a changed dotenv misses (its hash is in the key)' '
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err &&
    echo "API_KEY=two" >"$P/.env.dev" &&
    "$DBTOOL" database deploy >out 2>err && test_grep "hydrate: done" err &&
    test "$(q "select hectic.get_secret(\$\$API_KEY\$\$)")" = two
'
test_expect_success 'another server binary (a copied bin dir) misses' '
    cp -a "$(dirname "$PG_BINDIR")" "$TRASH/pgcopy" &&
    PG_BINDIR=$TRASH/pgcopy/bin "$DBTOOL" database deploy >out 2>err && test_grep "hydrate: done" err &&
    PG_BINDIR=$TRASH/pgcopy/bin "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err
'
test_expect_success '...and once that binary is gone, the next store prunes its entries' '
    grep -l pgcopy "$DBTOOL_CACHE_DIR"/snapshots/*/key >/dev/null &&
    rm -rf "$TRASH/pgcopy" && echo "-- prune" >>"$P/test-data.sql" &&
    "$DBTOOL" database deploy >out 2>err &&
    ! grep -l pgcopy "$DBTOOL_CACHE_DIR"/snapshots/*/key
'
test_expect_success 'check: a hit starts the snapshot instead of replaying' '
    "$DBTOOL" database check >out 2>err && test_grep "check: from snapshot" err &&
    test_grep -v "hydrate:" err && test_grep "check: passed" err
'
test_expect_success 'check: a miss replays (and stores for the next one)' '
    "$DBTOOL" database check -P >out 2>err && test_grep "hydrate: done" err &&
    "$DBTOOL" database check -P >out 2>err && test_grep "check: from snapshot" err
'
test_expect_success 'a damaged entry (a file truncated) is removed and the deploy replays' '
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err &&
    e=$(sed -n "s/.*from snapshot \([0-9a-f]*\).*/\1/p" err) &&
    d=$(ls -d "$DBTOOL_CACHE_DIR/snapshots/"*-"$e"* | grep -v spare) && test "$(echo "$d" | wc -l)" = 1 &&
    f=$(find "$d/data/base" -type f -size +0 | head -n 1) && test -n "$f" && : >"$f" &&
    rm -rf "$DBTOOL_CACHE_DIR"/snapshots/spare-* &&
    "$DBTOOL" database deploy >out 2>err && test_grep "damaged" err && test_grep "hydrate: done" err &&
    test "$(q "select count(*) from item")" = 2
'
test_expect_success 'a half-written entry (no complete manifest) is removed, never served' '
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err &&
    e=$(sed -n "s/.*from snapshot \([0-9a-f]*\).*/\1/p" err) &&
    d=$(ls -d "$DBTOOL_CACHE_DIR/snapshots/"*-"$e"* | grep -v spare) && test "$(echo "$d" | wc -l)" = 1 &&
    head -n 3 "$d/manifest" >m && cp m "$d/manifest" &&
    "$DBTOOL" database deploy >out 2>err && test_grep "incomplete or damaged" err &&
    test_grep "hydrate: done" err && tail -n 1 "$d/manifest" | grep -q "^end " &&
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err
'
test_expect_success 'a cache others may write is not used (never served to another uid)' '
    chmod 777 "$DBTOOL_CACHE_DIR/snapshots" &&
    "$DBTOOL" database deploy >out 2>err; r=$?; chmod 700 "$DBTOOL_CACHE_DIR/snapshots" &&
    test $r = 0 && test_grep "not using the snapshot cache" err && test_grep "hydrate: done" err
'
test_expect_success 'DBTOOL_SNAPSHOT_BUDGET=0 stores nothing; a bad value is a configuration error' '
    echo "-- a new input" >>"$P/test-data.sql" && n=$(entries) &&
    DBTOOL_SNAPSHOT_BUDGET=0 "$DBTOOL" database deploy >out 2>err && test "$(entries)" = "$n" &&
    { DBTOOL_SNAPSHOT_BUDGET=lots "$DBTOOL" database deploy >out 2>err; test $? = 3; } &&
    test_grep "DBTOOL_SNAPSHOT_BUDGET" err
'
test_expect_success 'the budget keeps the most recently used entries' '
    e=$(ls "$DBTOOL_CACHE_DIR/snapshots" | grep "^[0-9a-f]\{16\}-[0-9a-f]\{16\}$" | head -n 1) &&
    b=$(tail -n 1 "$DBTOOL_CACHE_DIR/snapshots/$e/manifest" | cut -d" " -f3) &&
    echo "-- another input" >>"$P/test-data.sql" &&
    DBTOOL_SNAPSHOT_BUDGET=$((b * 3 / 2)) "$DBTOOL" database deploy >out 2>err &&
    test "$(entries)" = 1 &&
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err
'
test_expect_success 'concurrent deploys of the same inputs fill one entry' '
    echo "-- concurrent" >>"$P/test-data.sql" && n=$(entries) &&
    { PG_WORKING_DIR=$TRASH/wd1 PG_PORT=5441 "$DBTOOL" database deploy >o1 2>e1 & } &&
    p1=$! &&
    { PG_WORKING_DIR=$TRASH/wd2 PG_PORT=5442 "$DBTOOL" database deploy >o2 2>e2 & } &&
    p2=$! &&
    wait $p1 && wait $p2 &&
    test_when_finished "PG_WORKING_DIR=$TRASH/wd1 \"$DBTOOL\" postgres-cleanup; PG_WORKING_DIR=$TRASH/wd2 \"$DBTOOL\" postgres-cleanup" &&
    test "$(entries)" = $((n + 1)) &&
    ! ls "$DBTOOL_CACHE_DIR/snapshots" | grep -q "^tmp-" &&
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err
'
test_expect_success 'a background store (no DBTOOL_SYNC_CACHE) lands too' '
    echo "-- background" >>"$P/test-data.sql" && n=$(entries) &&
    DBTOOL_SYNC_CACHE=0 "$DBTOOL" database deploy >out 2>err && wait_bg &&
    test "$(entries)" = $((n + 1)) &&
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err
'
test_done
