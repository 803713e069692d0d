#!/bin/sh
# database clone's warm pool (DBTOOL_CLONE_POOL): databases made ahead from the
# template, taken by a rename, refilled in the background, never stale.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src"
export LOCAL_DIR=$P DBTOOL_CACHE_DIR=$TRASH/cache DBTOOL_SNAPSHOT_BUDGET=0 DBTOOL_CLONE_POOL=2
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
cat >"$P/db/src/entrypoint.sql" <<'EOF2'
CREATE TABLE item (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);
ALTER DATABASE :"DBNAME" SET app.flavour = 'vanilla';
EOF2
echo "INSERT INTO item(name) VALUES ('seed');" >"$P/test-data.sql"
qu() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$1" -c "$2"; }
# the pool databases made from the template as it is now
pooled() {
    qu "$ADMIN" "select count(*) from pg_database d, pg_database t where t.datname = 'dbtool_snapshot' and d.datname like 'dbtool\_pool\_%' and shobj_description(d.oid, 'pg_database') = 'dbtool pool ' || t.oid || '.' || t.xmin"
}
# wait (up to 60 s) until the pool holds N databases made from the template as it is
wait_pool() {
    _i=0
    while [ "$(pooled)" != "$1" ]; do
        _i=$((_i + 1)); [ $_i -lt 600 ] || { echo "pool: $(pooled), not $1, after 60 s"; return 1; }
        sleep 0.1
    done
}
items() { qu "$1" "select string_agg(name, ',' order by id) from item"; }

test_expect_success 'setup: a deployed project' '
    "$DBTOOL" database deploy >out 2>err &&
    ADMIN=$(sed "s|/testdb?|/postgres?|" out) && echo "$ADMIN" >admin
'
ADMIN=$(cat admin 2>/dev/null)
test_expect_success 'the first clone is made on the call and starts a refill' '
    "$DBTOOL" database clone >out 2>err && test_grep -v "from the pool" err &&
    test "$(items "$(cat out)")" = seed &&
    wait_pool 2
'
test_expect_success 'the next clone comes from the pool, with the data and the settings' '
    "$DBTOOL" database clone mine >out 2>err && test_grep "clone: from the pool" err &&
    grep -q "/mine?" out && test "$(items "$(cat out)")" = seed &&
    test "$(qu "$(cat out)" "show app.flavour")" = vanilla &&
    test "$(qu "$ADMIN" "select shobj_description(oid, \$\$pg_database\$\$) from pg_database where datname = \$\$mine\$\$")" = "dbtool clone"
'
test_expect_success 'the pool is refilled' 'wait_pool 2'
test_expect_success '--count N takes what the pool has and makes the rest' '
    "$DBTOOL" database clone --count 3 many >out 2>err &&
    test_grep "from the pool (2 of 3)" err && test "$(wc -l <out)" = 3 &&
    for u in $(cat out); do test "$(items "$u")" = seed || exit 1; done &&
    wait_pool 2
'
test_expect_code 1 '--drop refuses a pool database' '
    "$DBTOOL" database clone --drop dbtool_pool_1 >out 2>err
'
test_expect_success 'a template made again never serves the old pool' '
    qu "$ADMIN" "alter database dbtool_snapshot is_template false" &&
    qu "$ADMIN" "drop database dbtool_snapshot" &&
    qu "$(sed "s|/postgres?|/testdb?|" admin)" "insert into item(name) values (\$\$new\$\$)" &&
    "$DBTOOL" database clone >out 2>err && test_grep "making one from" err &&
    test_grep -v "from the pool" err && test "$(items "$(cat out)")" = seed,new &&
    wait_pool 2 &&
    test "$(qu "$ADMIN" "select count(*) from pg_database where datname like \$\$dbtool\\_pool\\_%\$\$")" = 2 &&
    "$DBTOOL" database clone >out 2>err && test_grep "from the pool" err &&
    test "$(items "$(cat out)")" = seed,new
'
test_expect_success 'a new deploy with other sources: clones have the new content' '
    echo "INSERT INTO item(name) VALUES (\$\$other\$\$);" >"$P/test-data.sql" &&
    "$DBTOOL" database deploy >out 2>err &&
    "$DBTOOL" database clone >out 2>err && test "$(items "$(cat out)")" = other &&
    wait_pool 2 &&
    "$DBTOOL" database clone >out 2>err && test_grep "from the pool" err &&
    test "$(items "$(cat out)")" = other
'
test_expect_success '--all drops the clones and the pool, nothing else' '
    wait_pool 2 &&
    "$DBTOOL" database clone --all >out 2>err && test_grep "dropping the pool (2 databases)" err &&
    test "$(qu "$ADMIN" "select string_agg(datname, \$\$,\$\$ order by datname) from pg_database")" = dbtool_snapshot,postgres,template0,template1,testdb
'
test_expect_success 'DBTOOL_CLONE_POOL=0: made on the call, no pool' '
    DBTOOL_CLONE_POOL=0 "$DBTOOL" database clone >out 2>err && test_grep -v "from the pool" err &&
    test "$(items "$(cat out)")" = other && wait_bg &&
    test "$(qu "$ADMIN" "select count(*) from pg_database where datname like \$\$dbtool\\_pool\\_%\$\$")" = 0
'
test_expect_success 'the cluster stopped while a refill runs: the refill ends, nothing is broken' '
    DBTOOL_CLONE_POOL=50 "$DBTOOL" database clone >out 2>err &&
    _i=0 && while [ "$(qu "$ADMIN" "select count(*) from pg_stat_activity where application_name = \$\$dbtool clone pool\$\$")" = 0 ]; do
        _i=$((_i + 1)); [ $_i -lt 600 ] || exit 1; sleep 0.1
    done &&
    PID=$(head -n 1 "$P/focus/postgresql/data/postmaster.pid") && kill -INT "$PID" &&
    _i=0 && while ! pid_gone "$PID"; do _i=$((_i + 1)); [ $_i -lt 600 ] || exit 1; sleep 0.1; done &&
    wait_bg &&
    "$DBTOOL" database init --reuse >/dev/null 2>err &&
    "$DBTOOL" database clone >out 2>err && test "$(items "$(cat out)")" = other &&
    wait_pool 2 &&
    test "$(qu "$ADMIN" "select count(*) from pg_database where datname like \$\$dbtool\\_pool\\_%\$\$ and coalesce(shobj_description(oid, \$\$pg_database\$\$), \$\$\$\$) not like \$\$dbtool pool %\$\$")" = 0 &&
    "$DBTOOL" database clone >out 2>err && test_grep "from the pool" err &&
    test "$(items "$(cat out)")" = other
'
test_done
