#!/bin/sh
# database backup / restore: a round trip with data, the database name,
# --archive, failure paths, and the old data dir put back when a restore
# cannot start.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src"
export LOCAL_DIR=$P PG_DATABASE=appdb
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
echo "CREATE TABLE item (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);" \
    >"$P/db/src/entrypoint.sql"
echo "INSERT INTO item(name) SELECT 'row ' || g FROM generate_series(1, 1000) g;" >"$P/test-data.sql"
B=$P/focus/postgresql-backup

q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$U" -c "$1"; }

test_expect_code 1 'backup with no cluster running exits 1' '"$DBTOOL" database backup 2>err'
test_expect_success '...saying how to start it' 'grep -q "not running" err && ! test -e "$B"'
test_expect_code 1 'restore with no backup exits 1' '"$DBTOOL" database restore >out 2>err'
test_expect_success '...saying so' 'grep -q "no backup in $B" err'
test_expect_code 9 'restore with two paths exits 9' '"$DBTOOL" database restore a b 2>err'
test_expect_code 9 'backup --frob exits 9' '"$DBTOOL" database backup --frob 2>err'

test_expect_success 'set up: deploy with data' '
    "$DBTOOL" database deploy >out 2>err && U=$(tail -n 1 out) && test "$(q "select count(*) from item")" = 1000
'
U=$(tail -n 1 out)
export U
test_expect_code 127 !CLIENT_MATCHES_SERVER 'backup with pg_basebackup older than the server: exit 127' '
    "$DBTOOL" database backup >out 2>err
'
test_expect_success !CLIENT_MATCHES_SERVER '...before anything is written, naming the program, both majors and the fix' '
    grep -q "pg_basebackup. is PostgreSQL $PG_CLIENT_MAJOR, older than the server (PostgreSQL $PG_SERVER_MAJOR" err &&
    grep -q "PG_CLIENT_BINDIR" err && ! test -e "$B"
'
# restore and normalize-backup on every major, whatever the client: a cold backup
# (the stopped cluster's data dir, tarred) is a base.tar.gz that pg_basebackup did not write
test_expect_success 'a cold backup (the stopped data dir, tarred) restores' '
    "$DBTOOL" postgres-cleanup 2>err && mkdir -p "$TRASH/cold" &&
    tar -czf "$TRASH/cold/base.tar.gz" -C "$P/focus/postgresql/data" . && echo appdb >"$TRASH/cold/database_name" &&
    "$DBTOOL" database init --reuse >/dev/null 2>err && q "delete from item where id > 10" &&
    "$DBTOOL" database restore "$TRASH/cold" >out 2>err && test "$(tail -n 1 out)" = "$U" &&
    test "$(q "select count(*) from item")" = 1000
'
test_expect_success '...normalize-backup takes it, and its output restores too' '
    "$DBTOOL" database normalize-backup -o "$TRASH/coldnorm" "$TRASH/cold" >out 2>err &&
    test -s "$TRASH/coldnorm/base.tar.gz" && test "$(cat "$TRASH/coldnorm/database_name")" = appdb &&
    q "delete from item where id > 10" && "$DBTOOL" database restore "$TRASH/coldnorm" >out 2>err &&
    test "$(q "select count(*) from item")" = 1000 && wait_bg "$P/focus/postgresql"
'
# the rest builds on a backup: pg_basebackup refuses a newer server
test_prereq_from_here CLIENT_MATCHES_SERVER
test_expect_success 'backup writes base.tar.gz, pg_wal.tar.gz and database_name' '
    "$DBTOOL" database backup >out 2>err &&
    test -s "$B/base.tar.gz" && test -s "$B/pg_wal.tar.gz" && test "$(cat "$B/database_name")" = appdb &&
    grep -q "backup: done in" err && ! test -s out
'
test_expect_success '...no progress meter when stderr is not a terminal' '! grep -q "kB (" err'
test_expect_success 'restore brings the data back after changes' '
    q "delete from item where id > 10; create table later (x int) inherits (hectic.created_at)" &&
    oldpid=$(head -n 1 "$P/focus/postgresql/data/postmaster.pid") &&
    "$DBTOOL" database restore >out 2>err &&
    test "$(tail -n 1 out)" = "$U" &&
    test "$(q "select count(*) from item")" = 1000 &&
    test "$(q "select to_regclass(\$\$later\$\$) is null")" = t &&
    newpid=$(head -n 1 "$P/focus/postgresql/data/postmaster.pid") && test "$oldpid" != "$newpid" &&
    pid_gone "$oldpid"
