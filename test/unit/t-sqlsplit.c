/*
 * t-sqlsplit.c — the psql lexer of lib/sqlsplit.c without a server:
 * statement boundaries, quoting, comments, interpolation, meta-command args.
 */
#include "lib/common.h"
#include "lib/sqlsplit.h"
#include "test/unit/tap.h"

/*
 * Run TEXT through the lexer like the runner's main loop and render what
 * it produced: statements as [text], meta-commands as \name{arg1}{arg2},
 * a pending statement at EOF as <text>, lexer messages as !msg.
 */
static char *split(const char *text, struct sql_vars *vars, bool std_strings)
{
    struct sql_lexer lx;
    struct strbuf q = STRBUF_INIT, out = STRBUF_INIT;
    sql_lexer_init(&lx);
    lx.std_strings = std_strings;
    const char *p = text;
    while (*p) {
        const char *nl = strchrnul(p, '\n');
        if (q.len)
            strbuf_addch(&q, '\n');
        sql_lexer_feed(&lx, p, (size_t)(nl - p));
        enum sql_scan_result r;
        while ((r = sql_scan(&lx, &q, vars)) != SQL_SCAN_EOL) {
            if (r == SQL_SCAN_SEMI) {
                strbuf_addf(&out, "[%s]", q.buf);
                strbuf_reset(&q);
                sql_lexer_reset(&lx);
                continue;
            }
            char *cmd = sql_scan_cmd(&lx);
            strbuf_addf(&out, "\\%s", cmd);
            char *a;
            bool semi = !strcmp(cmd, "i") || !strcmp(cmd, "ir");
            while ((a = sql_scan_arg(&lx, vars, semi, NULL))) {
                strbuf_addf(&out, "{%s}", a);
                free(a);
            }
            free(cmd);
        }
        if (lx.warnings.len) {
            strbuf_trim_trailing(&lx.warnings);
            strbuf_addf(&out, "!%s", lx.warnings.buf);
            strbuf_reset(&lx.warnings);
        }
        p = *nl ? nl + 1 : nl;
    }
    if (q.len)
        strbuf_addf(&out, "<%s>", q.buf);
    strbuf_release(&q);
    sql_lexer_release(&lx);
    return strbuf_detach(&out, NULL);
}

static void t(const char *text, const char *want, const char *what)
{
    char *got = split(text, NULL, true);
    is_str(got, want, what);
    free(got);
}

static void tv(struct sql_vars *vars, const char *text, const char *want, const char *what)
{
    char *got = split(text, vars, true);
    is_str(got, want, what);
    free(got);
}

