/*
 * fuzz-parse.c — libFuzzer target for lib/parse*.c: the input is SQL, read
 * both as one runner statement (parse_sql) and as a whole script
 * (parse_script, which falls back on splitting with PostgreSQL's scanner),
 * so the tree walkers, function-body analysis (SQL strings and the plpgsql
 * compiler's JSON) and the position bookkeeping all see hostile input.
 *
 * Checked besides crashes, leaks and hangs: every position lies inside the
 * text with line and column >= 1, statements do not overlap and come in
 * order, every record has the strings it promises.
 *
 *   make fuzz [FUZZ_SECONDS=60]
 */
#include "lib/common.h"
#include "lib/parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_pos(const struct parse_pos *p, size_t len, const char *what)
{
    if (p->offset > len || p->line < 1 || p->col < 1) {
        fprintf(stderr, "%s: bad position offset %zu line %u col %u (text %zu bytes)\n", what,
                p->offset, p->line, p->col, len);
        abort();
    }
}

static void check(const struct parse_list *pl, size_t from, size_t len)
{
    size_t prev_end = 0;
    for (size_t i = from; i < pl->nr; i++) {
        const struct parse_stmt *st = &pl->v[i];
        check_pos(&st->pos, len, "statement");
        if (st->pos.offset + st->len > len || st->pos.offset < prev_end) {
            fprintf(stderr, "statement %zu at %zu+%zu out of order or past the end (%zu)\n", i,
                    st->pos.offset, st->len, len);
            abort();
        }
        prev_end = st->pos.offset + st->len;
        if (st->status == PARSE_UNKNOWN) {
            if (!st->error || st->node || st->refs_nr || st->creates_nr)
                abort();
            check_pos(&st->error_pos, len, "error");
            continue;
        }
        if (!st->node || st->error)
            abort();
        if (st->no_transaction != (st->no_transaction_why != NULL))
            abort();
        if (st->body_error)
            check_pos(&st->body_error_pos, len, "body error");
        for (size_t j = 0; j < st->findings_nr; j++) {
            if (!st->findings[j].rule || !st->findings[j].message)
                abort();
            check_pos(&st->findings[j].pos, len, "finding");
        }
        for (size_t j = 0; j < st->creates_nr; j++) {
            if (!st->creates[j].kind_name)
                abort();
            check_pos(&st->creates[j].pos, len, "created object");
        }
        for (size_t j = 0; j < st->refs_nr; j++) {
            if (!st->refs[j].name || !*st->refs[j].name)
                abort();
            check_pos(&st->refs[j].pos, len, "reference");
        }
        for (size_t j = 0; j < st->changes_nr; j++) {
            if (!st->changes[j].kind_name)
                abort();
            for (size_t k = 0; k < st->changes[j].cmds_nr; k++)
                if (!st->changes[j].cmds[k].type)
                    abort();
            check_pos(&st->changes[j].pos, len, "change");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the parser reads a C string: stop at the first NUL, as callers' texts do */
    char *text = xstrndup((const char *)data, size);
    size_t len = strlen(text);
    struct parse_list pl = PARSE_LIST_INIT;
    char fp[17];
    size_t n;

    n = parse_sql(&pl, text, 1 + (unsigned)(size % 7), 1 + (unsigned)(size % 5));
    if (n != pl.nr)
        abort();
    check(&pl, 0, len);
    n = parse_script(&pl, text);
    check(&pl, pl.nr - n, len);
    (void)parse_fingerprint(text, fp);
    parse_list_release(&pl);
    free(text);
    return 0;
}
