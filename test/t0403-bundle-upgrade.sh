#!/bin/sh
# dbtool bundle upgrade: a 0.1.0 database made by the shell tools (rebuilt
# from test/fixtures/hectic-0.1.0.sql) and a 0.2.0 one made by dbtool 0.2
# (test/fixtures/hectic-0.2.0.sql) are carried to 0.3.0 with nothing lost:
# migration rows kept, plaintext secrets encrypted, user tables and their
# triggers kept, the older holes closed (0.3.0: immutable tables refuse an
# UPDATE/DELETE matching no row). A failed upgrade changes nothing.
. "${0%/*}/lib-pg.sh"

dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
# q DB SQL
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl "$1")" -c "$2"; }
qf() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -1 -d "$(dburl "$1")" -f "$2"; }
# (pg_dump's failure is the function's: a dump that failed never compares equal)
schema_dump() {
    "$PG_DUMP" --schema-only --no-owner -d "$(dburl "$1")" >"$TRASH/.schema_dump" &&
    grep -Ev '^\\(un)?restrict ' "$TRASH/.schema_dump"
}
# state DB: everything the upgrade must keep, as text
state() {
    q "$1" "select id, name, hash, applied_at from hectic.migration order by id" &&
    q "$1" "select key, hectic.get_secret(key) from hectic.secret order by key" &&
    q "$1" "select * from public.item order by id" &&
    q "$1" "select * from public.frozen order by id" &&
    q "$1" "select * from public.doc order by id"
}

# What the shell tools left behind: the 0.1.0 objects, then their users' data.
cat >shell-era.sql <<'EOF'
SELECT hectic.load_secrets_from_env(E'# shell era\nAPI_TOKEN=tok-123=abc\nGREETING="hello world"\nUNI=ünï\n');
INSERT INTO hectic.migration (name, hash, applied_at) VALUES
    ('20240101000000-init', upper(encode(sha256('init'), 'hex')), '2024-01-01 00:00:00+00'),
    ('20240202000000-items', encode(sha256('items'), 'hex'), '2024-02-02 00:00:00+00');
CREATE TABLE public.item (id int PRIMARY KEY, name text) INHERITS (hectic.created_at);
INSERT INTO public.item (id, name, created_at) VALUES (1, 'one', '2024-01-01'), (2, 'two', '2024-01-02');
CREATE TABLE public.frozen (id int PRIMARY KEY, label text) INHERITS (hectic.created_at, hectic.immutable);
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO public.frozen (id, label, created_at) VALUES (1, 'ref', '2024-01-01');
CREATE TABLE public.doc (id int PRIMARY KEY, body text) INHERITS (hectic.created_at, hectic.updated_at);
INSERT INTO public.doc (id, body, created_at, updated_at) VALUES (1, 'b', '2024-01-01', '2024-01-01');
-- the 0.1.0 hole: a parent gained later gets no triggers
CREATE TABLE public.late (id int) INHERITS (hectic.created_at);
ALTER TABLE public.late INHERIT hectic.immutable;
EOF

pg_cluster pg || exit 1
mkold() {
    q postgres "DROP DATABASE IF EXISTS $1" && q postgres "CREATE DATABASE $1" &&
    qf "$1" "$TEST_DIR/fixtures/hectic-0.1.0.sql" && qf "$1" shell-era.sql
}

test_expect_success 'the 0.1.0 fixture looks like the shell tools left it' '
    mkold old &&
    test "$(q old "select version from hectic.version")" = 0.1.0 &&
    test "$(q old "select value from hectic.secret where key = '"'API_TOKEN'"'")" = tok-123=abc &&
    test "$(q old "select count(*) from hectic.migration where hash = lower(hash)")" = 2 &&
    test "$(q old "select count(*) from pg_trigger where tgrelid = '"'public.late'"'::regclass")" = 0 &&
    state old >before.txt && grep -q "^API_TOKEN.tok-123=abc$" before.txt && grep -q "20240101000000-init" before.txt && grep -q "|1|one$" before.txt
'
test_expect_success 'bundle upgrade carries it to 0.3.0 (through 0.2.0, in one transaction)' '
    HECTIC_LOG="info;bundle=debug" "$DBTOOL" bundle upgrade -u "$(dburl old)" 2>err &&
    grep -q "upgrade-0.1.0: 0.1.0 -> 0.2.0" err && grep -q "upgrade-0.2.0: 0.2.0 -> 0.3.0" err &&
    grep -q "upgraded from 0.1.0 to 0.3.0" err &&
    test "$(q old "select version from hectic.version")" = 0.3.0
'
test_expect_success 'nothing is lost: migrations, secrets (same plaintext), user rows' '
    state old >after.txt && test_cmp before.txt after.txt
