#!/bin/sh
# t0900-schema-roundtrip — lib/catalog.c and lib/sqldiff.c through
# `dbtool schema`: for each edit test/fixtures/schema/edits/0[0-6]*.sql (a small
# change to base.sql, written as the SQL that builds side A and side B),
# the DDL of `schema diff A B` applied to A gives B's dump, and the DDL of
# `schema diff B A` applied to B gives A's dump again. Edits 07x and up are
# t0901's (two scripts so prove -j2 runs them side by side).
. "${0%/*}/lib-pg.sh"
pg_cluster main || skip_all "could not start a cluster"
. "$TEST_DIR/fixtures/schema/lib.sh"

test_expect_success 'setup: roles and the base schema' 'schema_setup'
for e in "$FIX"/edits/0[0-6]*.sql; do
    n=${e##*/}
    edit_test "round trip: ${n%.sql}" "$e" "roundtrip '$e'"
done
test_done
