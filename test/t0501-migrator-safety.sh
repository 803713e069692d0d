#!/bin/sh
# migrator safety: the history check (exit 2, --force), a failing migration
# rolled back alone (exit 4), changed hashes (refused, --accept-changed),
# 8 concurrent runs, no-transaction migrations (CREATE INDEX CONCURRENTLY,
# INVALID index cleanup, strict migration.yaml), immutable-table DML.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int) INHERITS (hectic.created_at)'
pg_cluster pg || exit 1

# --- history ----------------------------------------------------------------------

test_expect_success 'setup: a and c applied, then b appears between them' '
    newdb h >/dev/null &&
    mkmig H 20240101000000-a "CREATE TABLE a $T;" "DROP TABLE a;" &&
    mkmig H 20240103000000-c "CREATE TABLE c $T;" "DROP TABLE c;" &&
    mig h H migrate up all 2>err &&
    mkmig H 20240102000000-b "CREATE TABLE b $T;" "DROP TABLE b;" &&
    mkmig H 20240104000000-d "CREATE TABLE d $T;" "DROP TABLE d;"
'
test_expect_code 2 'history mismatch: migrate up exits 2' 'mig h H migrate up 2>err'
# issue 14: the shell migrator's block, line by line
test_expect_success '...with the position, both names and both lists, changing nothing' '
    cat >want <<-\EOF &&
	Migration history mismatch detected!
	Position: Migration #2
	Database has: 20240103000000-c
	Filesystem has: 20240102000000-b
	Full filesystem migrations (in order):
	  1. 20240101000000-a
	  2. 20240102000000-b
	  3. 20240103000000-c
	  4. 20240104000000-d
	Full database migrations (in order):
	  1. 20240101000000-a
	  2. 20240103000000-c
	EOF
    sed -n "/^Migration history mismatch detected!$/,/^  2\. 20240103000000-c$/p" err >got && test_cmp want got &&
    grep -q -- "--force" err && test "$(applied h)" = "20240101000000-a 20240103000000-c"
'
test_expect_code 2 '...also for down and to' 'mig h H migrate down 2>/dev/null; test $? = 2 && mig h H migrate to latest 2>/dev/null'
test_expect_success '--force goes on loudly: up applies the unapplied ones in name order' '
    mig h H migrate up all --force 2>err && grep -q "\*\*\* --force: going on past the history mismatch" err &&
    test "$(applied h)" = "20240101000000-a 20240102000000-b 20240103000000-c 20240104000000-d" &&
    grep -n "applied 2024" err | sed "s/.*applied //" >order && printf "20240102000000-b\n20240104000000-d\n" >want && test_cmp want order
'
test_expect_success 'after that the history is a prefix again: no --force needed' '
    mig h H migrate down 2>err && test "$(nmig h)" = 3 && ! grep -q mismatch err
'
test_expect_success 'a vanished applied migration is a mismatch too; --force down skips past nothing silently' '
    mig h H migrate up 2>/dev/null && mv H/20240104000000-d d-away &&
    mig h H migrate up 2>err; test $? = 2 && grep -q "^Database has: 20240104000000-d$" err &&
    grep -q "^Filesystem has: (nothing)$" err &&
    mig h H status >out && grep -q "^missing     20240104000000-d  (applied, but not in" out &&
    mig h H migrate down --force 2>err; test $? = 4 && grep -q "cannot revert .20240104000000-d.: it is applied but has no folder" err &&
    test "$(nmig h)" = 4 && mv d-away H/20240104000000-d && mig h H migrate down 2>/dev/null && test "$(nmig h)" = 3
'

# --- a failing migration -------------------------------------------------------

test_expect_success 'setup: three good migrations, a failing fourth, a fifth' '
    newdb f >/dev/null &&
    for i in 1 2 3; do mkmig F 2024020100000$i-ok$i "CREATE TABLE ok$i $T;" "DROP TABLE ok$i;" || exit 1; done &&
    mkmig F 20240201000004-bad "CREATE TABLE bad $T;
