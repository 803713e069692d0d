#!/bin/sh
# migrator for CI and adoption (issue 16): status --exit-code with its
# documented codes and --format json; migrate up|down|to --dry-run prints the
# exact SQL in order (run through psql it leaves the same database as the
# real run) and applies nothing, without the lock; baseline [NAME]; database
# deploy --baseline so that deploy-then-migrate applies only newer migrations.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int) INHERITS (hectic.created_at)'
pg_cluster pg || exit 1
has() { test "$(q "$1" "select to_regclass('$2') is not null")" = t; }
json() { python3 -c "import json,sys; d=json.load(open(sys.argv[1])); $2" "$1"; }

D=mig
mkmig $D 20240101000000-a "CREATE TABLE a $T;" "DROP TABLE a;"
mkmig $D 20240102000000-b "\\set tbl b_items
CREATE TABLE :\"tbl\" $T;
\\ir more.sql" "DROP TABLE b_items;"
echo "INSERT INTO b_items (id) VALUES (1), (2);" >$D/20240102000000-b/more.sql
mkmig $D 20240103000000-c "ALTER TABLE a ADD COLUMN v text;
CREATE INDEX CONCURRENTLY a_v ON a (v);
COMMENT ON INDEX a_v IS 'by v';" "DROP INDEX CONCURRENTLY a_v;
ALTER TABLE a DROP COLUMN v;"
printf "lock_timeout: 2s\n" >$D/20240103000000-c/migration.yaml
mkmig $D 20240104000000-d "VACUUM a;
ANALYZE b_items;" "SELECT 1;"
printf "transaction: false\n" >$D/20240104000000-d/migration.yaml

# --- status ------------------------------------------------------------------------------

test_expect_success 'status --exit-code: 1 while migrations are pending, 0 once up to date' '
    newdb s >/dev/null && mig s $D migrate up 2>/dev/null &&
    mig s $D status --exit-code >out; test $? = 1 && grep -q "^# 1 applied, 0 changed, 0 missing, 3 pending$" out &&
    mig s $D migrate up all 2>/dev/null && mig s $D status --exit-code >out && grep -q "^# 4 applied" out
'
test_expect_success 'status --exit-code: 2 for a changed, a missing or a bad entry (even with pending ones)' '
    echo "-- edited" >>$D/20240101000000-a/up.sql && mig s $D status --exit-code >/dev/null; test $? = 2 &&
    sed -i "/-- edited/d" $D/20240101000000-a/up.sql && mig s $D status --exit-code >/dev/null &&
    mv $D/20240104000000-d d.away && mig s $D status --exit-code >out; test $? = 2 &&
    grep -q "^missing     20240104000000-d  (applied, but not in" out && mv d.away $D/20240104000000-d &&
    mkdir $D/20240201000000000000_long && mkmig $D 20240105000000-e "SELECT 1;" &&
    mig s $D status --exit-code >out; test $? = 2 && grep -q "^bad         20240201000000000000_long  (the version has 20 digits" out &&
    rm -r $D/20240201000000000000_long $D/20240105000000-e && mig s $D status --exit-code >/dev/null
'
test_expect_success 'status without --exit-code exits 0 whatever it shows' '
    echo "-- edited" >>$D/20240101000000-a/up.sql && mig s $D status >/dev/null &&
    sed -i "/-- edited/d" $D/20240101000000-a/up.sql
'
test_expect_success 'status --format json: every migration with its state, hashes, times; the summary' '
    newdb sj >/dev/null && mig sj $D migrate up 2>/dev/null && mig sj $D status --format json >out &&
    json out "m=d[\"migrations\"]; assert [x[\"state\"] for x in m]==[\"applied\",\"pending\",\"pending\",\"pending\"], m; \
assert m[0][\"hash\"]==m[0][\"recorded_hash\"] and len(m[0][\"hash\"])==64 and m[0][\"applied_at\"]; \
assert m[3][\"transaction\"] is False and m[2][\"transaction\"] is True; \
assert d[\"summary\"][\"pending\"]==3 and d[\"summary\"][\"applied\"]==1 and d[\"up_to_date\"] is False and d[\"bundle\"] is True" &&
    newdb sj2 >/dev/null && mig sj2 $D status --format json >out 2>/dev/null &&
    json out "assert d[\"bundle\"] is False and d[\"summary\"][\"pending\"]==4"
