#!/bin/sh
# Schema as code (issue 17): a pending migration that cannot run in a
# transaction (migration.yaml transaction: false) splits apply in three:
# the drops commit first, the migration runs as the migrator runs it, the
# creates follow. When the migration fails, the dropped objects are not
# lost: the next apply creates them again.
. "${0%/*}/lib-pg.sh"
test_have_prereq PG14 || skip_all "its fixture has SQL-standard function bodies (BEGIN ATOMIC): $test_missing_reason"

pg_cluster pg || exit 1
dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl "$1")" -c "$2"; }
q postgres "CREATE DATABASE s"

P=$TRASH/shop
cp -R "$SRC_DIR/test/fixtures/code-shop" "$P"
export LOCAL_DIR=$P
U=$(dburl s)
export U P
db() { "$DBTOOL" database -u "$U" "$@"; }
M=$P/db/migration

test_expect_success 'set up: the shop applied' 'db apply 2>err'
test_expect_success 'set up: a no-transaction migration changing the column under the views' '
    mkdir "$M/20240105000000-concurrently" &&
    printf "transaction: false\n" >"$M/20240105000000-concurrently/migration.yaml" &&
    printf "%s\n" "CREATE INDEX CONCURRENTLY orders_customer ON public.orders (customer);" \
        "ALTER TABLE public.orders ALTER COLUMN amount TYPE bigint;" >"$M/20240105000000-concurrently/up.sql" &&
    echo "DROP INDEX public.orders_customer;" >"$M/20240105000000-concurrently/down.sql"
'
test_expect_code 1 'plan says it cannot be one transaction' 'db plan >out 2>err'
test_expect_success '...and why' '
    test_grep "Not in one transaction: migration 20240105000000-concurrently is declared .transaction: false." out &&
    ! grep -q "^BEGIN;$" out &&
    db plan --format json | grep -q "\"one_transaction\":false"
'
test_expect_success 'apply: drops, the migration outside a transaction, creates' '
    db apply >out 2>err &&
    test "$(q s "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = '"'public.order_lines'"'::regclass and attname = '"'amount'"'")" = bigint &&
    test "$(q s "select count(*) from pg_index where indexrelid = '"'public.orders_customer'"'::regclass and indisvalid")" = 1 &&
    test "$(q s "select total from public.top_customers")" = 120 &&
    test_grep "migration 20240105000000-concurrently applied" err
'
test_expect_code 0 '...then nothing to do' 'db plan >out 2>err'

test_expect_success 'set up: one that fails after the drops committed' '
    mkdir "$M/20240106000000-fails" &&
    printf "transaction: false\n" >"$M/20240106000000-fails/migration.yaml" &&
    printf "%s\n" "ALTER TABLE public.orders ALTER COLUMN amount TYPE numeric;" "SELECT 1/0;" >"$M/20240106000000-fails/up.sql" &&
    echo "SELECT 1;" >"$M/20240106000000-fails/down.sql"
'
test_expect_code 4 'apply: the migration fails (exit 4)' 'db apply >out 2>err'
test_expect_success '...saying the dropped objects stay dropped until the next apply' '
    test_grep "division by zero" err &&
    test_grep "dropped before the migrations stay dropped" err &&
    test "$(q s "select to_regclass('"'public.order_lines'"') is null")" = t
'
test_expect_success 'fixed: the next apply creates them again' '
    echo "ALTER TABLE public.orders ALTER COLUMN amount TYPE numeric;" >"$M/20240106000000-fails/up.sql" &&
    db apply >out 2>err &&
    test "$(q s "select total from public.top_customers")" = 120 &&
    test "$(q s "select count(*) from hectic.code_object")" = 5
'
test_expect_code 0 '...and then nothing to do' 'db plan >out 2>err'
test_done
