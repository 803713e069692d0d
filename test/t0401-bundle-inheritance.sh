#!/bin/sh
# The inheritance part on a real server: created_at enforced with a hint,
# updated_at maintained, immutable tables frozen outside SET LOCAL
# hectic.migration_mode, the exemptions, and the holes closed (ALTER TABLE
# ... INHERIT attaches triggers, NO INHERIT hectic.created_at is refused).
. "${0%/*}/lib-pg.sh"

dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
# q SQL: run on the test database (fails on the first error)
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl t)" -c "$1"; }
# qf FILE: run a script file in one transaction
qf() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -1 -d "$(dburl t)" -f "$1"; }
# triggers TABLE: its trigger names, space separated
triggers() { q "select coalesce(string_agg(tgname, ' ' order by tgname), '') from pg_trigger where tgrelid = '$1'::regclass and not tgisinternal"; }

pg_cluster pg || exit 1
"$PSQL" -X -q -d "$PGURL" -c "CREATE DATABASE t" || exit 1
# a table from before the bundle: left alone
q "CREATE TABLE public.legacy_before (id int)" || exit 1
"$DBTOOL" bundle apply -u "$(dburl t)" 2>/dev/null || exit 1

# --- 2. created_at ---------------------------------------------------------
test_expect_success 'CREATE TABLE without INHERITS (hectic.created_at) is refused with a hint' '
    ! q "CREATE TABLE public.plain (id int)" 2>err &&
    grep -q "ERROR:  table public.plain must inherit hectic.created_at" err &&
    grep -q "HINT:  CREATE TABLE public.plain (...) INHERITS (hectic.created_at)" err &&
    grep -q "hectic.inheritance_extra_excluded_schemas" err &&
    test "$(q "select to_regclass('"'public.plain'"') is null")" = t
'
test_expect_success 'with INHERITS (hectic.created_at) it is accepted and created_at is filled' '
    q "CREATE TABLE public.item (id int PRIMARY KEY, name text) INHERITS (hectic.created_at)" &&
    q "INSERT INTO public.item (id, name) VALUES (1, '"'a'"')" &&
    test "$(q "select created_at is not null and created_at <= now() from public.item")" = t
'
test_expect_success 'inheriting hectic.created_at through another table is enough' '
    q "CREATE TABLE public.item_child (extra int) INHERITS (public.item)"
'
test_expect_success 'CREATE TABLE AS and SELECT INTO are refused too' '
    ! q "CREATE TABLE public.ctas AS SELECT 1 AS x" 2>err && grep -q "must inherit hectic.created_at" err &&
    ! q "SELECT 1 AS x INTO public.sel_into" 2>err && grep -q "must inherit hectic.created_at" err
'
test_expect_success 'tables created before the bundle are left alone (and can be altered)' '
    q "ALTER TABLE public.legacy_before ADD COLUMN note text" && q "INSERT INTO public.legacy_before VALUES (1, '"'x'"')"
'

# --- 3. updated_at -----------------------------------------------------------
test_expect_success 'a table inheriting hectic.updated_at gets hectic_set_updated_at' '
    q "CREATE TABLE public.doc (id int, body text) INHERITS (hectic.created_at, hectic.updated_at)" &&
    test "$(triggers public.doc)" = hectic_set_updated_at &&
    test "$(q "select pg_get_triggerdef(oid) from pg_trigger where tgname = '"'hectic_set_updated_at'"' and tgrelid = '"'public.doc'"'::regclass")" = \
         "CREATE TRIGGER hectic_set_updated_at BEFORE UPDATE ON public.doc FOR EACH ROW EXECUTE FUNCTION hectic.set_updated_at()"
'
test_expect_success 'UPDATE bumps updated_at' '
    q "INSERT INTO public.doc (id, body, updated_at) VALUES (1, '"'v1'"', '"'2000-01-01'"')" &&
    q "UPDATE public.doc SET body = '"'v2'"' WHERE id = 1" &&
    test "$(q "select updated_at > '"'2000-01-02'"' and updated_at <= now() from public.doc")" = t &&
    test "$(q "select created_at <> updated_at or true from public.doc")" = t
'