'

# --- dry run --------------------------------------------------------------------------------

test_expect_success 'migrate up all --dry-run: the SQL in order, transaction boundaries, nothing applied' '
    newdb dr >/dev/null && mig dr $D migrate up 2>/dev/null &&
    mig dr $D migrate up all --dry-run >dry.sql 2>err &&
    test "$(nmig dr)" = 1 && ! has dr b_items && test "$(q dr "select count(*) from hectic.migration_step")" = 0 &&
    grep -q "^-- migrator migrate --dry-run: 3 steps, in this order; nothing is sent$" dry.sql &&
    grep -q "^CREATE TABLE \"b_items\" (id int) INHERITS (hectic.created_at);$" dry.sql &&
    grep -q "^-- .*/20240102000000-b/more.sql:1$" dry.sql &&
    grep -q "^SET LOCAL hectic.migration_mode = .on.; SET LOCAL lock_timeout = .2s.;$" dry.sql &&
    grep -q "^-- CREATE INDEX CONCURRENTLY cannot run inside a transaction block: on its own$" dry.sql &&
    grep -q "^-- transaction: false (migration.yaml): each statement commits on its own$" dry.sql &&
    test "$(grep -c "^BEGIN;$" dry.sql)" = "$(grep -c "^COMMIT;$" dry.sql)" &&
    awk "/^CREATE TABLE \"b_items\"/ { t = NR } /^ALTER TABLE a ADD COLUMN v/ { a = NR } /^CREATE INDEX CONCURRENTLY a_v/ { i = NR }
         /^COMMENT ON INDEX a_v/ { c = NR } /^VACUUM a;/ { v = NR } END { exit !(t < a && a < i && i < c && c < v) }" dry.sql
'
test_expect_success 'set up: the same migrations applied for real' '
    newdb real >/dev/null && mig real $D migrate up 2>/dev/null && mig real $D migrate up all 2>/dev/null
'
test_expect_success CLIENT_MATCHES_SERVER '...the same SQL run by psql leaves the database the real run leaves' '
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(dburl dr)" -f dry.sql >/dev/null 2>psql.err &&
    "$PG_DUMP" --no-owner --schema-only -d "$(dburl dr)" | grep -v -e "^--" -e "^.restrict" -e "^.unrestrict" >dr.dump &&
    "$PG_DUMP" --no-owner --schema-only -d "$(dburl real)" | grep -v -e "^--" -e "^.restrict" -e "^.unrestrict" >real.dump && test_cmp real.dump dr.dump &&
    q dr "select name, hash from hectic.migration order by name" >dr.rows &&
    q real "select name, hash from hectic.migration order by name" >real.rows && test_cmp real.rows dr.rows &&
    test "$(q dr "select count(*) from hectic.migration_step")" = 0 && test "$(q dr "select count(*) from b_items")" = 2
'
test_expect_success 'down and to --dry-run print the down scripts, newest first, and change nothing' '
    mig real $D migrate down 2 --dry-run >down.sql 2>/dev/null && test "$(nmig real)" = 4 &&
    grep -n "^-- 2024010[34]000000-[cd] (down)" down.sql | cut -d: -f1 | tr "\n" " " >order &&
    test "$(grep -c "(down)" down.sql)" = 2 && grep -q "^DELETE FROM hectic.migration WHERE name = .20240104000000-d.;$" down.sql &&
    head -n 3 down.sql | grep -q "20240104000000-d (down)" &&
    mig real $D migrate to 20240101000000-a --dry-run >to.sql 2>/dev/null && test "$(grep -c "(down)" to.sql)" = 3 &&
    has real b_items
'
test_expect_success 'a dry run takes no lock: it runs while another migrator holds it' '
    ( "$PSQL" -X -q -d "$(dburl dr)" -c "SELECT pg_advisory_lock(7522528104227761511), pg_sleep(30)" >/dev/null 2>&1 & echo $! >holder; wait ) &
    for i in $(seq 1 200); do test "$(q dr "select count(*) from pg_locks where locktype = '"'advisory'"' and objid = 1768123751 and granted")" = 1 && break; sleep 0.05; done &&
    test_when_finished "q dr \"select pg_terminate_backend(pid) from pg_locks where locktype = '"'"'advisory'"'"' and objid = 1768123751\" >/dev/null" &&
    newdb dr2 >/dev/null && timeout 20 migrator -u "$(dburl dr)" -d $D migrate down --dry-run >/dev/null 2>err && ! grep -q waiting err