INSERT INTO bad (id) VALUES (1);
SELECT 1/0;
CREATE TABLE bad2 $T;" "DROP TABLE bad;" &&
    mkmig F 20240201000005-after "CREATE TABLE after $T;" "DROP TABLE after;" &&
    mig f F migrate up 2 2>/dev/null && test "$(ntables f)" = 2
'
test_expect_code 4 'a failing migration exits 4' 'mig f F migrate up all 2>err'
test_expect_success '...with the file:line of the runner' '
    grep -q "F/20240201000004-bad/up.sql:3: ERROR:  division by zero" err &&
    grep -q "migration .20240201000004-bad. (up) failed and was rolled back" err
'
test_expect_success '...earlier ones (of this run too) stay, that one is rolled back, the next not run' '
    test "$(applied f)" = "20240201000001-ok1 20240201000002-ok2 20240201000003-ok3" &&
    test "$(ntables f)" = 3 && test "$(q f "select to_regclass('"'bad'"') is null")" = t
'
test_expect_success 'the connection is usable after the failure: fix and go on' '
    sed -i "s|SELECT 1/0;|SELECT 1;|" F/20240201000004-bad/up.sql &&
    mig f F migrate up all 2>err && test "$(nmig f)" = 5 && test "$(q f "select count(*) from bad")" = 1
'
test_expect_code 4 'a failing down is rolled back too (exit 4)' '
    echo "DROP TABLE after; SELECT nope;" >F/20240201000005-after/down.sql && mig f F migrate down 2>err
'
test_expect_success '...the table and the row stay' '
    grep -q "down.sql:1: ERROR:  column \"nope\" does not exist" err &&
    test "$(nmig f)" = 5 && test "$(q f "select to_regclass('"'after'"') is not null")" = t
'
# issue 16: was "a warning, still recorded"; now refused before anything is committed
test_expect_success 'a script that BEGINs and COMMITs itself is refused: nothing committed, nothing recorded' '
    newdb cm >/dev/null &&
    mkmig CM 20240301000000-commits "BEGIN; CREATE TABLE x $T; COMMIT;" "DROP TABLE x;" &&
    mig cm CM migrate up 2>err; test $? = 4 && grep -q "up.sql:1: BEGIN in migration .20240301000000-commits. (up) would end the transaction" err &&
    test "$(nmig cm)" = 0 && test "$(q cm "select to_regclass('"'x'"') is null")" = t
'

# --- changed hashes -----------------------------------------------------------------

test_expect_success 'setup: an applied migration whose file changes afterwards' '
    newdb c >/dev/null && mkmig C 20240401000000-one "CREATE TABLE one $T;" "DROP TABLE one;" &&
    mkmig C 20240401000001-two "CREATE TABLE two $T;" "DROP TABLE two;" &&
    mig c C migrate up 2>/dev/null && old=$(hash_of c 20240401000000-one) &&
    echo "-- edited" >>C/20240401000000-one/up.sql
'
test_expect_success 'status marks it changed' '
    mig c C status >out 2>err && grep -q "^changed     20240401000000-one  (up file hashes to" out &&
    grep -q "^# 0 applied, 1 changed, 0 missing, 1 pending$" out
'
test_expect_code 2 'migrate refuses (exit 2)' 'mig c C migrate up 2>err'
test_expect_success '...naming it, both hashes and the flag, applying nothing' '
    grep -q "applied migration .20240401000000-one. changed" err && grep -q -- "--accept-changed" err &&
    grep -q "$(sha256sum C/20240401000000-one/up.sql | cut -d" " -f1)" err && test "$(nmig c)" = 1
