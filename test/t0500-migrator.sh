#!/bin/sh
# migrator: the command line (help, version, exit codes), init, create, list,
# up / down / to with every argument form, already-at-target and
# not-enough, multi-file migrations with relative includes, --set variables,
# the recorded hash, and where URL and folder come from.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int) INHERITS (hectic.created_at)'

# --- offline ----------------------------------------------------------------

test_expect_success 'migrator --version and dbtool migrator --version' '
    migrator --version >out && grep -q "^migrator (dbtool) 0.2.0$" out &&
    "$DBTOOL" migrator --version >out2 && test_cmp out out2
'
test_expect_success 'migrator --help and help list every command on stdout' '
    migrator --help >out &&
    for c in "init \[--dry-run\]" "migrate up" "migrate down" "migrate to" "create \[--name" "list \[--raw\]" status; do
        grep -q "^    $c" out || { echo "no $c"; exit 1; }
    done &&
    grep -q "sha256" out && grep -q "up/entrypoint.sql" out && grep -q "dbtool bundle upgrade" out &&
    migrator help >out2 && test_cmp out out2 &&
    migrator migrate --help | grep -q "migrate to NAME" &&
    migrator create --help | grep -q -- "--name NAME"
'
test_expect_code 1 'no command: help on stderr, exit 1' 'migrator 2>err >out'
test_expect_success '...and nothing on stdout' 'test ! -s out && grep -q "usage: migrator" err'
test_expect_code 9 'an unknown command exits 9' 'migrator frobnicate 2>err'
test_expect_success '...naming it' 'grep -q "unknown command .frobnicate." err'
test_expect_code 9 'an unknown option exits 9' 'migrator list --frob 2>err'
test_expect_code 9 'an unknown option before the command exits 9' 'migrator --frob list 2>err'
test_expect_code 2 'two commands exit 2' 'migrator list status 2>err'
test_expect_success '...naming both' 'grep -q "two commands given: .list. and .status." err'
test_expect_code 2 'two directions exit 2' 'migrator -u "postgresql:///x" migrate up down 2>err'
test_expect_code 9 'migrate up with a bad count exits 9' 'migrator -u "postgresql:///x" migrate up zero 2>err'
test_expect_code 3 'migrate without a URL exits 3' 'mkdir -p migration && migrator migrate up 2>err'
test_expect_success '...saying how to give one' 'grep -q "DB_URL" err'
test_expect_code 3 'status without a URL exits 3' 'migrator status 2>err'
test_expect_code 3 'an unsupported URL scheme exits 3' 'migrator -u sqlite:///tmp/x.db migrate up 2>err'
test_expect_success '...naming it (no password shown)' '
    grep -q "unsupported database URL .sqlite:///tmp/x.db." err &&
    migrator -u "mysql://u:secret@h/db" migrate up 2>err; test $? = 3 && ! grep -q secret err
'
test_expect_success 'init --dry-run prints the bundle SQL without a URL' '
    migrator init --dry-run >out 2>err &&
    grep -q "^-- part 01-version$" out && grep -q "^-- part 04-inheritance$" out &&
    test "$(grep -c "^BEGIN;$" out)" = 5 && grep -q "CREATE TABLE IF NOT EXISTS hectic.migration" out
'

# --- create / list ------------------------------------------------------------

