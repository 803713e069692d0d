#!/bin/sh
# The snapshot cache on a full filesystem: storing fails cleanly (the deploy
# itself succeeds, nothing half-written is left, the next deploy replays).
. "${0%/*}/lib-pg.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to mount a small tmpfs as the cache"
mkdir "$TRASH/small" && mount -t tmpfs -o size=24m,mode=0700 tmpfs "$TRASH/small" 2>/dev/null ||
    skip_all "cannot mount a tmpfs here"
test_at_exit "umount '$TRASH/small'"

P=$TRASH/proj
mkdir -p "$P/db/src"
export LOCAL_DIR=$P DBTOOL_SYNC_CACHE=1 DBTOOL_SNAPSHOT_BUDGET=2G
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
echo "CREATE TABLE item (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);" \
    >"$P/db/src/entrypoint.sql"
echo "INSERT INTO item(name) VALUES ('seed');" >"$P/test-data.sql"

# the whole cache (templates too) on the small filesystem: a snapshot (~60 MB) cannot fit
test_expect_success 'a deploy whose snapshot does not fit: deploy succeeds, store says why' '
    DBTOOL_CACHE_DIR=$TRASH/small/dbtool "$DBTOOL" database deploy >out 2>err &&
    test_grep "snapshot not stored" err && test_grep "no space left" err &&
    test "$("$PSQL" -X -At -d "$(tail -n 1 out)" -c "select name from item")" = seed
'
test_expect_success '...and leaves nothing half-written behind' '
    test -z "$(ls "$TRASH/small/dbtool/snapshots")"
'
test_expect_success '...so the next deploy replays (and fails to store again, cleanly)' '
    DBTOOL_CACHE_DIR=$TRASH/small/dbtool "$DBTOOL" database deploy >out 2>err &&
    test_grep "hydrate: done" err && test -z "$(ls "$TRASH/small/dbtool/snapshots")"
'
test_done
