#!/bin/sh
# Schema as code (issue 17): database plan / apply with a code directory. A
# migration changes the type of a column three views and a function depend
# on: the plain migrator fails, apply drops them, migrates, re-creates them,
# in one transaction. Unchanged objects are left alone, moved ones only
# recorded, removed ones dropped; a failing object rolls everything back;
# NOTIFY reaches a listening session; migrator migrate does the same dance.
. "${0%/*}/lib-pg.sh"
test_have_prereq PG14 || skip_all "its fixture has SQL-standard function bodies (BEGIN ATOMIC): $test_missing_reason"

pg_cluster pg || exit 1
dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl "$1")" -c "$2"; }
newdb() { PGOPTIONS="-c client_min_messages=warning" q postgres "DROP DATABASE IF EXISTS $1" && q postgres "CREATE DATABASE $1"; }

P=$TRASH/shop
cp -R "$SRC_DIR/test/fixtures/code-shop" "$P"
export LOCAL_DIR=$P
newdb shop
U=$(dburl shop)
export U
db() { "$DBTOOL" database -u "$U" "$@"; }
state() { q shop "select identity || ' ' || file || ':' || line from hectic.code_object order by identity"; }
oids() { q shop "select string_agg(c.relname || '=' || c.oid, ' ' order by c.relname) from pg_class c where c.relkind = 'v' and c.relnamespace = 'public'::regnamespace"; }

test_expect_code 1 'plan on a fresh database: something to do (exit 1)' '
    db plan >plan 2>err
'
test_expect_success '...the migration and the five objects, in dependency order' '
    test_grep "up   20240101000000-orders" plan &&
    test_grep "5 new, 0 changed, 0 moved, 0 removed, 0 re-created, 0 unchanged" plan &&
    grep "^-- [0-9]*\. " plan | sed "s/ (.*//" >steps &&
    cat >want <<-\EOF &&
	-- 1. migration 20240101000000-orders
	-- 2. create function public.big_order()
	-- 3. create view public.order_lines
	-- 4. create view public.customer_totals
	-- 5. create function public.customer_total(text)
	-- 6. create view public.top_customers
	-- 7. record them in hectic.code_object
	EOF
    test_cmp want steps
'
test_expect_success 'plan changed nothing' '
    test "$(q shop "select count(*) from pg_class where relname = '"'orders'"'")" = 0
'
test_expect_success 'apply: bundle, migration and objects' '
    db apply >out 2>err &&
    test "$(q shop "select string_agg(customer || total, '"' '"') from public.top_customers")" = ada120 &&
    test "$(q shop "select public.customer_total('"'bob'"')")" = 20 &&
    state >st && test "$(wc -l <st)" = 5 &&
    test_grep "view public.order_lines views/order_lines.sql:2" st &&
    test_grep "done in" err
'
test_expect_code 0 'plan: nothing to do (exit 0)' 'db plan >plan 2>err'
test_expect_success '...says so' 'test_grep "Nothing to do: 5 code objects" plan'
test_expect_success 'apply again: nothing done, nothing re-created' '
    oids >before && db apply 2>err && oids >after && test_cmp before after &&
    test_grep "nothing to do" err
'

# --- the migration that needs the dance ---------------------------------------

test_expect_success 'set up: a migration changing a column three views and a function use' '
    cp -R "$P/later/20240102000000-amount-numeric" "$P/db/migration/"
'
test_expect_code 4 'without the code directory the migrator fails on the old views' '
    CODE_DIR=$TRASH/none "$DBTOOL" migrator -u "$U" -d "$P/db/migration" migrate up 2>err
'
test_expect_success '...with the server saying why' '
    test_grep "cannot alter type of a column used by a view or rule" err &&
    test "$(q shop "select count(*) from hectic.migration")" = 1
