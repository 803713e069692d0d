#!/bin/sh
# The sourceable postgres-init shim (SPEC 1): `. postgres-init` in dash and
# bash exports the variables into the calling shell; executed, it runs dbtool.
. "${0%/*}/lib-pg.sh"

SHIM="$DBTOOL_BUILD/bin/postgres-init"
test_at_exit "PG_WORKING_DIR=$TRASH/s '$DBTOOL' postgres-cleanup"

test_expect_success 'the shim is a small POSIX sh file, not the binary' '
    head -c 2 "$SHIM" | grep -q "^#" && ! grep -q "ELF" "$SHIM" && sh -n "$SHIM"
'
for sh in dash bash; do
    command -v $sh >/dev/null || { test_skip "sourcing in $sh" "$sh missing"; continue; }
    test_expect_success "sourced in $sh: PGURL etc. land in the calling shell and psql works" "
        PG_WORKING_DIR=\$TRASH/s $sh -c '
            . \"\$1\" || exit 9
            test -n \"\$PGURL\" && test -n \"\$POSTGRESQL_HOST\" && test \"\$POSTGRESQL_DATABASE\" = testdb &&
            \"\$PSQL\" -X -At -d \"\$PGURL\" -c \"select 40+2\"
        ' sh \"\$SHIM\" >out 2>err && test \"\$(cat out)\" = 42
    "
    test_expect_success "sourced in $sh: PG_URL_VAR names an extra variable" "
        PG_URL_VAR=DATABASE_URL PG_WORKING_DIR=\$TRASH/s $sh -c '
            . \"\$1\" && test \"\$DATABASE_URL\" = \"\$PGURL\"' sh \"\$SHIM\" 2>err
    "
    test_expect_success "sourced in $sh: a failure returns non-zero and the shell goes on" "
        PG_URL_VAR=BAD-NAME PG_WORKING_DIR=\$TRASH/s $sh -c '
            . \"\$1\"; rc=\$?; echo \"after \$rc\"' sh \"\$SHIM\" >out 2>err &&
        grep -q \"^after 3\$\" out && ! grep -q PGURL out
    "
    test_expect_success "sourced in $sh from a script under set -e with a failure: caller decides" "
        printf 'set -e\n. \"%s\" || echo caught\necho done\n' \"\$SHIM\" >script.sh &&
        PG_URL_VAR=BAD-NAME PG_WORKING_DIR=\$TRASH/s $sh script.sh >out 2>err &&
        grep -q caught out && grep -q done out
    "
done
test_expect_success 'executed, the shim runs dbtool postgres-init (prints the URL)' '
    PG_WORKING_DIR=$TRASH/s "$SHIM" >out 2>err && grep -q "^postgresql://" out
'
test_expect_success 'executed with --env, it prints export lines for eval' '
    eval "$(PG_WORKING_DIR=$TRASH/s "$SHIM" --env 2>/dev/null)" && test -n "$PGURL" &&
    test "$("$PSQL" -X -At -d "$PGURL" -c "select 1")" = 1
'
test_expect_success 'values with quotes and spaces survive eval' '
    PG_DATABASE="it'"'"'s db" PG_WORKING_DIR=$TRASH/s "$DBTOOL" postgres-init --env >env 2>/dev/null &&
    . ./env && test "$POSTGRESQL_DATABASE" = "it'"'"'s db" &&
    test "$("$PSQL" -X -At -d "$PGURL" -c "select current_database()")" = "it'"'"'s db"
'
test_done
