#!/bin/sh
# migrator: statements that cannot run in a transaction block are held back
# and run after the COMMIT, each recorded in hectic.migration_step so that a
# failure resumes at the failing statement (and an INVALID index it left is
# named with its DROP); transaction: false migrations resume the same way;
# lock_timeout / statement_timeout from migration.yaml and dbtool.yaml, and
# the bounded, logged retry of a migration that did not get its lock.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int) INHERITS (hectic.created_at)'
pg_cluster pg || exit 1
has() { test "$(q "$1" "select to_regclass('$2') is not null")" = t; }
valid() { test "$(q "$1" "select indisvalid from pg_index where indexrelid = '$2'::regclass")" = t; }
nsteps() { q "$1" "select count(*) from hectic.migration_step"; }

# --- held back ----------------------------------------------------------------------------

test_expect_success 'CREATE INDEX CONCURRENTLY and VACUUM in a migration run on their own, in script order' '
    newdb h >/dev/null &&
    mkmig H 20240101000000-tbl "CREATE TABLE u (id int, v text, w text) INHERITS (hectic.created_at);
INSERT INTO u (id, v, w) SELECT g, g::text, (g % 7)::text FROM generate_series(1, 500) g;
CREATE INDEX CONCURRENTLY u_v ON u (v);
VACUUM ANALYZE u;
CREATE INDEX CONCURRENTLY u_w ON u (w);
COMMENT ON TABLE u IS '"'with two indexes'"';" "DROP TABLE u;" &&
    mig h H migrate up 2>err && test "$(nmig h)" = 1 && valid h u_v && valid h u_w &&
    test "$(nsteps h)" = 0 &&
    grep -q "up.sql:3: CREATE INDEX CONCURRENTLY cannot run inside a transaction block: it runs on its own, after what comes before it commits" err &&
    grep -q "up.sql:4: VACUUM cannot run" err && grep -q "up.sql:5: CREATE INDEX CONCURRENTLY" err &&
    test "$(q h "select obj_description('"'u'"'::regclass)")" = "with two indexes"
'
test_expect_success '...and its down (DROP INDEX CONCURRENTLY, then DROP TABLE: the order is kept)' '
    printf "DROP INDEX CONCURRENTLY u_w;\nDROP INDEX CONCURRENTLY u_v;\nDROP TABLE u;\n" >H/20240101000000-tbl/down.sql &&
    mig h H migrate down 2>err && test "$(nmig h)" = 0 && ! has h u && test "$(nsteps h)" = 0 &&
    grep -q "down.sql:1: DROP INDEX CONCURRENTLY cannot run inside a transaction block" err
'
setup_dup() { # DB DIR: a table with a duplicate, a unique index over it held back, a second index
    newdb "$1" >/dev/null &&
    mkmig "$2" 20240201000000-dup "CREATE TABLE d (id int, n int) INHERITS (hectic.created_at);
INSERT INTO d (id, n) VALUES (1, 1), (1, 2), (2, 3);
CREATE UNIQUE INDEX CONCURRENTLY d_id ON d (id);
CREATE INDEX CONCURRENTLY d_n ON d (n);" "DROP TABLE d;"
}
test_expect_code 4 'a held-back statement that fails: exit 4' 'setup_dup r R && mig r R migrate up 2>err'
test_expect_success '...what ran before it stays committed, recorded as step 0; the migration is not recorded' '
    has r d && test "$(nmig r)" = 0 &&
    test "$(q r "select step || '"' '"' || location from hectic.migration_step")" = "0 $PWD/R/20240201000000-dup/up.sql:1"
'
test_expect_success '...the message says what is committed and where it resumes, and names the INVALID index' '
    grep -q "up.sql:3: ERROR:  could not create unique index \"d_id\"" err &&
    grep -q "stopped at .*up.sql:3: CREATE INDEX CONCURRENTLY, which runs on its own, failed" err &&
    grep -q "hectic.migration_step: 1 step before it; .migrate up. resumes at .*up.sql:3" err &&
    grep -q "left the INVALID index public.d_id behind.*DROP INDEX CONCURRENTLY IF EXISTS public.d_id;" err
'
test_expect_success 'status says partial, with where it resumes; --exit-code 2' '
    mig r R status >out && grep -q "^partial     20240201000000-dup  (1 step committed by a failed run" out &&
    { mig r R status --exit-code >/dev/null; test $? = 2; }
