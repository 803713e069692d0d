/*
 * textdiff.h — unified diffs of line arrays (Myers' O(ND) algorithm), as
 * `diff -u` prints them: ---/+++ headers, @@ hunks with CONTEXT lines.
 */
#ifndef DBTOOL_TEXTDIFF_H
#define DBTOOL_TEXTDIFF_H

#include "lib/common.h"

/* The lines of a buffer: pointers into it (not copied), without the '\n'. */
struct lines {
    const char **ptr;
    size_t *len;
    size_t nr, alloc;
};
#define LINES_INIT {NULL, NULL, 0, 0}
void lines_split(struct lines *l, const char *buf, size_t len);
void lines_release(struct lines *l);

/*
 * Append the unified diff of A and B to OUT (nothing when equal). NAME_A and
 * NAME_B label the ---/+++ lines; COLOR adds ANSI colours. Returns 1 when
 * A and B differ, 0 when equal.
 */
int textdiff_unified(const struct lines *a, const struct lines *b, const char *name_a,
                     const char *name_b, int context, bool color, struct strbuf *out);

/* Append a hunk range like GNU diff: "-5" (one line), "-5,3", "-4,0" (empty: the line before). */
void textdiff_range(struct strbuf *out, char sign, size_t start, size_t count);
/* Append one diff line: SIGN then the text; '-' red and '+' green when COLOR. */
void textdiff_line(struct strbuf *out, char sign, const char *p, size_t n, bool color);

#endif
