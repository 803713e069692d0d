#!/bin/sh
# database migrator: the migrator with this project's MIGRATION_DIR and URL
# (the project cluster when no -u / DB_URL / PGURL is given).
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/migration" "$P/other"
export LOCAL_DIR=$P
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"

test_expect_success 'database migrator --help is the migrator help' '
    "$DBTOOL" database migrator --help >out && grep -q "migrate" out
'
test_expect_success 'set up: an empty project cluster' '"$DBTOOL" database deploy -H -P >out 2>err'
U=$(tail -n 1 out)
export U
test_expect_success 'migrator create uses $DATABASE_DIR/migration' '
    "$DBTOOL" database migrator create --name first >out 2>err &&
    m=$(ls "$P/db/migration") && case "$m" in [0-9]*-first) ;; *) exit 1;; esac &&
    echo "CREATE TABLE m1 (x int) INHERITS (hectic.created_at);" >"$P/db/migration/$m/up.sql" &&
    echo "DROP TABLE m1;" >"$P/db/migration/$m/down.sql"
'
test_expect_success 'migrator migrate up runs on the project cluster without any URL set' '
    "$DBTOOL" database migrator migrate up >out 2>err &&
    test "$("$PSQL" -X -At -d "$U" -c "select count(*) from hectic.migration")" = 1 &&
    test "$("$PSQL" -X -At -d "$U" -c "select to_regclass(\$\$m1\$\$) is not null")" = t
'
test_expect_success 'MIGRATION_DIR is honoured' '
    MIGRATION_DIR=$P/other "$DBTOOL" database migrator list --raw >out 2>err && ! test -s out
'
test_expect_code 3 'database -u with an unsupported URL: the migrator exits 3' '
    "$DBTOOL" database -u sqlite:///x.db migrator status >out 2>err
'
test_expect_success 'database -u URL is passed on' '
    "$DBTOOL" database -u "$U" migrator status >out 2>err && grep -q "1 applied" out
'
test_expect_code 9 'an unknown migrator option exits 9' '"$DBTOOL" database migrator --frob status 2>err'
test_done
