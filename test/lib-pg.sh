# test/lib-pg.sh — throwaway clusters started by dbtool itself. Source after lib.sh.
#   pg_cluster NAME      start a cluster in $TRASH/NAME (fsync off, no TCP, short socket
#                        dir); sets PGURL, PG_WORKING_DIR_<NAME>; stopped and removed at exit
#   PSQL, PG_DUMP        the real client binaries of the server's bin dir (not Debian's wrapper)
#   psql_c SQL           run SQL on $PGURL through psql, unaligned, tuples only
. "${TEST_LIB:-${0%/*}}/lib.sh"

PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null)}
if [ -z "$PG_BINDIR" ] || [ ! -x "$PG_BINDIR/postgres" ]; then
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && PG_BINDIR=$d; done
fi
[ -x "${PG_BINDIR:-}/postgres" ] || skip_all "no PostgreSQL server binaries found (set PG_BINDIR)"
export PG_BINDIR
PSQL="$PG_BINDIR/psql"
PG_DUMP="$PG_BINDIR/pg_dump"
export PSQL PG_DUMP
# throwaway clusters: no fsync, pg_cron only where a test asks for it
export PG_FSYNC=0
export PG_SHARED_PRELOAD_LIBRARIES=${PG_SHARED_PRELOAD_LIBRARIES-}

pg_cluster() {
    _name=${1:-pg}
    _wd="$TRASH/$_name"
    _env=$(PG_WORKING_DIR="$_wd" "$DBTOOL" postgres-init --env 2>"$TRASH/.pg_cluster.err") || {
        echo "pg_cluster: postgres-init failed for $_wd" >&2
        cat "$TRASH/.pg_cluster.err" >&2
        return 1
    }
    eval "$_env"
    test_at_exit "PG_WORKING_DIR='$_wd' '$DBTOOL' postgres-cleanup"
    return 0
}

psql_c() {
    "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$PGURL" -c "$1"
}