int main(void)
{
    /* statement boundaries */
    t("select 1;", "[select 1;]", "one statement");
    t("select 1; select 2;", "[select 1;][select 2;]", "two on a line, leading space dropped");
    t("select 1", "<select 1>", "no semicolon: pending at EOF");
    t("select\n1\n;", "[select\n1\n;]", "lines joined with newlines");
    t("  -- c\n\n  select 1; -- after\n", "[select 1;]", "leading comments and blanks dropped");
    t("select 1 -- c\n;", "[select 1 -- c\n;]", "comment inside a statement kept");
    t(";", "[;]", "empty statement");
    t("select (1;\n2);", "[select (1;\n2);]", "semicolon inside parentheses");
    t("select 1\\; select 2;", "[select 1; select 2;]", "backslash-semicolon does not end");
    t("select 1 \\:x;", "[select 1 :x;]", "backslash-colon");

    /* quotes */
    t("select 'a;b';", "[select 'a;b';]", "single quotes");
    t("select 'it''s;';", "[select 'it''s;';]", "doubled quote");
    t("select 'a\\';' ;", "[select 'a\\';]<' ;>", "backslash not special with standard strings");
    t("select E'a\\';' ;", "[select E'a\\';' ;]", "E string backslash escape");
    t("select e'\\\\';", "[select e'\\\\';]", "E string escaped backslash");
    t("select xe'\\';", "[select xe'\\';]", "E only as a token of its own");
    t("select 1e'x;';", "[select 1e'x;';]", "number junk then a string");
    t("select \"a;\"\"b\";", "[select \"a;\"\"b\";]", "double quotes");
    t("select U&'d\\0061t;';", "[select U&'d\\0061t;';]", "U& string");
    t("select U&\"a;\";", "[select U&\"a;\";]", "U& identifier");
    t("select b'10;', x'1f;', n'x;';", "[select b'10;', x'1f;', n'x;';]", "b x n strings");
    t("select 'multi\nline;\n';", "[select 'multi\nline;\n';]", "string across lines");
    {
        char *got = split("select 'a\\';' ;", NULL, false);
        is_str(got, "[select 'a\\';' ;]", "standard_conforming_strings off: backslash escapes");
        free(got);
    }

    /* dollar quotes */
    t("select $$a;b$$;", "[select $$a;b$$;]", "dollar quote");
    t("select $fn$ $$; $x$ $fn$;", "[select $fn$ $$; $x$ $fn$;]", "tagged dollar quote");
    t("select $a$ $ab$ ; $a$;", "[select $a$ $ab$ ; $a$;]", "longer tag does not close");
    t("select $1;", "[select $1;]", "parameter is no dollar quote");
    t("select a$b$c;", "[select a$b$c;]", "dollar inside identifier");
    t("select $a$\n;\n$a$;", "[select $a$\n;\n$a$;]", "dollar quote across lines");
    t("select $_x9$;$_x9$;", "[select $_x9$;$_x9$;]", "tag characters");

    /* comments */
    t("select /* ; */ 1;", "[select /* ; */ 1;]", "block comment");
    t("select /* a /* b */ ; */ 1;", "[select /* a /* b */ ; */ 1;]", "nested comments");
    t("/* lead */ select 1;", "[/* lead */ select 1;]", "leading block comment kept like psql");
    t("select 1 /* open\n; */;", "[select 1 /* open\n; */;]", "comment across lines");
    t("select '--';", "[select '--';]", "dashes in a string");
    t("select 1 --; x\n;", "[select 1 --; x\n;]", "semicolon in a line comment");

    /* BEGIN ATOMIC bodies */
    t("create function f() returns int language sql\nbegin atomic\n select 1;\n select 2;\nend;",
      "[create function f() returns int language sql\nbegin atomic\n select 1;\n select 2;\nend;]",
      "BEGIN ATOMIC body");
    t("create or replace procedure p() begin atomic select case when true then 1 end; end;",
      "[create or replace procedure p() begin atomic select case when true then 1 end; end;]",
      "CASE ... END inside BEGIN ATOMIC");
    t("begin; select 1; end;", "[begin;][select 1;][end;]", "plain BEGIN ends normally");
    t("create table begin_t (a int);", "[create table begin_t (a int);]", "create table not tracked");

    /* meta-commands */
    t("\\echo hello world", "\\echo{hello}{world}", "echo args");
    t("\\echo 'a b' \"c d\"", "\\echo{a b}{\"c d\"}", "quoted args");
    t("\\echo 'a\\tb\\n' 'it''s' '\\101\\x41'", "\\echo{a\tb\n}{it's}{AA}", "escapes in args");
    t("\\i foo.sql;", "\\i{foo.sql}", "semicolon stripped from a file name");
    t("\\i 'foo.sql;'", "\\i{foo.sql;}", "quoted semicolon kept");
    t("\\echo a\\echo b", "\\echo{a}\\echo{b}", "backslash ends the args");
    t("select 1 \\echo x\n;", "\\echo{x}[select 1 \n;]", "meta-command inside a statement");
    t("\\echo 'abc", "\\echo!error: unterminated quoted string", "unterminated quote");
    t("select ':x' \\echo", "\\echo<select ':x' >", "meta-command after SQL");
    t("\\", "\\", "lone backslash");
    t("\\echo a \\\\ select 1;", "\\echo{a}[select 1;]", "double backslash separates");
    t("\\echo a \\\\ \\echo b", "\\echo{a}\\echo{b}", "double backslash between commands");

    /* interpolation */
    struct sql_vars v = SQL_VARS_INIT;
    sql_vars_set(&v, "n", "42");
    sql_vars_set(&v, "s", "it's");
    sql_vars_set(&v, "b", "a\\b");
    sql_vars_set(&v, "id", "My \"T\"");
    sql_vars_set(&v, "two", "1; select 2");
    sql_vars_set(&v, "rec", "x :rec y");
    sql_vars_set(&v, "q", "'open");
    tv(&v, "select :n;", "[select 42;]", ":name");
    tv(&v, "select :'s';", "[select 'it''s';]", ":'name'");
    tv(&v, "select :'b';", "[select  E'a\\\\b';]", ":'name' with a backslash (PQescapeLiteral)");
    tv(&v, "select :\"id\";", "[select \"My \"\"T\"\"\";]", ":\"name\"");
    tv(&v, "select :undef, :'undef', :\"undef\";", "[select :undef, :'undef', :\"undef\";]",
       "undefined left as is");
    tv(&v, "select ':n', \":n\", $$:n$$ /* :n */;", "[select ':n', \":n\", $$:n$$ /* :n */;]",
       "no interpolation inside quotes and comments");
    tv(&v, "select 1::int, a:=1, :{?n}, :{?nope};", "[select 1::int, a:=1, TRUE, FALSE;]",
       "typecast, :=, :{?name}");
    tv(&v, "select :two;", "[select 1;][select 2;]", "plain value is re-scanned (psql)");
    tv(&v, "select :rec;", "[select x :rec y;]!warning: skipping recursive expansion of variable \"rec\"",
       "recursive expansion skipped");
    tv(&v, "select :q';", "[select 'open';]", "value opens a quote");
    tv(&v, "\\echo :n :'s' :\"id\" ':n'", "\\echo{42}{'it''s'}{\"My \"\"T\"\"\"}{:n}",
       "interpolation in meta-command args");
    tv(&v, "select :'n;", "<select :'n;>", "unterminated :' is just a colon and a quote");
    tv(&v, "select arr[1:n];", "[select arr[142];]", "slice colon interpolates like psql");
    {
        char *got = split("select :n;", NULL, true);
        is_str(got, "[select :n;]", "no vars: nothing interpolated");
        free(got);
    }

    /* variables */
    ok(sql_var_name_valid("a_1") && !sql_var_name_valid("a-b") && !sql_var_name_valid(""),
       "variable names");
    ok(sql_vars_assign(&v, "x=1=2") == 0 && !strcmp(sql_vars_get(&v, "x"), "1=2"), "assign NAME=VALUE");
    ok(sql_vars_assign(&v, "x") == 0 && !sql_vars_get(&v, "x"), "assign NAME unsets");
    ok(sql_vars_assign(&v, "bad name=1") < 0, "assign rejects a bad name");
    ok(sql_vars_set(&v, "n", "43") == 0 && !strcmp(sql_vars_get(&v, "n"), "43"), "overwrite");
    sql_vars_unset(&v, "n");
    ok(!sql_vars_get(&v, "n"), "unset");
    sql_vars_clear(&v);

    /* booleans */
    static const struct {
        const char *s;
        int r;
        bool v;
    } bools[] = {{"t", 0, true}, {"TRUE", 0, true}, {"f", 0, false}, {"y", 0, true},
                 {"n", 0, false}, {"on", 0, true}, {"of", 0, false}, {"off", 0, false},
                 {"o", -1, false}, {"1", 0, true}, {"0", 0, false}, {"", -1, false},
                 {"42", -1, false}, {"truex", -1, false}};
    for (size_t i = 0; i < ARRAY_SIZE(bools); i++) {
        bool b = !bools[i].v;
        int r = sql_parse_bool(bools[i].s, &b);
        ok(r == bools[i].r && (r < 0 || b == bools[i].v), "boolean '%s'", bools[i].s);
    }

    /* quoting helpers */
    struct strbuf sb = STRBUF_INIT;
    sql_quote_literal(&sb, "a'b");
    is_str(sb.buf, "'a''b'", "quote literal");
    strbuf_reset(&sb);
    sql_quote_ident(&sb, "a\"b");
    is_str(sb.buf, "\"a\"\"b\"", "quote ident");
    strbuf_release(&sb);
    return done_testing();
}
