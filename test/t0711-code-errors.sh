#!/bin/sh
# Schema as code (issue 17): what the code directory may not hold, and the
# errors that stop plan and apply before anything runs: cycles, unknown
# references, statements that are not code, objects defined twice, objects
# outside the code directory that depend on one to re-create. Also CREATE OR
# REPLACE in place, and a dependency only pg_depend knows.
. "${0%/*}/lib-pg.sh"
test_have_prereq PG14 || skip_all "its fixture has SQL-standard function bodies (BEGIN ATOMIC): $test_missing_reason"

pg_cluster pg || exit 1
dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl "$1")" -c "$2"; }
newdb() { PGOPTIONS="-c client_min_messages=warning" q postgres "DROP DATABASE IF EXISTS $1" && q postgres "CREATE DATABASE $1"; }

P=$TRASH/proj
C=$P/db/code
mkdir -p "$C" "$P/db/migration/20240101000000-orders"
cat >"$P/db/migration/20240101000000-orders/up.sql" <<\EOF
CREATE TABLE public.orders (id integer PRIMARY KEY, amount integer NOT NULL) INHERITS (hectic.created_at);
EOF
echo "DROP TABLE public.orders;" >"$P/db/migration/20240101000000-orders/down.sql"
export LOCAL_DIR=$P
newdb e
U=$(dburl e)
export U C
db() { "$DBTOOL" database -u "$U" "$@"; }
reset_code() { rm -rf "$C" && mkdir -p "$C"; }

# --- cycles ----------------------------------------------------------------

test_expect_success 'set up: three views in a cycle' '
    echo "CREATE VIEW public.a AS SELECT x FROM public.b;" >"$C/a.sql" &&
    printf "\nCREATE VIEW public.b AS SELECT x FROM public.c;\n" >"$C/b.sql" &&
    echo "CREATE VIEW public.c AS SELECT 1 AS x FROM public.a;" >"$C/c.sql"
'
test_expect_code 2 'plan: a cycle is an error (exit 2)' 'db plan >out 2>err'
test_expect_success '...naming each object and its file:line' '
    test_grep "dependency cycle between code objects: view public.b ($C/b.sql:2) needs view public.c ($C/c.sql:1) needs view public.a ($C/a.sql:1) needs view public.b ($C/b.sql:2)" err &&
    ! test -s out
'
test_expect_code 2 'apply: the same error, exit 2' 'db apply >out 2>err'
test_expect_success '...and nothing ran: not even the migration' '
    test_grep "dependency cycle" err && test_grep "nothing was changed" err &&
    test "$(q e "select to_regclass('"'public.orders'"') is null")" = t
'
test_expect_success 'functions calling each other in their bodies are no cycle' '
    reset_code &&
    cat >"$C/f.sql" <<-\EOF &&
	CREATE FUNCTION public.even(n integer) RETURNS boolean LANGUAGE plpgsql AS $$
	BEGIN
	    IF n = 0 THEN RETURN true; END IF;
	    RETURN public.odd(n - 1);
	END $$;
	CREATE FUNCTION public.odd(n integer) RETURNS boolean LANGUAGE plpgsql AS $$
	BEGIN
	    IF n = 0 THEN RETURN false; END IF;
	    RETURN public.even(n - 1);
	END $$;
	EOF
    db apply 2>err && test "$(q e "select public.even(10)")" = t
'

# --- unknown references --------------------------------------------------------

test_expect_success 'set up: references to nothing' '
    reset_code &&
    echo "CREATE VIEW public.v1 AS SELECT id FROM public.nope;" >"$C/v1.sql" &&
    printf "CREATE VIEW public.v2 AS\n    SELECT public.no_such_function(1) AS x, NULL::public.no_type AS y;\n" >"$C/v2.sql" &&
    printf "CREATE FUNCTION public.later() RETURNS bigint LANGUAGE plpgsql AS \$\$\nBEGIN\n    RETURN (SELECT count(*) FROM public.made_at_run_time);\nEND \$\$;\n" >"$C/f.sql"
'
test_expect_code 2 'plan: unknown references are errors (exit 2)' 'db plan >out 2>err'
test_expect_success '...naming object, file:line and what is missing' '
    test_grep "$C/v1.sql:1: view public.v1 references relation public.nope, which is neither in the code directory, nor in the database, nor created by a pending migration" err &&
    test_grep "$C/v2.sql:2: view public.v2 references function public.no_such_function" err &&
    test_grep "$C/v2.sql:2: view public.v2 references type public.no_type" err &&
    test_grep "3 problems in the code directory" err
'
test_expect_success '...a plpgsql body naming something missing is only a note' '
    rm "$C/v1.sql" "$C/v2.sql" &&
    db plan >out 2>err; test $? = 1 &&
    test_grep "note: $C/f.sql:3: function public.later() names relation public.made_at_run_time" out
'
test_expect_success 'what a pending migration creates is no unknown reference' '
    echo "CREATE VIEW public.big AS SELECT id FROM public.orders WHERE amount > 100;" >"$C/big.sql" &&
    db plan >out 2>err; test $? = 1 &&
    test_grep "new       view public.big" out
