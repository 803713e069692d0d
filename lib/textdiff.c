/*
 * textdiff.c — Myers' greedy O(ND) diff with the snapshots of V kept per d
 * (O(D^2) memory) after trimming the common prefix and suffix, which is all
 * that differs in practice for schema dumps. Past MAX_D edits the remaining
 * middle is reported as one replacement, so memory stays bounded.
 */
#include "lib/textdiff.h"

#define MAX_D 4000

void lines_split(struct lines *l, const char *buf, size_t len)
{
    const char *p = buf, *end = buf + len;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        ALLOC_GROW(l->ptr, l->nr + 1, l->alloc);
        l->len = xrealloc(l->len, l->alloc * sizeof(*l->len));
        l->ptr[l->nr] = p;
        l->len[l->nr] = n;
        l->nr++;
        p += n + (nl ? 1 : 0);
    }
}

void lines_release(struct lines *l)
{
    free(l->ptr);
    free(l->len);
    memset(l, 0, sizeof(*l));
}

static bool eq(const struct lines *a, size_t i, const struct lines *b, size_t j)
{
    return a->len[i] == b->len[j] && !memcmp(a->ptr[i], b->ptr[j], a->len[i]);
}

enum op { OP_EQ, OP_DEL, OP_INS };

struct script {
    unsigned char *op;
    size_t nr, alloc;
};

static void push(struct script *s, enum op o)
{
    ALLOC_GROW(s->op, s->nr + 1, s->alloc);
    s->op[s->nr++] = (unsigned char)o;
}

/* Edit script of a[ao..ao+n) vs b[bo..bo+m), appended to S in order. */
static void myers(const struct lines *a, size_t ao, size_t n, const struct lines *b, size_t bo,
                  size_t m, struct script *s)
{
    if (n == 0 || m == 0) {
        for (size_t i = 0; i < n; i++)
            push(s, OP_DEL);
        for (size_t j = 0; j < m; j++)
            push(s, OP_INS);
        return;
    }
    long N = (long)n, M = (long)m, max = N + M;
    long *v = xcalloc((size_t)(2 * max + 3), sizeof(long));
    long off = max + 1;
    long **trace = NULL; /* trace[d]: V[-d..d] after step d */
    size_t trace_alloc = 0;
    long D = -1;
    for (long d = 0; d <= max && d <= MAX_D; d++) {
        for (long k = -d; k <= d; k += 2) {
            long x;
            if (k == -d || (k != d && v[off + k - 1] < v[off + k + 1]))
                x = v[off + k + 1];
            else
                x = v[off + k - 1] + 1;
            long y = x - k;
            while (x < N && y < M && eq(a, ao + (size_t)x, b, bo + (size_t)y))
                x++, y++;
            v[off + k] = x;
            if (x >= N && y >= M) {
                D = d;
                break;
            }
        }
        ALLOC_GROW(trace, (size_t)d + 1, trace_alloc);
        trace[d] = xmalloc((size_t)(2 * d + 1) * sizeof(long));
        memcpy(trace[d], v + off - d, (size_t)(2 * d + 1) * sizeof(long));
        if (D >= 0)
            break;
    }
    if (D < 0) {
        /* too different: one replacement */
        for (long d = 0; d <= MAX_D && d <= max; d++)
            free(trace[d]);
        free(trace);
        free(v);
        for (size_t i = 0; i < n; i++)
            push(s, OP_DEL);
        for (size_t j = 0; j < m; j++)
            push(s, OP_INS);
        return;
    }
    /* backtrack from (N, M) into a reversed script */
    struct script rev = {NULL, 0, 0};
    long x = N, y = M;
    for (long d = D; d > 0; d--) {
        long *pv = trace[d - 1]; /* index k + (d-1) */
        long k = x - y;
        long pk;
        if (k == -d || (k != d && pv[k - 1 + (d - 1)] < pv[k + 1 + (d - 1)]))
            pk = k + 1;
        else
            pk = k - 1;
        long px = pv[pk + (d - 1)], py = px - pk;
        while (x > px && y > py) {
            push(&rev, OP_EQ);
            x--, y--;
        }
        if (x == px)
            push(&rev, OP_INS), y--;
        else
            push(&rev, OP_DEL), x--;
    }
    while (x > 0 && y > 0)
        push(&rev, OP_EQ), x--, y--;
    for (size_t i = rev.nr; i-- > 0;)
        push(s, (enum op)rev.op[i]);
    free(rev.op);
    for (long d = 0; d <= D; d++)
        free(trace[d]);
    free(trace);
    free(v);
}