'
test_expect_code 1 'plan: the migration and the four objects to re-create' 'db plan >plan 2>err'
test_expect_success '...each with its reason, dropped dependents first, created in order' '
    test_grep "ALTER COLUMN amount TYPE of public.orders" plan &&
    test_grep "0 new, 0 changed, 0 moved, 0 removed, 4 re-created, 1 unchanged" plan &&
    test_grep "depends on table public.orders (ALTER COLUMN amount TYPE in migration 20240102000000-amount-numeric)" plan &&
    grep "^-- [0-9]*\. " plan | sed "s/ (.*//" >steps &&
    cat >want <<-\EOF &&
	-- 1. drop view public.top_customers
	-- 2. drop function public.customer_total(text)
	-- 3. drop view public.customer_totals
	-- 4. drop view public.order_lines
	-- 5. migration 20240102000000-amount-numeric
	-- 6. create view public.order_lines
	-- 7. create view public.customer_totals
	-- 8. create function public.customer_total(text)
	-- 9. create view public.top_customers
	-- 10. record them in hectic.code_object
	EOF
    test_cmp want steps &&
    test_grep "^DROP VIEW public.top_customers;$" plan &&
    test_grep "^BEGIN;$" plan && test_grep "^COMMIT;$" plan
'
test_expect_success 'plan --format json says the same' '
    db plan --format json >plan.json 2>err; test $? = 1 &&
    python3 -c "
