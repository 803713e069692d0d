#!/bin/sh
# migrator's command line as scripts of the shell migrator parse it (issue 14):
# the version line, ambiguous commands (exit 2, before a URL is needed),
# unknown options per command, "not enough migrations", "no migrations found",
# the list lines; and what a dbmate/git user expects: up/down/to/new aliases,
# create NAME, help X, X --help, did you mean, -q, a counter on a terminal.
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int) INHERITS (hectic.created_at)'

# --- offline -------------------------------------------------------------------

test_expect_success '--version and -V: "migrator version 0.0.1" then dbtool'"'"'s own, on stdout' '
    migrator --version >out 2>err && test "$(cat out)" = "migrator version 0.0.1 (dbtool $("$DBTOOL" --version | cut -d" " -f2))" &&
    ! test -s err && migrator -V >out2 && test_cmp out out2
'
test_expect_code 2 'two commands: exit 2, no URL needed' 'migrator list migrate 2>err'
test_expect_success '...with the shell migrator'"'"'s words' '
    grep -q "ambiguous subcommand, decide list or migrate$" err
'
test_expect_code 2 'two migrate subcommands: exit 2, no URL needed' 'migrator migrate to up 2>err'
test_expect_success '...with the shell migrator'"'"'s words' '
    grep -q "ambiguous migrate subcommand, decide to or up$" err && ! grep -qi url err
'
test_expect_success 'the same for up down, an alias and a second command, decided before the URL' '
    migrator migrate up down 2>err; test $? = 2 && grep -q "decide up or down" err &&
    migrator up list 2>err; test $? = 2 && grep -q "ambiguous subcommand, decide up or list" err &&
    migrator status list 2>err; test $? = 2 && grep -q "ambiguous subcommand, decide status or list" err
'
test_expect_success 'a label may be a command word: create init, new list' '
    migrator -d LBL create init >/dev/null 2>&1 && migrator -d LBL new list >/dev/null 2>&1 && test "$(ls LBL | wc -l)" = 2
'
for c in init list create; do
    test_expect_code 9 "an unknown option of $c exits 9" "migrator $c --frob 2>err"
    test_expect_success "...\"$c argument '--frob' does not exists\"" "
        grep -q \"$c argument '--frob' does not exists\$\" err
    "
done
for d in up down to; do
    test_expect_code 1 "an unknown option of migrate $d exits 1" "migrator migrate $d --frob 2>err"
    test_expect_success "...\"\`migrate $d\` argument --frob does not exists\"" "
        grep -q '\`migrate $d\` argument --frob does not exists\$' err
    "
done
test_expect_success 'the aliases say the same (up --frob: exit 1; new --frob: exit 9)' '
    migrator up --frob 2>err; test $? = 1 && grep -q "\`migrate up\` argument --frob does not exists" err &&
    migrator new x --frob 2>err; test $? = 9 && grep -q "create argument .--frob. does not exists" err
'
test_expect_success 'a mistyped command: exit 9 with "did you mean"' '
    migrator statsu 2>err; test $? = 9 && grep -q "unknown command .statsu. (did you mean .status.?" err &&
    migrator migrat up 2>err; test $? = 9 && grep -q "did you mean .migrate.?" err &&
    migrator migrate upp 2>err; test $? = 9 && grep -q "did you mean .up.?" err &&
    migrator help lnt 2>err; test $? = 9 && grep -q "did you mean .lint.?" err
'
test_expect_success 'help X and X --help print X'"'"'s help on stdout' '
    for c in init migrate create list status baseline lint import; do
        migrator help $c >a && migrator $c --help >b && test_cmp a b && head -n 1 a | grep -q "^usage: migrator .*$c" || exit 1
    done &&
    migrator help up >a && grep -q "migrate up" a && migrator help >a && grep -q "^commands:" a
