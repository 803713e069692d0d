#!/bin/sh
# postgres-init: fresh cluster, exports, URL, settings, ownership, PG_CONF_FILE,
# logging, preload libraries.
. "${0%/*}/lib-pg.sh"

me=$(id -un)
[ "$(id -u)" = 0 ] && me=${PG_OS_USER:-postgres}

test_expect_success 'fresh init prints export lines' '
    PG_WORKING_DIR=$TRASH/a "$DBTOOL" postgres-init --env >env 2>err &&
    test_at_exit "PG_WORKING_DIR=$TRASH/a \"$DBTOOL\" postgres-cleanup" &&
    grep -q "^export POSTGRESQL_HOST=" env && grep -q "^export POSTGRESQL_PORT=.5432.$" env &&
    grep -q "^export POSTGRESQL_USER=.$me.$" env && grep -q "^export POSTGRESQL_DATABASE=.testdb.$" env &&
    grep -q "^export PGURL=" env
'
test_expect_success 'PGURL has the documented shape and works with psql' '
    . ./env &&
    test "$PGURL" = "postgresql://$me@/testdb?host=$TRASH/a/sock&port=5432" &&
    test "$($PSQL -X -At -d "$PGURL" -c "select current_database()||current_user")" = "testdb$me"
'
test_expect_success 'no TCP: listen_addresses is empty' '
    . ./env && test "$(psql_c "show listen_addresses")" = ""
'
test_expect_success 'data dir and socket dir are 0700 and owned by the server user' '
    test "$(stat -c %a:%U "$TRASH/a/data")" = "700:$me" &&
    test "$(stat -c %a:%U "$TRASH/a/sock")" = "700:$me"
'
test_expect_success 'pg_hba.conf starts with local all all trust' '
    head -n 5 "$TRASH/a/data/pg_hba.conf" | grep -v "^#" | head -n 1 | grep -q "^local *all *all *trust"
'
test_expect_success 'logging collector writes to data/log by default' '
    . ./env && test "$(psql_c "show logging_collector")" = on && ls "$TRASH/a/data/log" | grep -q .
'
test_expect_success 'fsync stays on unless PG_FSYNC=0 (data safety by default)' '
    PG_FSYNC= PG_WORKING_DIR=$TRASH/f "$DBTOOL" postgres-init --env >envf &&
    test_at_exit "PG_WORKING_DIR=$TRASH/f \"$DBTOOL\" postgres-cleanup" &&
    . ./envf && test "$(psql_c "show fsync")" = on &&
    PG_WORKING_DIR=$TRASH/f "$DBTOOL" postgres-cleanup
'
test_expect_success 'PG_DATABASE, PG_PORT and PG_URL_VAR are honoured' '
    PG_DATABASE=other PG_PORT=5499 PG_URL_VAR=MY_URL PG_WORKING_DIR=$TRASH/b \
        "$DBTOOL" postgres-init --env >envb &&
    test_at_exit "PG_WORKING_DIR=$TRASH/b PG_PORT=5499 \"$DBTOOL\" postgres-cleanup" &&
    . ./envb && test "$MY_URL" = "$PGURL" && test "$POSTGRESQL_PORT" = 5499 &&
    test "$(psql_c "select current_database()")" = other &&
    PG_WORKING_DIR=$TRASH/b "$DBTOOL" postgres-cleanup
'
test_expect_success 'without --env it prints just the URL' '
    PG_WORKING_DIR=$TRASH/a "$DBTOOL" postgres-init >url 2>/dev/null &&
    test "$(wc -l <url)" = 1 && grep -q "^postgresql://$me@/testdb?host=" url
'
test_expect_success 'a fresh init wipes the previous cluster' '
    . ./env && psql_c "create table gone(x int)" &&
    PG_WORKING_DIR=$TRASH/a "$DBTOOL" postgres-init >/dev/null 2>&1 &&
    test "$(psql_c "select count(*) from pg_tables where tablename = '"'gone'"'")" = 0
'
test_expect_success 'LOCAL_DIR alone gives $LOCAL_DIR/focus/postgresql' '
    mkdir -p proj && LOCAL_DIR=$TRASH/proj "$DBTOOL" postgres-init --env >envp 2>/dev/null &&
    test_at_exit "LOCAL_DIR=$TRASH/proj \"$DBTOOL\" postgres-cleanup" &&
    grep -q "host=$TRASH/proj/focus/postgresql/sock" envp &&
    LOCAL_DIR=$TRASH/proj "$DBTOOL" postgres-cleanup
