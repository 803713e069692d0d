#!/bin/sh
# Hostile input where text reaches SQL, a path or an export line: quotes, ';',
# $(...), backticks, newlines, '..', unicode in database names, working dirs,
# migration names and dirs, dotenv paths and values. Nothing may run, break out
# or land outside where it belongs. (ssh quoting: t0603; secrets: t0402.)
TEST_LIB=$(cd "${0%/*}/.." && pwd); . "$TEST_LIB/lib-pg.sh"

PWNED=$TRASH/pwned
evil="x'; DROP TABLE y; --\$(touch pwned)\`touch pwned\`ü\"d"
wd="$TRASH/dir with spaces \$(touch $PWNED) 'q' ü"
test_expect_success 'a database name full of quotes, ; and $() is just a name' '
    PG_DATABASE="$evil" PG_WORKING_DIR="$wd" "$DBTOOL" postgres-init --env >env 2>err &&
    test_at_exit '"'"'PG_WORKING_DIR="$wd" "$DBTOOL" postgres-cleanup'"'"' &&
    . ./env && test "$POSTGRESQL_DATABASE" = "$evil" &&
    test "$(psql_c "select current_database()")" = "$evil" &&
    ! test -e "$PWNED" && ! test -e pwned
'
test_expect_code 3 'a database name longer than PostgreSQL allows is refused, not truncated' '
    PG_DATABASE=$(printf "%070d" 0) PG_WORKING_DIR=$TRASH/long "$DBTOOL" postgres-init >out 2>err
'
test_expect_success 'export lines survive eval in dash and bash with such values' '
    for sh in dash bash; do
        $sh -c ". ./env && test \"\$POSTGRESQL_DATABASE\" = \"\$1\"" sh "$evil" || exit 1
    done && ! test -e "$PWNED"
'
test_expect_success 'the working dir with spaces, quotes, $() and unicode works and cleans up' '
    . ./env && test -d "$wd/data" && PG_WORKING_DIR="$wd" "$DBTOOL" postgres-init --reuse >/dev/null 2>&1 &&
    mkdir -p proj && PG_WORKING_DIR="$wd" LOCAL_DIR=$TRASH/proj "$DBTOOL" database cleanup 2>/dev/null &&
    ! test -e "$wd" && ! test -e "$PWNED"
'
test_expect_code 3 'PG_URL_VAR with a newline or $() is refused' '
    PG_URL_VAR="X
export EVIL=1" PG_WORKING_DIR=$TRASH/u "$DBTOOL" postgres-init >out 2>err
'
test_expect_success 'PG_URL_VAR=$(...) is refused too, nothing runs' '
    ! PG_URL_VAR="\$(touch $PWNED)" PG_WORKING_DIR=$TRASH/u "$DBTOOL" postgres-init >out 2>&1 && ! test -e "$PWNED"
'

pg_cluster main
mdir="$TRASH/mig dir ü \$(touch $PWNED)"
test_expect_success 'migrator create refuses names with /, .. or newlines' '
    mkdir -p "$mdir" &&
    ! "$DBTOOL" migrator -d "$mdir" create --name "../escape" 2>err &&
    ! "$DBTOOL" migrator -d "$mdir" create --name "a/b" 2>err &&
    ! "$DBTOOL" migrator -d "$mdir" create --name "$(printf "a\nb")" 2>err &&
    test -z "$(ls "$mdir")" && ! test -e "$TRASH/escape" && ! ls "$TRASH"/*escape* 2>/dev/null
'
test_expect_success 'a migration dir and names with spaces, quotes and unicode apply as data' '
    "$DBTOOL" migrator -d "$mdir" create --name "ünïcode '"'"'quoted'"'"' \$(x)" >out 2>err &&
    m=$(ls "$mdir") && test -n "$m" &&
    echo "CREATE TABLE public.\"tab'"'"'le ü\" (x int) INHERITS (hectic.created_at);" >"$mdir/$m/up.sql" &&
    echo "DROP TABLE public.\"tab'"'"'le ü\";" >"$mdir/$m/down.sql" &&
    "$DBTOOL" migrator -d "$mdir" migrate up all >out 2>err &&
    test "$(psql_c "select name from hectic.migration")" = "$m" &&
    "$DBTOOL" migrator -d "$mdir" migrate down >out 2>err &&
    test "$(psql_c "select count(*) from hectic.migration")" = 0 && ! test -e "$PWNED"
'
test_expect_success 'SQL runner: a NUL byte or invalid UTF-8 in a script is an error, not a crash' '
    printf "select 1;\0select 2;\n" >nul.sql && printf "select '"'"'\377\376'"'"';\n" >bad.sql &&
    { "$DBTOOL" sql -f nul.sql >out 2>err; rc=$?; } ; test $rc -lt 128 &&
    ! "$DBTOOL" sql -f bad.sql >out 2>err && test -s err
'
test_expect_success 'script variables with quotes reach SQL only through :'"'"'var'"'"' quoting' '
    printf "select :'"'"'v'"'"' as v \\\\gset\n" >/dev/null &&
    printf "create table public.vars (v text) inherits (hectic.created_at);\ninsert into public.vars (v) values (:'"'"'v'"'"');\n" >vars.sql &&
    evil2="x'\'');\\; CREATE TABLE pwn(x int); -- \$(touch $PWNED) :v" &&
    "$DBTOOL" sql -v "v=$evil2" -f vars.sql >out 2>err &&
    test "$(psql_c "select v from public.vars")" = "$evil2" &&
    test "$(psql_c "select count(*) from pg_tables where tablename = '"'pwn'"'")" = 0
'
mkdir -p "proj2/db/src"
echo "select 1;" >proj2/db/src/entrypoint.sql
envf="$TRASH/env file ü \$(touch pwned) 'q'.env"
printf 'TOKEN="%s"\nOTHER=$(touch %s)\n' "a'b\\\"c;\$(touch $PWNED)" "$PWNED" >"$envf"
test_expect_success 'a dotenv path and values with quotes and $() load as data' '
    LOCAL_DIR=$TRASH/proj2 HECTIC_DOTENV_FILE="$envf" "$DBTOOL" database -u "$PGURL" hydrate >out 2>err &&
    test "$(psql_c "select hectic.get_secret('"'TOKEN'"')")" = "a'"'"'b\"c;\$(touch $PWNED)" &&
    test "$(psql_c "select hectic.get_secret('"'OTHER'"')")" = "\$(touch $PWNED)" &&
    ! test -e "$PWNED"
'
echo "# r0600 hostile-input: every case above; pwned marker created: $(test -e "$PWNED" && echo YES || echo no)"
test_done
