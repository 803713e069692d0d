#!/bin/sh
# database diff: backup + migrations vs sources, schema and hectic.immutable
# data; exit codes, --tables, migration failures, --against, JSON, logs, and
# every throwaway cluster removed.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src" "$P/db/migration"
export LOCAL_DIR=$P PG_DATABASE=appdb
# throwaway clusters on disk, where the leftover checks look (t0605: in RAM)
export DBTOOL_SCRATCH_DIR=$P/focus
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
B=$P/focus/postgresql-backup
M=$P/db/migration

cat >"$P/db/src/entrypoint.sql" <<'EOF'
CREATE TABLE item (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);
CREATE TABLE country (code text PRIMARY KEY, name text, note text)
    INHERITS (hectic.created_at, hectic.updated_at, hectic.immutable);
CREATE TABLE tag (label text, weight int) INHERITS (hectic.created_at, hectic.immutable);
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO country (code, name, note) VALUES
    ('de', 'Germany', NULL), ('fr', 'France', E'tab\there'), ('it', 'Italy', 'x');
INSERT INTO tag (label, weight) VALUES ('a', 1), ('b', NULL), ('b', NULL);
COMMIT;
EOF
: >"$P/test-data.sql"

mkmig() { # name sql
    mkdir -p "$M/$1" && printf '%s\n' "$2" >"$M/$1/up.sql" && echo "SELECT 1;" >"$M/$1/down.sql"
}
no_leftovers() {
    ls -d "$P"/focus/diff-backup-* "$P"/focus/diff-sources-* 2>/dev/null && { echo "leftover dir"; return 1; }
    for pid in $(pgrep -x postgres 2>/dev/null); do
        d=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
        case "$d" in "$P"/focus/diff-*) echo "leftover server $pid in $d"; return 1;; esac
    done
    return 0
}
# the data section of out
data_section() { sed -n '/^--- IMMUTABLE TABLE DATA ---$/,$p' out; }
schema_part() { sed '/^--- IMMUTABLE TABLE DATA ---$/,$d' out; }

test_expect_code 3 'no backup: exit 3' '"$DBTOOL" database diff >out 2>err'
test_expect_success '...saying where it looked' 'grep -q "no backup at $B" err && no_leftovers'
test_expect_code 9 'an unknown option: exit 9' '"$DBTOOL" database diff --frob 2>err'
test_expect_code 9 '--format xml: exit 9' '"$DBTOOL" database diff --format xml 2>err'
test_expect_code 127 !CLIENT_MATCHES_SERVER 'pg_dump older than the server: exit 127 before any cluster starts' '
    "$DBTOOL" database diff --against "postgresql:///nowhere?host=/nonexistent" >out 2>err
'
test_expect_success !CLIENT_MATCHES_SERVER '...naming pg_dump, both majors and what to set' '
    grep -q "pg_dump. is PostgreSQL $PG_CLIENT_MAJOR, older than the server (PostgreSQL $PG_SERVER_MAJOR" err &&
    grep -q "PG_CLIENT_BINDIR" err && no_leftovers
'
# the rest builds on a backup (pg_basebackup) and dumps (pg_dump): both refuse a newer server
test_prereq_from_here CLIENT_MATCHES_SERVER

test_expect_success 'set up: deploy and back up' '
    { "$DBTOOL" database deploy >/dev/null 2>err && "$DBTOOL" database backup 2>err && test -s "$B/base.tar.gz"; } || { cat err; false; }
'

test_expect_code 0 'no drift: exit 0' '"$DBTOOL" database diff >out 2>err'
test_expect_success '...says "no differences found", with the data section' '
    test "$(tail -n 1 out)" = "no differences found" &&
    grep -qx -- "--- IMMUTABLE TABLE DATA ---" out &&
    grep -q "created_at / hectic.updated_at are left out" out &&
    test "$(grep -c "^(no differences)$" out)" = 2 &&
    test -z "$(schema_part)"
'
test_expect_success '...tables sorted: country before tag' '
    grep "^=== " out >got && printf "=== public.country ===\n=== public.tag ===\n" >want && test_cmp want got
'
test_expect_success '...every throwaway cluster removed, logs kept' '
    no_leftovers && test -d "$P/focus/diff-logs/backup" && test -d "$P/focus/diff-logs/sources" &&
    ls "$P/focus/diff-logs/backup" | grep -q "\.log$" &&
    for s in backup sources; do grep -q "^CREATE TABLE public.country" "$P/focus/diff-logs/$s/schema.sql" || exit 1; done
'
test_expect_success 'diff log shows the servers'"'"' logs' '
    "$DBTOOL" database diff log >out 2>err && grep -q "==> backup" out && grep -q "==> sources" out &&
    "$DBTOOL" database diff log sources list >out 2>err && grep -q hydrate.log out
'

