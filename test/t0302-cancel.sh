#!/bin/sh
# t0302-cancel — SIGINT/SIGTERM cancel the statement running on the server
# (lib/pg.c's cancel registry, called from lib/log.c's signal handler):
# `dbtool sql` and `migrator` stop within seconds instead of when the
# statement ends, exit 128+signal (130 for SIGINT, 143 for SIGTERM) with
# "interrupted", leave no backend running, and
# a cancelled migration is rolled back, not recorded, and its lock released.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int) INHERITS (hectic.created_at)'
pg_cluster pg || exit 1

# bg CMD...: start CMD in the background, stdout in out, stderr in err; pid in $bg
bg() {
    "$@" >out 2>err &
    bg=$!
}
# wait_sleeping: until the server runs our pg_sleep(60) (20 s; CMD must not have exited)
wait_sleeping() {
    _end=$(($(date +%s) + 20))
    until [ "$(psql_c "select count(*) from pg_stat_activity where state = 'active'
                       and query like 'SELECT pg_sleep(60)%' and pid <> pg_backend_pid()")" = 1 ]; do
        if pid_gone "$bg"; then echo "the command exited before its statement ran:"; cat err; return 1; fi
        [ "$(date +%s)" -lt "$_end" ] || { echo "no pg_sleep in pg_stat_activity after 20 s"; return 1; }
        sleep 0.1
    done
}
# wait_exit: until $bg exits (20 s, generous for a loaded machine); its status in $rc
wait_exit() {
    _end=$(($(date +%s) + 20))
    until pid_gone "$bg"; do
        [ "$(date +%s)" -lt "$_end" ] || { echo "still running 20 s after the signal"; return 1; }
        sleep 0.1
    done
    wait "$bg"
    rc=$?
}
# wait_idle: no pg_sleep backend and no advisory lock left (20 s)
wait_idle() {
    _end=$(($(date +%s) + 20))
    until [ "$(psql_c "select (select count(*) from pg_stat_activity where query like 'SELECT pg_sleep(60)%'
                       and pid <> pg_backend_pid()) + (select count(*) from pg_locks where locktype = 'advisory')")" = 0 ]; do
        [ "$(date +%s)" -lt "$_end" ] || { echo "a backend or lock is still there:"; psql_c "select pid, state, query from pg_stat_activity"; return 1; }
        sleep 0.1
    done
}
# interrupt SIG: once the statement runs, send SIG; the command must exit 128+SIG within the deadline
interrupt() {
    case $1 in INT) _want=130 ;; TERM) _want=143 ;; HUP) _want=129 ;; *) _want=?? ;; esac
    wait_sleeping && kill -"$1" "$bg" && wait_exit &&
    { [ "$rc" = "$_want" ] || { echo "expected exit $_want, got $rc"; cat err; return 1; }; }
}
# a body that fails leaves nothing behind
reap='if ! pid_gone "$bg"; then kill -KILL "$bg"; wait "$bg"; fi 2>/dev/null'

test_expect_success 'setup' '
    newdb c >/dev/null
'

# --- dbtool sql --------------------------------------------------------------------

test_expect_success 'sql: SIGINT cancels the running statement and stops the script' '
    test_when_finished "$reap" &&
    bg "$DBTOOL" sql -u "$(dburl c)" -c "SELECT 1; SELECT pg_sleep(60); CREATE TABLE after_cancel (id int)" &&
    interrupt INT &&
    test_grep "^-c:1: error: interrupted: the statement was cancelled$" err &&
    test "$(wc -l <err)" = 1 &&
    test "$(q c "select to_regclass('"'after_cancel'"') is null")" = t &&
    wait_idle
'

test_expect_success 'sql: SIGTERM too, from a file, naming its line' '
    test_when_finished "$reap" &&
    printf "SELECT 1;\n\nSELECT pg_sleep(60);\nSELECT 2;\n" >sleep.sql &&
    bg "$DBTOOL" sql -u "$(dburl c)" -f sleep.sql &&
    interrupt TERM &&
    test_grep "^sleep.sql:3: error: interrupted: the statement was cancelled$" err &&
    test_grep -v "ERROR:" err &&
    wait_idle
'

# --- migrator ----------------------------------------------------------------------

test_expect_success 'migrator setup: one migration, one that sleeps, one after' '
    mkmig M 20240101000000-first "CREATE TABLE first_t $T;" "DROP TABLE first_t;" &&
    mkmig M 20240102000000-sleeps "CREATE TABLE slept $T;
SELECT pg_sleep(60);
CREATE TABLE slept2 $T;" "DROP TABLE slept2; DROP TABLE slept;" &&
    mkmig M 20240103000000-after "CREATE TABLE after_t $T;" "DROP TABLE after_t;"
'

test_expect_success 'migrator: SIGINT cancels the migration; exit 130, says so' '
    test_when_finished "$reap" &&
    bg migrator -u "$(dburl c)" -d M migrate up all &&
    interrupt INT &&
    test_grep "migration .20240102000000-sleeps. (up) was interrupted and rolled back" err &&
    test_grep "interrupted at .20240102000000-sleeps.: 1 earlier step of this run stays committed, 1 not run" err &&
    test_grep "up.sql:2: error: interrupted: the statement was cancelled" err &&
    test_grep -v "ERROR:" err && test_grep -v "failed" err
'

test_expect_success '...it is rolled back and not recorded, the lock is released' '
    test "$(applied c)" = 20240101000000-first &&
    test "$(q c "select to_regclass('"'slept'"') is null and to_regclass('"'after_t'"') is null")" = t &&
    wait_idle
'

test_expect_success '...a second run works once the sleep is gone' '
    sed -i "s/pg_sleep(60)/pg_sleep(0)/" M/20240102000000-sleeps/up.sql &&
    mig c M migrate up all 2>err &&
    test "$(applied c)" = "20240101000000-first 20240102000000-sleeps 20240103000000-after"
'

test_expect_success 'migrator: SIGTERM cancels a migration too; not recorded' '
    test_when_finished "$reap" &&
    mkmig M 20240104000000-term "CREATE TABLE term_t $T; SELECT pg_sleep(60);" "DROP TABLE term_t;" &&
    bg migrator -u "$(dburl c)" -d M migrate up &&
    interrupt TERM &&
    test_grep "migration .20240104000000-term. (up) was interrupted and rolled back" err &&
    test "$(nmig c)" = 3 && test "$(q c "select to_regclass('"'term_t'"') is null")" = t &&
    wait_idle
'

test_expect_success 'migrator: an interrupted no-transaction migration is not recorded either' '
    test_when_finished "$reap" &&
    rm -r M/20240104000000-term &&
    mkmig M 20240105000000-notx "CREATE TABLE notx_t $T;
SELECT pg_sleep(60);" "DROP TABLE notx_t;" &&
    echo "transaction: false" >M/20240105000000-notx/migration.yaml &&
    bg migrator -u "$(dburl c)" -d M migrate up &&
    interrupt INT &&
    test_grep "migration .20240105000000-notx. (up, no transaction) was interrupted at statement 2: the 1 statement before it that succeeded are committed and recorded" err &&
    test_grep "it is NOT recorded as applied; .migrate up. resumes at the failing statement" err &&
    test "$(nmig c)" = 3 && test "$(q c "select to_regclass('"'notx_t'"') is not null")" = t &&
    wait_idle
'

test_done
