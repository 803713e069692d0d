#!/bin/sh
# t0301-sqlscript — specific behaviours of `dbtool sql` / lib/sqlscript.c
# beyond the psql oracle: include cycles, unsupported meta-commands, COPY,
# -v variables, error locations, \if, \restrict, exit codes.
. "${0%/*}/lib-pg.sh"

# expect_rc CODE CMD...: CMD must exit with CODE
expect_rc() {
    _w=$1; shift
    "$@"; _r=$?
    [ "$_r" = "$_w" ] || { echo "expected exit $_w, got $_r: $*"; return 1; }
}

test_expect_success 'help goes to stdout and exits 0' '
    "$DBTOOL" sql --help >out && test_grep "dbtool sql" out && test_grep "Differences from psql" out
'

test_expect_code 3 'no URL: exit 3' '
    "$DBTOOL" sql -c "select 1"
'

pg_cluster main || skip_all "could not start a cluster"
q() { psql_c "$1"; }

test_expect_code 9 'no script: usage error' '
    "$DBTOOL" sql
'

test_expect_success 'URL from DB_URL beats PGURL; -u beats both' '
    DB_URL="$PGURL" PGURL=postgresql://nobody@/nowhere?host=/nonexistent "$DBTOOL" sql -q -c "select 1" &&
    DB_URL=postgresql://nobody@/nowhere?host=/nonexistent "$DBTOOL" sql -q -u "$PGURL" -c "select 1"
'

test_expect_success 'include cycle is an error naming the chain, not a hang' '
    mkdir -p cyc/sub &&
    printf "select 1;\n\\\\ir sub/b.sql\n" >cyc/a.sql &&
    printf "\\\\ir ../a.sql\n" >cyc/sub/b.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f cyc/a.sql 2>err &&
    test_grep "cyc/sub/b.sql:1: error: \\\\ir: include cycle: cyc/a.sql -> cyc/sub/b.sql -> cyc/sub/../a.sql" err
'

test_expect_success 'a file including itself is a cycle too' '
    printf "\\\\i self.sql\n" >self.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f self.sql 2>err &&
    test_grep "self.sql:1: error: \\\\i: include cycle: self.sql -> self.sql" err
'

test_expect_success 'including the same file twice (no cycle) is fine' '
    printf "select 1;\n" >leaf.sql &&
    printf "\\\\i leaf.sql\n\\\\i leaf.sql\n" >twice.sql &&
    "$DBTOOL" sql -q -f twice.sql
'

# \gset is supported since issue 16: \gexec stands for the unsupported ones
test_expect_success 'unsupported psql meta-command: error with name, file and line' '
    printf "select 1;\nselect 2 as x \\\\gexec\n" >gexec.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f gexec.sql 2>err &&
    test_grep "^gexec.sql:2: error: \\\\gexec: meta-command not supported" err
'

test_expect_success 'unknown meta-command: invalid command, file and line' '
    printf "\n\n\\\\frobnicate now\n" >unk.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f unk.sql 2>err &&
    test_grep "^unk.sql:3: error: invalid command \\\\frobnicate" err
'

test_expect_success 'backquotes are refused' '
    printf "\\\\set x \`echo hi\`\n" >bq.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f bq.sql 2>err &&
    test_grep "backquoted shell commands are not supported" err
'

test_expect_success 'COPY FROM stdin inline data and COPY TO stdout' '
    cat >copy.sql <<-\EOF &&
	create table cp (id int, v text);
	copy cp from stdin;
	1	one
	2	with\ttab
	3	\N
	\.
	copy cp to stdout;
	copy (select count(*) from cp) to stdout with (format csv);
	EOF
    "$DBTOOL" sql -q -f copy.sql >out &&
    printf "1\tone\n2\twith\\\\ttab\n3\t\\\\N\n3\n" >expect &&
    test_cmp expect out &&
    [ "$(q "select v from cp where id = 2")" = "$(printf "with\ttab")" ] &&
    [ "$(q "select count(*) from cp where v is null")" = 1 ]
'

test_expect_success 'COPY data from a script on stdin (-f -)' '
    printf "create table cpin (v int);\ncopy cpin from stdin;\n7\n8\n\\\\.\nselect 1;\n" |
        "$DBTOOL" sql -q -f - &&
    [ "$(q "select sum(v) from cpin")" = 15 ]
'

test_expect_success 'a 100k-line COPY streams through' '
    { echo "create table cbig (id int, v text);"; echo "copy cbig from stdin;";
      seq 1 100000 | sed "s/\$/\trow/"; echo "\\."; } >big.sql &&
    "$DBTOOL" sql -q -f big.sql &&
    [ "$(q "select count(*) from cbig")" = 100000 ]
'

