#!/bin/sh
# t0902-schema-rental — a larger schema (test/fixtures/schema/rental.sql, a
# Pagila-like rental shop) from nothing to everything and back with
# `dbtool schema diff`, and pg_dump as an oracle: every object pg_dump
# lists is in the model and the other way round, and a database restored
# from pg_dump's output has the same model as the original.
. "${0%/*}/lib-pg.sh"
test_have_prereq PG14 || skip_all "its fixture has SQL-standard function bodies (BEGIN ATOMIC): $test_missing_reason"
pg_cluster main || skip_all "could not start a cluster"
. "$TEST_DIR/fixtures/schema/lib.sh"

test_expect_success 'setup: roles, an empty database and the rental schema' '
    admin "CREATE ROLE reader" && admin "CREATE ROLE writer" &&
    fresh empty && fresh rent && run_sql rent "$FIX/rental.sql" &&
    dump empty >empty.dump && dump rent >full.dump &&
    test_grep "^table rental.payment_p2022_03$" full.dump
'

test_expect_success 'two dumps of one database are the same; the hash is the dump'"'"'s SHA-256' '
    dump rent >again.dump && test_cmp full.dump again.dump &&
    "$DBTOOL" schema hash "$(url_of rent)" >hash &&
    sha256sum <full.dump | cut -d" " -f1 >want && test_cmp want hash
'

test_expect_success 'empty -> rental: the DDL builds the whole schema' '
    fresh work empty &&
    expect_diff work rent up.sql &&
    apply work up.sql && dump work >work.dump && test_cmp full.dump work.dump &&
    "$DBTOOL" schema diff "$(url_of work)" "$(url_of rent)" >none.sql && test_must_be_empty none.sql
'

test_expect_success 'rental -> empty: the DDL drops it all, foreign key cycle included' '
    expect_diff work empty down.sql 2>down.err &&
    test_grep "ALTER TABLE rental.store DROP CONSTRAINT store_manager_staff_id_fkey" down.sql &&
    test_grep "hazard data-loss, mass-drop (drop-table): drops table rental.payment" down.sql &&
    apply work down.sql && dump work >work2.dump && test_cmp empty.dump work2.dump
'

test_expect_success 'creation order: dependencies first' '
    line() { grep -n "$1" up.sql | head -n 1 | cut -d: -f1; } &&
    test "$(line "CREATE TYPE rental.mpaa_rating")" -lt "$(line "CREATE TABLE rental.film ")" &&
    test "$(line "CREATE TABLE rental.staff ")" -lt "$(line "ADD CONSTRAINT store_manager_staff_id_fkey")" &&
    test "$(line "CREATE OR REPLACE FUNCTION rental.group_concat_step")" -lt "$(line "CREATE AGGREGATE rental.group_concat")" &&
    test "$(line "CREATE AGGREGATE rental.group_concat")" -lt "$(line "CREATE VIEW rental.actor_info")" &&
    test "$(line "CREATE TABLE rental.payment ")" -lt "$(line "CREATE TABLE rental.payment_p2022_01")" &&
    test "$(line "ALTER SEQUENCE rental.rental_rental_id_seq OWNED BY")" -gt "$(line "CREATE TABLE rental.rental ")"
'

