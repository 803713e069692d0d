#!/bin/sh
# Schema as code (issue 17): a statement the PostgreSQL 15 grammar of
# libpg_query cannot parse (syntax of PostgreSQL 16+) never blocks: it is run
# as written, dbtool says once which file:line it could not analyse and why,
# and what it would have learnt comes from the server (pg_depend after
# creation, the transaction's own error). On the PostgreSQL 15 here the
# server rejects such a statement too: the report, the error with file:line
# and the rollback are tested; with a PostgreSQL 17 server under
# ~/.cache/dbtool-pg/17 (or DBTOOL_PG17_BINDIR) the whole path is.
. "${0%/*}/lib-pg.sh"

pg_cluster pg || exit 1
dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl "$1")" -c "$2"; }
q postgres "CREATE DATABASE u"

P=$TRASH/proj
C=$P/db/code
mkdir -p "$C"
export LOCAL_DIR=$P
U=$(dburl u)
export U C
db() { "$DBTOOL" database -u "$U" "$@"; }

test_expect_success 'set up: a view in PostgreSQL 16 syntax between two others' '
    echo "CREATE VIEW public.base AS SELECT 1 AS id, '"'x'"' AS name;" >"$C/a.sql" &&
    printf "%s\n" "-- JSON_OBJECT(k: v) is PostgreSQL 16+" \
        "CREATE VIEW public.as_json AS" \
        "    SELECT JSON_OBJECT('"'id'"': id, '"'name'"': name) AS j FROM public.base;" >"$C/b.sql" &&
    echo "CREATE VIEW public.other AS SELECT id FROM public.base;" >"$C/c.sql"
'
test_expect_code 1 'plan does not fail on it (exit 1: something to do)' 'db plan >out 2>err'
test_expect_success '...it says which file:line it could not analyse, and why, once' '
    test "$(grep -c "not analysed" out)" = 1 &&
    test_grep "note: $C/b.sql:3:28: not analysed (the PostgreSQL 15 grammar rejects it: syntax error at or near \":\")" out &&
    test_grep "new       statement [0-9a-f]\{16\}  b.sql:2" out &&
    test_grep "^CREATE VIEW public.as_json AS$" out
'
test_expect_success '...and so does plan --format json' '
    db plan --format json >out.json 2>err; test $? = 1 &&
    python3 -c "
import json
p = json.load(open(\"out.json\"))
assert any(\"b.sql:3:28: not analysed\" in n for n in p[\"notes\"]), p[\"notes\"]
assert any(o[\"kind\"] == \"statement\" and o[\"status\"] == \"new\" for o in p[\"objects\"]), p[\"objects\"]
"
'
if "$DBTOOL" sql -u "$U" -c "SELECT JSON_OBJECT('a': 1)" >/dev/null 2>&1; then
    test_skip 'on this server it fails at its file:line, all rolled back' 'the server knows PostgreSQL 16 syntax'
else
    test_expect_code 4 'apply: the server rejects it too: exit 4' 'db apply >out 2>err'
    test_expect_success '...its error names the file:line, the note came once, nothing is left' '
        test_grep "$C/b.sql:3: ERROR:  syntax error at or near \":\"" err &&
        test "$(grep -c "not analysed" err)" = 1 &&
        test_grep "nothing was changed (rolled back)" err &&
        test "$(q u "select count(*) from pg_class where relname in ('"'base'"', '"'other'"')")" = 0
    '
fi

# --- the whole path on PostgreSQL 17 ---------------------------------------------------

PG17=${DBTOOL_PG17_BINDIR:-$HOME/.cache/dbtool-pg/17/bin}
if ! [ -x "$PG17/postgres" ] || ! PG_BINDIR=$PG17 PG_WORKING_DIR=$TRASH/pg17 "$DBTOOL" postgres-init >pg17.url 2>pg17.err; then
    test_skip 'PostgreSQL 17: created as written, learnt from the catalog' "no PostgreSQL 17 server at $PG17"
    test_done
fi
test_at_exit "PG_BINDIR='$PG17' PG_WORKING_DIR='$TRASH/pg17' '$DBTOOL' postgres-cleanup"
U17=$(tail -n 1 pg17.url)
export U17
q17() { "$PG17/psql" -X -q -v ON_ERROR_STOP=1 -At -d "$U17" -c "$1"; }
db17() { PG_BINDIR=$PG17 "$DBTOOL" database -u "$U17" "$@"; }

test_expect_success 'PostgreSQL 17: apply creates it as written and learns what it created' '
    echo "CREATE VIEW public.from_json AS SELECT j FROM public.as_json;" >"$C/d.sql" &&
    db17 apply >out 2>err &&
    test "$(q17 "select j::text from public.from_json")" = "{\"id\" : 1, \"name\" : \"x\"}" &&
    test_grep "b.sql:2 was not analysed; it created view public.as_json" err &&
    test "$(q17 "select catalog_type || '"' '"' || catalog_identity || '"' '"' || drop_sql from hectic.code_object where kind = '"'statement'"'")" = "view public.as_json DROP VIEW public.as_json"
'
test_expect_success '...its dependencies come from pg_depend (recorded in the state)' '
    test "$(q17 "select depends from hectic.code_object where kind = '"'statement'"'")" = "{\"view public.base\"}"
'
test_expect_code 0 '...then nothing to do' 'db17 plan >out 2>err'
test_expect_success 'changing what it depends on re-creates it and its dependents (pg_depend)' '
    echo "CREATE VIEW public.base AS SELECT 2 AS id, '"'y'"' AS name;" >"$C/a.sql" &&
    db17 plan >out 2>err; test $? = 1 &&
    test_grep "re-create statement" out && test_grep "re-create view public.from_json" out &&
    db17 apply >out 2>err &&
    test "$(q17 "select j::text from public.from_json")" = "{\"id\" : 2, \"name\" : \"y\"}"
'
test_expect_success 'changing the statement itself: the old one is dropped, the new one created' '
    sed -i "s/AS j FROM/AS j, 1 AS one FROM/" "$C/b.sql" &&
    db17 apply >out 2>err &&
    test "$(q17 "select one from public.as_json")" = 1 &&
    test "$(q17 "select count(*) from hectic.code_object where kind = '"'statement'"'")" = 1
'
test_done