'
test_expect_code 4 'a dry run of a migration migrate would refuse says so (exit 4)' '
    mkmig R 20240101000000-bad "CREATE TABLE x $T; COMMIT;" && newdb dr3 >/dev/null && mig dr3 R migrate up --dry-run >out 2>err
'
test_expect_success '...naming the statement' 'grep -q "up.sql:1: COMMIT in migration" err && ! has dr3 x'

# --- baseline -----------------------------------------------------------------------------------

test_expect_success 'baseline records every migration as applied, with its hash, without running it' '
    newdb b >/dev/null && mig b $D baseline 2>err && test "$(nmig b)" = 4 && ! has b a &&
    test "$(hash_of b 20240102000000-b)" = "$(sha256sum $D/20240102000000-b/up.sql | cut -d" " -f1)" &&
    grep -q "recorded 4 migrations as applied without running them" err &&
    mig b $D migrate up all 2>err && grep -q "nothing to apply" err
'
test_expect_success 'baseline NAME records up to NAME; migrate applies the rest' '
    newdb b2 >/dev/null && q b2 "CREATE SCHEMA IF NOT EXISTS hectic" &&
    mig b2 $D init 2>/dev/null && q b2 "CREATE TABLE a (id int) INHERITS (hectic.created_at)" &&
    mig b2 $D baseline 20240101000000-a 2>err && test "$(applied b2)" = 20240101000000-a &&
    mig b2 $D migrate up all 2>err && test "$(nmig b2)" = 4 && has b2 b_items &&
    mig b2 $D baseline 20240102000000-b 2>err && grep -q "nothing to record" err
'
test_expect_success 'baseline refuses a history mismatch (exit 2) and an unknown name (exit 1)' '
    newdb b3 >/dev/null && mig b3 $D baseline 20240109000000-nope 2>err; test $? = 1 &&
    grep -q "no migration named .20240109000000-nope." err && test "$(nmig b3)" = 0 &&
    q b3 "INSERT INTO hectic.migration (name, hash) VALUES ('"'20240103000000-c'"', repeat('"'0'"', 64))" &&
    mig b3 $D baseline 2>err; test $? = 2 && grep -q "^Migration history mismatch detected!$" err && test "$(nmig b3)" = 1
'

# --- database deploy --baseline -------------------------------------------------------------------

P=$TRASH/proj
mkdir -p "$P/db/src" "$P/db/migration"
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
cp -R $D/20240101000000-a $D/20240102000000-b "$P/db/migration/"
# the sources have what the two migrations do
cat >"$P/db/src/entrypoint.sql" <<EOF
CREATE TABLE a $T;
CREATE TABLE b_items $T;
INSERT INTO b_items (id) VALUES (1), (2);
EOF
test_expect_success 'deploy --baseline records the migrations the sources already have' '
    LOCAL_DIR=$P "$DBTOOL" database deploy --baseline -P >url 2>err && U=$(tail -n 1 url) &&
    test "$("$PSQL" -X -At -d "$U" -c "select string_agg(name, '"' '"' order by name) from hectic.migration")" = "20240101000000-a 20240102000000-b" &&
    grep -q "baseline: recorded 2 migrations" err
'
test_expect_success '...so that deploy-then-migrate applies only the migrations written after it' '
    mkmig "$P/db/migration" 20240301000000-new "CREATE TABLE newer $T;" "DROP TABLE newer;" &&
    PGURL= LOCAL_DIR=$P "$DBTOOL" database migrator migrate up all 2>err &&
    grep -q "applied 20240301000000-new" err && ! grep -q "applied 2024010" err &&
    U=$(tail -n 1 url) && test "$("$PSQL" -X -At -d "$U" -c "select count(*) from hectic.migration")" = 3
'
test_expect_success 'without --baseline deploy leaves them pending (as before): migrate up would fail on "exists"' '
    LOCAL_DIR=$P "$DBTOOL" database deploy -P >url 2>err && U=$(tail -n 1 url) &&
    test "$("$PSQL" -X -At -d "$U" -c "select count(*) from hectic.migration")" = 0
'
test_done
