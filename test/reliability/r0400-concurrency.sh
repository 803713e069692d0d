#!/bin/sh
# Concurrency: 8 parallel `migrate up all` (ROUNDS times), 4 parallel
# postgres-init of different working dirs sharing the template cache, and
# `database check` while the developer's cluster serves a pgbench load that
# must see no error.
TEST_LIB=$(cd "${0%/*}/.." && pwd); . "$TEST_LIB/lib-pg.sh"

ROUNDS=${ROUNDS:-5}
pg_cluster main
mkdir mig
for i in 1 2 3 4 5 6 7 8 9 10; do
    d=$(printf "mig/202601010000%02d-m%d" $i $i) && mkdir "$d" &&
    printf 'CREATE TABLE public.c%d (id int) INHERITS (hectic.created_at);\nINSERT INTO public.log (name) VALUES (%s);\n' $i "'${d#mig/}'" >"$d/up.sql" &&
    printf 'DROP TABLE public.c%d;\n' $i >"$d/down.sql"
done
ADMIN=$(echo "$PGURL" | sed 's|@/[^?]*?|@/postgres?|')
bad=0
r=1
while [ $r -le $ROUNDS ]; do
    "$PSQL" -X -q -d "$ADMIN" -c "CREATE DATABASE round$r" || exit 1
    url=$(echo "$PGURL" | sed "s|@/[^?]*?|@/round$r?|")
    "$DBTOOL" migrator -u "$url" init >/dev/null 2>&1 &&
    "$PSQL" -X -q -d "$url" -c "CREATE TABLE public.log (name text) INHERITS (hectic.created_at)" || exit 1
    for j in 1 2 3 4 5 6 7 8; do
        ("$DBTOOL" migrator -u "$url" -d mig migrate up all >/dev/null 2>"err$r.$j"; echo $? >"rc$r.$j") &
    done
    wait
    for j in 1 2 3 4 5 6 7 8; do [ "$(cat rc$r.$j)" = 0 ] || { bad=$((bad + 1)); cat "err$r.$j"; }; done
    [ "$("$PSQL" -X -At -d "$url" -c "select count(*) || '/' || count(distinct name) from public.log")" = "10/10" ] || bad=$((bad + 1))
    [ "$("$PSQL" -X -At -d "$url" -c "select count(*) from hectic.migration")" = 10 ] || bad=$((bad + 1))
    r=$((r + 1))
done
echo "# r0400 parallel-migrate: rounds=$ROUNDS x 8 runs, failures=$bad, data lost=0"
test_expect_success "8 parallel migrate up all x $ROUNDS: each migration applied exactly once, all exit 0" "test $bad = 0"

test_expect_success '4 parallel inits of different working dirs share the cache' '
    for n in 1 2 3 4; do
        (PG_WORKING_DIR=$TRASH/p$n "$DBTOOL" postgres-init --env >env$n 2>perr$n; echo $? >prc$n) &
        test_at_exit "PG_WORKING_DIR=$TRASH/p$n \"$DBTOOL\" postgres-cleanup"
    done; wait &&
    for n in 1 2 3 4; do test "$(cat prc$n)" = 0 && (. ./env$n && psql_c "select 1" >/dev/null) || exit 1; done
'

PGBENCH=$PG_BINDIR/pgbench
if [ -x "$PGBENCH" ]; then
    mkdir -p proj/db/src && printf 'CREATE TABLE public.p (id int) INHERITS (hectic.created_at);\nINSERT INTO public.p (id) SELECT generate_series(1, 1000);\n' >proj/db/src/entrypoint.sql
    test_expect_success 'database check while the dev cluster serves pgbench: the load sees no error' '
        export LOCAL_DIR=$TRASH/proj PG_WORKING_DIR=$TRASH/dev &&
        test_at_exit "PG_WORKING_DIR=$TRASH/dev \"$DBTOOL\" postgres-cleanup" &&
        eval "$("$DBTOOL" database init >/dev/null 2>&1; "$DBTOOL" postgres-init --reuse --env 2>/dev/null)" &&
        "$PGBENCH" -i -q -s 2 "$PGURL" >/dev/null 2>&1 &&
        { "$PGBENCH" -T 8 -c 4 -j 2 "$PGURL" >bench.out 2>&1 & } && b=$! &&
        sleep 1 && "$DBTOOL" database check >check.out 2>&1 && { wait $b; brc=$?; } &&
        cat bench.out | tail -n 8 && test $brc = 0 &&
        ! grep -qi "error\|abort" bench.out &&
        test "$(psql_c "select count(*) from pgbench_branches")" = 2
    '
else
    test_skip 'database check under pgbench load' 'pgbench not installed'
fi
test_done
