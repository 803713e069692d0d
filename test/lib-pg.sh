# test/lib-pg.sh — throwaway clusters started by dbtool itself. Source after lib.sh.
#   pg_cluster NAME      start a cluster in $TRASH/NAME (fsync off, no TCP, short socket
#                        dir); sets PGURL, PG_WORKING_DIR_<NAME>; stopped and removed at exit
#   PG_BINDIR            the server's bin dir (postgres, initdb): $PG_BINDIR, else the
#                        pg_config on PATH, else the newest /usr/lib/postgresql/N/bin
#   PG_CLIENT_BINDIR     psql, pg_dump, pg_restore, pg_basebackup: $PG_CLIENT_BINDIR, else
#                        the server's dir when it has them, else the newest Debian
#                        /usr/lib/postgresql/N/bin; exported, so dbtool uses the same
#   PSQL, PG_DUMP, PG_RESTORE, PG_BASEBACKUP   those programs (never Debian's /usr/bin wrappers)
#   PG_SERVER_MAJOR, PG_CLIENT_MAJOR
#   prerequisites        CLIENT_MATCHES_SERVER (client major >= server major: pg_dump
#                        and pg_basebackup refuse newer servers), PG_CRON (pg_cron in
#                        the server's own pkglibdir and sharedir)
#   psql_c SQL           run SQL on $PGURL through psql, unaligned, tuples only
. "${TEST_LIB:-${0%/*}}/lib.sh"

PG_BINDIR=${PG_BINDIR:-$(pg_config --bindir 2>/dev/null)}
if [ -z "$PG_BINDIR" ] || [ ! -x "$PG_BINDIR/postgres" ]; then
    for d in /usr/lib/postgresql/*/bin; do [ -x "$d/postgres" ] && PG_BINDIR=$d; done
fi
[ -x "${PG_BINDIR:-}/postgres" ] || skip_all "no PostgreSQL server binaries found (set PG_BINDIR)"
export PG_BINDIR
# "postgres (PostgreSQL) 17.6 (Debian ...)" -> 17
pg_major_of() { "$1" --version 2>/dev/null | sed -n 's/^[^ ]* (PostgreSQL) \([0-9]*\).*/\1/p'; }
if [ -z "${PG_CLIENT_BINDIR:-}" ]; then
    if [ -x "$PG_BINDIR/psql" ] && [ -x "$PG_BINDIR/pg_dump" ]; then
        PG_CLIENT_BINDIR=$PG_BINDIR
    else
        for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -t/ -k5,5n); do
            [ -x "$d/psql" ] && PG_CLIENT_BINDIR=$d
        done
    fi
fi
[ -x "${PG_CLIENT_BINDIR:-}/psql" ] ||
    skip_all "no PostgreSQL client programs (psql) for the server in $PG_BINDIR: set PG_CLIENT_BINDIR"
export PG_CLIENT_BINDIR
PSQL="$PG_CLIENT_BINDIR/psql"
PG_DUMP="$PG_CLIENT_BINDIR/pg_dump"
PG_RESTORE="$PG_CLIENT_BINDIR/pg_restore"
PG_BASEBACKUP="$PG_CLIENT_BINDIR/pg_basebackup"
PG_SERVER_MAJOR=$(pg_major_of "$PG_BINDIR/postgres")
PG_CLIENT_MAJOR=$(pg_major_of "$PSQL")
export PSQL PG_DUMP PG_RESTORE PG_BASEBACKUP PG_SERVER_MAJOR PG_CLIENT_MAJOR
if [ "${PG_CLIENT_MAJOR:-0}" -ge "${PG_SERVER_MAJOR:-999}" ]; then
    test_set_prereq CLIENT_MATCHES_SERVER
else
    test_missing_prereq CLIENT_MATCHES_SERVER "the client programs in $PG_CLIENT_BINDIR are\
 PostgreSQL ${PG_CLIENT_MAJOR:-?}, older than the server (PostgreSQL ${PG_SERVER_MAJOR:-?});\
 set PG_CLIENT_BINDIR to PostgreSQL ${PG_SERVER_MAJOR:-?} or newer client programs"
fi
# pg_cron of the SERVER's installation: its pkglibdir (bindir/../lib/postgresql,
# bindir/../lib, or its own pg_config) and sharedir (the extension's control file);
# never the pg_config on PATH, which may be another installation's
_pkglib="$PG_BINDIR/../lib/postgresql $PG_BINDIR/../lib"
_share="$PG_BINDIR/../share/postgresql $PG_BINDIR/../share"
if [ -x "$PG_BINDIR/pg_config" ]; then
    _pkglib="$_pkglib $("$PG_BINDIR/pg_config" --pkglibdir)"
    _share="$_share $("$PG_BINDIR/pg_config" --sharedir)"
fi
_cron_so="" _cron_ctl=""
for _d in $_pkglib; do [ -e "$_d/pg_cron.so" ] && _cron_so=$_d/pg_cron.so; done
for _d in $_share; do [ -e "$_d/extension/pg_cron.control" ] && _cron_ctl=$_d/extension/pg_cron.control; done
if [ -n "$_cron_so" ] && [ -n "$_cron_ctl" ]; then
    test_set_prereq PG_CRON
else
    test_missing_prereq PG_CRON "pg_cron is not installed for the server in $PG_BINDIR\
 (Debian: postgresql-${PG_SERVER_MAJOR:-N}-cron)"
fi
# features of newer servers some fixtures use (BEGIN ATOMIC / RETURN bodies, SET COMPRESSION,
# pg_read_all_data: 14; UNIQUE NULLS NOT DISTINCT: 15)
for _m in 14 15; do
    if [ "${PG_SERVER_MAJOR:-0}" -ge $_m ]; then
        test_set_prereq PG$_m
    else
        test_missing_prereq PG$_m "the server is PostgreSQL ${PG_SERVER_MAJOR:-?}; this needs $_m or newer"
    fi
done
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
