# test/lib.sh — TAP test library (git's test-lib, trimmed). Source it first:
#   . "${0%/*}/lib.sh"
#   test_expect_success 'description' 'shell body'
#   test_expect_code 3 'description' 'body whose last command must exit 3'
#   test_expect_success PREREQ 'description' 'body'   (also test_expect_code 3 PREREQ ...)
#   test_done
# Prerequisites (git's test_set_prereq/test_have_prereq): PREREQ is NAME or
# NAME,NAME (all needed), !NAME negates. A test whose prerequisite is missing
# prints `ok N - desc # SKIP missing NAME: why` (never a silent pass). lib.sh
# sets ROOT or NONROOT; lib-pg.sh sets CLIENT_MATCHES_SERVER and PG_CRON.
# Each script gets its own trash dir ($TRASH, short, under /tmp), removed at exit
# when every test passed and kept (its path printed) when one failed, as git's
# test-lib does; clusters registered with test_at_exit are stopped either way.
# Bodies run in the current shell with `set -e` semantics off; use `&&` chains,
# as in git's suite. The whole output of a failing test is shown as '#' lines
# (TEST_OUTPUT_LINES, default 400, bounds it); TEST_KEEP_TRASH=1 keeps the trash
# dir of a passing script too.
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
    if [ "$test_failed" -gt 0 ] || [ "${TEST_KEEP_TRASH:-0}" = 1 ]; then
        printf '# %s: trash dir kept: %s\n' "$TEST_NAME" "$TRASH" >&2
        exit $rc
    fi
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
    : >"$TRASH/.test-start"
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
        # the whole output (git's -v for the failing test), kept as .test-output-N; on
        # stderr, as TAP diagnostics go, so prove shows it without -v
        cp "$TRASH/.test-output" "$TRASH/.test-output-$test_count" 2>/dev/null
        {
            printf '# %s: not ok %d - %s\n' "$TEST_NAME" "$test_count" "$2"
            _n=$(wc -l <"$TRASH/.test-output")
            if [ "$_n" -gt "${TEST_OUTPUT_LINES:-400}" ]; then
                printf '#    (%d lines, the last %d shown; all in %s)\n' "$_n" "${TEST_OUTPUT_LINES:-400}" \
                    "$TRASH/.test-output-$test_count"
            fi
            sed 's/^/#    /' "$TRASH/.test-output" | tail -n "${TEST_OUTPUT_LINES:-400}"
            # what the test's commands wrote to the usual err/out files, when it wrote them
            for _f in "$TRASH"/err* "$TRASH"/out*; do
                [ -f "$_f" ] && ! [ "$TRASH/.test-start" -nt "$_f" ] || continue
                printf '#    --- %s (the last 30 lines):\n' "${_f##*/}"
                tail -n 30 "$_f" | sed 's/^/#    /'
            done
        } >"$TRASH/.test-report" 2>&1
        cat "$TRASH/.test-report" >&2
        # CI collects every failure's report in one file, printed again at its end
        if [ -n "${TEST_FAILURE_LOG:-}" ]; then
            cat "$TRASH/.test-report" >>"$TEST_FAILURE_LOG" 2>/dev/null
        fi
    fi
}

# ---- prerequisites ----
_prereqs=" "
# test_set_prereq NAME: NAME is available.
test_set_prereq() { _prereqs="$_prereqs$1 "; }
# test_missing_prereq NAME 'why': NAME is not available; WHY is the skip reason.
test_missing_prereq() { eval "_prereq_why_$1=\$2"; }
# test_have_prereq NAME[,NAME...]: all available (!NAME: NAME not available).
# Sets $test_missing_reason to the first one that is not.
test_have_prereq() {
    _save_ifs=$IFS; IFS=,
    set -- $1
    IFS=$_save_ifs
    for _p; do
        case $_p in
        !*) case $_prereqs in *" ${_p#!} "*)
                test_missing_reason="${_p#!} is available (the test needs it missing)"; return 1 ;; esac ;;
        *) case $_prereqs in *" $_p "*) ;; *)
                eval "_why=\${_prereq_why_$_p:-not available}"
                test_missing_reason="missing $_p: $_why"; return 1 ;; esac ;;
        esac
    done
    return 0
}
if [ "$(id -u)" = 0 ]; then
    test_set_prereq ROOT
    test_missing_prereq NONROOT "runs as root"
else
    test_set_prereq NONROOT
    test_missing_prereq ROOT "needs root"
fi

# test_prereq_from_here PREREQ: every later test of this script needs PREREQ too
# (scripts whose remaining tests all build on a step that needs it, e.g. a backup).
_prereq_rest=""
test_prereq_from_here() { _prereq_rest="${_prereq_rest:+$_prereq_rest,}$1"; }
# the prerequisites of a test: its own and those of test_prereq_from_here
_test_prereq_ok() {
    _all="$_prereq_rest${1:+${_prereq_rest:+,}$1}"
    [ -z "$_all" ] || test_have_prereq "$_all"
}

test_expect_success() {
    if [ $# = 2 ] && [ -n "$_prereq_rest" ]; then
        set -- "" "$@"
    fi
    if [ $# = 3 ]; then
        _test_prereq_ok "$1" || { test_skip "$2" "$test_missing_reason"; return 0; }
        shift
    fi
    _run_body "$2"
    _report $? "$1"
}

test_expect_failure_code() { :; }

# test_expect_code CODE [PREREQ] 'desc' 'body': the body's status must equal CODE.
test_expect_code() {
    _want=$1
    if [ $# = 3 ] && [ -n "$_prereq_rest" ]; then
        shift
        set -- "$_want" "" "$@"
    fi
    if [ $# = 4 ]; then
        _test_prereq_ok "$2" || { test_skip "$3" "$test_missing_reason"; return 0; }
        shift
    fi
    _run_body "$3"
    _got=$?
    if [ "$_got" = "$_want" ]; then
        _report 0 "$2"
    else
        echo "expected exit code $_want, got $_got" >>"$TRASH/.test-output"
        _report 1 "$2"
    fi
}

# skip_all REASON: skip the (rest of the) script. Before any test: a skipped
# script (1..0); after some ran: one skipped test for the rest, so the plan holds.
skip_all() {
    if [ "$test_count" -gt 0 ]; then
        test_skip "the rest of $TEST_NAME" "$1"
        test_done
    fi
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