import json, sys
p = json.load(open(\"plan.json\"))
assert p[\"changes\"] and p[\"one_transaction\"], p
assert [m[\"name\"] for m in p[\"migrations\"]] == [\"20240102000000-amount-numeric\"]
assert p[\"migrations\"][0][\"alters\"][0][\"what\"] == \"ALTER COLUMN amount TYPE\"
acts = [(s[\"action\"], s.get(\"identity\", s.get(\"name\"))) for s in p[\"steps\"]]
assert acts[0] == (\"drop\", \"view public.top_customers\"), acts
assert acts[4] == (\"migrate\", \"20240102000000-amount-numeric\"), acts
assert acts[5] == (\"create\", \"view public.order_lines\"), acts
assert all(o[\"status\"] == \"re-create\" for o in p[\"objects\"]), p[\"objects\"]
assert p[\"steps\"][5][\"sql\"].startswith(\"CREATE VIEW public.order_lines AS\")
"
'
test_expect_success 'apply: drops, migrates, re-creates in one transaction' '
    db apply >out 2>err &&
    test "$(q shop "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = '"'public.order_lines'"'::regclass and attname = '"'amount'"'")" = "numeric(12,2)" &&
    test "$(q shop "select total from public.top_customers")" = 120.00 &&
    test "$(q shop "select count(*) from hectic.migration")" = 2 &&
    test_grep "migration 20240102000000-amount-numeric applied" err &&
    test_grep "re-created view public.top_customers" err &&
    test "$(q shop "select obj_description('"'public.order_lines'"'::regclass)")" = "orders, one line each"
'
test_expect_code 0 'then nothing to do' 'db plan >plan 2>err'

# --- changed, moved, removed ---------------------------------------------------

test_expect_success 'a changed view: it and its dependents are re-created, nothing else' '
    oids >before &&
    sed -i "s/WHERE total > public.big_order()/WHERE total >= public.big_order()/" "$P/db/code/views/top_customers.sql" &&
    db plan >plan; test $? = 1 &&
    test_grep "0 new, 1 changed, 0 moved, 0 removed, 0 re-created, 4 unchanged" plan &&
    db apply 2>err && oids >after &&
    diff before after | grep "^[<>]" >changed; test "$(grep -c "^>" changed)" = 1 &&
    test_grep "top_customers" changed
'
test_expect_success 'an object moved to another file: not re-created, same hash, new place recorded' '
    oids >before &&
    h=$(q shop "select sha256 from hectic.code_object where identity = '"'view public.top_customers'"'") &&
    mkdir -p "$P/db/code/reports" &&
    { echo "-- moved here"; echo; cat "$P/db/code/views/top_customers.sql"; } >"$P/db/code/reports/top.sql" &&
    rm "$P/db/code/views/top_customers.sql" &&
    db plan >plan; test $? = 1 &&
    test_grep "moved     view public.top_customers  reports/top.sql:3 (was views/top_customers.sql:1)" plan &&
    db apply 2>err && oids >after && test_cmp before after &&
    test "$(q shop "select sha256 || file || line from hectic.code_object where identity = '"'view public.top_customers'"'")" = "${h}reports/top.sql3"
'
test_expect_code 0 '...and then nothing to do' 'db plan >plan 2>err'
test_expect_success 'a removed file: its object is dropped and forgotten' '
    rm "$P/db/code/reports/top.sql" &&
    db plan >plan; test $? = 1 &&
    test_grep "removed   view public.top_customers" plan &&
    db apply 2>err &&
    test "$(q shop "select to_regclass('"'public.top_customers'"') is null")" = t &&
    test "$(q shop "select count(*) from hectic.code_object where identity = '"'view public.top_customers'"'")" = 0 &&
    test_grep "dropped view public.top_customers" err
'

test_expect_success 'objects dropped by hand are missing: apply creates them again' '
    PGOPTIONS="-c client_min_messages=warning" q shop "DROP VIEW public.order_lines CASCADE" &&
    db plan >plan; test $? = 1 &&
    test_grep "3 missing from the database" plan &&
    test_grep "missing   function public.customer_total(text)" plan &&
    test_grep "missing   view public.order_lines" plan &&
    test_grep "missing   view public.customer_totals" plan &&
    db apply 2>err &&
    test "$(q shop "select count(*) from public.customer_totals")" = 2 &&
    test "$(q shop "select public.customer_total('"'ada'"')")" = 120.00
'

# --- failure: everything rolled back -------------------------------------------

test_expect_success 'set up: a new migration and a new view that fails' '
    mkdir "$P/db/migration/20240103000000-note" &&
    echo "ALTER TABLE public.orders ADD COLUMN note text;" >"$P/db/migration/20240103000000-note/up.sql" &&
    echo "ALTER TABLE public.orders DROP COLUMN note;" >"$P/db/migration/20240103000000-note/down.sql" &&
    printf "CREATE VIEW public.bad AS\n    SELECT id,\n        1 / 0 AS boom\n    FROM public.orders\n    WHERE nope > 1;\n" >"$P/db/code/views/bad.sql" &&
    sed -i "s/count(\*) AS orders/count(*) AS n_orders/" "$P/db/code/views/customer_totals.sql"
'
test_expect_code 4 'apply fails (exit 4)' 'oids >before && db apply >out 2>err'
test_expect_success '...naming the object and file:line of the error' '
    test_grep "views/bad.sql:5: ERROR:  column \"nope\" does not exist" err &&
    test_grep "creating view public.bad (views/bad.sql:1) failed" err &&
    test_grep "nothing was changed (rolled back)" err
'
test_expect_success '...and nothing changed: no migration, no drop, no state' '
    oids >after && test_cmp before after &&
    test "$(q shop "select count(*) from hectic.migration")" = 2 &&
    test "$(q shop "select count(*) from pg_attribute where attrelid = '"'public.orders'"'::regclass and attname = '"'note'"'")" = 0 &&
    test "$(q shop "select count(*) from pg_attribute where attrelid = '"'public.customer_totals'"'::regclass and attname = '"'orders'"'")" = 1
'
test_expect_success 'fixed: applies' '
    sed -i "s/WHERE nope > 1/WHERE amount > 1/; s|1 / 0|1|" "$P/db/code/views/bad.sql" &&
    db apply 2>err &&
    test "$(q shop "select count(*) from hectic.migration")" = 3 &&
    test "$(q shop "select count(*) from public.bad")" = 3
'

# --- NOTIFY --------------------------------------------------------------------

test_expect_success 'a listening session gets start and success, then failure' '
    mkfifo to_psql &&
    { "$PSQL" -X -q -d "$U" <to_psql >notes 2>&1 & } &&
    pid=$! &&
    exec 3>to_psql &&
    echo "LISTEN hectic_code;" >&3 &&
    echo "SELECT 1 AS listening;" >&3 &&
    wait_line listening notes $pid &&
    sed -i "s/AS boom/AS boom2/" "$P/db/code/views/bad.sql" &&
    db apply 2>err &&
    echo "CREATE TABLE x();" >"$P/db/code/views/table.sql" &&
    printf "CREATE VIEW public.bad2 AS SELECT nope FROM public.orders;\n" >"$P/db/code/views/bad2.sql" &&
    rm "$P/db/code/views/table.sql" &&
    { db apply 2>err2; test $? = 4; } &&
    echo "SELECT 2;" >&3 && echo "\\q" >&3 && exec 3>&- &&
    wait $pid &&
    grep "hectic_code" notes >got &&
    test "$(wc -l <got)" = 4 &&
    sed -n 1p got | grep -q "\"event\":\"start\"" &&
    sed -n 2p got | grep -q "\"event\":\"success\",\"pid\":[0-9]*,\"dropped\":1,\"migrations\":0,\"created\":1" &&
    sed -n 3p got | grep -q "\"event\":\"start\"" &&
    sed -n 4p got | grep -q "\"event\":\"failure\",\"pid\":[0-9]*,\"failed\":\"view public.bad2\""
'
rm -f "$P/db/code/views/bad2.sql"

# --- migrator migrate with a code directory ---------------------------------------

test_expect_success 'migrate down and up through the migrator: the same dance' '
    newdb shop2 &&
    U2=$(dburl shop2) &&
    "$DBTOOL" database -u "$U2" apply 2>err &&
    "$DBTOOL" database -u "$U2" migrator migrate down 2>err &&
    test "$(q shop2 "select count(*) from hectic.migration")" = 2 &&
    test_grep "migration 20240103000000-note reverted" err &&
    "$DBTOOL" database -u "$U2" migrator migrate down 2>err &&
    test "$(q shop2 "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = '"'public.order_lines'"'::regclass and attname = '"'amount'"'")" = integer &&
    test_grep "re-created view public.order_lines" err &&
    "$DBTOOL" database -u "$U2" migrator migrate up all 2>err &&
    test "$(q shop2 "select count(*) from hectic.migration")" = 3 &&
    test "$(q shop2 "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = '"'public.order_lines'"'::regclass and attname = '"'amount'"'")" = "numeric(12,2)"
'
test_expect_code 0 '...and apply agrees: nothing to do' '"$DBTOOL" database -u "$(dburl shop2)" plan >plan 2>err'

test_expect_success 'adoption: objects made by an old migration are replaced from their files' '
    newdb shop3 && U3=$(dburl shop3) &&
    CODE_DIR=$TRASH/none "$DBTOOL" migrator -u "$U3" -d "$P/db/migration" migrate up 1 2>err &&
    q shop3 "CREATE VIEW public.order_lines AS SELECT id FROM public.orders" &&
    "$DBTOOL" database -u "$U3" plan >plan; test $? = 1 &&
    test_grep "adopt     view public.order_lines" plan &&
    "$DBTOOL" database -u "$U3" apply 2>err &&
    test "$(q shop3 "select count(*) from pg_attribute where attrelid = '"'public.order_lines'"'::regclass and attnum > 0")" = 3
'

test_expect_success 'a migration that drops a code view itself (old style): created again after it' '
    mkdir "$P/db/migration/20240104000000-legacy" &&
    echo "DROP VIEW public.order_lines CASCADE;" >"$P/db/migration/20240104000000-legacy/up.sql" &&
    echo "SELECT 1;" >"$P/db/migration/20240104000000-legacy/down.sql" &&
    db plan >plan; test $? = 1 &&
    test_grep "changed by migration 20240104000000-legacy (DROP VIEW)" plan &&
    test_grep "^DROP VIEW IF EXISTS public.order_lines;$" plan &&
    ! grep -q "^DROP VIEW public.order_lines;$" plan &&
    db apply 2>err &&
    test "$(q shop "select count(*) from public.customer_totals")" = 2 &&
    test "$(q shop "select count(*) from public.bad")" = 3
'
test_done