test_expect_success 'schema drift only: exit 1, the schema diff, data equal' '
    mkmig 20240101000000-extra "ALTER TABLE item ADD COLUMN extra int;" &&
    test_when_finished "rm -rf $M/20240101000000-extra" &&
    { "$DBTOOL" database diff >out 2>err; test $? = 1; } &&
    schema_part >schema && grep -qx -- "--- backup" schema && grep -qx -- "+++ sources" schema &&
    grep -q "^@@ " schema && grep -qx -- "-    extra integer" schema &&
    test "$(data_section | grep -c "^(no differences)$")" = 2 && ! grep -q "no differences found" out &&
    no_leftovers
'

test_expect_success 'data drift only in an immutable table: exit 1, the rows' '
    mkmig 20240101000000-fr "UPDATE country SET name = \$\$French Republic\$\$ WHERE code = \$\$fr\$\$;
INSERT INTO country (code, name) VALUES (\$\$es\$\$, \$\$Spain\$\$);
DELETE FROM tag WHERE label = \$\$a\$\$;" &&
    test_when_finished "rm -rf $M/20240101000000-fr" &&
    { "$DBTOOL" database diff >out 2>err; test $? = 1; } &&
    test -z "$(schema_part)" &&
    data_section >data &&
    cat >want <<-\EOF &&
	--- IMMUTABLE TABLE DATA ---
	(columns inherited from hectic.created_at / hectic.updated_at are left out; --include-bookkeeping compares them)
	=== public.country ===
	--- backup/public.country
	+++ sources/public.country
	@@ -1,4 +1,3 @@
	 de	Germany	\N
	-es	Spain	\N
	-fr	French Republic	tab\there
	+fr	France	tab\there
	 it	Italy	x
	=== public.tag ===
	(no primary key on both sides: rows ordered and matched by all columns)
	--- backup/public.tag
	+++ sources/public.tag
	@@ -1,2 +1,3 @@
	+a	1
	 b	\N
	 b	\N
	EOF
    test_cmp want data
'
test_expect_success '...--format json counts added/removed/changed' '
    mkmig 20240101000000-fr "UPDATE country SET name = \$\$French Republic\$\$ WHERE code = \$\$fr\$\$;
INSERT INTO country (code, name) VALUES (\$\$es\$\$, \$\$Spain\$\$);" &&
    test_when_finished "rm -rf $M/20240101000000-fr" &&
    { "$DBTOOL" database diff --format json >out 2>err; test $? = 1; } &&
    python3 -c "
