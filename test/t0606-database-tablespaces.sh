#!/bin/sh
# Physical backups of a cluster with a tablespace: pg_basebackup -Ft writes
# one OID.tar.gz per tablespace and a tablespace_map naming the source's
# path. restore, normalize-backup and diff put the tablespace in the
# working dir (tablespaces/OID beside data/), never at the source's path;
# database backup round-trips it; a failed restore keeps the previous
# cluster and its tablespace; database cleanup removes it all.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src" "$TRASH/prodsrc"
export LOCAL_DIR=$P PG_DATABASE=appdb
# throwaway clusters on disk, where the leftover checks look
export DBTOOL_SCRATCH_DIR=$P/focus
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
WD=$P/focus/postgresql
RAW=$TRASH/raw
NORM=$TRASH/norm
SRCLOC=$TRASH/tsloc
ME=$(if [ "$(id -u)" = 0 ]; then echo postgres; else id -un; fi)

# an empty tablespace location the server user owns ($TRASH is 0755: traversable)
mkts() { mkdir -p "$1" && chmod 700 "$1" && if [ "$(id -u)" = 0 ]; then chown postgres "$1"; fi; }
# the same tables, in tablespace ts at location $1, following the hectic rules;
# diff compares the rows of ref (immutable), so it must read the tablespace
sources() {
    cat <<EOF
CREATE TABLESPACE ts LOCATION '$1';
CREATE TABLE t (id int, v text, PRIMARY KEY (id) USING INDEX TABLESPACE ts)
    INHERITS (hectic.created_at) TABLESPACE ts;
CREATE INDEX t_v ON t (v) TABLESPACE ts;
CREATE TABLE ref (code text PRIMARY KEY USING INDEX TABLESPACE ts, name text)
    INHERITS (hectic.created_at, hectic.immutable) TABLESPACE ts;
BEGIN;
SET LOCAL hectic.migration_mode = 'on';
INSERT INTO ref (code, name) SELECT 'c' || g, 'name ' || g FROM generate_series(1, 50) g;
COMMIT;
EOF
}
sources "$TRASH/tsloc-sources" >"$P/db/src/entrypoint.sql"
sources "$SRCLOC" >"$TRASH/prodsrc/entrypoint.sql"
: >"$P/test-data.sql"
mkts "$SRCLOC"
mkts "$TRASH/tsloc-sources"

q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$U" -c "$1"; }
# rows of t, read through the index in the tablespace
rows() { q "SET enable_seqscan = off; SELECT count(*) FROM t WHERE id > 0"; }
no_leftovers() {
    wait_bg "$WD" || return 1
    ls -a "$WD" 2>/dev/null | grep -e old-data -e failed-restore && { echo "leftover in $WD"; return 1; }
    ls -d "$P"/focus/normalize-* "$P"/focus/diff-backup-* "$P"/focus/diff-sources-* 2>/dev/null &&
        { echo "leftover throwaway dir"; return 1; }
    for pid in $(pgrep -x postgres 2>/dev/null); do
        d=$(readlink "/proc/$pid/cwd" 2>/dev/null) || continue
        case "$d" in "$P"/focus/normalize-*|"$P"/focus/diff-*) echo "leftover server $pid in $d"; return 1;; esac
    done
    return 0
}

pg_cluster src || exit 1
SRCURL=$PGURL
# every test builds on a raw pg_basebackup (and diff on pg_dump): they refuse a newer server
test_prereq_from_here CLIENT_MATCHES_SERVER
test_expect_success 'set up: a source cluster with table + indexes in a tablespace, its raw backup' '
    DATABASE_SOURCE=$TRASH/prodsrc "$DBTOOL" database -u "$SRCURL" hydrate >out 2>err &&
    U=$SRCURL && q "INSERT INTO t (id, v) SELECT g, \$\$v\$\$ || g FROM generate_series(1, 1000) g" &&
    test "$(q "SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = \$\$ts\$\$")" = "$SRCLOC" &&
    "$PG_BASEBACKUP" -d "$SRCURL" -D "$RAW" -Ft -z -X stream --checkpoint=fast 2>err &&
    test -s "$RAW/base.tar.gz" && test "$(ls "$RAW" | grep -c "^[1-9][0-9]*\.tar\.gz$")" = 1
'
OID=$(ls "$RAW" | sed -n "s/^\([1-9][0-9]*\)\.tar\.gz$/\1/p")
sum_input() { (cd "$RAW" && ls -lA --time-style=+%s && sha256sum *); }
sum_input >sum.before
test_expect_success '...pg_basebackup -Ft writes a tablespace_map with the source path, no pg_tblspc symlink' '
    tar -xzOf "$RAW/base.tar.gz" tablespace_map >map && test "$(cat map)" = "$OID $SRCLOC" &&
    ! tar -tzf "$RAW/base.tar.gz" | grep -q "^pg_tblspc/."
