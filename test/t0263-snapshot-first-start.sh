#!/bin/sh
# A fast first start on a machine with an empty cache: the generic template
# installed with dbtool (uid and database independent, fitted in single-user
# mode), or one initdb in RAM that also becomes the cached template (never a
# second, competing initdb).
. "${0%/*}/lib-pg.sh"

I=$TRASH/inst
test_expect_success 'make install builds the generic template of this server' '
    make -C "$SRC_DIR" -s install O="$DBTOOL_BUILD" PREFIX="$I" >out 2>err &&
    ls -d "$I"/share/dbtool/templates/generic-* >tpl && test "$(wc -l <tpl)" = 1 &&
    test "$(stat -c %a "$(cat tpl)")" = 755
'
test_expect_success 'a first init with an empty cache fits the installed template, no initdb' '
    XDG_CACHE_HOME=$TRASH/c1 PG_WORKING_DIR=$TRASH/w1 PG_DATABASE=appdb \
        "$I/bin/dbtool" postgres-init >out 2>err &&
    test_when_finished "PG_WORKING_DIR=$TRASH/w1 \"$DBTOOL\" postgres-cleanup" &&
    test_grep "from the template installed with dbtool" err &&
    test "$("$PSQL" -X -At -d "$(cat out)" -c "select current_user = (select rolname from pg_authid where oid = 10), current_database()")" = "t|appdb" &&
    test "$(stat -c %a "$TRASH/w1/data")" = 700
'
test_expect_success '...and the background job stores the cache template from it (no initdb)' '
    XDG_CACHE_HOME=$TRASH/c1 wait_bg &&
    ls -d "$TRASH"/c1/dbtool/pg-* | grep -v "\.key$" >t && test "$(wc -l <t)" = 1 &&
    XDG_CACHE_HOME=$TRASH/c1 PG_WORKING_DIR=$TRASH/w1 PG_DATABASE=appdb \
        HECTIC_LOG="info;cluster=debug" "$I/bin/dbtool" postgres-init >out 2>err &&
    test_grep "claimed a spare\|copied template" err
'
test_expect_success '...and builds it only once the server is ready, never beside its start' '
    mkdir -p "$TRASH/slow" "$TRASH/slowlog" && chmod 777 "$TRASH/slowlog" &&
    for f in "$PG_BINDIR"/*; do [ "${f##*/}" = postgres ] || ln -s "$f" "$TRASH/slow/"; done &&
    cat >"$TRASH/slow/postgres" <<EOF &&
#!/bin/sh
# a server start that takes 2 s; when it goes on, the template must not exist yet
case "\$1" in -V|--version|--single|--boot) exec "$PG_BINDIR/postgres" "\$@";; esac
sleep 2
date +%s.%N >"$TRASH/slowlog/exec"
exec "$PG_BINDIR/postgres" "\$@"
EOF
    chmod 755 "$TRASH/slow/postgres" &&
    XDG_CACHE_HOME=$TRASH/c5 PG_WORKING_DIR=$TRASH/w5 PG_BINDIR=$TRASH/slow "$I/bin/dbtool" postgres-init >out 2>err &&
    test_when_finished "PG_WORKING_DIR=$TRASH/w5 \"$DBTOOL\" postgres-cleanup" &&
    test_grep "from the template installed with dbtool" err && XDG_CACHE_HOME=$TRASH/c5 wait_bg &&
    tpl=$(ls -d "$TRASH"/c5/dbtool/pg-* | grep -v "\.key$") && test "$(echo "$tpl" | wc -l)" = 1 &&
    built=$(stat -c %.9Y "$tpl") && started=$(cat "$TRASH/slowlog/exec") &&
    echo "template last written at $built, the server went on at $started" &&
    awk -v b="$built" -v s="$started" "BEGIN { exit !(b > s) }"
'
test_expect_success 'a template of another server version is not used' '
    t=$(cat tpl) && mv "$t" "$I/share/dbtool/templates/generic-0000000000000000" &&
    XDG_CACHE_HOME=$TRASH/c2 PG_WORKING_DIR=$TRASH/w2 "$I/bin/dbtool" postgres-init >out 2>err;
    r=$?; mv "$I/share/dbtool/templates/generic-0000000000000000" "$t";
    PG_WORKING_DIR=$TRASH/w2 "$DBTOOL" postgres-cleanup >/dev/null 2>&1;
    test $r = 0 && test_grep -v "installed with dbtool" err
'
test_expect_success 'without an installed template: initdb in place, as before' '
    XDG_CACHE_HOME=$TRASH/c3 PG_WORKING_DIR=$TRASH/w3 "$DBTOOL" postgres-init >out 2>err &&
    test_when_finished "PG_WORKING_DIR=$TRASH/w3 \"$DBTOOL\" postgres-cleanup" &&
    test_grep "initialising a new cluster" err &&
    "$PSQL" -X -At -d "$(cat out)" -c "select 1" >/dev/null
'
test_expect_success '...the background initdb is kept as the generic template and the cache template fitted from it' '
    XDG_CACHE_HOME=$TRASH/c3 wait_bg &&
    ls -d "$TRASH"/c3/dbtool/generic-* &&
    ls -d "$TRASH"/c3/dbtool/pg-* | grep -v "\.key$" >t && test "$(wc -l <t)" = 1 &&
    XDG_CACHE_HOME=$TRASH/c3 PG_WORKING_DIR=$TRASH/w3 HECTIC_LOG="info;cluster=debug" \
        "$DBTOOL" postgres-init >out 2>err && test_grep "claimed a spare\|copied template" err
'
test_expect_success '...and another database name on the same server fits it: no initdb at all' '
    XDG_CACHE_HOME=$TRASH/c3 PG_WORKING_DIR=$TRASH/w4 PG_DATABASE=other "$DBTOOL" postgres-init >out 2>err &&
    test_when_finished "PG_WORKING_DIR=$TRASH/w4 \"$DBTOOL\" postgres-cleanup" &&
    test_grep "from this server.s generic template" err &&
    test "$("$PSQL" -X -At -d "$(cat out)" -c "select current_database()")" = other
'
test_done
