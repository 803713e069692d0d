/*
 * t-datadiff.c — the pure parts of the data diff: COPY text unescaping, key
 * comparison (NULLs first, bytes, integers), and the streamed unified-diff
 * writer (fixed cases as GNU diff -u prints them, bounded chunks, and random
 * merges checked by applying the output back with hunk counts verified).
 */
#include "lib/common.h"
#include "lib/datadiff.h"
#include "lib/textdiff.h"
#include "test/unit/tap.h"

static const char *unesc(const char *in, int *isnull)
{
    static struct strbuf sb = STRBUF_INIT;
    *isnull = ddiff_unescape(in, strlen(in), &sb);
    return sb.buf;
}

static void test_unescape(void)
{
    int n;
    is_str(unesc("plain", &n), "plain", "plain text unchanged");
    ok(!n, "...not NULL");
    unesc("\\N", &n);
    ok(n, "\\N is NULL");
    is_str(unesc("\\\\N", &n), "\\N", "an escaped backslash before N is the text \\N");
    ok(!n, "...not NULL");
    is_str(unesc("a\\tb\\nc\\rd\\\\e", &n), "a\tb\nc\rd\\e", "\\t \\n \\r \\\\");
    is_str(unesc("\\b\\f\\v", &n), "\b\f\v", "\\b \\f \\v");
    is_str(unesc("\\101\\7", &n), "A\a", "octal escapes");
    is_str(unesc("\\x41\\x4a2", &n), "AJ2", "hex escapes (at most two digits)");
    is_str(unesc("\\q", &n), "q", "backslash + other byte is that byte");
    is_str(unesc("end\\", &n), "end\\", "a trailing lone backslash is kept");
    is_str(unesc("", &n), "", "empty string");
    ok(!n, "...is not NULL");
}

static struct ddiff_key bk(const char *s)
{
    struct ddiff_key k = {s == NULL, s, s ? strlen(s) : 0, s ? atoll(s) : 0};
    return k;
}

static int cmpb(const char *a, const char *b)
{
    struct ddiff_key x = bk(a), y = bk(b);
    return ddiff_key_cmp(DDIFF_KEY_BYTES, &x, &y);
}

static int cmpi(const char *a, const char *b)
{
    struct ddiff_key x = bk(a), y = bk(b);
    return ddiff_key_cmp(DDIFF_KEY_INT, &x, &y);
}

static void test_keys(void)
{
    ok(cmpb(NULL, NULL) == 0, "NULL = NULL");
    ok(cmpb(NULL, "") < 0, "NULL sorts before the empty string");
    ok(cmpb("", NULL) > 0, "...and after it the other way round");
    ok(cmpb("", "a") < 0, "empty before a");
    ok(cmpb("ab", "abc") < 0, "a prefix sorts first");
    ok(cmpb("abc", "abd") < 0, "bytewise");
    ok(cmpb("Z", "a") < 0, "C collation: upper case first");
    ok(cmpb("\xc3\xa9", "z") > 0, "bytes above 0x7f sort after ASCII (unsigned)");
    ok(cmpb("a\tb", "a\\") < 0, "unescaped tab (0x09) sorts before a backslash (0x5c)");
    ok(cmpb("same", "same") == 0, "equal");
    ok(cmpi("9", "10") < 0, "integers numerically: 9 < 10");
    ok(cmpi("-5", "3") < 0, "negative first");
    ok(cmpi(NULL, "-9223372036854775808") < 0, "NULL before the smallest bigint");
    ok(cmpi("42", "42") == 0, "equal integers");
}

/* Run the writer over "events": lines of A and B as sorted keys "k=v"; keys merge. */
static char *merge_diff(const char *a, const char *b, int ctx, size_t chunk, long *counts)
{
    struct lines la = LINES_INIT, lb = LINES_INIT;
    lines_split(&la, a, strlen(a));
    lines_split(&lb, b, strlen(b));
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    struct ddiff_writer w;
    ddiff_writer_init(&w, f, ctx, chunk, false, "--- a\n+++ b\n");
    size_t i = 0, j = 0;
    counts[0] = counts[1] = counts[2] = 0;
    while (i < la.nr || j < lb.nr) {
        int c;
        if (i == la.nr)
            c = 1;
        else if (j == lb.nr)
            c = -1;
        else {
            /* key: the part before '=' */
            size_t ka = strcspn(la.ptr[i], "="), kb = strcspn(lb.ptr[j], "=");
            struct ddiff_key x = {false, la.ptr[i], ka, 0}, y = {false, lb.ptr[j], kb, 0};
            c = ddiff_key_cmp(DDIFF_KEY_BYTES, &x, &y);
        }
        if (c < 0) {
            ddiff_writer_del(&w, la.ptr[i], la.len[i]);
            counts[0]++;
            i++;
        } else if (c > 0) {
            ddiff_writer_add(&w, lb.ptr[j], lb.len[j]);
            counts[1]++;
            j++;
        } else {
            if (la.len[i] == lb.len[j] && !memcmp(la.ptr[i], lb.ptr[j], la.len[i])) {
                ddiff_writer_equal(&w, la.ptr[i], la.len[i]);
            } else {
                ddiff_writer_del(&w, la.ptr[i], la.len[i]);
                ddiff_writer_add(&w, lb.ptr[j], lb.len[j]);
                counts[2]++;
            }
            i++, j++;
        }
    }
    ddiff_writer_finish(&w);
    fclose(f);
    lines_release(&la);
    lines_release(&lb);
    return buf;
}