'
test_expect_success '--accept-changed records the new hash and goes on' '
    mig c C migrate up --accept-changed 2>err && grep -q "accepted the changed up file" err &&
    test "$(hash_of c 20240401000000-one)" = "$(sha256sum C/20240401000000-one/up.sql | cut -d" " -f1)" &&
    test "$(nmig c)" = 2 && mig c C status | grep -q "^# 2 applied, 0 changed"
'
test_expect_success 'an upper-case recorded hash is not a change' '
    q c "ALTER TABLE hectic.migration DISABLE TRIGGER hectic_t_sha256_lower; UPDATE hectic.migration SET hash = upper(hash); ALTER TABLE hectic.migration ENABLE TRIGGER hectic_t_sha256_lower" &&
    mig c C status | grep -q "^# 2 applied, 0 changed" && mig c C migrate up all 2>err
'

# --- concurrency ----------------------------------------------------------------------

setup_cc() {
    newdb cc >/dev/null &&
    mkmig CC 20240501000000-log "CREATE TABLE runs (name text) INHERITS (hectic.created_at);" "DROP TABLE runs;" &&
    for i in $(seq 10 38); do
        n=202405010000$i-m$i &&
        mkmig CC $n "CREATE TABLE m$i $T; INSERT INTO runs (name) VALUES ('$n'); SELECT pg_sleep(0.01);" "DROP TABLE m$i;" || return 1
    done &&
    # m19 creates m20's table; m20 indexes it concurrently, outside a transaction
    echo "CREATE TABLE m19 $T; CREATE TABLE m20 $T; INSERT INTO runs (name) VALUES ('20240501000019-m19');" >CC/20240501000019-m19/up.sql &&
    echo "DROP TABLE m19, m20;" >CC/20240501000019-m19/down.sql &&
    printf "CREATE INDEX CONCURRENTLY m20_id ON m20 (id);\nINSERT INTO runs (name) VALUES ('20240501000020-m20');\n" >CC/20240501000020-m20/up.sql &&
    echo "DROP INDEX CONCURRENTLY m20_id;" >CC/20240501000020-m20/down.sql &&
    printf "transaction: false\n" >CC/20240501000020-m20/migration.yaml
}
test_expect_success 'setup: 30 migrations, one of them CREATE INDEX CONCURRENTLY without a transaction' '
    setup_cc && mig cc CC list --format json | grep -q "\"name\": \"20240501000020-m20\", \"valid\": true, \"up\": true, \"down\": true, \"multi_file\": false, \"transaction\": false"
'
test_expect_success '8 parallel migrate up all: all exit 0, every migration applied exactly once' '
    for i in 1 2 3 4 5 6 7 8; do
        ( mig cc CC migrate up all >out$i 2>err$i; echo $? >rc$i ) &
    done; wait &&
    for i in 1 2 3 4 5 6 7 8; do test "$(cat rc$i)" = 0 || { cat err$i; exit 1; }; done &&
    test "$(nmig cc)" = 30 && test "$(q cc "select count(*) from runs")" = 29 &&
    test "$(q cc "select count(distinct name) from runs")" = 29 &&
    test "$(cat err? | grep -c "applied 2024")" = 30 &&
    grep -l "waiting for another migrator" err? >/dev/null &&
    test "$(cat err? | grep -c "nothing to apply")" -ge 1 &&
    test "$(q cc "select indisvalid from pg_index where indexrelid = '"'m20_id'"'::regclass")" = t
