#!/bin/sh
# The command line a newcomer expects: help X and X --help everywhere,
# --version on every applet, "did you mean", project discovery like git,
# a mistyped LOCAL_DIR refused, pull_staging's contract before the project,
# stdout is data (url=$(database deploy)), -q.
. "${0%/*}/lib-pg.sh"

test_expect_success 'every applet answers --version' '
    for a in $("$DBTOOL" --list); do
        test "$a" = migrator && continue # its own drop-in version line
        "$DBTOOL" $a --version >out 2>err && grep -q "^$a (dbtool) [0-9]" out && ! test -s err ||
            { echo "$a --version:"; cat out err; exit 1; }
    done &&
    migrator --version >out && grep -q "[0-9]" out && database --version | grep -q "^database (dbtool) "
'
test_expect_success 'help X is X --help, at every level' '
    "$DBTOOL" help database >a && database --help >b && test_cmp a b &&
    database help deploy >a && database deploy --help >b && test_cmp a b && grep -q "^usage: database deploy" a &&
    "$DBTOOL" bundle help upgrade >a && "$DBTOOL" bundle upgrade --help >b && test_cmp a b &&
    database help >a && grep -q "^subcommands:" a
'
test_expect_code 9 'a mistyped subcommand exits 9...' 'database deplyo 2>err'
test_expect_success '...and says what was meant' '
    grep -q "unknown subcommand .deplyo. (did you mean .deploy.?" err
'
test_expect_success 'did you mean: applets, options, bundle subcommands; nothing for nonsense' '
    ! "$DBTOOL" databse 2>err && grep -q "did you mean .database.?" err &&
    ! database deploy --no-pacth 2>err && grep -q "did you mean .--no-patch.?" err &&
    ! "$DBTOOL" bundle upgarde 2>err && grep -q "did you mean .upgrade.?" err &&
    ! database xyzzy 2>err && ! grep -q "did you mean" err
'
test_expect_success 'install names come from the applet table (no bare bundle)' '
    "$DBTOOL" --list-links >links && ! grep -qx bundle links &&
    for n in database migrator postgres-init postgres-cleanup; do grep -qx $n links || exit 1; done
'

# ---- project discovery ----
mkdir -p proj/db/src/deep other
echo "environment: discovered" >proj/dbtool.yaml
test_expect_success 'LOCAL_DIR unset: the nearest dbtool.yaml upwards is the project' '
    (cd proj/db/src/deep && env -u LOCAL_DIR "$DBTOOL" config LOCAL_DIR >"$TRASH/out" &&
        env -u LOCAL_DIR "$DBTOOL" config ENVIRONMENT >"$TRASH/env") &&
    test "$(cat out)" = "$TRASH/proj" && test "$(cat env)" = discovered
'
test_expect_success '...else the current directory, as the shell tools did' '
    (cd other && env -u LOCAL_DIR "$DBTOOL" config LOCAL_DIR) >out && test "$(cat out)" = "$TRASH/other"
'
test_expect_success 'LOCAL_DIR set while inside another project: a warning, LOCAL_DIR wins' '
    (cd proj/db && LOCAL_DIR=$TRASH/other "$DBTOOL" config LOCAL_DIR) >out 2>err &&
    test "$(cat out)" = "$TRASH/other" &&
    grep -q "warning: LOCAL_DIR is $TRASH/other, but the current directory is inside the project $TRASH/proj" err
'
test_expect_success '...and no warning inside LOCAL_DIR itself' '
    (cd proj/db && LOCAL_DIR=$TRASH/proj "$DBTOOL" config LOCAL_DIR) >out 2>err && ! test -s err
'
test_expect_code 3 'a mistyped LOCAL_DIR is refused (exit 3)...' '
    LOCAL_DIR=$TRASH/prjo database deploy >out 2>err
'
test_expect_success '...naming it, and nothing is created' '
    grep -q "LOCAL_DIR .$TRASH/prjo. does not exist" err && ! test -e "$TRASH/prjo"
'
test_at_exit "PG_WORKING_DIR=$TRASH/prjo/focus/postgresql '$DBTOOL' postgres-cleanup"
test_expect_code 3 'postgres-init refuses it too' '
    LOCAL_DIR=$TRASH/prjo postgres-init >out 2>err
'
test_expect_success '...and creates nothing' '! test -e "$TRASH/prjo" && grep -q "does not exist" err'
test_expect_success 'pull_staging checks its own contract before the project' '
    unset STAGING_SSH_HOST STAGING_DB_URL STAGING_DUMP_TABLES STAGING_DUMP_FLAGS
    LOCAL_DIR=$TRASH/prjo database pull_staging >out 2>err; test $? = 3 &&
    head -n 1 err | grep -q "STAGING_SSH_HOST is not set" && ! grep -q LOCAL_DIR err &&
    STAGING_SSH_HOST=h STAGING_DB_URL=u STAGING_DUMP_TABLES=t STAGING_DUMP_FLAGS=-a \
        LOCAL_DIR=$TRASH/prjo database pull_staging >out 2>err; test $? = 3 && grep -q "LOCAL_DIR" err
'

# ---- stdout is data ----
database new app >new.out 2>new.err
test_at_exit "cd '$TRASH/app' && '$DBTOOL' database cleanup"
test_expect_success 'database new says what it wrote (stderr), nothing on stdout' '
    ! test -s new.out && grep -q "wrote  dbtool.yaml" new.err && grep -q "wrote  db/src/entrypoint.sql" new.err &&
    grep -q "next: cd app && database deploy" new.err
'
test_expect_success 'url=$(database deploy) captures the URL alone' '
    cd app && url=$(database deploy 2>"$TRASH/deploy.err") &&
    test "$(printf "%s\n" "$url" | wc -l)" = 1 && case "$url" in postgresql://*) ;; *) exit 1;; esac &&
    grep -q "CREATE TABLE" "$TRASH/deploy.err" && grep -q "INSERT 0 2" "$TRASH/deploy.err" &&
    test "$("$PSQL" -X -At -d "$url" -c "select count(*) from app.customer")" = 2
'
test_expect_success 'database -q: only the URL, nothing on stderr' '
    cd app && url=$(database -q deploy 2>"$TRASH/q.err") && ! test -s "$TRASH/q.err" &&
    case "$url" in postgresql://*) ;; *) exit 1;; esac
'
test_expect_success 'database -q test: the test output (\echo) stays, the tags and timings go' '
    cd app && database -q test >out 2>err && grep -qx "tests passed" out && ! grep -q "^DO" out && ! test -s err
'
test_done