# --- 4. the GUC ----------------------------------------------------------------
test_expect_success 'hectic.inheritance_extra_excluded_schemas exempts the listed schemas' '
    q "CREATE SCHEMA legacy; CREATE SCHEMA etl; CREATE SCHEMA other" &&
    ! q "CREATE TABLE legacy.before_guc (id int)" 2>err &&
    q "ALTER DATABASE t SET hectic.inheritance_extra_excluded_schemas = '"'legacy, etl'"'" &&
    q "CREATE TABLE legacy.x (id int)" && q "CREATE TABLE etl.y (id int)" &&
    ! q "CREATE TABLE other.z (id int)" 2>err && grep -q "must inherit" err
'
test_expect_success '...and tables there may drop hectic.created_at' '
    q "CREATE TABLE legacy.w (id int) INHERITS (hectic.created_at)" &&
    q "ALTER TABLE legacy.w NO INHERIT hectic.created_at"
'

# --- 5. built-in exemptions ---------------------------------------------------
test_expect_success 'a partitioned parent outside the exempt schemas is refused, with a hint' '
    ! q "CREATE TABLE public.measure (id int, at date) PARTITION BY RANGE (at)" 2>err &&
    grep -q "ERROR:  partitioned table public.measure must inherit hectic.created_at" err &&
    grep -q "HINT:  .*hectic.inheritance_extra_excluded_schemas" err &&
    test "$(q "select to_regclass('"'public.measure'"') is null")" = t
'
test_expect_success 'in an exempt schema it is accepted; its partitions are exempt anywhere' '
    q "CREATE TABLE legacy.measure (id int, at date) PARTITION BY RANGE (at)" &&
    q "CREATE TABLE public.measure_2024 PARTITION OF legacy.measure FOR VALUES FROM ('"'2024-01-01'"') TO ('"'2025-01-01'"')" &&
    q "INSERT INTO legacy.measure VALUES (1, '"'2024-05-05'"')" &&
    test "$(q "select hectic.inheritance_exempt('"'public.measure_2024'"'::regclass)")" = t
'
test_expect_success 'temporary tables are exempt' '
    q "CREATE TEMP TABLE scratch (id int); INSERT INTO scratch VALUES (1)"
'
test_expect_success 'schemas hectic and information_schema are exempt' '
    q "CREATE TABLE hectic.t_own (id int); DROP TABLE hectic.t_own" &&
    q "CREATE TABLE information_schema.t_own (id int); DROP TABLE information_schema.t_own"
'
test_expect_success 'pg_* schemas are exempt' '
    test "$(q "select hectic.inheritance_exempt('"'pg_catalog.pg_class'"'::regclass)")" = t &&
    test "$(q "select hectic.inheritance_exempt('"'public.item'"'::regclass)")" = f
'

# --- 6-9. immutable -------------------------------------------------------------
test_expect_success 'a table inheriting hectic.immutable gets both triggers' '
    q "CREATE TABLE public.frozen (id int PRIMARY KEY, label text) INHERITS (hectic.created_at, hectic.immutable)" &&
    test "$(triggers public.frozen)" = "hectic_block_immutable_dml hectic_block_immutable_truncate" &&
    q "select pg_get_triggerdef(oid) from pg_trigger where tgrelid = '"'public.frozen'"'::regclass order by tgname" >defs &&
    grep -q "BEFORE INSERT OR DELETE OR UPDATE ON public.frozen FOR EACH ROW EXECUTE FUNCTION hectic.block_immutable_dml()" defs &&
    grep -q "BEFORE INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.frozen FOR EACH STATEMENT EXECUTE FUNCTION hectic.block_immutable_dml()" defs
'
test_expect_success 'on an empty immutable table UPDATE and DELETE are refused too (statement level)' '
    ! q "UPDATE public.frozen SET label = '"'x'"'" 2>err && grep -q "UPDATE on immutable table public.frozen is refused" err &&
    ! q "DELETE FROM public.frozen" 2>err && grep -q "DELETE on immutable table public.frozen is refused" err &&
    ! q "INSERT INTO public.frozen SELECT now(), 1, '"'x'"' WHERE false" 2>err && grep -q "INSERT on immutable table" err