import json, sys
d = json.load(open(\"out\"))
assert d == {\"schema_changed\": False, \"differences\": True, \"tables\": [
    {\"table\": \"public.country\", \"added\": 0, \"removed\": 1, \"changed\": 1, \"only_on\": None},
    {\"table\": \"public.tag\", \"added\": 0, \"removed\": 0, \"changed\": 0, \"only_on\": None}]}, d
"
'
test_expect_code 0 '--format json without drift: exit 0, differences false' '
    "$DBTOOL" database diff --format json >out 2>err &&
    python3 -c "import json; d = json.load(open(\"out\")); assert d[\"differences\"] is False and not d[\"schema_changed\"]"
'
test_expect_success '--include-bookkeeping compares created_at too' '
    { "$DBTOOL" database diff --include-bookkeeping --format json >out 2>err; test $? = 1; } &&
    python3 -c "import json; d = json.load(open(\"out\")); assert all(t[\"changed\"] == 3 for t in d[\"tables\"] if t[\"table\"] == \"public.country\"), d"
'

test_expect_success 'a table only on one side: every row added, only_on sources' '
    cp "$P/db/src/entrypoint.sql" "$TRASH/entry.orig" &&
    test_when_finished "cp $TRASH/entry.orig $P/db/src/entrypoint.sql" &&
    cat >>"$P/db/src/entrypoint.sql" <<-\EOF &&
	CREATE SCHEMA ref;
	CREATE TABLE ref.unit (id int PRIMARY KEY, name text) INHERITS (hectic.created_at, hectic.immutable);
	BEGIN; SET LOCAL hectic.migration_mode = on; INSERT INTO ref.unit (id, name) VALUES (2, $$kg$$), (10, $$m$$); COMMIT;
	EOF
    { "$DBTOOL" database diff >out 2>err; test $? = 1; } &&
    sed -n "/^=== ref.unit ===/,\$p" out >got &&
    printf "%s\n" "=== ref.unit ===" "(only in sources: every row added)" "--- backup/ref.unit" \
        "+++ sources/ref.unit" "@@ -0,0 +1,2 @@" "+2	kg" "+10	m" >want &&
    test_cmp want got &&
    grep "^=== " out >got && printf "=== public.country ===\n=== public.tag ===\n=== ref.unit ===\n" >want &&
    test_cmp want got &&
    { "$DBTOOL" database diff --format json >out 2>err; test $? = 1; } &&
    python3 -c "import json; d = json.load(open(\"out\")); t = d[\"tables\"][2]; assert t == {\"table\": \"ref.unit\", \"added\": 2, \"removed\": 0, \"changed\": 0, \"only_on\": \"sources\"}, t; assert d[\"schema_changed\"]"
'

test_expect_success '--tables item: schema of item only, no immutable table named' '
    mkmig 20240101000000-both "ALTER TABLE item ADD COLUMN extra int; UPDATE country SET note = NULL;" &&
    test_when_finished "rm -rf $M/20240101000000-both" &&
    { "$DBTOOL" database diff --tables item >out 2>err; test $? = 1; } &&
    grep -qx -- "-    extra integer" out && ! grep -q "CREATE FUNCTION" out &&
    grep -q "^(none of the --tables inherits hectic.immutable)$" out && ! grep -q "^=== " out
'
test_expect_success '--tables public.country: only its rows, schema equal' '
    mkmig 20240101000000-both "ALTER TABLE item ADD COLUMN extra int; UPDATE country SET note = NULL;" &&
    test_when_finished "rm -rf $M/20240101000000-both" &&
    { "$DBTOOL" database diff --tables public.country >out 2>err; test $? = 1; } &&
    test -z "$(schema_part)" && grep "^=== " out >got && echo "=== public.country ===" >want &&
    test_cmp want got && grep -q "^-fr	France	\\\\N$" out
'
test_expect_code 5 '--tables naming a table on neither side: exit 5' '
    "$DBTOOL" database diff --tables country,nope >out 2>err
'
test_expect_success '...naming it, clusters removed' 'grep -q "table .nope. does not exist" err && no_leftovers'

test_expect_code 4 'a failing migration: exit 4 (1 means "differences")' '
    mkmig 20240101000000-bad "SELECT 1/0;" && "$DBTOOL" database diff >out 2>err
'
test_expect_success '...saying so, nothing printed, clusters removed' '
    grep -q "division by zero" err && grep -q "ignore-migration-fail" err && ! test -s out && no_leftovers
'
test_expect_code 0 '--ignore-migration-fail warns and compares' '
    "$DBTOOL" database diff --ignore-migration-fail >out 2>err
'
test_expect_success '...with the warning' '
    grep -q "comparing anyway" err && grep -q "no differences found" out && rm -rf "$M/20240101000000-bad"
'
test_expect_code 2 'sources that do not hydrate: exit 2, never 1 (1 means "differences")' '
    mkdir -p "$TRASH/badsrc" && echo "SELECT 1/0;" >"$TRASH/badsrc/entrypoint.sql" &&
    DATABASE_SOURCE=$TRASH/badsrc "$DBTOOL" database diff >out 2>err
'
test_expect_success '...saying why, nothing printed, clusters removed' '
    grep -q "division by zero" err && ! test -s out && no_leftovers
'

test_expect_success '--against a live database: read only, drift found' '
    U=$("$DBTOOL" database init --reuse 2>/dev/null | tail -n 1) &&
    "$PSQL" -X -q -d "$U" -c "BEGIN; SET LOCAL hectic.migration_mode = on; UPDATE country SET name = \$\$Italia\$\$ WHERE code = \$\$it\$\$; COMMIT;" &&
    "$PSQL" -X -q -d "$U" -c "ALTER DATABASE appdb SET default_transaction_read_only = on" &&
    test_when_finished "PGOPTIONS=\"-c default_transaction_read_only=off\" \"$PSQL\" -X -q -d \"$U\" -c \"ALTER DATABASE appdb RESET default_transaction_read_only\"" &&
    { "$DBTOOL" database diff --against "$U" >out 2>err; test $? = 1; } &&
    grep -qx -- "-it	Italia	x" out && grep -qx -- "+it	Italy	x" out && grep -qx -- "--- live/public.country" out &&
    ! ls -d "$P"/focus/diff-backup-* 2>/dev/null && no_leftovers
'
test_expect_success 'pg_dump missing: exit 127, nothing left behind' '
    mkdir bin tools && for f in "$PG_BINDIR"/*; do case "${f##*/}" in pg_dump) ;; *) ln -s "$f" bin/;; esac; done &&
    ln -s "$(command -v tar)" "$(command -v gzip)" tools/ &&
    { PATH=$TRASH/bin:$TRASH/tools PG_BINDIR=$TRASH/bin PG_CLIENT_BINDIR=$TRASH/bin "$DBTOOL" database diff >out 2>err; test $? = 127; } &&
    grep -q pg_dump err && no_leftovers
'
test_expect_success 'Ctrl-C during the run removes both clusters' '
    cp "$P/db/src/entrypoint.sql" "$TRASH/entry.orig" &&
    test_when_finished "cp $TRASH/entry.orig $P/db/src/entrypoint.sql" &&
    echo "SELECT pg_sleep(0.2) FROM generate_series(1, 50);" >>"$P/db/src/entrypoint.sql" &&
    "$DBTOOL" database diff >out 2>err & pid=$! &&
    wait_line "hydrate: running" err $pid &&
    sleep 1 && kill -INT $pid; wait $pid; rc=$? &&
    test $rc = 130 && ! grep -q -e "differences found" -e "no differences" err && no_leftovers
'
test_done
