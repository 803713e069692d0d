#!/bin/sh
# t0300-sqlscript-oracle — psql is the oracle for the SQL script runner.
# Every script of test/sql/corpus (plus pg_dump output of a seeded database,
# made here) runs once through `psql -X -v ON_ERROR_STOP=1 -f` and once
# through `dbtool sql -f`, each on a fresh database. The resulting schema and
# data dumps, the exit status (psql's 3 = our 1) and every located message
# on stderr (FILE:LINE: ERROR/NOTICE/error..., DETAIL, HINT, CONTEXT) must
# be the same. psql and pg_dump must be at least as new as the server
# (CLIENT_MATCHES_SERVER): pg_dump refuses a newer server, and an older psql
# is no oracle for it (psql 15 loads an inline CSV COPY wrong on 18).
. "${0%/*}/lib-pg.sh"

pg_cluster main || skip_all "could not start a cluster"
BASE_URL=$PGURL
url_for() { printf '%s\n' "$BASE_URL" | sed "s|@/[^?]*?|@/$1?|"; }

cp -R "$SRC_DIR/test/sql/corpus" "$TRASH/corpus"
CORPUS="$TRASH/corpus"

# pg_dump of a seeded database: functions, triggers, sequences, COPY data
cat >"$TRASH/seed.sql" <<'EOF'
select setseed(0.42);
create schema app;
create sequence app.order_no start 1000;
create type app.status as enum ('new', 'paid', 'shipped');
create table app.customer (id serial primary key, name text not null, note text,
                           created timestamptz not null default '2024-01-01 00:00:00+00');
create table app.orders (id bigint primary key default nextval('app.order_no'),
                         customer_id int references app.customer(id), status app.status,
                         total numeric(10,2), tags text[], meta jsonb);
create function app.touch() returns trigger language plpgsql as $$
begin
  new.note := coalesce(new.note, '') || ';touched';
  return new;
end $$;
create trigger customer_touch before update on app.customer for each row execute function app.touch();
create function app.total_for(cid int) returns numeric language sql stable as
  'select coalesce(sum(total), 0) from app.orders where customer_id = cid';
create view app.summary as select c.name, app.total_for(c.id) as total from app.customer c;
insert into app.customer (name, note)
  select 'customer ' || i, case when i % 3 = 0 then E'tab\there; ''q'' \\ back' when i % 3 = 1 then null else 'line1
line2' end
  from generate_series(1, 200) i;
insert into app.orders (customer_id, status, total, tags, meta)
  select 1 + (random() * 199)::int, (array['new','paid','shipped'])[1 + (i % 3)]::app.status,
         round((random() * 1000)::numeric, 2), array['a;b', 'c"d', E'e\\f'],
         jsonb_build_object('i', i, 's', 'x;y''z')
  from generate_series(1, 500) i;
update app.customer set name = name where id <= 10;
comment on table app.orders is 'orders; with ''quotes''';
EOF
test_expect_success CLIENT_MATCHES_SERVER 'seed database and pg_dump it into the corpus' '
    psql_c "create database seed" &&
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$(url_for seed)" -f "$TRASH/seed.sql" &&
    "$PG_DUMP" --no-owner -d "$(url_for seed)" >"$CORPUS/90-pgdump.sql" &&
    "$PG_DUMP" --no-owner --column-inserts -d "$(url_for seed)" >"$CORPUS/91-pgdump-inserts.sql" &&
    grep -q "^COPY app.orders" "$CORPUS/90-pgdump.sql" &&
    grep -q "CREATE TRIGGER" "$CORPUS/90-pgdump.sql"
'

# Normalise a dump: drop comments and the \restrict lines of newer pg_dump.
dump() { # URL OUT
    "$PG_DUMP" --no-owner --schema-only -d "$1" | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' >"$2.schema" &&
    "$PG_DUMP" --no-owner --data-only -d "$1" | grep -v -e '^--' -e '^\\restrict' -e '^\\unrestrict' >"$2.data"
}
# Located messages only: psql's "psql:" prefix removed; LINE/caret lines
# differ on purpose (our LINE is the file's line) and are left out.
messages() {
    sed 's/^psql://' "$1" | grep -E '^[^ ]+:[0-9]+: |^(DETAIL|HINT|CONTEXT|QUERY): ' || true
}

n=0
for f in "$CORPUS"/*.sql; do
    name=${f##*/}
    n=$((n + 1))
    test_expect_success CLIENT_MATCHES_SERVER "oracle: $name" '
        a=o${n}psql b=o${n}dbt &&
        psql_c "create database $a" && psql_c "create database $b" &&
        (cd "$CORPUS" && "$PSQL" -X -v ON_ERROR_STOP=1 -d "$(url_for $a)" -f "$name" \
            >"$TRASH/$a.out" 2>"$TRASH/$a.err"; echo $? >"$TRASH/$a.rc") &&
        (cd "$CORPUS" && "$DBTOOL" sql -u "$(url_for $b)" -f "$name" \
            >"$TRASH/$b.out" 2>"$TRASH/$b.err"; echo $? >"$TRASH/$b.rc") &&
        rc_psql=$(cat "$TRASH/$a.rc") && rc_dbt=$(cat "$TRASH/$b.rc") &&
        case $rc_psql in 3) want=1 ;; *) want=$rc_psql ;; esac &&
        { [ "$rc_dbt" = "$want" ] || { echo "exit: psql $rc_psql, dbtool $rc_dbt"; cat "$TRASH/$a.err" "$TRASH/$b.err"; false; }; } &&
        messages "$TRASH/$a.err" >"$TRASH/$a.msg" && messages "$TRASH/$b.err" >"$TRASH/$b.msg" &&
        test_cmp "$TRASH/$a.msg" "$TRASH/$b.msg" &&
        dump "$(url_for $a)" "$TRASH/$a" && dump "$(url_for $b)" "$TRASH/$b" &&
        test_cmp "$TRASH/$a.schema" "$TRASH/$b.schema" &&
        test_cmp "$TRASH/$a.data" "$TRASH/$b.data" &&
        psql_c "drop database $a" && psql_c "drop database $b"
    '
done

test_expect_success 'the corpus has at least 40 scripts and error cases' '
    [ "$n" -ge 40 ] && ls "$CORPUS" | grep -c err- | grep -qv "^0$"
'

test_done