'
test_expect_success 'SET LOCAL hectic.migration_mode inside a transaction allows INSERT and UPDATE' '
    q "BEGIN; SET LOCAL hectic.migration_mode = '"'on'"'; INSERT INTO public.frozen (id, label) VALUES (1, '"'x'"'), (2, '"'y'"'); UPDATE public.frozen SET label = '"'z'"' WHERE id = 2; COMMIT;" &&
    test "$(q "select string_agg(label, '"','"' order by id) from public.frozen")" = x,z
'
for op in "INSERT:INSERT INTO public.frozen (id, label) VALUES (9, 'n')" \
          "UPDATE:UPDATE public.frozen SET label = 'n'" \
          "DELETE:DELETE FROM public.frozen" \
          "TRUNCATE:TRUNCATE public.frozen" \
          "UPDATE:UPDATE public.frozen SET label = 'n' WHERE id = 42" \
          "DELETE:DELETE FROM public.frozen WHERE id = 42"; do
    printf '%s;\n' "${op#*:}" >"op-${op%%:*}.sql"
    test_expect_success "${op%%:*} outside migration mode is refused, naming the table, with a hint" "
        ! qf op-${op%%:*}.sql 2>err &&
        grep -q 'ERROR:  ${op%%:*} on immutable table public.frozen is refused outside migration mode' err &&
        grep -q 'HINT:  .*SET LOCAL hectic.migration_mode' err &&
        test \"\$(q 'select count(*) from public.frozen')\" = 2
    "
done
cat >leak-commit.sql <<'EOF'
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO public.frozen (id, label) VALUES (3, 'in');
COMMIT;
SELECT 'mode after commit: [' || coalesce(current_setting('hectic.migration_mode', true), '') || ']';
INSERT INTO public.frozen (id, label) VALUES (4, 'after');
EOF
cat >leak-rollback.sql <<'EOF'
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
ROLLBACK;
DELETE FROM public.frozen;
EOF
cat >holder.sql <<'EOF'
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
SELECT pg_sleep(3) AS hectic_holding;
COMMIT;
EOF
test_expect_success 'the permission ends with the transaction: no leak past COMMIT' '
    ! "$PSQL" -X -q -At -v ON_ERROR_STOP=1 -d "$(dburl t)" -f leak-commit.sql >out 2>err &&
    grep -q "^mode after commit: \[\]$" out &&
    grep -q "INSERT on immutable table public.frozen is refused" err &&
    test "$(q "select string_agg(id::text, '"','"' order by id) from public.frozen")" = 1,2,3
'
test_expect_success '...nor past ROLLBACK' '
    ! "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(dburl t)" -f leak-rollback.sql 2>err &&
    grep -q "DELETE on immutable table public.frozen is refused" err
'
test_expect_success 'migration mode of one connection never reaches another' '
    { "$PSQL" -X -q -d "$(dburl t)" -f holder.sql >/dev/null 2>&1 & } && holder=$! &&
    n=0 && until test "$(q "select count(*) from pg_stat_activity where query like '"'%hectic_holding%'"' and pid <> pg_backend_pid()")" = 1; do
        n=$((n+1)); test $n -lt 100 || exit 1; sleep 0.05; done &&
    ! q "UPDATE public.frozen SET label = '"'other'"'" 2>err &&
    grep -q "UPDATE on immutable table public.frozen is refused" err &&
    wait $holder
'
test_expect_success 'rows changed through a parent table are refused (row level)' '
    q "CREATE TABLE public.base (id int) INHERITS (hectic.created_at)" &&
    q "CREATE TABLE public.base_frozen () INHERITS (public.base, hectic.immutable)" &&
    q "BEGIN; SET LOCAL hectic.migration_mode = '"'on'"'; INSERT INTO public.base_frozen (id) VALUES (1); COMMIT;" &&
    ! q "DELETE FROM public.base" 2>err && grep -q "DELETE on immutable table public.base_frozen is refused" err &&
    ! q "UPDATE public.base SET id = 2" 2>err && grep -q "UPDATE on immutable table public.base_frozen" err &&
    test "$(q "select count(*) from public.base_frozen where id = 1")" = 1