'
test_expect_success 'fixed (the duplicate removed, the INVALID index dropped), migrate resumes at the failing statement' '
    q r "DELETE FROM d WHERE n = 2" && q r "DROP INDEX CONCURRENTLY IF EXISTS public.d_id" &&
    mig r R migrate up 2>err && grep -q "resuming .20240201000000-dup. (up): 1 step was committed by an earlier run" err &&
    ! grep -q "already exists" err && test "$(nmig r)" = 1 && test "$(nsteps r)" = 0 &&
    valid r d_id && valid r d_n && test "$(q r "select count(*) from d")" = 2
'
test_expect_success 'a transactional part changed after it was committed: the resume is refused' '
    setup_dup r2 R2 && mig r2 R2 migrate up 2>/dev/null; test "$(nsteps r2)" = 1 &&
    sed -i "s/(2, 3)/(2, 3), (3, 4)/" R2/20240201000000-dup/up.sql &&
    q r2 "DELETE FROM d WHERE n = 2" && q r2 "DROP INDEX CONCURRENTLY IF EXISTS public.d_id" &&
    mig r2 R2 migrate up 2>err; test $? = 4 &&
    grep -q "the statements from .*up.sql:1 on were committed by an earlier run and have changed since" err &&
    test "$(nmig r2)" = 0 && test "$(nsteps r2)" = 1
'
test_expect_success 'a held-back statement that ran and then changed: refused, the others not run again' '
    newdb r3 >/dev/null &&
    mkmig R3 20240201000000-two "CREATE TABLE e (id int, n int) INHERITS (hectic.created_at);
INSERT INTO e (id, n) VALUES (1, 1), (1, 2);
CREATE INDEX CONCURRENTLY e_n ON e (n);
CREATE UNIQUE INDEX CONCURRENTLY e_id ON e (id);" "DROP TABLE e;" &&
    mig r3 R3 migrate up 2>err; test $? = 4 && test "$(nsteps r3)" = 2 && valid r3 e_n &&
    q r3 "DELETE FROM e WHERE n = 2" && q r3 "DROP INDEX CONCURRENTLY IF EXISTS public.e_id" &&
    sed -i "s/ON e (n)/ON e (n DESC)/" R3/20240201000000-two/up.sql &&
    mig r3 R3 migrate up 2>err; test $? = 4 && grep -q "up.sql:3: CREATE INDEX CONCURRENTLY ran in an earlier run of .20240201000000-two. and has changed since" err &&
    sed -i "s/ON e (n DESC)/ON e (n)/" R3/20240201000000-two/up.sql &&
    mig r3 R3 migrate up 2>err && grep -q "up.sql:3: committed by an earlier run of .20240201000000-two.: skipped" err &&
    valid r3 e_id && test "$(nmig r3)" = 1 && test "$(nsteps r3)" = 0
'
test_expect_success 'transaction: false: a failure resumes at the failing statement (what ran is not run again)' '
    newdb nt >/dev/null &&
    mkmig NT 20240301000000-log "CREATE TABLE log (what text) INHERITS (hectic.created_at);" "DROP TABLE log;" &&
    mkmig NT 20240301000001-steps "INSERT INTO log (what) VALUES ('"'one'"');
INSERT INTO nope (what) VALUES ('"'two'"');
INSERT INTO log (what) VALUES ('"'three'"');" "DELETE FROM log;" &&
    echo "transaction: false" >NT/20240301000001-steps/migration.yaml &&
    mig nt NT migrate up all 2>err; test $? = 4 &&
    grep -q "failed at statement 2: the 1 statement before it that succeeded are committed and recorded" err &&
    test "$(nmig nt)" = 1 && test "$(nsteps nt)" = 1 && mig nt NT status | grep -q "^partial     20240301000001-steps" &&
    sed -i "s/INTO nope/INTO log/" NT/20240301000001-steps/up.sql &&
    mig nt NT migrate up 2>err && grep -q "up.sql:1: committed by an earlier run" err &&
    test "$(q nt "select string_agg(what, '"','"' order by what) from log")" = "one,three,two" &&
    test "$(nmig nt)" = 2 && test "$(nsteps nt)" = 0
'

# --- timeouts and retries -------------------------------------------------------------------