test_expect_success 'create --name makes DIR/<UTC stamp>-NAME/up.sql and down.sql with a comment' '
    before=$(date -u +%Y%m%d%H%M%S) &&
    migrator -d cr create --name add-users >out 2>err &&
    after=$(date -u +%Y%m%d%H%M%S) &&
    d=$(cat out) && test -d "$d" && n=${d##*/} &&
    echo "$n" | grep -Eq "^[0-9]{14}-add-users$" &&
    s=${n%%-*} && test "$s" -ge "$before" && test "$s" -le "$((after + 1))" &&
    grep -q "^-- $n: up" "$d/up.sql" && grep -q "^-- $n: down" "$d/down.sql" &&
    test "$(wc -l <"$d/up.sql")" = 1
'
test_expect_success 'create without --name picks a random pronounceable name' '
    migrator -d cr create >out 2>/dev/null && n=$(basename "$(cat out)") &&
    echo "$n" | grep -Eq "^[0-9]{14}-[a-z]{6}-[a-z]{6}$"
'
test_expect_success 'creates in the same second never collide and stay in creation order' '
    for i in 1 2 3 4 5 6; do migrator -d same create --name x >>made 2>/dev/null || exit 1; done &&
    test "$(ls same | wc -l)" = 6 && test "$(sort -u made | wc -l)" = 6 &&
    sed "s|.*/||" made >order && ls same >sorted && test_cmp order sorted
'
test_expect_success 'parallel creates never collide either' '
    for i in 1 2 3 4 5 6 7 8; do migrator -d par create --name p 2>/dev/null >/dev/null & done; wait &&
    test "$(ls par | wc -l)" = 8 && test "$(ls par | cut -c1-14 | sort -u | wc -l)" = 8
'
test_expect_code 9 'create with a / in the name is refused' 'migrator -d bad create --name a/b 2>err'
test_expect_success '...saying why, creating nothing' 'grep -q "contains ./." err && test ! -e bad/*a'
test_expect_success 'create uses ./migration when no folder is configured' '
    mkdir dflt && (cd dflt && migrator create --name here >../out 2>/dev/null) &&
    grep -q "^migration/[0-9]\{14\}-here$" out && test -f dflt/migration/*-here/up.sql
'
test_expect_success 'list: names in order, incomplete ones marked; --raw: names only' '
    mkmig ls 20240102000000-b "select 1;" && mkmig ls 20240101000000-a "select 1;" &&
    mkdir -p ls/20240103000000-noup && echo "--" >ls/20240103000000-noup/down.sql &&
    mkdir -p ls/20240104000000-nodown && echo "--" >ls/20240104000000-nodown/up.sql &&
    mkdir -p ls/20240105000000-multi/up ls/20240105000000-multi/down &&
    echo "--" >ls/20240105000000-multi/up/entrypoint.sql && echo "--" >ls/20240105000000-multi/down/entrypoint.sql &&
    mkdir -p ls/notes ls/2024-bad && echo x >ls/README.md && echo x >ls/20240106000000-file.sql &&
    migrator -d ls list >out &&
    cat >want <<-\EOF &&
	20240101000000-a
	20240102000000-b
	20240103000000-noup  (no up.sql: incomplete, ignored)
	20240104000000-nodown  (no down.sql: incomplete)
	20240105000000-multi  (multi-file)
	EOF
    test_cmp want out &&
    migrator list --raw -d ls >out && printf "%s\n" 20240101000000-a 20240102000000-b 20240103000000-noup \
        20240104000000-nodown 20240105000000-multi >want && test_cmp want out
'
test_expect_code 3 'list of a missing folder exits 3' 'migrator -d nowhere list 2>err'
test_expect_success 'deprecated --inherits warns and still succeeds' '
    migrator --inherits hectic.created_at -d ls list >out 2>err && grep -q deprecated err &&
    migrator -d ls list --inherits x >/dev/null 2>err && grep -q deprecated err
'

# --- on a server ---------------------------------------------------------------

pg_cluster pg || exit 1
newdb m >/dev/null
D=mig
for i in 1 2 3 4 5; do
    mkmig $D 2024010100000$i-t$i "CREATE TABLE t$i $T;" "DROP TABLE t$i;"
done

test_expect_success 'init applies the bundle' '
    mig m $D init 2>err && test "$(q m "select version from hectic.version")" = 0.3.0 &&
    test "$(applied m)" = ""
'
test_expect_success 'migrate up applies one (the default)' '
    mig m $D migrate up 2>err && test "$(applied m)" = 20240101000001-t1 &&
    grep -q "applied 20240101000001-t1" err && test "$(q m "select to_regclass('"'t1'"') is not null")" = t
'
test_expect_success 'migrate up 2 applies two' '
    mig m $D migrate up 2 2>err && test "$(applied m)" = "20240101000001-t1 20240101000002-t2 20240101000003-t3"
'
test_expect_code 1 'migrate up 3 with 2 pending exits 1' 'mig m $D migrate up 3 2>err'
test_expect_success '...saying so and applying nothing' '
    grep -q "cannot apply 3 migrations: only 2 are pending" err && test "$(q m "select count(*) from hectic.migration")" = 3
'
test_expect_success 'migrate up all applies the rest' '
    mig m $D migrate up all 2>err && test "$(q m "select count(*) from hectic.migration")" = 5
'
test_expect_success 'already at the target: exit 0 with a message (up, up all, latest, head, to latest)' '
    for a in "" all latest head 1 7; do mig m $D migrate up $a 2>err || exit 1; grep -q "already at the newest migration .20240101000005-t5." err || exit 1; done &&
    mig m $D migrate to latest 2>err && grep -q "already at .20240101000005-t5." err
'
test_expect_success 'migrate down reverts one (the default)' '
    mig m $D migrate down 2>err && test "$(q m "select count(*) from hectic.migration")" = 4 &&
    grep -q "reverted 20240101000005-t5" err && test "$(q m "select to_regclass('"'t5'"') is null")" = t
'
test_expect_success 'migrate down 2 reverts two, newest first' '
    mig m $D migrate down 2 2>err && test "$(applied m)" = "20240101000001-t1 20240101000002-t2" &&
    grep -n "reverted 2024" err | sed "s/:.*reverted / /" >order && printf "1 20240101000004-t4\n2 20240101000003-t3\n" >want && test_cmp want order
'
test_expect_code 1 'migrate down 3 with 2 applied exits 1' 'mig m $D migrate down 3 2>err'
test_expect_success '...and changes nothing' 'grep -q "only 2 are applied" err && test "$(q m "select count(*) from hectic.migration")" = 2'
test_expect_success 'migrate to NAME forward' '
    mig m $D migrate to 20240101000004-t4 2>err && test "$(q m "select max(name) from hectic.migration")" = 20240101000004-t4 &&
    test "$(q m "select count(*) from hectic.migration")" = 4
'
test_expect_success 'migrate to NAME backward' '
    mig m $D migrate to 20240101000001-t1 2>err && test "$(applied m)" = 20240101000001-t1 &&
    test "$(q m "select count(*) from pg_tables where schemaname = '"'public'"'")" = 1
'
test_expect_success 'migrate to latest / head / last go to the newest' '
    mig m $D migrate to latest 2>err && test "$(q m "select count(*) from hectic.migration")" = 5 &&
    mig m $D migrate down 2 2>/dev/null && mig m $D migrate to head 2>/dev/null && test "$(q m "select count(*) from hectic.migration")" = 5 &&
    mig m $D migrate down 2>/dev/null && mig m $D migrate to last 2>/dev/null && test "$(q m "select count(*) from hectic.migration")" = 5
'
test_expect_code 1 'migrate to an unknown name exits 1' 'mig m $D migrate to 20990101000000-nope 2>err'
test_expect_success '...naming it' 'grep -q "no migration named .20990101000000-nope." err'
test_expect_success 'migrate down all reverts everything' '
    mig m $D migrate down all 2>err && test "$(q m "select count(*) from hectic.migration")" = 0 &&
    test "$(q m "select count(*) from pg_tables where schemaname = '"'public'"'")" = 0
'
test_expect_success 'down with nothing applied: exit 0 with a message' '
    mig m $D migrate down 2>err && grep -q "nothing to revert" err
'
test_expect_success 'the recorded hash is sha256sum of up.sql, lower-case' '
    mig m $D migrate up all 2>/dev/null &&
    for n in $(ls $D); do
        want=$(sha256sum $D/$n/up.sql | cut -d" " -f1) &&
        test "$(hash_of m $n)" = "$want" || exit 1
    done
'
test_expect_success 'status: applied and pending' '
    mig m $D migrate down 2 2>/dev/null && mig m $D status >out 2>err &&
    cat >want <<-\EOF &&
	applied     20240101000001-t1
	applied     20240101000002-t2
	applied     20240101000003-t3
	pending     20240101000004-t4
	pending     20240101000005-t5
	# 3 applied, 0 changed, 0 missing, 2 pending
	EOF
    test_cmp want out
'
test_expect_success 'status of a database without the bundle: everything pending, a warning' '
    newdb fresh >/dev/null && mig fresh $D status >out 2>err && grep -q "^# 0 applied, 0 changed, 0 missing, 5 pending$" out &&
    grep -q "migrator init" err && test "$(q fresh "select count(*) from pg_namespace where nspname = '"'hectic'"'")" = 0
'
test_expect_success 'migrate on a fresh database runs init first' '
    newdb fresh2 >/dev/null && mig fresh2 $D migrate up 2>err && test "$(applied fresh2)" = 20240101000001-t1
'

# --- multi-file, variables ---------------------------------------------------------

test_expect_success 'multi-file migrations: \ir resolves beside the entrypoint; hash of up/entrypoint.sql' '
    newdb mf >/dev/null &&
    M=multi/20240201000000-multi && mkdir -p $M/up/tables $M/down &&
    printf "\\\\ir tables/a.sql\n\\\\ir tables/b.sql\nINSERT INTO a (id) VALUES (1);\n" >$M/up/entrypoint.sql &&
    echo "CREATE TABLE a $T;" >$M/up/tables/a.sql &&
    printf "CREATE TABLE b $T;\n\\\\ir ../../shared.sql\n" >$M/up/tables/b.sql &&
    echo "CREATE TABLE c $T;" >$M/shared.sql &&
    printf "DROP TABLE a, b, c;\n" >$M/down/entrypoint.sql &&
    mig mf multi list >out && grep -q "20240201000000-multi  (multi-file)" out &&
    mig mf multi migrate up 2>err &&
    test "$(q mf "select count(*) from a") $(q mf "select to_regclass('"'c'"') is not null")" = "1 t" &&
    test "$(q mf "select hash from hectic.migration")" = "$(sha256sum $M/up/entrypoint.sql | cut -d" " -f1)" &&
    mig mf multi migrate down 2>err && test "$(q mf "select to_regclass('"'a'"') is null")" = t
'
test_expect_success 'a failing include names the included file and line' '
    echo "CREATE TABLE b $T;
SELECT 1/0;" >multi/20240201000000-multi/up/tables/b.sql &&
    mig mf multi migrate up 2>err; test $? = 4 &&
    grep -q "tables/b.sql:2: ERROR:  division by zero" err && test "$(applied mf)" = ""
'
test_expect_success '--set / -v pass script variables to every migration' '
    newdb vars >/dev/null &&
    mkmig vdir 20240301000000-v1 "CREATE TABLE kv (k text, v text) INHERITS (hectic.created_at); INSERT INTO kv (k, v) VALUES ('"'greeting'"', :'"'greeting'"');" "DROP TABLE kv;" &&
    mkmig vdir 20240301000001-v2 "INSERT INTO kv (k, v) VALUES ('"'who'"', :'"'who'"'), ('"'n'"', :'"'n'"');" "DELETE FROM kv WHERE k IN ('"'who'"', '"'n'"');" &&
    mig vars vdir migrate up all --set greeting="hello world" -v who=me --set n=3 2>err &&
    test "$(q vars "select string_agg(k || '"'='"' || v, '"','"' order by k) from kv")" = "greeting=hello world,n=3,who=me"
'
test_expect_code 4 '...and a missing variable fails the migration like psql would' '
    newdb vars2 >/dev/null && mig vars2 vdir migrate up all 2>err
'

# --- where URL and folder come from ---------------------------------------------------

test_expect_success 'DB_URL and MIGRATION_DIR from the environment' '
    newdb env >/dev/null &&
    DB_URL=$(dburl env) MIGRATION_DIR=$PWD/$D migrator migrate up 2>err && test "$(applied env)" = 20240101000001-t1
'
test_expect_success 'PGURL is the fallback URL; -u and -d win over the environment, before or after the command' '
    newdb env2 >/dev/null &&
    PGURL=$(dburl env2) DB_URL= MIGRATION_DIR=/nonexistent migrator migrate -d $D up 2 2>err && test "$(q env2 "select count(*) from hectic.migration")" = 2 &&
    DB_URL=$(dburl nosuchdb) migrator migrate up -u "$(dburl env2)" --migration-dir $D 2>err && test "$(q env2 "select count(*) from hectic.migration")" = 3
'
test_expect_success 'alone, migrator uses ./migration, not $LOCAL_DIR/db/migration' '
    newdb alone >/dev/null && mkdir -p proj/db/migration work &&
    mkmig proj/db/migration 20240101000000-wrong "SELECT 1;" && cp -R $D work/migration &&
    (cd work && LOCAL_DIR=$TRASH/proj DB_URL=$(dburl alone) migrator migrate up all 2>../err) &&
    test "$(q alone "select count(*) from hectic.migration")" = 5
'
test_expect_success 'paths.migration_dir of dbtool.yaml is used' '
    newdb yml >/dev/null && mkdir -p proj2 && cp -R $D proj2/mymig &&
    printf "paths:\n  migration_dir: mymig\n" >proj2/dbtool.yaml &&
    LOCAL_DIR=$TRASH/proj2 DB_URL=$(dburl yml) migrator migrate up 2>err && test "$(applied yml)" = 20240101000001-t1
'

test_done
