#!/bin/sh
# The TAP harness itself: test_when_finished runs, exit codes are kept.
. "${0%/*}/lib.sh"
test_expect_success 'registers a cleanup' 'test_when_finished "touch $TRASH/cleaned" && false || true'
test_expect_success 'cleanup ran' 'test -e "$TRASH/cleaned"'
test_expect_code 3 'cleanup runs and the code is kept' 'test_when_finished "touch $TRASH/c2"; (exit 3)'
test_expect_success 'cleanup ran after a failing body' 'test -e "$TRASH/c2"'
test_done