# hold LOCK TABLE on DB.TABLE for SECONDS in the background; returns when the lock is held
hold_lock() {
    ( "$PSQL" -X -q -d "$(dburl "$1")" -c "BEGIN; LOCK TABLE $2 IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep($3); COMMIT;" \
        >/dev/null 2>&1 & echo $! >holder.pid; wait ) &
    for _i in $(seq 1 400); do
        test "$(q "$1" "select count(*) from pg_locks l join pg_class c on c.oid = l.relation where c.relname = '$2' and l.mode = 'AccessExclusiveLock' and l.granted")" = 1 && return 0
        sleep 0.05
    done
    return 1
}
release_lock() {
    q "$1" "select pg_terminate_backend(pid) from pg_locks l join pg_class c on c.oid = l.relation where c.relname = '$2' and l.mode = 'AccessExclusiveLock' and l.granted and pid <> pg_backend_pid()" >/dev/null
}
test_expect_success 'setup: a table others lock' '
    newdb lk >/dev/null && mkmig LK 20240401000000-t "CREATE TABLE lt $T;" "DROP TABLE lt;" && mig lk LK migrate up 2>/dev/null
'
test_expect_success 'lock_timeout from migration.yaml: bounded retries with backoff, each logged, then exit 4' '
    mkmig LK 20240401000001-alter "ALTER TABLE lt ADD COLUMN c int;" "ALTER TABLE lt DROP COLUMN c;" &&
    printf "lock_timeout: 100ms\n" >LK/20240401000001-alter/migration.yaml &&
    hold_lock lk lt 60 && test_when_finished "release_lock lk lt" &&
    MIGRATION_LOCK_RETRIES=2 mig lk LK migrate up 2>err; test $? = 4 &&
    grep -q "ERROR:  canceling statement due to lock timeout" err &&
    grep -q "migration .20240401000001-alter. (up) could not get its lock (lock_timeout 100ms): retry 1 of 2 in 0.5 s" err &&
    grep -q "retry 2 of 2 in 1.0 s" err && ! grep -q "retry 3" err &&
    test "$(nmig lk)" = 1
'
test_expect_success 'a retry that gets the lock applies the migration once' '
    release_lock lk lt && hold_lock lk lt 60 &&
    { MIGRATION_LOCK_RETRIES=6 mig lk LK migrate up 2>err & pid=$!; } &&
    wait_line "retry 1 of 6" err $pid && release_lock lk lt && wait $pid &&
    test "$(nmig lk)" = 2 && test "$(q lk "select count(*) from information_schema.columns where table_name = '"'lt'"' and column_name = '"'c'"'")" = 1
'
test_expect_success 'the timeouts are SET LOCAL inside the migration (dbtool.yaml default, migration.yaml wins)' '
    mkmig LK 20240401000002-show "CREATE TABLE seen (k text, v text) INHERITS (hectic.created_at);
INSERT INTO seen (k, v) VALUES ('"'lock'"', current_setting('"'lock_timeout'"')), ('"'stmt'"', current_setting('"'statement_timeout'"'));" "DROP TABLE seen;" &&
    printf "statement_timeout: 1min\n" >LK/20240401000002-show/migration.yaml &&
    printf "migration:\n  lock_timeout: 3s\n  statement_timeout: 10s\n" >dbtool.yaml &&
    DBTOOL_CONFIG=$PWD/dbtool.yaml mig lk LK migrate up 2>err &&
    test "$(q lk "select string_agg(k || '"'='"' || v, '"','"' order by k) from seen")" = "lock=3s,stmt=1min" &&
    DBTOOL_CONFIG=$PWD/dbtool.yaml "$DBTOOL" config | grep -q "^MIGRATION_LOCK_TIMEOUT=3s"
'
test_expect_success 'statement_timeout (environment): a long statement fails, and is not retried' '
    mkmig LK 20240401000003-slow "SELECT pg_sleep(5);" "SELECT 1;" &&
    MIGRATION_STATEMENT_TIMEOUT=200ms mig lk LK migrate up 2>err; test $? = 4 &&
    grep -q "canceling statement due to statement timeout" err && ! grep -q retry err && test "$(nmig lk)" = 3
'
test_expect_code 3 'a timeout that is no duration is refused (exit 3, naming it)' '
    MIGRATION_LOCK_TIMEOUT="5s; DROP TABLE lt" mig lk LK migrate up 2>err
'
test_expect_success '...' 'grep -q "MIGRATION_LOCK_TIMEOUT: expected a duration" err && has lk lt'
test_done