'
test_expect_success 'set up: the source is stopped and its tablespace dir gone' '
    PG_WORKING_DIR=$TRASH/src "$DBTOOL" postgres-cleanup 2>err && mv "$SRCLOC" "$SRCLOC.gone"
'

# (a) restore
test_expect_success 'restore of the raw backup: the server starts, the rows are readable' '
    "$DBTOOL" database restore "$RAW" >out 2>err && U=$(tail -n 1 out) &&
    test "$(rows)" = 1000 && grep -q "1 tablespace" err
'
U=$(tail -n 1 out)
export U
test_expect_success '...pg_tblspc/OID points into the working dir, not at the source path' '
    test "$(readlink "$WD/data/pg_tblspc/$OID")" = "$WD/tablespaces/$OID" &&
    test "$(q "SELECT pg_tablespace_location($OID)")" = "$WD/tablespaces/$OID" &&
    test -d "$WD/tablespaces/$OID/PG_$(cat "$WD/data/PG_VERSION")_"*/ &&
    ! test -e "$SRCLOC" && ! grep -rqs "$SRCLOC" "$WD/data/tablespace_map" "$WD/data/tablespace_map.old"
'
test_expect_success '...tablespace_map was rewritten to the same path (PostgreSQL then moved it to .old)' '
    test "$(cat "$WD/data/tablespace_map.old")" = "$OID $WD/tablespaces/$OID"
'
test_expect_success '...owned by the server user, writable' '
    test "$(stat -c %U "$WD/tablespaces/$OID")" = "$ME" && test "$(stat -c %a "$WD/tablespaces")" = 700 &&
    test "$(stat -c %U "$WD/data/pg_tblspc/$OID")" = "$ME" &&
    test -z "$(find "$WD/tablespaces" ! -user "$ME")" &&
    q "INSERT INTO t (id, v) VALUES (1001, \$\$new\$\$)" && test "$(rows)" = 1001
'
test_expect_success 'restore again over it: the old tablespace swapped out with the old data dir' '
    before=$(stat -c %i "$WD/tablespaces/$OID") &&
    "$DBTOOL" database restore "$RAW" >out 2>err && test "$(rows)" = 1000 &&
    test "$(stat -c %i "$WD/tablespaces/$OID")" != "$before" && no_leftovers
'
test_expect_success 'a missing tablespace archive is refused before anything is touched' '
    mkdir -p "$TRASH/nots" && cp "$RAW/base.tar.gz" "$RAW/pg_wal.tar.gz" "$TRASH/nots/" &&
    { "$DBTOOL" database restore "$TRASH/nots" >out 2>err; test $? = 1; } &&
    grep -q "tablespace $OID (at .$SRCLOC. .*no $OID.tar.gz" err &&
    test "$(rows)" = 1000 && no_leftovers
'

# (4) database backup of the cluster with its tablespace, and back
test_expect_success 'database backup writes the tablespace archive; restore of it brings the rows back' '
    "$DBTOOL" database backup 2>err && B=$P/focus/postgresql-backup &&
    test -s "$B/$OID.tar.gz" && test "$(cat "$B/database_name")" = appdb &&
    test "$(tar -xzOf "$B/base.tar.gz" tablespace_map)" = "$OID $WD/tablespaces/$OID" &&
    q "DELETE FROM t WHERE id > 10" && test "$(rows)" = 10 &&
    "$DBTOOL" database restore >out 2>err && test "$(rows)" = 1000 && no_leftovers
'

# (b) normalize-backup
test_expect_success 'normalize-backup keeps the tablespace archive beside base.tar.gz' '
    "$DBTOOL" database normalize-backup "$RAW" -o "$NORM" >out 2>err &&
    test "$(cat "$NORM/database_name")" = appdb && test -s "$NORM/base.tar.gz" &&
    test -s "$NORM/$OID.tar.gz" && tar -tzf "$NORM/$OID.tar.gz" | grep -q "PG_[0-9]*_" &&
    no_leftovers
