#!/bin/sh
# The TAP harness itself: test_when_finished runs, exit codes are kept,
# prerequisites skip with their reason.
. "${0%/*}/lib.sh"
test_expect_success 'registers a cleanup' 'test_when_finished "touch $TRASH/cleaned" && false || true'
test_expect_success 'cleanup ran' 'test -e "$TRASH/cleaned"'
test_expect_code 3 'cleanup runs and the code is kept' 'test_when_finished "touch $TRASH/c2"; (exit 3)'
test_expect_success 'cleanup ran after a failing body' 'test -e "$TRASH/c2"'

# prerequisites: a nested script's TAP shows what a missing one prints
cat >"$TRASH/prereq.sh" <<EOF
. "$TEST_DIR/lib.sh"
test_set_prereq HAVE
test_missing_prereq LACK "lack is not installed"
test_expect_success HAVE 'runs with HAVE' 'true'
test_expect_success LACK 'skipped without LACK' 'false'
test_expect_success HAVE,LACK 'skipped without both' 'false'
test_expect_success !LACK 'runs when LACK is missing' 'true'
test_expect_success !HAVE 'skipped when HAVE is there' 'false'
test_expect_code 3 HAVE 'code with a prereq' '(exit 3)'
test_expect_code 3 NEVER 'code skipped, unknown prereq' 'false'
test_prereq_from_here LACK
test_expect_success 'later tests need LACK too' 'true'
test_expect_code 0 'tests with a code as well' 'true'
test_done
EOF
test_expect_success 'prerequisites: run, skip with the reason, negate' '
    TEST_LIB=$TEST_DIR sh "$TRASH/prereq.sh" >out &&
    cat >expect <<-\EOF &&
	ok 1 - runs with HAVE
	ok 2 - skipped without LACK # SKIP missing LACK: lack is not installed
	ok 3 - skipped without both # SKIP missing LACK: lack is not installed
	ok 4 - runs when LACK is missing
	ok 5 - skipped when HAVE is there # SKIP HAVE is available (the test needs it missing)
	ok 6 - code with a prereq
	ok 7 - code skipped, unknown prereq # SKIP missing NEVER: not available
	ok 8 - later tests need LACK too # SKIP missing LACK: lack is not installed
	ok 9 - tests with a code as well # SKIP missing LACK: lack is not installed
	1..9
	EOF
    test_cmp expect out
'
test_expect_success 'ROOT or NONROOT is set' '
    if [ "$(id -u)" = 0 ]; then test_have_prereq ROOT && ! test_have_prereq NONROOT
    else test_have_prereq NONROOT && ! test_have_prereq ROOT; fi
'
test_done
