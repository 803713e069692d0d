#!/bin/sh
# migrator import --from dbmate|golang-migrate|goose|flyway|sqitch (issue 16):
# three real-size layouts written for this test (test/fixtures/migrations-*:
# 23 migrations of one shop schema each, with their down files) are imported,
# then applied up, down and up again on PostgreSQL; order, 14-digit names
# without collisions, no-transaction markers, per-dialect files, BEGIN/COMMIT
# wrappers; what cannot be mapped is listed (exit 1); nothing is written over
# existing names (exit 2).
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

FX=$SRC_DIR/test/fixtures
pg_cluster pg || exit 1
# imported schemas know nothing of hectic.created_at: exempt their schemas
imdb() { newdb "$1" >/dev/null && q "$1" "ALTER DATABASE $1 SET hectic.inheritance_extra_excluded_schemas = 'public,reporting'"; }
roundtrip() { # DB DIR: up all, down all, up all, each complete
    mig "$1" "$2" migrate up all 2>err && test "$(nmig "$1")" = 23 &&
    mig "$1" "$2" migrate down all 2>err && test "$(nmig "$1")" = 0 &&
    test "$(q "$1" "select count(*) from pg_tables where schemaname = 'public'")" = 0 &&
    mig "$1" "$2" migrate up all 2>err && test "$(nmig "$1")" = 23 &&
    test "$(q "$1" "select string_agg(sku || '=' || price_cents, ',' order by sku) from products")" = "CUP-1=900,TEA-1=450,TEA-2=520" &&
    test "$(q "$1" "select count(*) from coupons")" = 1 &&
    test "$(q "$1" "select indisvalid from pg_index where indexrelid = 'orders_placed'::regclass")" = t
}

# --- dbmate ----------------------------------------------------------------------------------

test_expect_success 'dbmate: 23 migrations imported in order, 14-digit versions kept' '
    test "$(ls $FX/migrations-dbmate | wc -l)" -ge 20 &&
    migrator -d DBM import --from dbmate $FX/migrations-dbmate >out 2>err &&
    test "$(wc -l <out)" = 23 && test "$(ls DBM | wc -l)" = 23 &&
    grep -qx "20230101090000_create_users.sql -> 20230101090000-create_users" out &&
    ls $FX/migrations-dbmate | sed "s/_/-/; s/\\.sql$//" >want && ls DBM >got && test_cmp want got
'
test_expect_success '...sections split into up.sql and down.sql, transaction:false kept, a BEGIN/COMMIT dropped' '
    grep -q "^CREATE TABLE users" DBM/20230101090000-create_users/up.sql &&
    grep -q "^DROP TABLE users;" DBM/20230101090000-create_users/down.sql && ! grep -q "migrate:" DBM/*/up.sql &&
    grep -qx "transaction: false" DBM/20230102143100-orders_placed_index/migration.yaml &&
    test "$(ls DBM/*/migration.yaml | wc -l)" = 1 &&
    ! grep -qx "BEGIN;" DBM/20230103132000-wrapped_in_transaction/up.sql &&
    grep -q "wrapped_in_transaction: the BEGIN/COMMIT around it was dropped" err &&
    migrator -d DBM list >l && ! grep -q missing l
'
test_expect_success '...and they run: up all, down all, up all' 'imdb dbm && roundtrip dbm DBM'

# --- golang-migrate (ory/x style) --------------------------------------------------------------

test_expect_success 'golang-migrate: 20-digit versions cut to 14, the postgres dialect taken, the rest left out' '
    migrator -d GM import --from golang-migrate $FX/migrations-golang-migrate >out 2>err &&
    test "$(wc -l <out)" = 23 && test "$(ls GM | wc -l)" = 23 &&
    grep -qx "20230201120107000001_create_products.postgres.up.sql -> 20230201120107-create_products" out &&
    ! grep -q mysql GM/*/up.sql GM/*/down.sql &&
    grep -q "create_products: the postgres file was taken; the mysql, sqlite3 ones were left out" err
'
test_expect_success '...two versions in the same second: the later one a second later, order kept' '
    grep -qx "20230201121913999999_wrapped_in_transaction.up.sql -> 20230201121914-wrapped_in_transaction" out &&
    test "$(ls GM | sed -n 20p)" = 20230201121913-comments && test "$(ls GM | sed -n 21p)" = 20230201121914-wrapped_in_transaction
'
test_expect_success '...an .autocommit. migration becomes transaction: false' '
    grep -qx "transaction: false" GM/20230201121331-orders_placed_index/migration.yaml
'
test_expect_success '...and they run: up all, down all, up all' 'imdb gm && roundtrip gm GM'

# --- Flyway --------------------------------------------------------------------------------------

