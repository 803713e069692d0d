/*
 * t-textdiff.c — unified diff: fixed cases as GNU diff -u prints them, and
 * random cases checked by applying the diff back (an independent applier).
 */
#include "lib/common.h"
#include "lib/textdiff.h"
#include "test/unit/tap.h"

static char *udiff(const char *a, const char *b, int ctx)
{
    struct lines la = LINES_INIT, lb = LINES_INIT;
    struct strbuf out = STRBUF_INIT;
    lines_split(&la, a, strlen(a));
    lines_split(&lb, b, strlen(b));
    textdiff_unified(&la, &lb, "a", "b", ctx, false, &out);
    lines_release(&la);
    lines_release(&lb);
    return strbuf_detach(&out, NULL);
}

/* Apply unified diff D to A; returns the result (malloc'd) or NULL when it does not apply. */
static char *apply(const char *a, const char *d)
{
    struct lines la = LINES_INIT, ld = LINES_INIT;
    lines_split(&la, a, strlen(a));
    lines_split(&ld, d, strlen(d));
    struct strbuf out = STRBUF_INIT;
    size_t ai = 0;
    bool ok = true;
    for (size_t i = 2; i < ld.nr && ok;) {
        unsigned long as = 0, ac = 1, bs = 0, bc = 1;
        const char *h = ld.ptr[i];
        if (strncmp(h, "@@ -", 4)) {
            ok = false;
            break;
        }
        char buf[128];
        snprintf(buf, sizeof(buf), "%.*s", (int)ld.len[i], h);
        if (sscanf(buf, "@@ -%lu,%lu +%lu,%lu @@", &as, &ac, &bs, &bc) != 4) {
            ac = bc = 1;
            if (sscanf(buf, "@@ -%lu +%lu,%lu @@", &as, &bs, &bc) != 3 &&
                sscanf(buf, "@@ -%lu,%lu +%lu @@", &as, &ac, &bs) != 3 &&
                sscanf(buf, "@@ -%lu +%lu @@", &as, &bs) != 2)
                ok = false;
        }
        size_t start = ac == 0 ? as : as - 1;
        while (ai < start && ai < la.nr) {
            strbuf_add(&out, la.ptr[ai], la.len[ai]);
            strbuf_addch(&out, '\n');
            ai++;
        }
        i++;
        while (i < ld.nr && ld.ptr[i][0] != '@') {
            char c = ld.ptr[i][0];
            const char *t = ld.ptr[i] + 1;
            size_t n = ld.len[i] - 1;
            if (c == ' ' || c == '-') {
                if (ai >= la.nr || la.len[ai] != n || memcmp(la.ptr[ai], t, n))
                    ok = false;
                ai++;
            }
            if (c == ' ' || c == '+') {
                strbuf_add(&out, t, n);
                strbuf_addch(&out, '\n');
            }
            i++;
        }
    }
    while (ai < la.nr) {
        strbuf_add(&out, la.ptr[ai], la.len[ai]);
        strbuf_addch(&out, '\n');
        ai++;
    }
    lines_release(&la);
    lines_release(&ld);
    if (!ok) {
        strbuf_release(&out);
        return NULL;
    }
    return strbuf_detach(&out, NULL);
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static char *random_text(unsigned lines, unsigned alphabet)
{
    struct strbuf sb = STRBUF_INIT;
    for (unsigned i = 0; i < lines; i++)
        strbuf_addf(&sb, "line %c\n", 'a' + rnd(alphabet));
    return strbuf_detach(&sb, NULL);
}

int main(void)
{
    char *d = udiff("a\nb\nc\n", "a\nb\nc\n", 3);
    is_str(d, "", "equal texts: no output");
    free(d);
    d = udiff("a\nb\nc\n", "a\nB\nc\n", 3);
    is_str(d, "--- a\n+++ b\n@@ -1,3 +1,3 @@\n a\n-b\n+B\n c\n", "one changed line");
    free(d);
    d = udiff("", "x\n", 3);
    is_str(d, "--- a\n+++ b\n@@ -0,0 +1 @@\n+x\n", "from empty (GNU range -0,0 +1)");
    free(d);
    d = udiff("x\n", "", 3);
    is_str(d, "--- a\n+++ b\n@@ -1 +0,0 @@\n-x\n", "to empty");
    free(d);
    d = udiff("1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n11\n12\n", "1\n2\nX\n4\n5\n6\n7\n8\n9\n10\nY\n12\n", 1);
    is_str(d, "--- a\n+++ b\n@@ -2,3 +2,3 @@\n 2\n-3\n+X\n 4\n@@ -10,3 +10,3 @@\n 10\n-11\n+Y\n 12\n",
           "two hunks with context 1");
    free(d);
    d = udiff("1\n2\n3\n4\n5\n", "1\n2\n4\n5\n", 0);
    is_str(d, "--- a\n+++ b\n@@ -3 +2,0 @@\n-3\n", "context 0 deletion");
    free(d);

    int bad = 0;
    for (int t = 0; t < 2000; t++) {
        char *a = random_text(rnd(40), 1 + rnd(6));
        char *b = random_text(rnd(40), 1 + rnd(6));
        char *df = udiff(a, b, (int)rnd(4));
        char *r = *df ? apply(a, df) : xstrdup(a);
        if (!r || strcmp(r, b)) {
            if (!bad++)
                printf("# failed:\n# A=%s\n# B=%s\n# D=%s\n", a, b, df);
        }
        free(r);
        free(df);
        free(a);
        free(b);
    }
    ok(bad == 0, "2000 random diffs apply back exactly (%d failed)", bad);

    /* a big, totally different pair stays bounded and still applies */
    {
        struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
        for (int i = 0; i < 20000; i++) {
            strbuf_addf(&a, "a%d\n", i);
            strbuf_addf(&b, "b%d\n", i);
        }
        char *df = udiff(a.buf, b.buf, 3);
        char *r = apply(a.buf, df);
        ok(r && !strcmp(r, b.buf), "20000 lines all different: one bounded replacement");
        free(r);
        free(df);
        strbuf_release(&a);
        strbuf_release(&b);
    }
    return done_testing();
}