'
# holder: take the migrator lock in a plain session, then build an index concurrently
cic_holder() {
    timeout 60 "$PSQL" -X -q -d "$(dburl cc)" -c "SELECT pg_advisory_lock(7522528104227761511)" -c "SELECT pg_sleep(1)" \
        -c "CREATE INDEX CONCURRENTLY big_id ON big (id)" -c "SELECT pg_sleep(0.5)" >/dev/null 2>cic.err
    echo $? >cic.rc
}
waiter() {
    timeout 60 migrator -u "$(dburl cc)" -d CC migrate up all 2>werr
    echo $? >wrc
}
test_expect_success 'a waiting run holds no transaction, so the holder'"'"'s CREATE INDEX CONCURRENTLY completes' '
    q cc "CREATE TABLE big (id int) INHERITS (hectic.created_at); INSERT INTO big (id) SELECT generate_series(1, 1000)" || exit 1
    cic_holder &
    sleep 0.3
    waiter &
    sleep 0.6
    q cc "select count(*) from pg_stat_activity where datname = '"'cc'"' and state like '"'idle in transaction%'"'" >held
    wait
    test "$(cat cic.rc)" = 0 && test "$(cat wrc)" = 0 && test "$(cat held)" = 0 &&
    grep -q "waiting for another migrator (server pid [0-9]*) to finish (advisory lock 7522528104227761511)" werr &&
    grep -q "nothing to apply" werr &&
    test "$(q cc "select indisvalid from pg_index where indexrelid = '"'big_id'"'::regclass")" = t
'

# --- no-transaction migrations -------------------------------------------------------------

# issue 16: was exit 4; now the statement runs on its own, outside a transaction
test_expect_success 'without migration.yaml, CREATE INDEX CONCURRENTLY runs outside a transaction' '
    newdb nt >/dev/null &&
    mkmig NT 20240601000000-tbl "CREATE TABLE u (id int, v text) INHERITS (hectic.created_at); INSERT INTO u (id, v) SELECT g, g::text FROM generate_series(1, 100) g;" "DROP TABLE u;" &&
    mkmig NT 20240601000001-idx "CREATE INDEX CONCURRENTLY u_v ON u (v);" "DROP INDEX CONCURRENTLY u_v;" &&
    mig nt NT migrate up all 2>err && grep -q "up.sql:1: CREATE INDEX CONCURRENTLY cannot run inside a transaction block: it runs on its own" err &&
    test "$(nmig nt)" = 2 && test "$(q nt "select count(*) from hectic.migration_step")" = 0 &&
    mig nt NT migrate down 2>err && test "$(nmig nt)" = 1 && test "$(q nt "select to_regclass('"'u_v'"') is null")" = t
'
test_expect_success 'with transaction: false it runs outside one and is recorded after' '
    echo "transaction: false" >NT/20240601000001-idx/migration.yaml &&
    mig nt NT migrate up all 2>err && test "$(nmig nt)" = 2 &&
    test "$(q nt "select indisvalid from pg_index where indexrelid = '"'u_v'"'::regclass")" = t &&
    test "$(hash_of nt 20240601000001-idx)" = "$(sha256sum NT/20240601000001-idx/up.sql | cut -d" " -f1)"
'
test_expect_success 'its down runs outside a transaction too' '
    mig nt NT migrate down 2>err && test "$(nmig nt)" = 1 && test "$(q nt "select to_regclass('"'u_v'"') is null")" = t
'
test_expect_code 4 'a failing CREATE UNIQUE INDEX CONCURRENTLY exits 4' '
    q nt "INSERT INTO u (id, v) VALUES (1, '"'1'"')" &&
    mkmig NT 20240601000002-uniq "CREATE UNIQUE INDEX CONCURRENTLY u_id ON u (id);" "DROP INDEX CONCURRENTLY u_id;" &&
    echo "transaction: false" >NT/20240601000002-uniq/migration.yaml &&
    rm -r NT/20240601000001-idx && mig nt NT migrate up 2>err
'
# issue 16: the INVALID index is named with the DROP to run (it was dropped silently)
test_expect_success '...says what state it left, names the INVALID index and how to drop it, records nothing' '
    grep -q "up.sql:1: ERROR:  could not create unique index" err &&
    grep -q "no transaction) failed at statement 1: the 0 statements before it that succeeded are committed" err &&
    grep -q "left the INVALID index public.u_id behind.*DROP INDEX CONCURRENTLY IF EXISTS public.u_id;" err &&
    test "$(nmig nt)" = 1 && q nt "DROP INDEX CONCURRENTLY IF EXISTS public.u_id" &&
    test "$(q nt "select count(*) from pg_index where not indisvalid")" = 0