/* Apply D to A checking every hunk's header against its body; NULL when it does not apply. */
static char *apply(const char *a, const char *d, size_t *nhunks)
{
    struct lines la = LINES_INIT, ld = LINES_INIT;
    lines_split(&la, a, strlen(a));
    lines_split(&ld, d, strlen(d));
    struct strbuf out = STRBUF_INIT;
    size_t ai = 0, bi = 0;
    bool ok_ = ld.nr == 0 || (ld.nr >= 2 && !strncmp(ld.ptr[0], "--- a", 5));
    *nhunks = 0;
    for (size_t i = 2; i < ld.nr && ok_;) {
        unsigned long as = 0, ac = 1, bs = 0, bc = 1;
        char hb[128];
        snprintf(hb, sizeof(hb), "%.*s", (int)ld.len[i], ld.ptr[i]);
        if (sscanf(hb, "@@ -%lu,%lu +%lu,%lu @@", &as, &ac, &bs, &bc) != 4) {
            ac = bc = 1;
            if (sscanf(hb, "@@ -%lu +%lu,%lu @@", &as, &bs, &bc) != 3 &&
                sscanf(hb, "@@ -%lu,%lu +%lu @@", &as, &ac, &bs) != 3 &&
                sscanf(hb, "@@ -%lu +%lu @@", &as, &bs) != 2) {
                ok_ = false;
                break;
            }
        }
        (*nhunks)++;
        size_t start = ac == 0 ? as : as - 1;
        size_t bstart = bc == 0 ? bs : bs - 1;
        if (start < ai)
            ok_ = false;
        while (ai < start && ai < la.nr) {
            strbuf_add(&out, la.ptr[ai], la.len[ai]);
            strbuf_addch(&out, '\n');
            ai++, bi++;
        }
        if (bi != bstart)
            ok_ = false;
        unsigned long na = 0, nb = 0;
        i++;
        while (i < ld.nr && ld.ptr[i][0] != '@') {
            char c = ld.ptr[i][0];
            const char *t = ld.ptr[i] + 1;
            size_t n = ld.len[i] - 1;
            if (c == ' ' || c == '-') {
                if (ai >= la.nr || la.len[ai] != n || memcmp(la.ptr[ai], t, n))
                    ok_ = false;
                ai++, na++;
            }
            if (c == ' ' || c == '+') {
                strbuf_add(&out, t, n);
                strbuf_addch(&out, '\n');
                bi++, nb++;
            }
            i++;
        }
        if (na != ac || nb != bc)
            ok_ = false;
    }
    while (ai < la.nr) {
        strbuf_add(&out, la.ptr[ai], la.len[ai]);
        strbuf_addch(&out, '\n');
        ai++;
    }
    lines_release(&la);
    lines_release(&ld);
    if (!ok_) {
        strbuf_release(&out);
        return NULL;
    }
    return strbuf_detach(&out, NULL);
}