test_expect_success 'Flyway: versions 1, 2, 3, 3.3, 3.4, 4 ... in numeric order, U files as down' '
    migrator -d FW import --from flyway $FX/migrations-flyway >out 2>err &&
    test "$(wc -l <out)" = 23 &&
    sed -n 1,6p out | cut -d" " -f1 >order &&
    printf "%s\n" V1__create_users.sql V2__create_products.sql V3__create_orders.sql V3_3__create_order_items.sql \
        V3.4__index_orders_user.sql V4__add_users_email.sql >want && test_cmp want order &&
    grep -qx "V3_3__create_order_items.sql -> 19700101000004-create_order_items" out &&
    grep -q "^CREATE TABLE order_items" FW/19700101000004-create_order_items/up.sql &&
    grep -q "^DROP TABLE order_items" FW/19700101000004-create_order_items/down.sql &&
    grep -qx "transaction: false" FW/*-orders_placed_index/migration.yaml
'
test_expect_success '...and they run: up all, down all, up all' 'imdb fw && roundtrip fw FW'

# --- the rest ----------------------------------------------------------------------------------------

test_expect_code 2 'importing over existing names writes nothing (exit 2)' '
    migrator -d DBM import --from dbmate $FX/migrations-dbmate >out 2>err
'
test_expect_success '...saying which' 'grep -q "20230101090000-create_users. exists already: nothing was imported" err && test "$(ls DBM | wc -l)" = 23'
test_expect_success '--dry-run says what it would do and writes nothing' '
    migrator -d DRY import --dry-run --from flyway $FX/migrations-flyway >out 2>err &&
    test "$(wc -l <out)" = 23 && test ! -e DRY && grep -q "would import 23 flyway migrations" err
'
test_expect_code 1 'what cannot be mapped is listed and the exit status is 1; the rest is written' '
    mkdir -p FX2 && cp $FX/migrations-flyway/V1__create_users.sql FX2/ &&
    echo "CREATE OR REPLACE VIEW v AS SELECT 1;" >FX2/R__views.sql && echo "SELECT 1;" >FX2/beforeMigrate.sql &&
    migrator -d OUT2 import --from flyway FX2 >out 2>err
'
test_expect_success '...each with the reason' '
    grep -q "not imported: R__views.sql: a repeatable migration" err &&
    grep -q "not imported: beforeMigrate.sql: not a Flyway migration name" err && test "$(ls OUT2)" = 19700101000001-create_users
'
test_expect_success 'goose: Up/Down sections, StatementBegin/End dropped, NO TRANSACTION, Go files listed' '
    mkdir G && cat >G/00001_users.sql <<-\EOF &&
	-- +goose Up
	CREATE TABLE gusers (id int);
	-- +goose StatementBegin
	CREATE FUNCTION gone() RETURNS int LANGUAGE plpgsql AS $$ BEGIN RETURN 1; END; $$;
	-- +goose StatementEnd
	-- +goose Down
	DROP FUNCTION gone();
	DROP TABLE gusers;
	EOF
    printf -- "-- +goose NO TRANSACTION\n-- +goose Up\nCREATE INDEX CONCURRENTLY gi ON gusers (id);\n-- +goose Down\nDROP INDEX CONCURRENTLY gi;\n" >G/00002_index.sql &&
    echo "package migrations" >G/00003_code.go &&
    migrator -d GO import --from goose G >out 2>err; test $? = 1 &&
    grep -qx "00001_users.sql -> 19700101000001-users" out && grep -qx "00002_index.sql -> 19700101000002-index (transaction: false)" out &&
    grep -q "00003_code.go: a Go migration" err && ! grep -q "+goose" GO/*/up.sql &&
    imdb gs && mig gs GO migrate up all 2>err && mig gs GO migrate down all 2>err && test "$(nmig gs)" = 0
'
test_expect_success 'sqitch: plan order, timestamps as names, a reworked change and its @tag scripts, BEGIN/COMMIT dropped' '
    mkdir -p S/deploy S/revert S/verify && cat >S/sqitch.plan <<-\EOF &&
	%syntax-version=1.0.0
	%project=shop

	appschema 2013-12-30T23:19:18Z Marge N <marge@example.com> # Add schema.
	users [appschema] 2013-12-30T23:49:00Z Marge N <marge@example.com> # Users.
	@v1.0 2013-12-31T18:26:59Z Marge N <marge@example.com> # Tag v1.0.
	users [users@v1.0] 2014-01-05T10:00:00Z Marge N <marge@example.com> # Users get an email.
	EOF
    printf "BEGIN;\nCREATE SCHEMA shop;\nCOMMIT;\n" >S/deploy/appschema.sql && printf "BEGIN;\nDROP SCHEMA shop;\nCOMMIT;\n" >S/revert/appschema.sql &&
    printf "BEGIN;\nCREATE TABLE shop.users (id int);\nCOMMIT;\n" >S/deploy/users@v1.0.sql &&
    printf "BEGIN;\nDROP TABLE shop.users;\nCOMMIT;\n" >S/revert/users@v1.0.sql &&
    printf "BEGIN;\nALTER TABLE shop.users ADD COLUMN email text;\nCOMMIT;\n" >S/deploy/users.sql &&
    printf "BEGIN;\nALTER TABLE shop.users DROP COLUMN email;\nCOMMIT;\n" >S/revert/users.sql &&
    echo "SELECT 1;" >S/verify/users.sql &&
    migrator -d SQ import --from sqitch S >out 2>err &&
    printf "%s\n" "sqitch.plan:4 appschema -> 20131230231918-appschema" "sqitch.plan:5 users@v1.0 -> 20131230234900-users" \
        "sqitch.plan:7 users -> 20140105100000-users" >want && test_cmp want out &&
    grep -q "verify scripts have no counterpart" err &&
    newdb sq >/dev/null && q sq "ALTER DATABASE sq SET hectic.inheritance_extra_excluded_schemas = 'shop'" &&
    mig sq SQ migrate up all 2>err && test "$(q sq "select count(*) from information_schema.columns where table_schema = '"'shop'"' and column_name = '"'email'"'")" = 1 &&
    mig sq SQ migrate down all 2>err && test "$(nmig sq)" = 0
'
test_expect_code 9 'an unknown tool exits 9' 'migrator -d X import --from liquibase S 2>err'
test_done