'
test_expect_success 'PG_CONF_FILE replaces the generated config; port and socket still forced' '
    printf "work_mem = 7MB\nport = 1234\nunix_socket_directories = '"'/nonexistent'"'\n" >my.conf &&
    PG_CONF_FILE=$TRASH/my.conf PG_SHARED_PRELOAD_LIBRARIES=no_such_lib PG_WORKING_DIR=$TRASH/c \
        "$DBTOOL" postgres-init --env >envc &&
    test_at_exit "PG_WORKING_DIR=$TRASH/c \"$DBTOOL\" postgres-cleanup" &&
    . ./envc && test "$(psql_c "show work_mem")" = 7MB && test "$(psql_c "show port")" = 5432 &&
    grep -q "work_mem = 7MB" "$TRASH/c/data/postgresql.conf" &&
    PG_WORKING_DIR=$TRASH/c "$DBTOOL" postgres-cleanup
'
test_expect_code 1 'PG_CONF_FILE unreadable fails' '
    PG_CONF_FILE=$TRASH/missing.conf PG_WORKING_DIR=$TRASH/d "$DBTOOL" postgres-init 2>err
'
test_expect_success '...naming the file' '
    grep -q "PG_CONF_FILE not readable: $TRASH/missing.conf" err
'
test_expect_success 'PG_DISABLE_LOGGING=1 turns the collector off' '
    PG_DISABLE_LOGGING=1 PG_WORKING_DIR=$TRASH/e "$DBTOOL" postgres-init --env >enve &&
    test_at_exit "PG_WORKING_DIR=$TRASH/e \"$DBTOOL\" postgres-cleanup" &&
    . ./enve && test "$(psql_c "show logging_collector")" = off &&
    PG_WORKING_DIR=$TRASH/e "$DBTOOL" postgres-cleanup
'
test_expect_success PG_CRON 'pg_cron preloaded by default with cron.database_name and cron.host' '
    unset PG_SHARED_PRELOAD_LIBRARIES &&
    PG_DATABASE=crondb PG_WORKING_DIR=$TRASH/g "$DBTOOL" postgres-init --env >envg &&
    test_at_exit "PG_WORKING_DIR=$TRASH/g \"$DBTOOL\" postgres-cleanup" &&
    . ./envg && test "$(psql_c "show shared_preload_libraries")" = pg_cron &&
    test "$(psql_c "show cron.database_name")" = crondb &&
    test "$(psql_c "show cron.host")" = "$POSTGRESQL_HOST" &&
    psql_c "create extension pg_cron" && psql_c "select cron.schedule('"'*/5 * * * *'"', '"'select 1'"')" &&
    PG_WORKING_DIR=$TRASH/g "$DBTOOL" postgres-cleanup
'
# the default preload (pg_cron) on a server without it: the preflight names it,
# even when another installation (the pg_config on PATH) has one
test_expect_code 1 !PG_CRON 'pg_cron missing from the server: postgres-init refuses before starting' '
    unset PG_SHARED_PRELOAD_LIBRARIES && PG_WORKING_DIR=$TRASH/g2 "$DBTOOL" postgres-init 2>err
'
test_expect_success !PG_CRON '...naming the library, the server and how to turn it off' '
    grep -q "shared preload library .pg_cron. is not installed for the server in $PG_BINDIR" err &&
    grep -q "PG_SHARED_PRELOAD_LIBRARIES=" err && ! test -e "$TRASH/g2/data"
'
test_expect_code 1 'a preload library that is not installed fails' '
    PG_SHARED_PRELOAD_LIBRARIES=pg_nonexistent_xyz PG_WORKING_DIR=$TRASH/h "$DBTOOL" postgres-init 2>err
'
test_expect_success '...saying which and how to turn it off' '
    grep -q "pg_nonexistent_xyz" err && grep -q "PG_SHARED_PRELOAD_LIBRARIES=" err &&
    ! test -e "$TRASH/h/data"
'
test_expect_success 'the server log and startup output never reach the terminal' '
    PG_WORKING_DIR=$TRASH/a "$DBTOOL" postgres-init >out 2>err &&
    ! grep -qi "database system is ready" err && grep -q . "$TRASH/a/postgres.log"
'
test_expect_success 'PG_LOG_PATH moves the server logs' '
    PG_LOG_PATH=$TRASH/logs PG_WORKING_DIR=$TRASH/i "$DBTOOL" postgres-init --env >envi &&
    test_at_exit "PG_WORKING_DIR=$TRASH/i \"$DBTOOL\" postgres-cleanup" &&
    ls "$TRASH/logs" | grep -q "postgresql-" && PG_WORKING_DIR=$TRASH/i "$DBTOOL" postgres-cleanup
'
test_done