# "kind schema.name" for every object the canonical dump lists
model_objects() {
    awk '
        /^table / { t = $2; print "table " $2; next }
        /^view / { print "view " $2; next }
        /^materialized view / { print "matview " $3; next }
        /^function / { n = $2; sub(/\(.*/, "", n); print "function " n; next }
        /^type / { print "type " $2; next }
        /^index / { print "index " $2; next }
        /^sequence / { print "sequence " $2; next }
        /^schema / { if ($2 != "public") print "schema " $2; next }
        /^trigger / { print "trigger " $4 "." $2; next }
        /^policy / { print "policy " $4 "." $2; next }
        /^[a-z]/ { t = ""; next }
        /^    constraint / && t != "" && $3 != "CHECK" { print "constraint " t "." $2 }
    ' "$1" | sort
}
# the same from pg_restore -l of a schema-only archive
pgdump_objects() {
    awk '
        /^;/ { next }
        { $1 = $2 = $3 = ""; sub(/^ +/, ""); owner = $NF; sub(/ [^ ]+$/, "") }
        /^INDEX ATTACH / { attached[$4] = 1; next }
        /^TABLE ATTACH |^SEQUENCE OWNED BY |^DEFAULT ACL|^ACL |^COMMENT |^DEFAULT |^ROW SECURITY / { next }
        /^MATERIALIZED VIEW / { print "matview " $3 "." $4; next }
        /^FK CONSTRAINT / { print "constraint " $3 "." $4 "." $5; next }
        /^CONSTRAINT / { key[$4] = "constraint " $2 "." $3 "." $4; next }
        /^TRIGGER |^POLICY / { print tolower($1) " " $2 "." $3 "." $4; next }
        /^FUNCTION |^PROCEDURE |^AGGREGATE / { n = $3; sub(/\(.*/, "", n); print "function " $2 "." n; next }
        /^TYPE |^DOMAIN / { print "type " $2 "." $3; next }
        /^SCHEMA / { print "schema " $3; next }
        /^INDEX / { index_[$2 "." $3] = 1; next }
        /^TABLE |^VIEW |^SEQUENCE / { print tolower($1) " " $2 "." $3; next }
        END {
            for (i in index_) { split(i, p, "."); if (!(p[2] in attached)) print "index " i }
            for (k in key) if (!(k in attached)) print key[k]  # a partition'"'"'s copy of its parent'"'"'s key
        }
    ' "$1" | sort
}

test_expect_success CLIENT_MATCHES_SERVER 'oracle: the objects pg_dump --schema-only lists are the model'"'"'s' '
    "$PG_DUMP" --schema-only -Fc -f full.pgdump "$(url_of rent)" &&
    "$PG_RESTORE" -l full.pgdump >full.toc &&
    model_objects full.dump >model.list && pgdump_objects full.toc >pgdump.list &&
    test_grep "^trigger rental.actor.last_updated$" model.list &&
    test_grep "^constraint rental.store.store_manager_staff_id_fkey$" pgdump.list &&
    grep -v "^sequence " model.list >model.other && grep -v "^sequence " pgdump.list >pgdump.other &&
    # before 15 the public schema is the bootstrap superuser'"'"'s, not pg_database_owner'"'"'s:
    # pg_dump 15+ lists it then (its owner and ACL), the model counts it as built in either way
    if [ "$PG_SERVER_MAJOR" -lt 15 ]; then grep -vx "schema public" pgdump.other >pgdump.o2; mv pgdump.o2 pgdump.other; fi &&
    test_cmp pgdump.other model.other &&
    grep "^sequence " model.list >model.seq && grep "^sequence " pgdump.list >pgdump.seq &&
    comm -23 model.seq pgdump.seq >missing && test_must_be_empty missing &&
    identity=$(grep -c "^        identity \(always\|by default\)$" full.dump) &&
    extra=$(($(wc -l <pgdump.seq) - $(wc -l <model.seq))) &&
    { test "$extra" = "$identity" || { echo "pg_dump lists $extra sequences more, $identity identity columns"; false; }; }
'

test_expect_success CLIENT_MATCHES_SERVER 'oracle: a copy restored from pg_dump has the same model' '
    fresh restored &&
    "$PG_DUMP" --schema-only "$(url_of rent)" >full.sql &&
    run_sql restored full.sql && dump restored >restored.dump && test_cmp full.dump restored.dump
'

test_expect_success CLIENT_MATCHES_SERVER 'oracle: the base schema and an edited one survive pg_dump too' '
    fresh base0 && run_sql base0 "$FIX/base.sql" && dump base0 >base.dump &&
    "$PG_DUMP" --schema-only "$(url_of base0)" >base.sql &&
    fresh base1 && run_sql base1 base.sql && dump base1 >base1.dump && test_cmp base.dump base1.dump
'

test_done