'
test_expect_success 'secrets are now encrypted and the key file exists' '
    test "$(q old "select format_type(atttypid, atttypmod) from pg_attribute where attrelid = '"'hectic.secret'"'::regclass and attname = '"'value'"'")" = bytea &&
    test "$(q old "select bool_and(position(convert_to('"'tok-123'"', '"'UTF8'"') in value) = 0) from hectic.secret")" = t &&
    test -f "$TRASH/pg/data/hectic_secret.key"
'
test_expect_success CLIENT_MATCHES_SERVER '...and no dump shows the plaintext' '
    "$PG_DUMP" -d "$(dburl old)" >dump.sql && ! grep -q "tok-123" dump.sql
'
test_expect_success 'the 0.2.0 and 0.3.0 behaviour is in place' '
    ! q old "DELETE FROM public.frozen WHERE id = 42" 2>err && grep -q "DELETE on immutable table public.frozen is refused" err &&
    test "$(q old "select count(*) from pg_trigger where tgrelid = '"'public.late'"'::regclass")" = 2 &&
    ! q old "ALTER TABLE public.item NO INHERIT hectic.created_at" 2>err && grep -q "must keep inheriting" err &&
    ! q old "UPDATE public.frozen SET label = '"'x'"'" 2>err && grep -q "immutable table public.frozen is refused" err &&
    ! q old "CREATE TABLE public.plain (id int)" 2>err && grep -q "must inherit hectic.created_at" err &&
    q old "INSERT INTO hectic.migration (name, hash) VALUES ('"'20240303000000-new'"', upper(encode(sha256('"'new'"'), '"'hex'"')))" &&
    test "$(q old "select hash = lower(hash) from hectic.migration where name = '"'20240303000000-new'"'")" = t &&
    test "$(q old "select hectic.load_secrets_from_env('"'X=1'"')")" = 1
'
objs="select p.oid::regprocedure::text from pg_proc p where pronamespace = 'hectic'::regnamespace and not exists (select 1 from pg_depend d where d.objid = p.oid and d.deptype = 'e')
          union all select evtname from pg_event_trigger
          union all select relname from pg_class where relnamespace = 'hectic'::regnamespace and relkind = 'r'
          union all select tgname from pg_trigger where tgrelid = 'hectic.migration'::regclass and not tgisinternal"
test_expect_success 'every object of a fresh 0.3.0 install exists after the upgrade' '
    q postgres "CREATE DATABASE fresh" && "$DBTOOL" bundle apply -u "$(dburl fresh)" 2>/dev/null &&
    q fresh "$objs" | sort >fresh.txt && q old "$objs" | sort >old.txt &&
    comm -23 fresh.txt old.txt >missing.txt && test_cmp /dev/null missing.txt
'
test_expect_success CLIENT_MATCHES_SERVER 'bundle apply now works on it and changes nothing' '
    schema_dump old >s1.sql && "$DBTOOL" bundle apply -u "$(dburl old)" 2>err && schema_dump old >s2.sql &&
    test_cmp s1.sql s2.sql
'
test_expect_success CLIENT_MATCHES_SERVER 'upgrading again re-applies and changes nothing' '
    "$DBTOOL" bundle upgrade -u "$(dburl old)" 2>err && grep -q "already at 0.3.0" err &&
    schema_dump old >s3.sql && test_cmp s1.sql s3.sql
'
test_expect_success CLIENT_MATCHES_SERVER 'a failing upgrade leaves the 0.1.0 database unchanged' '
    mkold blocked &&
    q blocked "CREATE VIEW public.v_token AS SELECT hectic.get_secret('"'API_TOKEN'"') AS t" &&
    schema_dump blocked >b1.sql && state blocked >b1.txt &&
    ! "$DBTOOL" bundle upgrade -u "$(dburl blocked)" 2>err &&
    grep -q "upgrade from hectic 0.1.0 failed: the database was left unchanged" err &&
    grep -q "upgrade-0.1.0" err &&
    schema_dump blocked >b2.sql && test_cmp b1.sql b2.sql && state blocked >b2.txt && test_cmp b1.txt b2.txt &&
    test "$(q blocked "select version from hectic.version")" = 0.1.0 &&
    test "$(q blocked "select value from hectic.secret where key = '"'GREETING'"'")" = "hello world"
'
test_expect_success 'bundle upgrade on a database without the bundle installs it' '
    q postgres "CREATE DATABASE empty" && "$DBTOOL" bundle upgrade -u "$(dburl empty)" 2>err &&
    grep -q "installing 0.3.0" err && test "$(q empty "select version from hectic.version")" = 0.3.0
'
test_expect_success 'bundle upgrade from an unknown version fails and says so' '
    q postgres "CREATE DATABASE future" &&
    q future "CREATE SCHEMA hectic; CREATE TABLE hectic.version (name text PRIMARY KEY, version text, installed_at timestamptz); INSERT INTO hectic.version VALUES ('"'hectic'"', '"'9.9.9'"', now())" &&
    ! "$DBTOOL" bundle upgrade -u "$(dburl future)" 2>err &&
    grep -q "has hectic bundle .9.9.9. and there is no upgrade path from it to 0.3.0" err &&
    test "$(q future "select version from hectic.version")" = 9.9.9
