#!/bin/sh
# t0901-schema-roundtrip-more — the second half of the round-trip corpus
# (test/fixtures/schema/edits/07x and up; see t0900 for what is checked).
. "${0%/*}/lib-pg.sh"
pg_cluster main || skip_all "could not start a cluster"
. "$TEST_DIR/fixtures/schema/lib.sh"

test_expect_success 'setup: roles and the base schema' 'schema_setup'
for e in "$FIX"/edits/0[7-9]*.sql "$FIX"/edits/1*.sql; do
    n=${e##*/}
    edit_test "round trip: ${n%.sql}" "$e" "roundtrip '$e'"
done
test_done
