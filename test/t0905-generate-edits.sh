#!/bin/sh
# t0905-generate-edits — the round-trip corpus through `migrator generate`:
# for each edit test/fixtures/schema/edits/0[0-6]*.sql (a change to base.sql,
# the SQL of side A and side B), a project whose migrations build A and whose
# sources build B; generate; `migrate up` of the result on A gives B's
# catalog model, `migrate down` A's again; `database drift` finds drift before
# and none after. The sides are databases on this script's cluster (--server):
# one server for the whole corpus. Edits 07x and up are t0906's.
. "${0%/*}/lib-pg.sh"
pg_cluster main || skip_all "could not start a cluster"
. "$TEST_DIR/fixtures/schema/lib.sh"

test_expect_success 'setup: roles' 'admin "CREATE ROLE reader" && admin "CREATE ROLE writer"'
for e in "$FIX"/edits/0[0-6]*.sql; do
    n=${e##*/}
    edit_test "generate round trip: ${n%.sql}" "$e" "gen_roundtrip '$e'"
done
test_done
