#!/bin/sh
# database normalize-backup: a raw pg_basebackup of a cluster configured like
# a production primary (custom pg_hba.conf, a preload library absent here, a
# standby.signal in the tarball, no role named like the local server user, a
# database owned by an application role) becomes a backup that restore and
# diff start locally; the input is never modified. diff also takes the raw one.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src"
export LOCAL_DIR=$P
# throwaway clusters on disk, where the leftover checks look (t0605: in RAM)
export DBTOOL_SCRATCH_DIR=$P/focus
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
echo "CREATE TABLE t (id int PRIMARY KEY, v text) INHERITS (hectic.created_at);" >"$P/db/src/entrypoint.sql"
: >"$P/test-data.sql"
RAW=$TRASH/raw
NORM=$TRASH/norm
ME=$(if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi)

pg_cluster prod || exit 1
PROD=$TRASH/prod/data
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "host=$POSTGRESQL_HOST port=$POSTGRESQL_PORT user=$1 dbname=$2" -c "$3"; }
sum_input() { (cd "$RAW" && ls -lA --time-style=+%s && sha256sum *) ; }

test_expect_success CLIENT_MATCHES_SERVER 'set up: a production-like primary and its raw backup' '
    q "$ME" postgres "CREATE ROLE prodadmin SUPERUSER LOGIN; CREATE ROLE app LOGIN" &&
    q "$ME" postgres "CREATE DATABASE proddb OWNER app" && q "$ME" postgres "DROP DATABASE testdb" &&
    q app proddb "CREATE TABLE t (id int PRIMARY KEY, v text); INSERT INTO t SELECT g, \$\$v\$\$ || g FROM generate_series(1, 100) g" &&
    q prodadmin postgres "ALTER ROLE \"$ME\" RENAME TO pgboot" &&
    printf "%s\n" "local all prodadmin peer" "local replication prodadmin peer" \
        "hostssl all all 10.0.0.0/8 scram-sha-256" >"$PROD/pg_hba.conf" &&
    printf "%s\n" "shared_preload_libraries = '"'"'pg_stat_statements,dbtool_absent_lib'"'"'" \
        "ssl = on" "ssl_cert_file = '"'"'/etc/prod/server.crt'"'"'" "max_connections = 5000" >>"$PROD/postgresql.conf" &&
    touch "$PROD/standby.signal" &&
    "$PG_BASEBACKUP" -d "host=$POSTGRESQL_HOST port=$POSTGRESQL_PORT user=prodadmin" \
        -D "$RAW" -Ft -z -X stream --checkpoint=fast 2>err &&
    test -s "$RAW/base.tar.gz" && ! test -e "$RAW/database_name" &&
    tar -tzf "$RAW/base.tar.gz" | grep -qx "standby.signal" &&
    sum_input >sum.before
'

test_expect_code 3 'no input backup: exit 3' '"$DBTOOL" database normalize-backup "$TRASH/nope" -o "$NORM" 2>err'
test_expect_code 2 CLIENT_MATCHES_SERVER 'output = input: exit 2' '"$DBTOOL" database normalize-backup "$RAW" -o "$RAW" 2>err'
test_expect_code 2 CLIENT_MATCHES_SERVER 'output inside the input: exit 2' '"$DBTOOL" database normalize-backup "$RAW" -o "$RAW/sub" 2>err'
test_expect_success CLIENT_MATCHES_SERVER '...saying why, input untouched' '
    grep -q "may not be the input" err && sum_input >sum.now && test_cmp sum.before sum.now
'
test_expect_code 9 'an unknown option: exit 9' '"$DBTOOL" database normalize-backup --frob 2>err'
# the rest works on the raw backup: pg_basebackup refuses a newer server
test_prereq_from_here CLIENT_MATCHES_SERVER

test_expect_success 'normalize-backup writes base.tar.gz and database_name' '
    "$DBTOOL" database normalize-backup "$RAW" -o "$NORM" --role appadmin >out 2>err &&
    test -s "$NORM/base.tar.gz" && test "$(cat "$NORM/database_name")" = proddb &&
    grep -q "dropping preload library .dbtool_absent_lib." err &&
    grep -q "removed standby.signal" err && ! test -s out
'
test_expect_success '...the input is not modified' 'sum_input >sum.now && test_cmp sum.before sum.now'
test_expect_success '...no standby/recovery/runtime leftovers, local conf and hba' '
    mkdir x && tar -xzf "$NORM/base.tar.gz" -C x &&
    ! test -e x/standby.signal && ! test -e x/recovery.signal && ! test -e x/postmaster.pid &&
    ! test -e x/postmaster.opts && ! test -e x/backup_label &&
    grep -q "^local  *all  *all  *trust" x/pg_hba.conf && ! grep -q scram x/pg_hba.conf &&
    grep -q "^shared_preload_libraries = .pg_stat_statements.$" x/postgresql.conf &&
    ! grep -q -e dbtool_absent_lib -e ssl -e 5000 x/postgresql.conf
'
test_expect_success '...no temporary cluster left' '
    ! ls -d "$P"/focus/normalize-* 2>/dev/null
'
test_expect_success 'restore starts the normalised backup: data, owner and roles there' '
    "$DBTOOL" database restore "$NORM" >out 2>err &&
    U=$(tail -n 1 out) && case "$U" in */proddb\?*) ;; *) exit 1;; esac &&
    test "$("$PSQL" -X -At -d "$U" -c "select count(*) from t")" = 100 &&
    test "$("$PSQL" -X -At -d "$U" -c "select pg_get_userbyid(datdba) from pg_database where datname = current_database()")" = app &&
    "$PSQL" -X -At -d "$U" -c "select rolname from pg_roles where rolname in (\$\$appadmin\$\$, \$\$pgboot\$\$, \$\$$ME\$\$)" |
        LC_ALL=C sort >roles &&
    printf "%s\n" appadmin pgboot "$ME" | LC_ALL=C sort -u >want-roles && test_cmp want-roles roles
'
test_expect_success 'the default output is the project backup dir' '
    "$DBTOOL" database normalize-backup "$RAW" --database proddb 2>err &&
    test "$(cat "$P/focus/postgresql-backup/database_name")" = proddb
'
test_expect_code 2 'the default input needs another output' '
    "$DBTOOL" database normalize-backup -o "$P/focus/postgresql-backup" 2>err
'
test_expect_success 'several databases and no --database: the error names them' '
    q prodadmin postgres "CREATE DATABASE other" &&
    rm -rf "$TRASH/raw2" && "$PG_BASEBACKUP" -d "host=$POSTGRESQL_HOST port=$POSTGRESQL_PORT user=prodadmin" \
        -D "$TRASH/raw2" -Ft -z -X stream --checkpoint=fast 2>err &&
    { "$DBTOOL" database normalize-backup "$TRASH/raw2" -o "$TRASH/norm2" 2>err; test $? = 3; } &&
    grep -q "other, proddb" err && grep -q -- "--database" err && ! test -e "$TRASH/norm2" &&
    ! ls -d "$P"/focus/normalize-* 2>/dev/null
'
test_expect_success 'database diff takes the raw backup as it is' '
    { "$DBTOOL" database diff "$RAW" >out 2>err; test $? = 1; } &&
    grep -q "^+CREATE SCHEMA hectic;$" out && grep -q "the backup has one database: .proddb." err &&
    ! ls -d "$P"/focus/diff-backup-* 2>/dev/null
'
test_done