'
test_expect_success '...base.tar.gz: pg_tblspc/OID relative to where restore puts it, no tablespace_map' '
    mkdir x && tar -xzf "$NORM/base.tar.gz" -C x &&
    test "$(readlink "x/pg_tblspc/$OID")" = "../../tablespaces/$OID" &&
    ! test -e x/tablespace_map && ! test -e x/tablespace_map.old && ! grep -rqs "$TRASH/tsloc" x/*.conf
'
test_expect_success '...the input is not modified' 'sum_input >sum.now && test_cmp sum.before sum.now'
test_expect_success 'restore of the normalised backup: rows read from the tablespace' '
    q "DELETE FROM t" &&
    "$DBTOOL" database restore "$NORM" >out 2>err && test "$(rows)" = 1000 &&
    test "$(readlink "$WD/data/pg_tblspc/$OID")" = "$WD/tablespaces/$OID" && no_leftovers
'

# (c) diff
test_expect_code 0 'diff of the raw backup against sources defining the same table: no differences' '
    "$DBTOOL" database diff "$RAW" >out 2>err
'
test_expect_success '...rows of the immutable table in the tablespace compared, throwaway clusters removed' '
    test "$(tail -n 1 out)" = "no differences found" &&
    grep -A1 -x "=== public.ref ===" out | grep -qx "(no differences)" && no_leftovers
'
test_expect_code 0 'diff of the normalised backup: no differences either' '
    rm -rf "$TRASH/tsloc-sources" && mkts "$TRASH/tsloc-sources" &&
    "$DBTOOL" database diff "$NORM" >out 2>err
'
test_expect_success '...no throwaway cluster left' 'no_leftovers'
test_expect_code 0 'sources without the tablespace: placement is not drift (pg_dump --no-tablespaces)' '
    sed -e "/^CREATE TABLESPACE/d" -e "s/ USING INDEX TABLESPACE ts//" -e "s/ TABLESPACE ts//" \
        "$P/db/src/entrypoint.sql" >"$TRASH/plain.sql" && ! grep -q TABLESPACE "$TRASH/plain.sql" &&
    mkdir -p "$TRASH/plainsrc" && cp "$TRASH/plain.sql" "$TRASH/plainsrc/entrypoint.sql" &&
    DATABASE_SOURCE=$TRASH/plainsrc "$DBTOOL" database diff "$RAW" >out 2>err
'

# (d) failed restores keep the previous cluster and its tablespace
q "INSERT INTO t (id, v) VALUES (5000, 'marker')"
test_expect_success 'a corrupt tablespace archive: restore fails, the cluster and its rows stay' '
    mkdir -p "$TRASH/corrupt" && cp "$RAW"/* "$TRASH/corrupt/" &&
    head -c 2000 "$RAW/$OID.tar.gz" >"$TRASH/corrupt/$OID.tar.gz" &&
    before=$(stat -c %i "$WD/tablespaces/$OID") &&
    { "$DBTOOL" database restore "$TRASH/corrupt" >out 2>err; test $? = 1; } &&
    grep -q "cannot extract .*$OID.tar.gz" err &&
    test "$(rows)" = 1001 && test "$(stat -c %i "$WD/tablespaces/$OID")" = "$before" && no_leftovers
'
test_expect_success 'a restored cluster that cannot start: old data dir and tablespace put back, started' '
    mkdir -p "$TRASH/broken" "$TRASH/brokenbase" && tar -xzf "$RAW/base.tar.gz" -C "$TRASH/brokenbase" &&
    rm -rf "$TRASH/brokenbase/global" && tar -czf "$TRASH/broken/base.tar.gz" -C "$TRASH/brokenbase" . &&
    cp "$RAW/$OID.tar.gz" "$RAW/pg_wal.tar.gz" "$TRASH/broken/" &&
    before=$(stat -c %i "$WD/tablespaces/$OID") &&
    ! "$DBTOOL" database restore "$TRASH/broken" >out 2>err &&
    grep -q "previous cluster is back" err && test "$(rows)" = 1001 &&
    test "$(stat -c %i "$WD/tablespaces/$OID")" = "$before" &&
    test "$(readlink "$WD/data/pg_tblspc/$OID")" = "$WD/tablespaces/$OID" &&
    ! ls -a "$WD" | grep -e "-tablespaces" && ! test -e "$WD/data/dbtool-old-tablespaces"
'
test_expect_success 'a fresh deploy over it takes tablespaces/ away with the replaced data dir' '
    test -d "$WD/tablespaces/$OID" && rm -rf "$TRASH/tsloc-sources" && mkts "$TRASH/tsloc-sources" &&
    "$DBTOOL" database deploy >out 2>err && wait_bg "$WD" &&
    ! test -e "$WD/tablespaces" && ! ls -d "$WD"/.old-data-* 2>/dev/null &&
    test "$(q "SELECT count(*) FROM pg_tablespace WHERE spcname = \$\$ts\$\$")" = 1
'

test_expect_success 'database cleanup removes the cluster with its tablespaces' '
    "$DBTOOL" database cleanup >out 2>err && ! test -e "$WD" && ! test -e "$SRCLOC"
'
test_done
