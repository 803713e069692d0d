#!/bin/sh
# Applet dispatch, --list/--help/--version, option errors, config errors.
. "${0%/*}/lib.sh"

test_expect_success 'dbtool --version prints the version' '
    "$DBTOOL" --version >out && grep -q "^dbtool [0-9]" out
'
test_expect_success 'dbtool --list names every applet' '
    "$DBTOOL" --list >out &&
    for a in database postgres-init postgres-cleanup config; do grep -qx "$a" out || exit 1; done
'
test_expect_success 'dbtool --help goes to stdout and exits 0' '
    "$DBTOOL" --help >out 2>err && grep -q "applets:" out && ! test -s err
'
test_expect_code 9 'unknown applet exits 9' '"$DBTOOL" no-such-applet 2>err'
test_expect_success 'unknown applet message names it' '
    "$DBTOOL" no-such-applet 2>err; grep -q "unknown applet .no-such-applet." err
'
if [ -n "${DBTOOL_WRAPPED:-}" ]; then
    test_skip 'argv[0] dispatch through links' 'dbtool runs behind a wrapper script (valgrind)'
else
    test_expect_code 9 'unknown link name exits 9' '
        ln -s "$DBTOOL" ./weird-name && ./weird-name 2>err
    '
    test_expect_success 'a link named after the applet dispatches by argv[0]' '
        ln -sf "$DBTOOL" ./postgres-cleanup && ./postgres-cleanup --help >out && grep -q "usage: postgres-cleanup" out
    '
    test_expect_success 'dbtool APPLET and the link behave the same' '
        "$DBTOOL" postgres-init --help >a && "$DBTOOL_BUILD/bin/database" --help >/dev/null &&
        ln -sf "$DBTOOL" ./postgres-init && ./postgres-init --help >b && test_cmp a b
    '
fi
for a in database postgres-init postgres-cleanup config; do
    test_expect_success "$a --help exits 0 with usage on stdout" "
        \"\$DBTOOL\" $a --help >out 2>err && grep -q '^usage:' out && ! test -s err
    "
    test_expect_success "$a -h is the same as --help" "
        \"\$DBTOOL\" $a -h >out && grep -q '^usage:' out
    "
done
test_expect_code 9 'unknown option exits 9' '"$DBTOOL" postgres-init --bogus 2>err'
test_expect_success 'unknown option message names it' '
    "$DBTOOL" postgres-init --bogus 2>err; grep -q "unknown option .--bogus." err
'
test_expect_code 9 'option value missing exits 9' '"$DBTOOL" postgres-cleanup --timeout 2>err'
test_expect_code 9 'bad number exits 9' '"$DBTOOL" postgres-cleanup --timeout=abc 2>err'

mkdir proj
test_expect_code 3 'dbtool.yaml with an unknown key exits 3' '
    printf "postgres:\n  prot: 1\n" >proj/dbtool.yaml &&
    LOCAL_DIR=$TRASH/proj "$DBTOOL" config 2>err
'
test_expect_success '...and names file:line:col' '
    grep -q "dbtool.yaml:2:3: unknown key .postgres.prot." err
'
test_expect_code 3 'dbtool.yaml syntax error exits 3' '
    printf "postgres:\n  port: \"x\n" >proj/dbtool.yaml &&
    LOCAL_DIR=$TRASH/proj "$DBTOOL" postgres-init 2>err
'
test_expect_code 3 'DBTOOL_CONFIG names another file' '
    printf "log: [x\n" >other.yaml && DBTOOL_CONFIG=$TRASH/other.yaml "$DBTOOL" config 2>err &&
    grep -q "other.yaml:" err
'
test_expect_success 'precedence: env over file over default, shown by dbtool config' '
    printf "postgres:\n  port: 6001\n  database: fromfile\n" >proj/dbtool.yaml &&
    LOCAL_DIR=$TRASH/proj PG_DATABASE=fromenv "$DBTOOL" config >out &&
    grep -q "^PG_PORT=6001.*# file" out && grep -q "^PG_DATABASE=fromenv.*# env" out &&
    grep -q "^PG_URL_VAR=PGURL.*# default" out
'
test_expect_success 'dbtool config masks passwords' '
    DB_URL="postgresql://u:topsecret@h/d" "$DBTOOL" config >out && ! grep -q topsecret out &&
    DB_URL="postgresql://u:topsecret@h/d" "$DBTOOL" config DB_URL >out && ! grep -q topsecret out
'
test_expect_success 'invalid HECTIC_LOG is a warning, not a crash' '
    HECTIC_LOG=loud "$DBTOOL" --version >out 2>err && grep -q "HECTIC_LOG" err
'
test_expect_success 'HECTIC_LOG=debug shows debug lines; NO_COLOR output has no escapes' '
    rm -f proj/dbtool.yaml &&
    HECTIC_LOG="debug" PG_WORKING_DIR=$TRASH/nowhere "$DBTOOL" postgres-cleanup 2>err &&
    grep -q "debug:" err && ! grep -q "$(printf "\033")" err
'
test_expect_success 'a failed write to stdout is an error' '
    if [ -w /dev/full ]; then ! "$DBTOOL" --list >/dev/full 2>err && grep -q "write error" err; fi
'
test_done