'
test_expect_success 'TRUNCATE works in migration mode' '
    q "BEGIN; SET LOCAL hectic.migration_mode = '"'on'"'; TRUNCATE public.frozen; COMMIT;" &&
    test "$(q "select count(*) from public.frozen")" = 0
'
test_expect_success 'DELETE works in migration mode' '
    q "BEGIN; SET LOCAL hectic.migration_mode = '"'on'"'; INSERT INTO public.frozen VALUES (now(), 5, '"'d'"'); DELETE FROM public.frozen; COMMIT;" &&
    test "$(q "select count(*) from public.frozen")" = 0
'

# --- 10. holes closed ------------------------------------------------------------
test_expect_success 'ALTER TABLE ... INHERIT hectic.immutable attaches the triggers' '
    q "CREATE TABLE public.later (id int) INHERITS (hectic.created_at)" &&
    test "$(triggers public.later)" = "" &&
    q "ALTER TABLE public.later INHERIT hectic.immutable" &&
    test "$(triggers public.later)" = "hectic_block_immutable_dml hectic_block_immutable_truncate" &&
    ! q "INSERT INTO public.later (id) VALUES (1)" 2>err && grep -q "public.later" err
'
test_expect_success 'ALTER TABLE ... INHERIT hectic.updated_at attaches hectic_set_updated_at' '
    q "CREATE TABLE public.later_u (id int, updated_at timestamptz NOT NULL DEFAULT now()) INHERITS (hectic.created_at)" &&
    q "ALTER TABLE public.later_u INHERIT hectic.updated_at" &&
    test "$(triggers public.later_u)" = hectic_set_updated_at &&
    q "INSERT INTO public.later_u (id, updated_at) VALUES (1, '"'2000-01-01'"'); UPDATE public.later_u SET id = 2" &&
    test "$(q "select updated_at > '"'2000-01-02'"' from public.later_u")" = t
'
test_expect_success '...and to the tables that inherit from the altered one' '
    q "CREATE TABLE public.tree_root (id int) INHERITS (hectic.created_at)" &&
    q "CREATE TABLE public.tree_leaf (x int) INHERITS (public.tree_root)" &&
    q "ALTER TABLE public.tree_root INHERIT hectic.immutable" &&
    test "$(triggers public.tree_leaf)" = "hectic_block_immutable_dml hectic_block_immutable_truncate"
'
test_expect_success 'ALTER TABLE ... NO INHERIT hectic.created_at is refused with a hint' '
    ! q "ALTER TABLE public.item NO INHERIT hectic.created_at" 2>err &&
    grep -q "ERROR:  table public.item must keep inheriting hectic.created_at" err &&
    grep -q "HINT:  .*hectic.inheritance_extra_excluded_schemas" err &&
    test "$(q "select hectic.inherits_from('"'public.item'"'::regclass, '"'hectic.created_at'"'::regclass)")" = t
'
test_expect_success '...also when it goes away through an intermediate parent' '
    ! q "ALTER TABLE public.item_child NO INHERIT public.item" 2>err &&
    grep -q "table public.item_child must keep inheriting hectic.created_at" err
'
test_expect_success 'other ALTER TABLEs on compliant tables still work' '
    q "ALTER TABLE public.item ADD COLUMN note text; ALTER TABLE public.item RENAME COLUMN note TO remark"
'
test_expect_success 're-applying the bundle attaches triggers missing (or different) on existing tables' '
    q "DROP TRIGGER hectic_block_immutable_truncate ON public.later; DROP TRIGGER hectic_set_updated_at ON public.doc" &&
    q "DROP TRIGGER hectic_block_immutable_truncate ON public.tree_leaf" &&
    q "CREATE TRIGGER hectic_block_immutable_truncate BEFORE TRUNCATE ON public.tree_leaf FOR EACH STATEMENT EXECUTE FUNCTION hectic.block_immutable_dml()" &&
    "$DBTOOL" bundle apply -u "$(dburl t)" 2>err &&
    test "$(triggers public.later)" = "hectic_block_immutable_dml hectic_block_immutable_truncate" &&
    test "$(triggers public.doc)" = hectic_set_updated_at &&
    ! q "DELETE FROM public.tree_leaf WHERE false" 2>err && grep -q "DELETE on immutable table public.tree_leaf" err
'
test_done