void textdiff_range(struct strbuf *out, char sign, size_t start, size_t count)
{
    /* GNU diff: an empty range names the line before it; ",1" is omitted */
    if (count == 0)
        strbuf_addf(out, "%c%zu,0", sign, start);
    else if (count == 1)
        strbuf_addf(out, "%c%zu", sign, start + 1);
    else
        strbuf_addf(out, "%c%zu,%zu", sign, start + 1, count);
}

void textdiff_line(struct strbuf *out, char sign, const char *p, size_t n, bool color)
{
    const char *c = !color ? "" : sign == '-' ? "\033[31m" : sign == '+' ? "\033[32m" : "";
    strbuf_addstr(out, c);
    strbuf_addch(out, sign);
    strbuf_add(out, p, n);
    if (*c)
        strbuf_addstr(out, "\033[0m");
    strbuf_addch(out, '\n');
}

int textdiff_unified(const struct lines *a, const struct lines *b, const char *name_a,
                     const char *name_b, int context, bool color, struct strbuf *out)
{
    size_t pre = 0, suf = 0;
    while (pre < a->nr && pre < b->nr && eq(a, pre, b, pre))
        pre++;
    while (suf < a->nr - pre && suf < b->nr - pre && eq(a, a->nr - 1 - suf, b, b->nr - 1 - suf))
        suf++;
    if (pre == a->nr && pre == b->nr)
        return 0;
    struct script s = {NULL, 0, 0};
    for (size_t i = 0; i < pre; i++)
        push(&s, OP_EQ);
    myers(a, pre, a->nr - pre - suf, b, pre, b->nr - pre - suf, &s);
    for (size_t i = 0; i < suf; i++)
        push(&s, OP_EQ);

    if (color)
        strbuf_addf(out, "\033[1m--- %s\033[0m\n\033[1m+++ %s\033[0m\n", name_a, name_b);
    else
        strbuf_addf(out, "--- %s\n+++ %s\n", name_a, name_b);
    size_t ctx = context < 0 ? 0 : (size_t)context;
    size_t k = 0; /* position in the script */
    size_t ai = 0, bi = 0;
    while (k < s.nr) {
        /* find the next change */
        size_t c = k, ca = ai, cb = bi;
        while (c < s.nr && s.op[c] == OP_EQ)
            c++, ca++, cb++;
        if (c == s.nr)
            break;
        /* hunk start: up to ctx lines of context before the change */
        size_t back = ca - ai < ctx ? ca - ai : ctx;
        if (cb - bi < back)
            back = cb - bi;
        size_t hs = c - back, ha = ca - back, hb = cb - back;
        /* hunk end: extend while changes are within 2*ctx of each other */
        size_t e = c, ea = ca, eb = cb, last_change = c;
        while (e < s.nr) {
            if (s.op[e] != OP_EQ) {
                last_change = e;
            } else if (e - last_change > 2 * ctx) {
                break;
            }
            e++;
        }
        size_t he = last_change + 1 + ctx;
        if (he > s.nr)
            he = s.nr;
        (void)ea;
        (void)eb;
        /* count lines of each side in [hs, he) */
        size_t na = 0, nb = 0;
        for (size_t i = hs; i < he; i++) {
            if (s.op[i] != OP_INS)
                na++;
            if (s.op[i] != OP_DEL)
                nb++;
        }
        struct strbuf hdr = STRBUF_INIT;
        strbuf_addstr(&hdr, "@@ ");
        textdiff_range(&hdr, '-', ha, na);
        strbuf_addch(&hdr, ' ');
        textdiff_range(&hdr, '+', hb, nb);
        strbuf_addstr(&hdr, " @@");
        if (color)
            strbuf_addf(out, "\033[36m%s\033[0m\n", hdr.buf);
        else
            strbuf_addf(out, "%s\n", hdr.buf);
        strbuf_release(&hdr);
        size_t pa = ha, pb = hb;
        for (size_t i = hs; i < he; i++) {
            if (s.op[i] == OP_EQ) {
                textdiff_line(out, ' ', a->ptr[pa], a->len[pa], false);
                pa++, pb++;
            } else if (s.op[i] == OP_DEL) {
                textdiff_line(out, '-', a->ptr[pa], a->len[pa], color);
                pa++;
            } else {
                textdiff_line(out, '+', b->ptr[pb], b->len[pb], color);
                pb++;
            }
        }
        k = he;
        ai = pa;
        bi = pb;
    }
    free(s.op);
    return 1;
}