static void test_writer_fixed(void)
{
    long n[3];
    char *d = merge_diff("1=a\n2=b\n3=c\n", "1=a\n2=b\n3=c\n", 3, 0, n);
    is_str(d, "", "equal tables: no output");
    free(d);

    d = merge_diff("1=a\n2=b\n3=c\n4=d\n5=e\n6=f\n7=g\n8=h\n9=i\n",
                   "1=a\n2=b\n3=c\n4=D\n5=e\n6=f\n7=g\n8=h\n9=i\n", 3, 0, n);
    is_str(d,
           "--- a\n+++ b\n@@ -1,7 +1,7 @@\n 1=a\n 2=b\n 3=c\n-4=d\n+4=D\n 5=e\n 6=f\n 7=g\n",
           "one changed row: -old/+new with three lines of context, as diff -u");
    ok(n[2] == 1 && n[0] == 0 && n[1] == 0, "...counted as changed");
    free(d);

    d = merge_diff("", "1=a\n2=b\n", 3, 0, n);
    is_str(d, "--- a\n+++ b\n@@ -0,0 +1,2 @@\n+1=a\n+2=b\n", "all added: -0,0");
    ok(n[1] == 2, "...2 added");
    free(d);

    d = merge_diff("1=a\n", "", 3, 0, n);
    is_str(d, "--- a\n+++ b\n@@ -1 +0,0 @@\n-1=a\n", "one removed: ,1 omitted, +0,0");
    free(d);

    /* gap of exactly 2*ctx equal lines: one hunk; 2*ctx+1: two */
    d = merge_diff("1=x\n2=a\n3=b\n4=x\n", "1=y\n2=a\n3=b\n4=y\n", 1, 0, n);
    is_str(d, "--- a\n+++ b\n@@ -1,4 +1,4 @@\n-1=x\n+1=y\n 2=a\n 3=b\n-4=x\n+4=y\n",
           "gap of 2*context: one hunk");
    free(d);
    d = merge_diff("1=x\n2=a\n3=b\n4=c\n5=x\n", "1=y\n2=a\n3=b\n4=c\n5=y\n", 1, 0, n);
    is_str(d,
           "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-1=x\n+1=y\n 2=a\n@@ -4,2 +4,2 @@\n 4=c\n-5=x\n+5=y\n",
           "gap of 2*context+1: two hunks");
    free(d);

    /* a run of changes: all - then all +, like diff -u */
    d = merge_diff("1=a\n2=b\n", "1=A\n2=B\n", 0, 0, n);
    is_str(d, "--- a\n+++ b\n@@ -1,2 +1,2 @@\n-1=a\n-2=b\n+1=A\n+2=B\n",
           "a run of changes prints the removed lines first");
    free(d);

    /* the same as lib/textdiff for a simple change */
    struct lines la = LINES_INIT, lb = LINES_INIT;
    const char *A = "1=a\n2=b\n3=c\n4=d\n5=e\n6=f\n7=g\n8=h\n9=i\n10=j\n";
    const char *B = "1=a\n2=b\n3=C\n4=d\n5=e\n6=f\n7=g\n8=h\n9=I\n10=j\n";
    lines_split(&la, A, strlen(A));
    lines_split(&lb, B, strlen(B));
    struct strbuf sb = STRBUF_INIT;
    textdiff_unified(&la, &lb, "a", "b", 3, false, &sb);
    d = merge_diff(A, B, 3, 0, n);
    is_str(d, sb.buf, "same output as lib/textdiff (Myers) for isolated changes");
    free(d);
    strbuf_release(&sb);
    lines_release(&la);
    lines_release(&lb);
}

static unsigned long long rng = 88172645463325252ULL;
static unsigned rnd(unsigned n)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return (unsigned)(rng % n);
}

static void test_writer_random(void)
{
    int bad = 0, chunked = 0;
    for (int round = 0; round < 2000; round++) {
        struct strbuf a = STRBUF_INIT, b = STRBUF_INIT;
        unsigned nkeys = rnd(60);
        long ea[3] = {0, 0, 0};
        for (unsigned k = 0; k < nkeys; k++) {
            unsigned what = rnd(10);
            /* fixed-width keys so byte order is numeric order */
            if (what == 0) {
                strbuf_addf(&a, "%05u=v\n", k);
                ea[0]++;
            } else if (what == 1) {
                strbuf_addf(&b, "%05u=v\n", k);
                ea[1]++;
            } else if (what == 2) {
                strbuf_addf(&a, "%05u=old\n", k);
                strbuf_addf(&b, "%05u=new\n", k);
                ea[2]++;
            } else {
                strbuf_addf(&a, "%05u=same\n", k);
                strbuf_addf(&b, "%05u=same\n", k);
            }
        }
        int ctx = (int)rnd(4);
        size_t chunk = rnd(3) ? 0 : 20 + rnd(100);
        long n[3];
        char *d = merge_diff(a.buf, b.buf, ctx, chunk, n);
        size_t nh;
        char *back = apply(a.buf, d, &nh);
        if (!back || strcmp(back, b.buf) || n[0] != ea[0] || n[1] != ea[1] || n[2] != ea[2]) {
            if (!bad)
                printf("# round %d ctx %d chunk %zu\n# A:\n%s# B:\n%s# diff:\n%s", round, ctx,
                       chunk, a.buf, b.buf, d);
            bad++;
        }
        if (chunk && nh > 1)
            chunked++;
        free(back);
        free(d);
        strbuf_release(&a);
        strbuf_release(&b);
    }
    ok(!bad, "2000 random merges apply back, hunk counts match their bodies (%d bad)", bad);
    ok(chunked > 0, "small chunk sizes split long runs into several hunks (%d cases)", chunked);
}

int main(void)
{
    test_unescape();
    test_keys();
    test_writer_fixed();
    test_writer_random();
    return done_testing();
}