'
test_expect_success 'apply: migration then view' '
    db apply 2>err && test "$(q e "select count(*) from public.big")" = 0
'
test_expect_success 'a view that needs an object whose file was removed is an error' '
    echo "CREATE VIEW public.bigger AS SELECT id FROM public.big;" >"$C/bigger.sql" &&
    db apply 2>err &&
    rm "$C/big.sql" &&
    { db plan >out 2>err; test $? = 2; } &&
    test_grep "view public.bigger needs view public.big, whose definition was removed (from big.sql)" err
'

# --- not code -------------------------------------------------------------------

test_expect_success 'set up: statements that do not belong' '
    reset_code &&
    cat >"$C/bad.sql" <<-\EOF &&
	CREATE VIEW public.ok AS SELECT 1 AS one;
	GRANT SELECT ON public.ok TO PUBLIC;
	CREATE TABLE public.t (a integer);
	SET search_path = public;
	DROP VIEW IF EXISTS public.ok;
	INSERT INTO public.orders VALUES (1, 1);
	COMMENT ON VIEW public.elsewhere IS '"'x'"';
	CREATE INDEX orders_amount ON public.orders (amount);
	EOF
    echo "CREATE VIEW public.ok AS SELECT 2 AS two;" >"$C/dup.sql"
'
test_expect_code 2 'plan: each is an error with file:line (exit 2)' 'db plan >out 2>err'
test_expect_success '...saying why' '
    test_grep "$C/bad.sql:3:1: CREATE TABLE does not belong in the code directory" err &&
    test_grep "$C/bad.sql:4:1: SET does not belong in the code directory.*qualify names with their schema" err &&
    test_grep "$C/bad.sql:5:1: DROP does not belong in the code directory" err &&
    test_grep "$C/bad.sql:6:1: INSERT does not belong in the code directory" err &&
    test_grep "$C/bad.sql:7:1: COMMENT ON view elsewhere: the object is not defined before it in this file" err &&
    test_grep "index orders_amount is on orders, which is not a materialized view of the code directory" err &&
    test_grep "$C/dup.sql:1:1: view public.ok is defined twice: here and at $C/bad.sql:1" err
'

# --- objects outside the code directory in the way ------------------------------------

test_expect_success 'set up: a table default calls a code function' '
    reset_code &&
    echo "CREATE FUNCTION public.default_amount() RETURNS integer LANGUAGE sql RETURN 5;" >"$C/f.sql" &&
    db apply 2>err &&
    q e "ALTER TABLE public.orders ALTER COLUMN amount SET DEFAULT public.default_amount()" &&
    sed -i "s/RETURN 5/RETURN 6/" "$C/f.sql"
'
test_expect_code 2 'changing it (CREATE, so drop + create) is an error before anything runs' '
    db apply >out 2>err
'
test_expect_success '...naming what is in the way' '
    test_grep "default value for public.orders.amount depends on function public.default_amount() (f.sql:1), which must be dropped and created again" err &&
    test "$(q e "select public.default_amount()")" = 5
'
test_expect_success 'CREATE OR REPLACE replaces it in place: the default keeps working' '
    sed -i "s/CREATE FUNCTION/CREATE OR REPLACE FUNCTION/" "$C/f.sql" &&
    db plan >out 2>err; test $? = 1 &&
    test_grep "replace   function public.default_amount()" out &&
    ! grep -q "^DROP" out &&
    db apply 2>err && test_grep "replaced function public.default_amount()" err &&
    test "$(q e "select public.default_amount()")" = 6
'

# --- a dependency only pg_depend knows ----------------------------------------

test_expect_success 'a function called with attribute notation: pg_depend tells, it is recorded' '
    q e "ALTER TABLE public.orders ALTER COLUMN amount DROP DEFAULT" &&
    reset_code &&
    echo "CREATE FUNCTION public.double_it(o public.orders) RETURNS integer LANGUAGE sql BEGIN ATOMIC SELECT o.amount * 2; END;" >"$C/a_f.sql" &&
    echo "CREATE VIEW public.doubled AS SELECT o.id, o.double_it FROM public.orders o;" >"$C/b_v.sql" &&
    db apply 2>err &&
    test_grep "pg_depend: view public.doubled (b_v.sql:1) depends on function public.double_it(public.orders) (a_f.sql:1), which the parse did not see" err &&
    test "$(q e "select depends from hectic.code_object where identity = '"'view public.doubled'"'")" = "{\"function public.double_it(public.orders)\"}"
'
test_expect_success '...and used: changing the function re-creates the view, in order' '
    sed -i "s/o.amount \* 2/o.amount * 3/" "$C/a_f.sql" &&
    db plan >out 2>err; test $? = 1 &&
    grep "^-- [0-9]*\. " out | sed "s/ (.*//" >steps &&
    cat >want <<-\EOF &&
	-- 1. drop view public.doubled
	-- 2. drop function public.double_it(public.orders)
	-- 3. create function public.double_it(public.orders)
	-- 4. create view public.doubled
	-- 5. record them in hectic.code_object
	EOF
    test_cmp want steps &&
    db apply 2>err
'

test_done