'
# --- from 0.2.0 (dbtool 0.2) ---------------------------------------------------
cat >dbtool-02.sql <<'EOF'
SELECT hectic.load_secrets_from_env(E'API_TOKEN=tok-456\n');
INSERT INTO hectic.migration (name, hash) VALUES ('20250101000000-init', encode(sha256('init'), 'hex'));
CREATE TABLE public.item (id int PRIMARY KEY, name text) INHERITS (hectic.created_at);
INSERT INTO public.item (id, name, created_at) VALUES (1, 'one', '2025-01-01');
CREATE TABLE public.frozen (id int PRIMARY KEY, label text) INHERITS (hectic.created_at, hectic.immutable);
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO public.frozen (id, label, created_at) VALUES (1, 'ref', '2025-01-01');
CREATE TABLE public.doc (id int PRIMARY KEY, body text) INHERITS (hectic.created_at, hectic.updated_at);
INSERT INTO public.doc (id, body, created_at, updated_at) VALUES (1, 'b', '2025-01-01', '2025-01-01');
-- allowed by 0.2.0, refused by 0.3.0 for new tables: kept as it is
CREATE TABLE public.measure (id int, at date) PARTITION BY RANGE (at);
EOF
mk02() {
    q postgres "DROP DATABASE IF EXISTS $1" && q postgres "CREATE DATABASE $1" &&
    qf "$1" "$TEST_DIR/fixtures/hectic-0.2.0.sql" && qf "$1" dbtool-02.sql
}
test_expect_success 'a 0.2.0 database: a DELETE matching no row passes its immutable table' '
    mk02 v2 && test "$(q v2 "select version from hectic.version")" = 0.2.0 &&
    q v2 "DELETE FROM public.frozen WHERE id = 42" && state v2 >v2-before.txt
'
test_expect_code 1 'bundle apply (as hydrate and migrator init do) refuses 0.2.0' '
    "$DBTOOL" bundle apply -u "$(dburl v2)" 2>err
'
test_expect_success '...naming both versions and dbtool bundle upgrade, changing nothing' '
    grep -q "the database has 0.2.0 and this bundle is 0.3.0" err && grep -q "dbtool bundle upgrade" err &&
    test "$(q v2 "select version from hectic.version")" = 0.2.0
'
test_expect_success 'bundle upgrade carries 0.2.0 to 0.3.0' '
    "$DBTOOL" bundle upgrade -u "$(dburl v2)" 2>err && grep -q "upgraded from 0.2.0 to 0.3.0" err &&
    test "$(q v2 "select version from hectic.version")" = 0.3.0
'
test_expect_success '...keeping migrations, secrets and rows' '
    state v2 >v2-after.txt && test_cmp v2-before.txt v2-after.txt
'
test_expect_success '...the statement-level trigger replaces the TRUNCATE-only one (still two triggers)' '
    test "$(q v2 "select string_agg(tgname, '"' '"' order by tgname) from pg_trigger where tgrelid = '"'public.frozen'"'::regclass and not tgisinternal")" = \
         "hectic_block_immutable_dml hectic_block_immutable_truncate" &&
    q v2 "select pg_get_triggerdef(oid) from pg_trigger where tgname = '"'hectic_block_immutable_truncate'"' and tgrelid = '"'public.frozen'"'::regclass" >def &&
    grep -q "BEFORE INSERT OR DELETE OR UPDATE OR TRUNCATE ON public.frozen FOR EACH STATEMENT" def &&
    ! q v2 "DELETE FROM public.frozen WHERE id = 42" 2>err && grep -q "DELETE on immutable table public.frozen is refused" err &&
    ! q v2 "UPDATE public.frozen SET label = label WHERE false" 2>err && grep -q "UPDATE on immutable table" err
'
test_expect_success '...leaving the existing partitioned table alone, refusing a new one' '
    test "$(q v2 "select relkind from pg_class where oid = '"'public.measure'"'::regclass")" = p &&
    ! q v2 "CREATE TABLE public.measure2 (id int) PARTITION BY RANGE (id)" 2>err &&
    grep -q "partitioned table public.measure2 must inherit hectic.created_at" err
'
test_expect_success 'the upgraded 0.2.0 database has every object of a fresh install' '
    q fresh "$objs" | sort >fresh.txt && q v2 "$objs" | sort >v2.txt &&
    comm -23 fresh.txt v2.txt >missing.txt && test_cmp /dev/null missing.txt
'
test_expect_code 3 'bundle upgrade without a URL exits 3' 'env -u PGURL "$DBTOOL" bundle upgrade 2>err'

test_done