'
test_expect_success 'an INVALID index that was there before is left alone' '
    q nt "DELETE FROM u WHERE id = 1 AND ctid = (SELECT max(ctid) FROM u WHERE id = 1)" &&
    q nt "CREATE TABLE dup (id int) INHERITS (hectic.created_at); INSERT INTO dup (id) VALUES (1), (1)" &&
    ! q nt "CREATE UNIQUE INDEX CONCURRENTLY dup_id ON dup (id)" 2>/dev/null &&
    mig nt NT migrate up 2>err && test "$(nmig nt)" = 2 &&
    test "$(q nt "select string_agg(indexrelid::regclass::text, '"' '"') from pg_index where not indisvalid")" = dup_id
'
# migration.yaml is read when its migration is about to run (or for status, list and lint)
test_expect_code 3 'an unknown key in migration.yaml exits 3' '
    mkmig NT 20240601000003-ok "CREATE TABLE ok3 $T;" "DROP TABLE ok3;" &&
    mkmig NT 20240601000004-yaml "CREATE TABLE y $T;" "DROP TABLE y;" &&
    printf "transaction: false\ntransacton: true\n" >NT/20240601000004-yaml/migration.yaml && mig nt NT migrate up all 2>err
'
test_expect_success '...with file:line:col, before anything runs' '
    grep -q "NT/20240601000004-yaml/migration.yaml:2:1: unknown key .transacton." err &&
    test "$(nmig nt)" = 2 && test "$(q nt "select to_regclass('"'ok3'"') is null")" = t &&
    rm -r NT/20240601000003-ok NT/20240601000004-yaml
'
test_expect_code 3 'a wrong type in migration.yaml exits 3' '
    printf "transaction: sometimes\n" >NT/20240601000002-uniq/migration.yaml && mig nt NT status 2>err
'
test_expect_success '...naming the value' 'grep -q "migration.yaml:1:14: .transaction. expects true or false, got .sometimes." err'

# --- immutable tables --------------------------------------------------------------------

test_expect_success 'DML on a hectic.immutable table works inside a migration (no SET LOCAL in the file)' '
    newdb im >/dev/null &&
    mkmig IM 20240701000000-frozen "CREATE TABLE frozen (id int PRIMARY KEY, label text) INHERITS (hectic.created_at, hectic.immutable);" "DROP TABLE frozen;" &&
    mkmig IM 20240701000001-data "INSERT INTO frozen (id, label) VALUES (1, '"'a'"'), (2, '"'b'"'); UPDATE frozen SET label = '"'B'"' WHERE id = 2;" "DELETE FROM frozen WHERE id IN (1, 2);" &&
    mig im IM migrate up all 2>err && test "$(q im "select string_agg(label, '"','"' order by id) from frozen")" = "a,B"
'
test_expect_success 'the same DML outside a migration fails, and migration_mode did not leak' '
    ! q im "INSERT INTO frozen (id, label) VALUES (3, '"'c'"')" 2>err && grep -q "immutable" err &&
    ! q im "DELETE FROM frozen" 2>/dev/null &&
    test "$(q im "select coalesce(current_setting('"'hectic.migration_mode'"', true), '"''"')")" = ""
'
test_expect_success 'down of a data migration on an immutable table works too' '
    mig im IM migrate down 2>err && test "$(q im "select count(*) from frozen")" = 0
'
test_expect_success 'a no-transaction migration may write immutable rows as well' '
    mkmig IM 20240701000002-nt "INSERT INTO frozen (id, label) VALUES (9, '"'n'"');" "DELETE FROM frozen WHERE id = 9;" &&
    echo "transaction: false" >IM/20240701000002-nt/migration.yaml &&
    mig im IM migrate up all 2>err && test "$(q im "select count(*) from frozen")" = 3
'

test_done
