#!/bin/sh
# A failing test shows its whole output (on stderr, so prove shows it) and
# keeps the trash dir; a passing script removes it.
. "${0%/*}/lib.sh"

# run_inner BODY: a throwaway script with one test whose body is BODY
run_inner() {
    mkdir -p inner && cat >inner/t9999-inner.sh <<EOF_INNER
#!/bin/sh
. "$TEST_DIR/lib.sh"
echo "\$TRASH" >"$TRASH/inner-trash"
test_expect_success 'the inner test' '$1'
test_done
EOF_INNER
    TEST_LIB="$TEST_DIR" TEST_FAILURE_LOG=${INNER_LOG:-} sh inner/t9999-inner.sh >inner/out 2>inner/err
}
test_expect_success 'a failing test: not ok, exit 1, its output on stderr' '
    ! run_inner "seq 1 500; echo the-cause >&2; false" &&
    grep -q "^not ok 1 - the inner test" inner/out &&
    grep -q "^# t9999-inner: not ok 1 - the inner test" inner/err &&
    grep -q "^#    the-cause" inner/err && grep -q "^#    500$" inner/err &&
    grep -q "(501 lines, the last 400 shown" inner/err
'
test_expect_success '...and its trash dir is kept, with the output saved' '
    t=$(cat inner-trash) && test -d "$t" && test_when_finished "rm -rf \"$t\"" &&
    grep -q "trash dir kept: $t" inner/err && grep -q the-cause "$t/.test-output-1"
'
test_expect_success 'TEST_FAILURE_LOG (CI) collects the report, with the err file the test wrote' '
    ! INNER_LOG=$TRASH/flog run_inner "echo the-reason >err; false" &&
    t=$(cat inner-trash) && test_when_finished "rm -rf \"$t\"" &&
    grep -q "^# t9999-inner: not ok 1 - the inner test" flog &&
    grep -q "^#    --- err (the last 30 lines):" flog && grep -q "^#    the-reason" flog &&
    grep -q "^#    the-reason" inner/err
'
test_expect_success 'a passing script removes its trash dir' '
    run_inner "true" && t=$(cat inner-trash) && ! test -e "$t" && ! test -s inner/err
'
test_done
