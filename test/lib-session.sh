# lib-session.sh — shared by the t095x `database session` tests: a second
# local cluster standing in for the remote ($REMOTE), the project $P (the demo
# copied by the test) as LOCAL_DIR with its cluster removed at exit,
# throwaway clusters in $DBTOOL_SCRATCH_DIR, and helpers.
. "${TEST_LIB:-${0%/*}}/lib-pg.sh"
pg_cluster remote || skip_all "could not start a cluster"
REMOTE=$PGURL
unset PGURL DB_URL

P="$TRASH/proj"
M="$P/db/migration"
export DBTOOL_SCRATCH_DIR="$TRASH/scratch"
mkdir -p "$DBTOOL_SCRATCH_DIR"
export LOCAL_DIR="$P"
test_at_exit "LOCAL_DIR='$P' '$DBTOOL' database cleanup"

sess() { "$DBTOOL" database session "$@"; }
# SQL on the remote / on the session database (its URL in $TRASH/local.url)
rpsql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$REMOTE" -c "$1"; }
lpsql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(cat "$TRASH/local.url")" -c "$1"; }
# expect_rc CODE COMMAND...: COMMAND must exit CODE
expect_rc() {
    _w=$1; shift
    "$@"; _r=$?
    [ "$_r" = "$_w" ] || { echo "expected exit $_w, got $_r: $*"; return 1; }
}
