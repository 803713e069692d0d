# test/lib.sh — TAP test library (git's test-lib, trimmed). Source it first:
#   . "${0%/*}/lib.sh"
#   test_expect_success 'description' 'shell body'
#   test_expect_code 3 'description' 'body whose last command must exit 3'
#   test_done
# Each script gets its own trash dir ($TRASH, short, under /tmp) removed at exit,
# even on failure. Bodies run in the current shell with `set -e` semantics off;
# use `&&` chains, as in git's suite. Output of a failing test is shown as '#' lines.
set -u
TEST_NAME=${0##*/}
TEST_NAME=${TEST_NAME%.sh}
TEST_DIR=${TEST_LIB:-$(cd "${0%/*}" && pwd)}
SRC_DIR=$(cd "$TEST_DIR/.." && pwd)
DBTOOL_BUILD=${DBTOOL_BUILD:-$SRC_DIR/build}
DBTOOL="$DBTOOL_BUILD/dbtool"
PATH="$DBTOOL_BUILD/bin:$PATH"
export DBTOOL DBTOOL_BUILD PATH SRC_DIR TEST_DIR
# a private template cache per test run keeps scripts independent but fast
: "${XDG_CACHE_HOME:=${TMPDIR:-/tmp}/dbtool-test-cache-$(id -u)}"
export XDG_CACHE_HOME
# no snapshot cache unless a script asks (t026x): other scripts' deploys replay as they
# always did, and no background store job competes with them or sweeps their scratch dirs
export DBTOOL_SNAPSHOT_BUDGET=0
unset PGURL DB_URL LOCAL_DIR PG_WORKING_DIR DATABASE_DIR MIGRATION_DIR DATABASE_SOURCE \
      PG_DATABASE PG_PORT PG_URL_VAR PG_LOG_PATH PG_CONF_FILE PG_SHARED_PRELOAD_LIBRARIES \
      PG_DISABLE_LOGGING PG_REUSE PG_HECTIC_INHERITANCE HECTIC_INHERITANCE_SQL \
      HECTIC_DOTENV_FILE PATCH_LOG HYDRATE_LOG NO_TTY HECTIC_LOG DBTOOL_CONFIG ENVIRONMENT \
      PGHOST PGPORT PGDATABASE PGUSER PGDATA DBTOOL_SCRATCH_DIR DBTOOL_SCRATCH_RAM
export NO_COLOR=1

TRASH=$(mktemp -d "${TMPDIR:-/tmp}/dbt.XXXXXX")
chmod 755 "$TRASH"
export TRASH
cd "$TRASH" || exit 1

test_count=0
test_failed=0
test_cleanup_global=""
test_cleanup=""

say() { printf '# %s\n' "$*"; }

_test_exit() {
    rc=$?
    if [ -n "$test_cleanup_global" ]; then
        eval "$test_cleanup_global" >/dev/null 2>&1
    fi
    cd / || exit 1
    # dbtool's background jobs work in the cache, never in a working dir: nothing to stop here
    for _i in 1 2 3 4 5; do rm -rf "$TRASH" 2>/dev/null && break; sleep 0.2; done
    exit $rc
}
trap _test_exit EXIT
trap 'exit 130' INT TERM

# Register a command to run when the current test ends (pass or fail).
test_when_finished() {
    test_cleanup="$1
$test_cleanup"
}
# Register a command to run when the script exits (clusters, servers).
test_at_exit() {
    test_cleanup_global="$1
$test_cleanup_global"
}

_run_body() {
    test_cleanup=""
    _out="$TRASH/.test-output"
    # the body runs in a subshell (an `exit` ends only the test); what it registers
    # with test_when_finished runs in that same subshell, pass or fail
    (
        eval "$1"
        _rc=$?
        if [ -n "$test_cleanup" ]; then
            eval "$test_cleanup"
        fi
        exit $_rc
    ) >"$_out" 2>&1 </dev/null
}

_report() { # ok? description
    test_count=$((test_count + 1))
    if [ "$1" = 0 ]; then
        printf 'ok %d - %s\n' "$test_count" "$2"
    else
        test_failed=$((test_failed + 1))
        printf 'not ok %d - %s\n' "$test_count" "$2"
        sed 's/^/#    /' "$TRASH/.test-output" | tail -n 60
    fi
}

test_expect_success() {
    _run_body "$2"
    _report $? "$1"
}

test_expect_failure_code() { :; }

# test_expect_code CODE 'desc' 'body': the body's status must equal CODE.
test_expect_code() {
    _want=$1
    _run_body "$3"
    _got=$?
    if [ "$_got" = "$_want" ]; then
        _report 0 "$2"
    else
        echo "expected exit code $_want, got $_got" >>"$TRASH/.test-output"
        _report 1 "$2"
    fi
}

skip_all() {
    printf '1..0 # SKIP %s\n' "$1"
    exit 0
}

test_skip() { # desc reason
    test_count=$((test_count + 1))
    printf 'ok %d - %s # SKIP %s\n' "$test_count" "$1" "$2"
}

test_done() {
    printf '1..%d\n' "$test_count"
    if [ "$test_failed" -gt 0 ]; then
        exit 1
    fi
    exit 0
}

# Helpers for bodies.
# Wait (up to 60 s each) until no dbtool background job of the cache runs.
wait_bg() {
    # every background job holds a lock in the cache's jobs/ while it runs (lib/job.h)
    _c=${DBTOOL_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/dbtool}
    for _l in "$_c"/jobs/*.lock; do
        [ -e "$_l" ] || continue
        flock -s -w 60 "$_l" true || return 1
    done
}
# wait_line PATTERN FILE PID: wait (up to 30 s) until FILE has a line matching
# PATTERN, e.g. a background dbtool announcing a step; on timeout kill PID and fail.
wait_line() {
    _i=0
    while ! grep -q -- "$1" "$2" 2>/dev/null; do
        _i=$((_i + 1)); [ $_i -lt 600 ] || { kill "$3" 2>/dev/null; echo "no '$1' in $2 after 30 s"; return 1; }
        sleep 0.05
    done
}
# A pid is gone when it does not exist or is a zombie (PID 1 in containers may not reap).
pid_gone() { ! kill -0 "$1" 2>/dev/null || grep -q "^State:.*Z" "/proc/$1/status" 2>/dev/null; }
test_cmp() { diff -u "$1" "$2"; }
test_grep() { # [-v] pattern file
    if [ "$1" = "-v" ]; then
        shift
        if grep -q -- "$1" "$2"; then echo "unexpected '$1' in $2:"; cat "$2"; return 1; fi
        return 0
    fi
    grep -q -- "$1" "$2" || { echo "no '$1' in $2:"; cat "$2"; return 1; }
}
