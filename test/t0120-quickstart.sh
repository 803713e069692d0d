#!/bin/sh
# README.md's Quick start, run verbatim (its first sh block, extracted from the
# README) in an empty directory: new, deploy, test, check, backup, a migration,
# diff, migrate, test. Any failing command fails the test (sh -e).
. "${0%/*}/lib-pg.sh"

awk '/^## Quick start/ { q = 1 } q && /^```sh$/ { b = 1; next } b && /^```$/ { exit } b { print }' \
    "$SRC_DIR/README.md" >quickstart.sh
test_expect_success 'the README has a Quick start block starting from nothing' '
    test -s quickstart.sh && head -n 1 quickstart.sh | grep -q "^database new " &&
    grep -q "^database deploy" quickstart.sh && grep -q "^database diff" quickstart.sh
'
mkdir empty
test_at_exit "cd '$TRASH/empty/shop' 2>/dev/null && '$DBTOOL' database cleanup"
test_expect_success CLIENT_MATCHES_SERVER 'it runs verbatim from an empty directory' '
    cd empty && sh -ex ../quickstart.sh >../qs.out 2>../qs.err || { cat ../qs.err; exit 1; }
'
test_expect_success CLIENT_MATCHES_SERVER '...deploy printed the URL, diff found no drift, the migration is applied' '
    grep -q "^postgresql://.*host=$TRASH/empty/shop/focus/postgresql/sock" qs.out &&
    grep -q "no differences found" qs.out &&
    test "$("$PSQL" -X -At -d "$(grep "^postgresql://" qs.out | head -n 1)" \
        -c "select count(*) from hectic.migration where name like '"'%-add_email'"'")" = 1
'
test_expect_success CLIENT_MATCHES_SERVER '...the project needs nothing outside itself but focus/ (ignored)' '
    cd empty/shop && test "$(cat .gitignore | grep -v "^#")" = "focus/" &&
    test -s db/test/test.sql && test -s test-data.sql && test -d db/migration
'
test_done