'
test_expect_success '...no progress line when stderr is not a terminal (no carriage return)' '
    ! grep -q "$(printf "\r")" err
'
test_expect_success 'DEFAULT_BACKUP_PATH moves where backup writes and restore reads' '
    DEFAULT_BACKUP_PATH=$TRASH/elsewhere "$DBTOOL" database backup >out 2>err &&
    test -s "$TRASH/elsewhere/base.tar.gz" && grep -q "$TRASH/elsewhere" err &&
    DEFAULT_BACKUP_PATH=$TRASH/elsewhere "$DBTOOL" database restore >out 2>err &&
    grep -q "$TRASH/elsewhere/base.tar.gz" err && test "$(q "select count(*) from item")" = 1000 &&
    printf "paths:\n  backup: alt-backup\n" >"$P/dbtool.yaml" && test_when_finished "rm -f \"$P/dbtool.yaml\"" &&
    test "$("$DBTOOL" config DEFAULT_BACKUP_PATH)" = "$P/alt-backup"
'
test_expect_success '...no recovery signal files, no old data dir left, owned by the server user' '
    ! test -e "$P/focus/postgresql/data/recovery.signal" &&
    ! test -e "$P/focus/postgresql/data/standby.signal" &&
    wait_bg "$P/focus/postgresql" && test -z "$(ls -a "$P/focus/postgresql" | grep -e old-data -e failed-restore)" &&
    test "$(stat -c %U "$P/focus/postgresql/data/base")" = "$(stat -c %U "$P/focus/postgresql/data")" &&
    if [ "$(id -u)" = 0 ]; then test "$(stat -c %U "$P/focus/postgresql/data/PG_VERSION")" = postgres; fi
'
test_expect_success '...the restored cluster accepts writes' '
    q "insert into item(name) values (\$\$after\$\$)" && test "$(q "select count(*) from item")" = 1001
'
test_expect_success 'a second backup replaces the first one atomically' '
    "$DBTOOL" database backup >/dev/null 2>err &&
    test "$(ls -a "$P/focus" | grep -c postgresql-backup)" = 1 &&
    "$DBTOOL" database restore >/dev/null 2>err && test "$(q "select count(*) from item")" = 1001
'
test_expect_success 'restore takes the database name from database_name' '
    echo otherdb >"$B/database_name" &&
    q "create database otherdb" && "$DBTOOL" database backup "$TRASH/bk2" 2>err &&
    echo otherdb >"$TRASH/bk2/database_name" &&
    "$DBTOOL" database restore "$TRASH/bk2" >out 2>err &&
    case "$(tail -n 1 out)" in postgresql://*/otherdb\?*) ;; *) exit 1;; esac &&
    echo appdb >"$B/database_name"
'
test_expect_success 'restore --archive FILE restores from a base archive elsewhere' '
    mkdir -p "$TRASH/copied" && cp "$B/base.tar.gz" "$B/pg_wal.tar.gz" "$B/database_name" "$TRASH/copied/" &&
    q "truncate item" &&
    "$DBTOOL" database restore --archive "$TRASH/copied/base.tar.gz" >out 2>err &&
    test "$(q "select count(*) from item")" = 1001
'
test_expect_code 1 'restore --archive of a missing file exits 1' '
    "$DBTOOL" database restore --archive "$TRASH/nope.tar.gz" >out 2>err
'
test_expect_success '...naming it' 'grep -q "nope.tar.gz" err'
test_expect_code 1 'restore of an archive that is not a base backup exits 1' '
    mkdir -p "$TRASH/junk" && echo hi >"$TRASH/junk/hello" && tar -czf "$TRASH/junk.tar.gz" -C "$TRASH/junk" hello &&
    "$DBTOOL" database restore --archive "$TRASH/junk.tar.gz" >out 2>err
'
test_expect_success '...and the running cluster is untouched' '
    grep -q "not a PostgreSQL base backup" err && test "$(q "select count(*) from item")" = 1001 &&
    wait_bg "$P/focus/postgresql" && test -z "$(ls -a "$P/focus/postgresql" | grep -e old-data -e failed-restore)"
'
test_expect_success 'a restored data dir that cannot start: the old one is put back and started' '
    mkdir -p "$TRASH/broken" && tar -xzf "$B/base.tar.gz" -C "$TRASH/broken" &&
    rm -rf "$TRASH/broken/global" && tar -czf "$TRASH/broken.tar.gz" -C "$TRASH/broken" . &&
    ! "$DBTOOL" database restore --archive "$TRASH/broken.tar.gz" >out 2>err &&
    grep -q "previous cluster is back" err && test "$(q "select count(*) from item")" = 1001
'
test_done
