#!/bin/sh
# database diff with the snapshot cache: the sources side (deploy -P in a
# throwaway cluster) starts from a snapshot when the sources are unchanged;
# the result is the same either way.
. "${0%/*}/lib-pg.sh"
test_have_prereq CLIENT_MATCHES_SERVER || skip_all "$test_missing_reason (database backup)"

P=$TRASH/proj
mkdir -p "$P/db/src" "$P/db/migration"
export LOCAL_DIR=$P DBTOOL_CACHE_DIR=$TRASH/cache DBTOOL_SYNC_CACHE=1 DBTOOL_SNAPSHOT_BUDGET=2G
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
cat >"$P/db/src/entrypoint.sql" <<'EOF2'
CREATE TABLE country (code text PRIMARY KEY, name text) INHERITS (hectic.created_at, hectic.immutable);
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO country (code, name) VALUES ('de', 'Germany'), ('fr', 'France');
COMMIT;
EOF2
: >"$P/test-data.sql"

test_expect_success 'set up: a deployed cluster and its backup' '
    "$DBTOOL" database deploy >out 2>err && "$DBTOOL" database backup >out 2>err
'
test_expect_success 'first diff: the sources are hydrated (and stored)' '
    "$DBTOOL" database diff >out 2>err && test_grep "hydrating the sources" err &&
    test_grep "no differences found" out && cp out first.out
'
test_expect_success 'second diff: the sources side starts from the snapshot, same result' '
    "$DBTOOL" database diff >out 2>err && test_grep "diff: sources from snapshot" err &&
    test_grep -v "hydrating the sources" err && test_cmp first.out out
'
test_expect_code 1 'a changed source misses and shows the drift' '
    echo "CREATE TABLE extra (x int) INHERITS (hectic.created_at);" >>"$P/db/src/entrypoint.sql" &&
    "$DBTOOL" database diff >out 2>err
'
test_expect_success '...hydrated, not served' 'test_grep "hydrating the sources" err && test_grep "extra" out'
test_expect_success '--no-snapshot hydrates anyway' '
    "$DBTOOL" database diff --no-snapshot >out 2>err; test $? = 1 && test_grep "hydrating the sources" err
'
test_done
