#!/bin/sh
# Schema as code (issue 17) in the rest of the project workflow: hydrate,
# deploy and check apply the code directory after the sources (hydrate -H:
# without the hectic bundle, nothing recorded); database diff builds both
# sides with it: the backup side's migrations do the drop/re-create dance,
# the sources side hydrates with it, so a release that changes a column
# under a view shows no drift.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
C=$P/db/code
M=$P/db/migration
mkdir -p "$P/db/src" "$C" "$M"
export LOCAL_DIR=$P PG_DATABASE=appdb
export DBTOOL_SCRATCH_DIR=$P/focus
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
B=$P/focus/postgresql-backup

cat >"$P/db/src/entrypoint.sql" <<'EOF'
CREATE TABLE public.item (id serial PRIMARY KEY, price integer NOT NULL) INHERITS (hectic.created_at);
INSERT INTO public.item (price) VALUES (10), (20);
EOF
: >"$P/test-data.sql"
echo "CREATE VIEW public.item_prices AS SELECT id, price FROM public.item;" >"$C/item_prices.sql"
echo "CREATE VIEW public.expensive AS SELECT id FROM public.item_prices WHERE price > 15;" >"$C/expensive.sql"
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$U" -c "$1"; }

test_expect_success 'deploy: sources, then the code directory' '
    "$DBTOOL" database deploy >out 2>err &&
    U=$(tail -n 1 out) && echo "$U" >url &&
    test_grep "hydrate: code directory $C: 2 objects created" err &&
    test "$(q "select count(*) from public.expensive")" = 1 &&
    test "$(q "select count(*) from hectic.code_object")" = 2
'
U=$(cat url 2>/dev/null)
export U
test_expect_code 0 '...so apply has nothing to do' '"$DBTOOL" database -u "$U" plan >out 2>err'
test_expect_success 'hydrate -H on an empty database: the objects, no bundle, nothing recorded' '
    "$PSQL" -X -q -d "$U" -c "CREATE DATABASE bare" &&
    bare=$(printf "%s" "$U" | sed "s|@/[^?]*?|@/bare?|") &&
    mkdir -p plain && echo "CREATE TABLE public.item (id integer, price integer);" >plain/entrypoint.sql &&
    DATABASE_SOURCE=$PWD/plain "$DBTOOL" database -u "$bare" hydrate -H >out 2>err &&
    test "$("$PSQL" -X -At -d "$bare" -c "select count(*) from public.expensive")" = 0 &&
    test "$("$PSQL" -X -At -d "$bare" -c "select count(*) from pg_namespace where nspname = '"'hectic'"'")" = 0
'
test_expect_success 'check: passes with the code directory' '
    "$DBTOOL" database check >out 2>err && test_grep "check: passed" err &&
    test_grep "hydrate: code directory" err
'
test_expect_code 1 'check: a failing code object fails it' '
    echo "CREATE VIEW public.broken AS SELECT nope FROM public.item;" >"$C/broken.sql" &&
    test_when_finished "rm -f $C/broken.sql" &&
    "$DBTOOL" database check >out 2>err
'
test_expect_success '...naming the file:line' '
    test_grep "$C/broken.sql:1: ERROR:  column \"nope\" does not exist" err
'

# --- diff ---------------------------------------------------------------------------

test_expect_success CLIENT_MATCHES_SERVER 'set up: back up the deployed cluster' '
    "$DBTOOL" database backup 2>err && test -s "$B/base.tar.gz"
'
test_expect_success CLIENT_MATCHES_SERVER 'set up: a release changes the column under both views, and one view' '
    mkdir -p "$M/20240101000000-price-numeric" &&
    echo "ALTER TABLE public.item ALTER COLUMN price TYPE numeric(10, 2);" >"$M/20240101000000-price-numeric/up.sql" &&
    echo "SELECT 1;" >"$M/20240101000000-price-numeric/down.sql" &&
    sed -i "s/price integer NOT NULL/price numeric(10, 2) NOT NULL/" "$P/db/src/entrypoint.sql" &&
    echo "CREATE VIEW public.expensive AS SELECT id, price FROM public.item_prices WHERE price > 15;" >"$C/expensive.sql"
'
test_expect_code 0 CLIENT_MATCHES_SERVER 'diff: no drift (the backup side re-creates the views around the migration)' '
    "$DBTOOL" database diff >out 2>err
'
test_expect_success CLIENT_MATCHES_SERVER '...it said so: both sides have the new column type and view' '
    test "$(tail -n 1 out)" = "no differences found" &&
    test_grep "price numeric(10,2) NOT NULL" "$P/focus/diff-logs/backup/schema.sql" &&
    test_grep "re-created view public.item_prices" err &&
    for side in backup sources; do
        grep -A3 "CREATE VIEW public.expensive" "$P/focus/diff-logs/$side/schema.sql" | grep -q "item_prices.price" || exit 1
    done
'
test_expect_code 4 CLIENT_MATCHES_SERVER 'diff without the code directory: the backup side cannot migrate' '
    CODE_DIR=$TRASH/none "$DBTOOL" database diff >out 2>err
'
test_expect_success CLIENT_MATCHES_SERVER '...because of the views' '
    test_grep "cannot alter type of a column used by a view or rule" err
'
test_done