test_expect_success '-v variables, :name :'"'"'name'"'"' :"name", kept across -f and -c' '
    printf "create table :tbl (v text);\ninsert into :\"tbl\" values (:'"'"'val'"'"');\n\\\\set later done\n" >vars.sql &&
    "$DBTOOL" sql -q -v tbl=vt -v "val=it'"'"'s a \\ test" -f vars.sql -c "insert into vt values (:'"'"'later'"'"')" &&
    q "select v from vt order by v" >out &&
    printf "done\nit'"'"'s a \\\\ test\n" >expect && test_cmp expect out
'

test_expect_code 9 'an invalid -v name is a usage error' '
    "$DBTOOL" sql -v "bad-name=1" -c "select 1"
'

test_expect_success 'error: FILE:LINE of the statement end, LINE N mapped to the file' '
    printf "select 1;\n\nselect\n  1,\n  nosuchcolumn\n;\n" >err.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f err.sql 2>err &&
    test_grep "^err.sql:6: ERROR:  column \"nosuchcolumn\" does not exist" err &&
    test_grep "^LINE 5:   nosuchcolumn" err &&
    test_grep "^          ^\$" err
'

test_expect_success 'error in an included file names that file; DETAIL and HINT printed' '
    mkdir -p inc &&
    printf "create table u1 (id int primary key);\ninsert into u1 values (1);\n\\\\ir inc/dup.sql\n" >main.sql &&
    printf "\ninsert into u1 values (1);\n" >inc/dup.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f main.sql 2>err &&
    test_grep "^inc/dup.sql:2: ERROR:  duplicate key value" err &&
    test_grep "^DETAIL:  Key (id)=(1) already exists." err
'

test_expect_success 'stops at the first error' '
    printf "create table st (v int);\ninsert into st values (1/0);\ninsert into st values (2);\n" >stop.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f stop.sql 2>err &&
    [ "$(q "select count(*) from st")" = 0 ]
'

test_expect_success 'notices are printed with their location' '
    printf "\ndo \$\$ begin raise notice '"'"'hello %%'"'"', 42; end \$\$;\n" >notice.sql &&
    "$DBTOOL" sql -q -f notice.sql 2>err &&
    test_grep "^notice.sql:2: NOTICE:  hello 42" err
'

test_expect_success '\if \elif \else \endif with variables and boolean words' '
    cat >if.sql <<-\EOF &&
	\if :{?mock}
	\echo mock
	\elif :verbose
	\echo verbose
	\else
	\echo plain
	\endif
	\if false
	\gset
	\endif
	EOF
    "$DBTOOL" sql -q -v mock=1 -f if.sql >out1 &&
    "$DBTOOL" sql -q -v verbose=yes -f if.sql >out2 &&
    "$DBTOOL" sql -q -v verbose=off -f if.sql >out3 &&
    [ "$(cat out1)" = mock ] && [ "$(cat out2)" = verbose ] && [ "$(cat out3)" = plain ]
'

test_expect_success '\echo -n, quoting and \warn' '
    printf "\\\\echo -n a\n\\\\echo '"'"'b c'"'"' \"d\"\n\\\\warn to stderr\n" >echo.sql &&
    "$DBTOOL" sql -q -f echo.sql >out 2>err &&
    printf "ab c \"d\"\n" >expect && test_cmp expect out &&
    test_grep "to stderr" err
'

test_expect_success 'command tags unless -q' '
    "$DBTOOL" sql -c "create table tags (v int); insert into tags values (1), (2); select * from tags;" >out &&
    printf "CREATE TABLE\nINSERT 0 2\n(2 rows)\n" >expect && test_cmp expect out
'

test_expect_success '\restrict / \unrestrict as in pg_dump 17.6+' '
    printf "\\\\restrict k3y\ncreate table rs (v int);\n\\\\unrestrict k3y\n\\\\echo after\n" >r.sql &&
    "$DBTOOL" sql -q -f r.sql >out && [ "$(cat out)" = after ] &&
    printf "\\\\restrict k3y\n\\\\echo no\n" >r2.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f r2.sql 2>err &&
    test_grep "r2.sql:2: error: backslash commands are restricted; only \\\\unrestrict is allowed" err &&
    printf "\\\\restrict k3y\n\\\\unrestrict other\n" >r3.sql &&
    expect_rc 1 "$DBTOOL" sql -q -f r3.sql 2>err &&
    test_grep "wrong key" err
'

test_expect_success 'the runner opens no transaction of its own' '
    printf "insert into tx1 values (1);\n" >tx.sql &&
    q "create table tx1 (v int)" &&
    "$DBTOOL" sql -q -c "begin" -f tx.sql -c "rollback" &&
    [ "$(q "select count(*) from tx1")" = 0 ] &&
    "$DBTOOL" sql -q -f tx.sql &&
    [ "$(q "select count(*) from tx1")" = 1 ]
'

test_expect_success '\q ends every script of the run' '
    "$DBTOOL" sql -q -c "\\echo one" -c "\\q" -c "\\echo two" >out &&
    [ "$(cat out)" = one ]
'

test_expect_success 'missing file: exit 1 with the name' '
    expect_rc 1 "$DBTOOL" sql -q -f nope.sql 2>err &&
    test_grep "nope.sql" err
'

test_done
