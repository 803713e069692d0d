#!/bin/sh
# migrator on a database the shell tools migrated: the hectic 0.1.0 fixture,
# migrations applied by psql with hectic.migration rows written as the shell
# migrator wrote them (sha256sum of up.sql), data migrations in user tables.
# migrator refuses the 0.1.0 bundle clearly and changes nothing; after
# `dbtool bundle upgrade` it continues without re-applying anything.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

pg_cluster pg || exit 1

# the project's migrations: schema, a data migration, a multi-file one
M=migration
mkmig $M 20230101000000-schema \
    "CREATE TABLE item (id int PRIMARY KEY, name text) INHERITS (hectic.created_at);
CREATE TABLE price (item int, cents int) INHERITS (hectic.created_at, hectic.immutable);" \
    "DROP TABLE price; DROP TABLE item;"
mkmig $M 20230201000000-seed-data \
    "INSERT INTO item (id, name) VALUES (1, 'one'), (2, 'two');
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO price (item, cents) VALUES (1, 100), (2, 250);" \
    "SET LOCAL hectic.migration_mode = 'on'; DELETE FROM price; DELETE FROM item;"
mkdir -p $M/20230301000000-rename/up $M/20230301000000-rename/down
printf '\\ir step.sql\n' >$M/20230301000000-rename/up/entrypoint.sql
echo "UPDATE item SET name = upper(name);" >$M/20230301000000-rename/up/step.sql
echo "UPDATE item SET name = lower(name);" >$M/20230301000000-rename/down/entrypoint.sql

# what the shell migrator did per migration: psql -1 the up file, then the row with sha256sum
shell_migrate() { # DB NAME UPFILE [upper]
    h=$(sha256sum "$3" | cut -d' ' -f1)
    [ "${4:-}" = upper ] && h=$(echo "$h" | tr a-f A-F)
    (cd "$(dirname "$3")" && "$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$(dburl "$1")" -f "$(basename "$3")") &&
    q "$1" "INSERT INTO hectic.migration (name, hash) VALUES ('$2', '$h')"
}
mkshell() {
    newdb "$1" >/dev/null &&
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -1 -d "$(dburl "$1")" -f "$TEST_DIR/fixtures/hectic-0.1.0.sql" &&
    shell_migrate "$1" 20230101000000-schema $M/20230101000000-schema/up.sql &&
    shell_migrate "$1" 20230201000000-seed-data $M/20230201000000-seed-data/up.sql upper &&
    shell_migrate "$1" 20230301000000-rename $M/20230301000000-rename/up/entrypoint.sql
}
state() {
    q "$1" "select id, name, hash, applied_at from hectic.migration order by id" &&
    q "$1" "select * from item order by id" && q "$1" "select item, cents from price order by item"
}

test_expect_success 'setup: a shell-era database (hectic 0.1.0, three migrations, data)' '
    mkshell old && test "$(q old "select version from hectic.version")" = 0.1.0 &&
    test "$(q old "select string_agg(name, '"','"' order by id) from item")" = "ONE,TWO" &&
    state old >before
'
test_expect_code 1 'migrator migrate refuses the 0.1.0 bundle' 'mig old $M migrate up all 2>err'
test_expect_success '...saying what to run, and nothing changed' '
    grep -q "the database has hectic bundle 0.1.0" err && grep -q "dbtool bundle upgrade" err &&
    grep -q "nothing was changed" err &&
    test "$(q old "select version from hectic.version")" = 0.1.0 && state old >after && test_cmp before after
'
test_expect_code 1 'migrator init refuses it the same way' 'mig old $M init 2>err'
test_expect_success '...with the same advice' 'grep -q "dbtool bundle upgrade" err && state old >after && test_cmp before after'
test_expect_success 'status works on it read-only: everything applied, nothing changed' '
    mig old $M status >out 2>err && grep -q "^# 3 applied, 0 changed, 0 missing, 0 pending$" out
'
test_expect_success 'after dbtool bundle upgrade, migrate continues without re-applying anything' '
    "$DBTOOL" bundle upgrade -u "$(dburl old)" 2>err &&
    mig old $M migrate up all 2>err && grep -q "nothing to apply: already at the newest migration .20230301000000-rename." err &&
    state old >after && test_cmp before after
'
test_expect_success 'a new migration applies alone, on top of the shell-era ones' '
    mkmig $M 20240101000000-more "INSERT INTO item (id, name) VALUES (3, '"'three'"');" "DELETE FROM item WHERE id = 3;" &&
    mig old $M migrate up all 2>err && test "$(grep -c "applied 2024" err)" = 1 && ! grep -q "applied 2023" err &&
    test "$(q old "select count(*) from item")" = 3 &&
    test "$(hash_of old 20240101000000-more)" = "$(sha256sum $M/20240101000000-more/up.sql | cut -d" " -f1)"
'
test_expect_success 'the shell-era data migrations can be reverted and re-applied (immutable rows included)' '
    mig old $M migrate to 20230101000000-schema 2>err && test "$(q old "select count(*) from item") $(q old "select count(*) from price")" = "0 0" &&
    mig old $M migrate up all 2>err && test "$(q old "select string_agg(name, '"','"' order by id) from item")" = "ONE,TWO,three" &&
    test "$(q old "select sum(cents) from price")" = 350
'
test_expect_success 'the upper-case shell hash was stored lower-cased and matches' '
    test "$(hash_of old 20230201000000-seed-data)" = "$(sha256sum $M/20230201000000-seed-data/up.sql | cut -d" " -f1)"
'
test_expect_success 'a fresh database gets the same result from migrator alone' '
    newdb fresh >/dev/null && mig fresh $M migrate up all 2>err &&
    q fresh "select name, hash from hectic.migration order by name" >f.txt &&
    q old "select name, hash from hectic.migration order by name" >o.txt && test_cmp o.txt f.txt &&
    test "$(q fresh "select string_agg(name, '"','"' order by id) from item")" = "ONE,TWO,three"
'

test_done