'
test_expect_success 'list: NAME, NAME: missing up.sql / down.sql / both; up/ and down/ count; --raw names only' '
    mkdir -p L/20240101000000-ok L/20240102000000-noup L/20240103000000-nodown L/20240104000000-none \
        L/20240105000000-multi/up L/20240105000000-multi/down L/20240106000000-updir/up &&
    touch L/20240101000000-ok/up.sql L/20240101000000-ok/down.sql L/20240102000000-noup/down.sql \
        L/20240103000000-nodown/up.sql L/20240105000000-multi/up/entrypoint.sql \
        L/20240105000000-multi/down/entrypoint.sql L/20240106000000-updir/down.sql &&
    migrator -d L list >out &&
    cat >want <<-\EOF &&
	20240101000000-ok
	20240102000000-noup: missing up.sql
	20240103000000-nodown: missing down.sql
	20240104000000-none: missing up.sql down.sql
	20240105000000-multi
	20240106000000-updir
	EOF
    test_cmp want out &&
    migrator -d L list --raw >out && ls L >want && test_cmp want out
'
test_expect_success 'list --format json is valid JSON with every folder' '
    migrator -d L list --format json >out &&
    python3 -c "import json,sys; d=json.load(open(\"out\")); assert len(d)==6, d; assert d[1][\"up\"] is False; assert d[4][\"multi_file\"] is True" &&
    { migrator -d L list --format yaml 2>err; test $? = 9; }
'
test_expect_success 'create NAME and new NAME (positional, like dbmate), create --name still works' '
    migrator -d C create first >o1 2>/dev/null && migrator -d C new second >o2 2>/dev/null &&
    migrator -d C create --name third >o3 2>/dev/null &&
    for i in 1 2 3; do test -f "$(cat o$i)/up.sql" || exit 1; done &&
    ls C | sed "s/^[0-9]*-//" >names && printf "first\nsecond\nthird\n" >want && test_cmp want names
'

# --- on a server -------------------------------------------------------------------

pg_cluster pg || exit 1
newdb m >/dev/null
D=mig
for i in 1 2 3; do mkmig $D 2024010100000$i-t$i "CREATE TABLE t$i $T;" "DROP TABLE t$i;"; done

test_expect_success 'migrator up, down, to: the migrate aliases' '
    mig m $D up 2>err && test "$(applied m)" = 20240101000001-t1 &&
    mig m $D up all 2>err && test "$(nmig m)" = 3 &&
    mig m $D down 2 2>err && test "$(nmig m)" = 1 &&
    mig m $D to 20240101000002-t2 2>err && test "$(nmig m)" = 2 &&
    mig m $D down all 2>err && test "$(nmig m)" = 0 && mig m $D up 3 2>err && test "$(nmig m)" = 3
'
test_expect_code 1 'migrate up with nothing pending: exit 1' 'mig m $D migrate up 2>err'
test_expect_success '..."cannot migrate up 1 step(s): not enough migrations"' '
    grep -q "cannot migrate up 1 step(s): not enough migrations$" err
'
test_expect_code 1 'migrate up 2 with nothing pending: exit 1 likewise' 'mig m $D migrate up 2 2>err'
test_expect_success '..."cannot migrate up 2 step(s): not enough migrations"' '
    grep -q "cannot migrate up 2 step(s): not enough migrations$" err
'
test_expect_success 'migrate up all with everything applied: exit 0' '
    mig m $D migrate up all 2>err && grep -q "nothing to apply" err
'
test_expect_code 1 'migrate up all with no migration at all: exit 1' '
    mkdir empty && newdb e >/dev/null && mig e empty migrate up all 2>err
'
test_expect_success '..."no migrations found"' 'grep -q "no migrations found$" err'
test_expect_success '-q: only warnings and errors on stderr' '
    mig m $D down -q 2>err && ! test -s err && test "$(nmig m)" = 2 &&
    mig m $D -q up 2>err && ! test -s err && test "$(nmig m)" = 3
'
test_expect_success 'a terminal gets one updating counter line for a long run, a pipe the lines' '
    for i in $(seq 10 40); do mkmig P 202402010000$i-p$i "CREATE TABLE p$i $T; SELECT pg_sleep(0.03);" "DROP TABLE p$i;" || exit 1; done &&
    newdb tty >/dev/null &&
    script -qec "migrator -u \"$(dburl tty)\" -d P migrate up all" /dev/null >tty.out 2>&1 &&
    test "$(nmig tty)" = 31 && grep -q "migrate: [0-9]*/31" tty.out && ! grep -q "applied 20240201000010-p10" tty.out &&
    grep -q "31 migrations done" tty.out &&
    mig tty P migrate down all 2>err && grep -c "reverted 2024" err | grep -qx 31 && ! grep -q "migrate: " err
'
test_done
