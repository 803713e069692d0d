#!/bin/sh
# A fast first start on a machine with an empty cache: the generic template
# installed with dbtool (uid and database independent: its bootstrap role and
# database renamed over the first connection after the start), or one initdb
# in place that also becomes the cached template (never a second, competing
# initdb).
. "${0%/*}/lib-pg.sh"

I=$TRASH/inst
# several tests start a working dir again after the one that made it stopped it
for w in w1 w2 w3 w4 w5 w6 w7 w8; do
    test_at_exit "PG_WORKING_DIR=$TRASH/$w '$DBTOOL' postgres-cleanup"
done
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
# what a cluster says of itself: roles, databases, the catalog of its database
describe() {
    "$PSQL" -X -At -d "$1" -c "select rolname = current_user, rolsuper, rolcreaterole, rolcreatedb,
        rolcanlogin, rolreplication, rolbypassrls from pg_authid where oid = 10" \
        -c "select rolname from pg_authid where oid <> 10 order by 1" \
        -c "select datname, pg_get_userbyid(datdba) = current_user, encoding, datcollate, datctype,
            datistemplate, datallowconn, datconnlimit from pg_database order by 1" \
        -c "select nspname, pg_get_userbyid(nspowner) = current_user, nspacl from pg_namespace order by 1" \
        -c "select count(*) from pg_class" &&
    ls "$2"/data | grep -v "^postmaster\.\|^log$\|^dbtool\.conf$"
}
test_expect_success 'the fitted cluster is the one initdb makes: roles, databases, catalog, files' '
    XDG_CACHE_HOME=$TRASH/c6 PG_WORKING_DIR=$TRASH/w6 PG_DATABASE=appdb \
        "$I/bin/dbtool" postgres-init >out6 2>err &&
    test_when_finished "PG_WORKING_DIR=$TRASH/w6 \"$DBTOOL\" postgres-cleanup" &&
    test_grep "from the template installed with dbtool" err &&
    XDG_CACHE_HOME=$TRASH/c7 PG_WORKING_DIR=$TRASH/w7 PG_DATABASE=appdb \
        "$DBTOOL" postgres-init >out7 2>err &&
    test_when_finished "PG_WORKING_DIR=$TRASH/w7 \"$DBTOOL\" postgres-cleanup" &&
    test_grep "(initdb;" err &&
    describe "$(cat out6)" "$TRASH/w6" >fitted && describe "$(cat out7)" "$TRASH/w7" >initdb &&
    test_cmp initdb fitted &&
    test_grep -v "dbtool_fit\|dbtool-fit\|dbtool-template" fitted
'
test_expect_success 'the database postgres: the template.s database is dropped, not renamed' '
    XDG_CACHE_HOME=$TRASH/c8 PG_WORKING_DIR=$TRASH/w8 PG_DATABASE=postgres \
        "$I/bin/dbtool" postgres-init >out 2>err &&
    test_when_finished "PG_WORKING_DIR=$TRASH/w8 \"$DBTOOL\" postgres-cleanup" &&
    "$PSQL" -X -At -d "$(cat out)" -c "select datname from pg_database order by 1" >dbs &&
    printf "postgres\ntemplate0\ntemplate1\n" >expect && test_cmp expect dbs
'
# undo a fit by hand: the state a first init left when it was killed between its start and the fit
unfit() {
    "$PSQL" -X -q -d "$1" -c "set allow_system_table_mods = on" \
        -c "update pg_authid set rolname = \$\$dbtool\$\$ where oid = 10" &&
    "$PSQL" -X -q -d "$(echo "$1" | sed "s|//[^@]*@/appdb|//dbtool@/postgres|")" \
        -c "alter database appdb rename to dbtool_fit"
}
test_expect_success 'a first init killed before its fit: the next start fits it' '
    XDG_CACHE_HOME=$TRASH/c6 PG_WORKING_DIR=$TRASH/w6 PG_DATABASE=appdb "$DBTOOL" postgres-init --reuse >out 2>err &&
    unfit "$(cat out)" &&
    echo planted >"$TRASH/w6/data/dbtool-fit.pending" && chmod 600 "$TRASH/w6/data/dbtool-fit.pending" &&
    { [ "$(id -u)" != 0 ] || chown postgres "$TRASH/w6/data/dbtool-fit.pending"; } &&
    PG_WORKING_DIR=$TRASH/w6 "$DBTOOL" postgres-cleanup >/dev/null 2>&1 &&
    XDG_CACHE_HOME=$TRASH/c6 PG_WORKING_DIR=$TRASH/w6 PG_DATABASE=appdb \
        HECTIC_LOG="info;cluster=debug" "$DBTOOL" postgres-init --reuse >out 2>err &&
    test_grep "(reused)" err && test_grep "fitted the generic template over a connection" err &&
    test ! -e "$TRASH/w6/data/dbtool-fit.pending" &&
    describe "$(cat out)" "$TRASH/w6" >refit && test_cmp initdb refit
'
test_expect_success '...and one killed after its fit, before it removed the mark: the next start only removes it' '
    echo planted >"$TRASH/w6/data/dbtool-fit.pending" &&
    { [ "$(id -u)" != 0 ] || chown postgres "$TRASH/w6/data/dbtool-fit.pending"; } &&
    "$PSQL" -X -q -d "$(cat out)" -c "create table kept(x int)" &&
    PG_WORKING_DIR=$TRASH/w6 "$DBTOOL" postgres-cleanup >/dev/null 2>&1 &&
    XDG_CACHE_HOME=$TRASH/c6 PG_WORKING_DIR=$TRASH/w6 PG_DATABASE=appdb \
        "$DBTOOL" postgres-init --reuse >out 2>err &&
    test ! -e "$TRASH/w6/data/dbtool-fit.pending" &&
    test "$("$PSQL" -X -At -d "$(cat out)" -c "select count(*) from kept")" = 0
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
