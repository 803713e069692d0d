#!/bin/sh
# database clone: databases made from the deployed snapshot inside the running
# development cluster; pools, drops, and what a test runner does with them.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src"
# no warm pool here (DBTOOL_CLONE_POOL=0: every clone made on the call); t0265 tests the pool
export LOCAL_DIR=$P DBTOOL_CACHE_DIR=$TRASH/cache DBTOOL_SYNC_CACHE=1 DBTOOL_SNAPSHOT_BUDGET=2G DBTOOL_CLONE_POOL=0
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
cat >"$P/db/src/entrypoint.sql" <<'EOF2'
CREATE TABLE item (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);
ALTER DATABASE :"DBNAME" SET app.flavour = 'vanilla';
EOF2
echo "INSERT INTO item(name) VALUES ('seed');" >"$P/test-data.sql"
qu() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$1" -c "$2"; }

test_expect_code 1 'clone needs the running cluster' '
    "$DBTOOL" database clone >out 2>err
'
test_expect_success '...and says so' 'test_grep "not running" err'
test_expect_success 'after a replayed deploy, the first clone makes the template from the database as it is' '
    "$DBTOOL" database deploy >out 2>err && test_grep "hydrate: done" err &&
    "$DBTOOL" database clone >out 2>err && test_grep "making one from" err &&
    test "$(wc -l <out)" = 1 && test "$(qu "$(cat out)" "select name from item")" = seed
'
test_expect_success 'a deploy served from the snapshot brings the template along' '
    "$DBTOOL" database deploy >out 2>err && test_grep "from snapshot" err &&
    U=$(tail -n 1 out) &&
    test "$(qu "$U" "select datistemplate::text || datallowconn::text from pg_database where datname = \$\$dbtool_snapshot\$\$")" = truefalse &&
    qu "$U" "insert into item(name) values (\$\$developer\$\$)" &&
    "$DBTOOL" database clone mine >out 2>err && test_grep -v "making one" err &&
    test "$(qu "$(cat out)" "select string_agg(name, \$\$,\$\$) from item")" = seed &&
    test "$(qu "$(cat out)" "show app.flavour")" = vanilla
'
test_expect_success 'clone --count N prepares a pool, one URL a line' '
    "$DBTOOL" database clone --count 3 pool >out 2>err && test "$(wc -l <out)" = 3 &&
    for u in $(cat out); do test "$(qu "$u" "select count(*) from item")" = 1 || exit 1; done &&
    grep -q "/pool_1?" out && grep -q "/pool_3?" out
'
test_expect_success 'clones without a name get free ones' '
    "$DBTOOL" database clone >out 2>err && grep -q "/testdb_clone_1?" out &&
    "$DBTOOL" database clone >out 2>err && grep -q "/testdb_clone_2?" out
'
test_expect_code 1 'an existing name is refused' '
    "$DBTOOL" database clone mine >out 2>err
'
test_expect_code 1 '--drop refuses a database clone did not make' '
    "$DBTOOL" database clone --drop testdb >out 2>err
'
test_expect_success '--drop NAME drops a clone, even with a session on it' '
    U=$(sed "s|/testdb?|/mine?|" <<EOF3
$(LOCAL_DIR=$P "$DBTOOL" database init --reuse 2>/dev/null)
EOF3
) && { "$PSQL" -X -q -d "$U" -c "select pg_sleep(30)" >/dev/null 2>&1 & } &&
    "$DBTOOL" database clone --drop mine >out 2>err && test_grep "dropped mine" err
'
test_expect_success '--all drops every clone and nothing else' '
    "$DBTOOL" database clone --all >out 2>err &&
    U=$("$DBTOOL" database init --reuse 2>/dev/null) &&
    test "$(qu "$U" "select string_agg(datname, \$\$,\$\$ order by datname) from pg_database")" = dbtool_snapshot,postgres,template0,template1,testdb
'
test_expect_success 'recipe: one database per test file, dropped on success, kept on failure' '
    for t in a b; do
        u=$("$DBTOOL" database clone "t_$t" 2>/dev/null) &&
        if qu "$u" "select 1/(case when \$\$$t\$\$ = \$\$a\$\$ then 1 else 0 end)" >/dev/null 2>&1; then
            "$DBTOOL" database clone --drop "t_$t" 2>/dev/null
        else
            echo "kept t_$t" >>kept
        fi
    done &&
    test "$(cat kept)" = "kept t_b" &&
    "$DBTOOL" database clone --all 2>err && test_grep "dropped t_b" err
'
test_done
