/*
 * fuzz-sqlsplit.c — libFuzzer target for lib/sqlsplit.c: the input is a
 * script, run through the lexer line by line like lib/sqlscript.c does,
 * with \set / \unset acting on a variable table so interpolation (and its
 * re-scanning and recursion guard) is exercised. Pure code, no server.
 *
 * Checked besides crashes, leaks and hangs: a statement the splitter
 * returns, split again on its own, comes back unchanged (for inputs
 * without backslashes or colons, which rewrite the text).
 *
 *   make fuzz [FUZZ_SECONDS=60]
 */
#include "lib/common.h"
#include "lib/sqlsplit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_VARS 16
#define MAX_VALUE 256

/* Split TEXT (vars NULL) and return the statements joined by '\x01'. */
static void resplit(const char *text, size_t len, bool std, struct strbuf *out)
{
    struct sql_lexer lx;
    struct strbuf q = STRBUF_INIT;
    sql_lexer_init(&lx);
    lx.std_strings = std;
    size_t p = 0;
    while (p < len) {
        const char *nl = memchr(text + p, '\n', len - p);
        size_t e = nl ? (size_t)(nl - text) : len;
        if (q.len)
            strbuf_addch(&q, '\n');
        sql_lexer_feed(&lx, text + p, e - p);
        enum sql_scan_result r;
        while ((r = sql_scan(&lx, &q, NULL)) != SQL_SCAN_EOL) {
            if (r == SQL_SCAN_SEMI) {
                strbuf_add(out, q.buf, q.len);
                strbuf_addch(out, '\x01');
                strbuf_reset(&q);
                sql_lexer_reset(&lx);
            } else {
                free(sql_scan_cmd(&lx));
            }
        }
        p = nl ? e + 1 : len;
    }
    if (q.len) {
        strbuf_add(out, q.buf, q.len);
        strbuf_addch(out, '\x02');
    }
    strbuf_release(&q);
    sql_lexer_release(&lx);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    bool std = size == 0 || (data[0] & 1) == 0;
    bool check = !memchr(data, '\\', size) && !memchr(data, ':', size) && !memchr(data, 0, size);
    struct sql_vars vars = SQL_VARS_INIT;
    struct sql_lexer lx;
    struct strbuf q = STRBUF_INIT;
    sql_lexer_init(&lx);
    lx.std_strings = std;
    sql_vars_set(&vars, "v", "1; select ':v' :v");
    sql_vars_set(&vars, "q", "'");

    size_t p = 0;
    while (p < size) {
        const char *nl = memchr(text + p, '\n', size - p);
        size_t e = nl ? (size_t)(nl - text) : size;
        if (q.len)
            strbuf_addch(&q, '\n');
        sql_lexer_feed(&lx, text + p, e - p);
        enum sql_scan_result r;
        while ((r = sql_scan(&lx, &q, &vars)) != SQL_SCAN_EOL) {
            if (r == SQL_SCAN_SEMI) {
                if (check) {
                    /* no backslash, no colon: nothing was rewritten */
                    {
                        struct strbuf again = STRBUF_INIT;
                        resplit(q.buf, q.len, std, &again);
                        if (again.len != q.len + 1 || memcmp(again.buf, q.buf, q.len) ||
                            again.buf[q.len] != '\x01') {
                            fprintf(stderr, "statement not a fixed point:\n[%s]\n[%s]\n", q.buf,
                                    again.buf);
                            abort();
                        }
                        strbuf_release(&again);
                    }
                }
                strbuf_reset(&q);
                sql_lexer_reset(&lx);
                continue;
            }
            char *cmd = sql_scan_cmd(&lx);
            bool set = !strcmp(cmd, "set"), unset = !strcmp(cmd, "unset");
            char *name = NULL;
            struct strbuf val = STRBUF_INIT;
            char *a;
            while ((a = sql_scan_arg(&lx, &vars, !strcmp(cmd, "i"), NULL))) {
                bool b;
                (void)sql_parse_bool(a, &b);
                if (!name)
                    name = a;
                else {
                    strbuf_addstr(&val, a);
                    free(a);
                }
            }
            if (set && name && vars.nr < MAX_VARS && val.len <= MAX_VALUE)
                sql_vars_set(&vars, name, val.buf);
            if (unset && name)
                sql_vars_unset(&vars, name);
            if (name) {
                struct strbuf t = STRBUF_INIT;
                sql_quote_literal(&t, name);
                sql_quote_ident(&t, name);
                strbuf_release(&t);
            }
            free(name);
            free(cmd);
            strbuf_release(&val);
        }
        strbuf_reset(&lx.warnings);
        p = nl ? e + 1 : size;
    }
    (void)sql_lexer_in_literal(&lx);
    strbuf_release(&q);
    sql_lexer_release(&lx);
    sql_vars_clear(&vars);
    return 0;
}
