/*
 * fuzz-code.c — libFuzzer target for lib/codeobj.c and lib/codeorder.c:
 * the input is a file of the code directory. It is cut into units (what
 * attaches to what, errors for what does not belong), identities and drop
 * statements are built, references resolved against a second copy of the
 * same text (every name defined twice), and the units ordered (cycles
 * reported, soft edges dropped).
 *
 * Checked besides crashes, leaks and hangs: every unit has an identity, a
 * hash and statements lying inside the text; an order holds each unit once.
 *
 *   make fuzz [FUZZ_SECONDS=60]
 */
#include "lib/common.h"
#include "lib/codeobj.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = xstrndup((const char *)data, size);
    size_t len = strlen(text);
    log_configure("off", &(const char *){NULL});
    struct code_set cs;
    code_set_init(&cs, "/code", "public");
    code_add_text(&cs, "a.sql", text, len);
    size_t first = cs.units_nr;
    for (size_t i = 0; i < cs.units_nr; i++) {
        const struct code_unit *u = &cs.units[i];
        if (!u->identity || !*u->identity || strlen(u->sha256) != 64 || !u->stmts_nr)
            abort();
        for (size_t k = 0; k < u->stmts_nr; k++)
            if (u->stmts[k].offset + strlen(u->stmts[k].sql) > len || u->stmts[k].line < 1)
                abort();
    }
    code_add_text(&cs, "b.sql", text, len);
    code_resolve(&cs);
    size_t *order = NULL, n = 0;
    if (code_order(&cs, NULL, NULL, 0, &order, &n) == 0) {
        bool *seen = xcalloc(cs.units_nr + 1, sizeof(bool));
        for (size_t i = 0; i < n; i++) {
            if (order[i] >= cs.units_nr || seen[order[i]])
                abort();
            seen[order[i]] = true;
        }
        if (n != cs.units_nr)
            abort();
        free(seen);
        free(order);
    }
    (void)first;
    code_set_release(&cs);
    free(text);
    return 0;
}
