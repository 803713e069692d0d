/*
 * datadiff.c — streamed row diffs of hectic.immutable tables (see datadiff.h).
 *
 * The SQL orders each side exactly the way ddiff_key_cmp() compares, so one
 * forward pass over both COPY streams finds every added, removed and changed
 * row. Catalog answers decide the key and its kind per table; both sides use
 * the same column list (the columns they have in common).
 */
#include "lib/datadiff.h"
#include "lib/pg.h"
#include "lib/textdiff.h"

#define NS "datadiff"
#define DEFAULT_CHUNK (256 * 1024)

/* ---- COPY text format ---- */

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ddiff_unescape(const char *in, size_t len, struct strbuf *out)
{
    strbuf_reset(out);
    if (len == 2 && in[0] == '\\' && in[1] == 'N')
        return 1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)in[i];
        if (c != '\\' || i + 1 == len) {
            strbuf_addch(out, c);
            continue;
        }
        c = (unsigned char)in[++i];
        switch (c) {
        case 'b': strbuf_addch(out, '\b'); break;
        case 'f': strbuf_addch(out, '\f'); break;
        case 'n': strbuf_addch(out, '\n'); break;
        case 'r': strbuf_addch(out, '\r'); break;
        case 't': strbuf_addch(out, '\t'); break;
        case 'v': strbuf_addch(out, '\v'); break;
        case 'x':
            if (i + 1 < len && hexval((unsigned char)in[i + 1]) >= 0) {
                int v = hexval((unsigned char)in[++i]);
                if (i + 1 < len && hexval((unsigned char)in[i + 1]) >= 0)
                    v = v * 16 + hexval((unsigned char)in[++i]);
                strbuf_addch(out, v);
            } else {
                strbuf_addch(out, 'x');
            }
            break;
        default:
            if (c >= '0' && c <= '7') {
                int v = c - '0';
                for (int k = 0; k < 2 && i + 1 < len && in[i + 1] >= '0' && in[i + 1] <= '7'; k++)
                    v = v * 8 + (in[++i] - '0');
                strbuf_addch(out, v & 0xff);
            } else {
                strbuf_addch(out, c);
            }
        }
    }
    return 0;
}

int ddiff_key_cmp(enum ddiff_key_kind kind, const struct ddiff_key *a, const struct ddiff_key *b)
{
    if (a->null || b->null)
        return a->null && b->null ? 0 : a->null ? -1 : 1;
    if (kind == DDIFF_KEY_INT)
        return a->ival < b->ival ? -1 : a->ival > b->ival;
    size_t n = a->len < b->len ? a->len : b->len;
    int c = n ? memcmp(a->ptr, b->ptr, n) : 0;
    if (c)
        return c < 0 ? -1 : 1;
    return a->len < b->len ? -1 : a->len > b->len;
}

/* ---- the unified-diff writer ---- */

void ddiff_writer_init(struct ddiff_writer *w, FILE *out, int context, size_t chunk, bool color,
                       const char *head)
{
    memset(w, 0, sizeof(*w));
    w->out = out;
    w->context = context < 0 ? 3 : context;
    w->chunk = chunk ? chunk : DEFAULT_CHUNK;
    w->color = color;
    w->head = head;
    w->body = (struct strbuf)STRBUF_INIT;
    w->minus = (struct strbuf)STRBUF_INIT;
    w->plus = (struct strbuf)STRBUF_INIT;
    w->ring_cap = 2 * (size_t)w->context + 1;
    w->ring = xcalloc(w->ring_cap, sizeof(*w->ring));
    for (size_t i = 0; i < w->ring_cap; i++)
        w->ring[i] = (struct strbuf)STRBUF_INIT;
}

static struct strbuf *ring_at(struct ddiff_writer *w, size_t i)
{
    return &w->ring[(w->ring_first + i) % w->ring_cap];
}

static void ring_drop(struct ddiff_writer *w, size_t n)
{
    w->ring_first = (w->ring_first + n) % w->ring_cap;
    w->ring_nr -= n;
}

/* The first N ring lines become context of the hunk. */
static void ring_to_body(struct ddiff_writer *w, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct strbuf *l = ring_at(w, i);
        textdiff_line(&w->body, ' ', l->buf, l->len, false);
    }
    w->h_na += n;
    w->h_nb += n;
}

static void flush_changes(struct ddiff_writer *w)
{
    if (w->minus.len)
        strbuf_add(&w->body, w->minus.buf, w->minus.len);
    if (w->plus.len)
        strbuf_add(&w->body, w->plus.buf, w->plus.len);
    strbuf_reset(&w->minus);
    strbuf_reset(&w->plus);
}

static void emit_hunk(struct ddiff_writer *w)
{
    flush_changes(w);
    if (!w->hunks && w->head) {
        if (w->color) {
            /* bold ---/+++ lines, as lib/textdiff.c prints them */
            const char *nl = strchr(w->head, '\n');
            size_t n1 = nl ? (size_t)(nl - w->head) : strlen(w->head);
            fprintf(w->out, "\033[1m%.*s\033[0m\n\033[1m%s\033[0m", (int)n1, w->head,
                    nl ? nl + 1 : "");
        } else {
            fputs(w->head, w->out);
        }
    }
    struct strbuf hdr = STRBUF_INIT;
    strbuf_addstr(&hdr, "@@ ");
    textdiff_range(&hdr, '-', w->h_a, w->h_na);
    strbuf_addch(&hdr, ' ');
    textdiff_range(&hdr, '+', w->h_b, w->h_nb);
    strbuf_addstr(&hdr, " @@");
    if (w->color)
        fprintf(w->out, "\033[36m%s\033[0m\n", hdr.buf);
    else
        fprintf(w->out, "%s\n", hdr.buf);
    strbuf_release(&hdr);
    fwrite(w->body.buf, 1, w->body.len, w->out);
    strbuf_reset(&w->body);
    w->hunks++;
    w->in_hunk = false;
}

void ddiff_writer_equal(struct ddiff_writer *w, const char *line, size_t len)
{
    if (w->in_hunk)
        flush_changes(w);
    struct strbuf *slot = &w->ring[(w->ring_first + w->ring_nr) % w->ring_cap];
    strbuf_reset(slot);
    strbuf_add(slot, line, len);
    w->ring_nr++;
    w->a_pos++;
    w->b_pos++;
    size_t c = (size_t)w->context;
    if (w->in_hunk) {
        if (w->ring_nr == w->ring_cap) {
            /* more than 2*context equal lines: the hunk ends after `context` of them */
            ring_to_body(w, c);
            emit_hunk(w);
            ring_drop(w, w->ring_nr - c);
        }
    } else if (w->ring_nr > c) {
        ring_drop(w, w->ring_nr - c);
    }
}

static void change(struct ddiff_writer *w, bool del, const char *line, size_t len)
{
    if (!w->in_hunk) {
        w->in_hunk = true;
        w->h_a = w->a_pos - w->ring_nr;
        w->h_b = w->b_pos - w->ring_nr;
        w->h_na = w->h_nb = 0;
        ring_to_body(w, w->ring_nr);
        ring_drop(w, w->ring_nr);
    } else if (w->ring_nr) {
        ring_to_body(w, w->ring_nr);
        ring_drop(w, w->ring_nr);
    }
    if (del) {
        textdiff_line(&w->minus, '-', line, len, w->color);
        w->h_na++;
        w->a_pos++;
    } else {
        textdiff_line(&w->plus, '+', line, len, w->color);
        w->h_nb++;
        w->b_pos++;
    }
    if (w->body.len + w->minus.len + w->plus.len >= w->chunk)
        emit_hunk(w); /* bounded memory: a long run of changes goes out in pieces */
}

void ddiff_writer_del(struct ddiff_writer *w, const char *line, size_t len)
{
    change(w, true, line, len);
}

void ddiff_writer_add(struct ddiff_writer *w, const char *line, size_t len)
{
    change(w, false, line, len);
}

size_t ddiff_writer_finish(struct ddiff_writer *w)
{
    if (w->in_hunk) {
        flush_changes(w);
        size_t c = (size_t)w->context;
        ring_to_body(w, w->ring_nr < c ? w->ring_nr : c);
        emit_hunk(w);
    }
    strbuf_release(&w->body);
    strbuf_release(&w->minus);
    strbuf_release(&w->plus);
    for (size_t i = 0; i < w->ring_cap; i++)
        strbuf_release(&w->ring[i]);
    free(w->ring);
    w->ring = NULL;
    return w->hunks;
}

/* ---- catalog ---- */

void ddiff_result_release(struct ddiff_result *r)
{
    for (size_t i = 0; i < r->nr; i++) {
        free(r->v[i].schema);
        free(r->v[i].rel);
        free(r->v[i].name);
    }
    free(r->v);
    memset(r, 0, sizeof(*r));
}

int ddiff_has_hectic(PGconn *conn)
{
    struct strbuf v = STRBUF_INIT;
    int r = pg_query_value(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'hectic'", 0,
                           NULL, &v);
    int ret = r < 0 ? -1 : strcmp(v.buf, "0") != 0;
    strbuf_release(&v);
    return ret;
}

static const char list_sql[] =
    "WITH RECURSIVE d(rel) AS ("
    " SELECT inhrelid FROM pg_catalog.pg_inherits"
    "  WHERE inhparent = pg_catalog.to_regclass('hectic.immutable')"
    " UNION SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN d ON i.inhparent = d.rel)"
    " SELECT n.nspname, c.relname FROM d"
    " JOIN pg_catalog.pg_class c ON c.oid = d.rel"
    " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind IN ('r', 'p') AND NOT c.relispartition";

static struct ddiff_table *find_table(struct ddiff_result *res, const char *schema, const char *rel)
{
    for (size_t i = 0; i < res->nr; i++)
        if (!strcmp(res->v[i].schema, schema) && !strcmp(res->v[i].rel, rel))
            return &res->v[i];
    return NULL;
}

static bool wanted(const struct strvec *only, const char *name)
{
    if (!only)
        return true;
    for (size_t i = 0; i < only->nr; i++)
        if (!strcmp(only->v[i], name))
            return true;
    return false;
}

static int table_cmp(const void *x, const void *y)
{
    const struct ddiff_table *a = x, *b = y;
    return strcmp(a->name, b->name);
}

int ddiff_list_tables(PGconn *a, PGconn *b, const struct strvec *only, struct ddiff_result *res)
{
    PGconn *side[2] = {a, b};
    for (int s = 0; s < 2; s++) {
        if (!side[s])
            continue;
        PGresult *r = PQexec(side[s], list_sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK) {
            pg_print_result_error(r, "cannot list the hectic.immutable tables");
            PQclear(r);
            return -1;
        }
        for (int i = 0; i < PQntuples(r); i++) {
            const char *schema = PQgetvalue(r, i, 0), *rel = PQgetvalue(r, i, 1);
            struct ddiff_table *t = find_table(res, schema, rel);
            if (!t) {
                char *name = xasprintf("%s.%s", schema, rel);
                if (!wanted(only, name)) {
                    free(name);
                    continue;
                }
                ALLOC_GROW(res->v, res->nr + 1, res->alloc);
                t = &res->v[res->nr++];
                memset(t, 0, sizeof(*t));
                t->schema = xstrdup(schema);
                t->rel = xstrdup(rel);
                t->name = name;
            }
            if (s == 0)
                t->on_a = true;
            else
                t->on_b = true;
        }
        PQclear(r);
    }
    if (res->nr > 1)
        qsort(res->v, res->nr, sizeof(*res->v), table_cmp);
    return 0;
}

/* A column of one side. */
struct col {
    char *name;
    bool is_int, is_text, bookkeeping, generated;
    int pkpos; /* position in the primary key, -1 when not part of it */
};

struct cols {
    struct col *v;
    size_t nr, alloc;
    int npk;
};

static void cols_release(struct cols *c)
{
    for (size_t i = 0; i < c->nr; i++)
        free(c->v[i].name);
    free(c->v);
    memset(c, 0, sizeof(*c));
}

static const char cols_sql[] =
    "WITH RECURSIVE anc(rel) AS ("
    " SELECT inhparent FROM pg_catalog.pg_inherits WHERE inhrelid = $1::regclass"
    " UNION SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN anc ON i.inhrelid = anc.rel),"
    " pk AS (SELECT i.indkey::int2[] AS k FROM pg_catalog.pg_index i"
    "  WHERE i.indrelid = $1::regclass AND i.indisprimary)"
    " SELECT a.attname, a.atttypid IN (20, 21, 23), a.atttypid IN (25, 1043),"
    "  EXISTS (SELECT 1 FROM anc JOIN pg_catalog.pg_attribute pa ON pa.attrelid = anc.rel"
    "   WHERE anc.rel IN (pg_catalog.to_regclass('hectic.created_at'),"
    "                     pg_catalog.to_regclass('hectic.updated_at'))"
    "   AND pa.attname = a.attname AND pa.attnum > 0 AND NOT pa.attisdropped),"
    "  coalesce((SELECT pg_catalog.array_position(k, a.attnum) - pg_catalog.array_lower(k, 1) FROM pk), -1),"
    "  (SELECT pg_catalog.cardinality(k) FROM pk),"
    "  a.attgenerated <> ''"
    " FROM pg_catalog.pg_attribute a"
    " WHERE a.attrelid = $1::regclass AND a.attnum > 0 AND NOT a.attisdropped"
    " ORDER BY a.attnum";

static int read_cols(PGconn *conn, const char *qname, struct cols *c)
{
    const char *params[1] = {qname};
    PGresult *r = PQexecParams(conn, cols_sql, 1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_print_result_error(r, "cannot read the columns of a hectic.immutable table");
        PQclear(r);
        return -1;
    }
    c->npk = 0;
    for (int i = 0; i < PQntuples(r); i++) {
        ALLOC_GROW(c->v, c->nr + 1, c->alloc);
        struct col *k = &c->v[c->nr++];
        k->name = xstrdup(PQgetvalue(r, i, 0));
        k->is_int = PQgetvalue(r, i, 1)[0] == 't';
        k->is_text = PQgetvalue(r, i, 2)[0] == 't';
        k->bookkeeping = PQgetvalue(r, i, 3)[0] == 't';
        k->pkpos = atoi(PQgetvalue(r, i, 4)); /* 0-based, -1: not in the key */
        if (!PQgetisnull(r, i, 5))
            c->npk = atoi(PQgetvalue(r, i, 5));
        k->generated = PQgetvalue(r, i, 6)[0] == 't';
    }
    PQclear(r);
    return 0;
}

static const struct col *col_find(const struct cols *c, const char *name)
{
    for (size_t i = 0; i < c->nr; i++)
        if (!strcmp(c->v[i].name, name))
            return &c->v[i];
    return NULL;
}

/* The plan of one table: compared columns, key columns and their kinds. */
struct plan {
    struct strvec cols;           /* compared columns, side A's order */
    struct strvec keys;           /* key columns */
    enum ddiff_key_kind *kind;    /* per key */
    bool *cast;                   /* per key: ORDER BY k::text */
    bool by_pk;
    struct strvec left_out;       /* columns on one side only */
    bool *a_missing;              /* per compared column: A lacks it (columns_of_b) */
    bool any_missing;
};

static void plan_release(struct plan *p)
{
    strvec_clear(&p->cols);
    strvec_clear(&p->keys);
    strvec_clear(&p->left_out);
    free(p->kind);
    free(p->cast);
    free(p->a_missing);
}

/* The primary key column names of C in key order, when every one is compared. */
static bool pk_names(const struct cols *c, const struct strvec *compared, struct strvec *out)
{
    if (c->npk <= 0)
        return false;
    for (int k = 0; k < c->npk; k++) {
        const struct col *hit = NULL;
        for (size_t i = 0; i < c->nr; i++)
            if (c->v[i].pkpos == k)
                hit = &c->v[i];
        bool in = false;
        for (size_t i = 0; hit && i < compared->nr; i++)
            in = in || !strcmp(compared->v[i], hit->name);
        if (!in) {
            strvec_clear(out);
            return false;
        }
        strvec_push(out, hit->name);
    }
    return true;
}

static void plan_keys(const struct cols *first, const struct cols *other, struct plan *p);

/*
 * columns_of_b: B's writable columns, NULL on A where it lacks them; keyed
 * by B's primary key when A has its columns, else by the common columns.
 */
static void make_plan_of_b(const struct cols *ca, const struct cols *cb, bool bookkeeping,
                           struct plan *p)
{
    p->a_missing = xcalloc(cb->nr + 1, sizeof(*p->a_missing));
    for (size_t i = 0; i < cb->nr; i++) {
        const struct col *c = &cb->v[i];
        if (c->generated || (!bookkeeping && c->bookkeeping))
            continue;
        const struct col *o = ca ? col_find(ca, c->name) : c;
        p->a_missing[p->cols.nr] = !o;
        p->any_missing = p->any_missing || !o;
        strvec_push(&p->cols, c->name);
    }
    struct strvec common = STRVEC_INIT, kb = STRVEC_INIT;
    for (size_t i = 0; i < p->cols.nr; i++)
        if (!p->a_missing[i])
            strvec_push(&common, p->cols.v[i]);
    if (pk_names(cb, &common, &kb)) {
        p->by_pk = true;
        for (size_t i = 0; i < kb.nr; i++)
            strvec_push(&p->keys, kb.v[i]);
    } else {
        for (size_t i = 0; i < common.nr; i++)
            strvec_push(&p->keys, common.v[i]);
    }
    strvec_clear(&common);
    strvec_clear(&kb);
    plan_keys(ca ? ca : cb, cb, p);
}

static void make_plan(const struct cols *ca, const struct cols *cb, bool bookkeeping, struct plan *p)
{
    const struct cols *first = ca ? ca : cb, *other = ca ? cb : NULL;
    for (size_t i = 0; i < first->nr; i++) {
        const struct col *c = &first->v[i];
        const struct col *o = other ? col_find(other, c->name) : NULL;
        if (!bookkeeping && (c->bookkeeping || (o && o->bookkeeping)))
            continue;
        if (other && !o) {
            strvec_push(&p->left_out, c->name);
            continue;
        }
        strvec_push(&p->cols, c->name);
    }
    for (size_t i = 0; other && i < other->nr; i++)
        if (!col_find(first, other->v[i].name) && (bookkeeping || !other->v[i].bookkeeping))
            strvec_push(&p->left_out, other->v[i].name);

    struct strvec ka = STRVEC_INIT, kb = STRVEC_INIT;
    bool pa = pk_names(first, &p->cols, &ka);
    bool pb = other ? pk_names(other, &p->cols, &kb) : pa;
    bool same = pa && pb;
    for (size_t i = 0; same && other && i < ka.nr; i++)
        same = kb.nr == ka.nr && !strcmp(ka.v[i], kb.v[i]);
    if (same) {
        p->by_pk = true;
        for (size_t i = 0; i < ka.nr; i++)
            strvec_push(&p->keys, ka.v[i]);
    } else {
        for (size_t i = 0; i < p->cols.nr; i++)
            strvec_push(&p->keys, p->cols.v[i]);
    }
    strvec_clear(&ka);
    strvec_clear(&kb);
    plan_keys(first, other, p);
}

/* The kind of each key: integers when both sides say so, else bytes (through text when not text). */
static void plan_keys(const struct cols *first, const struct cols *other, struct plan *p)
{
    p->kind = xcalloc(p->keys.nr + 1, sizeof(*p->kind));
    p->cast = xcalloc(p->keys.nr + 1, sizeof(*p->cast));
    for (size_t i = 0; i < p->keys.nr; i++) {
        const struct col *x = col_find(first, p->keys.v[i]);
        const struct col *y = other ? col_find(other, p->keys.v[i]) : x;
        if (x->is_int && y->is_int) {
            p->kind[i] = DDIFF_KEY_INT;
        } else {
            p->kind[i] = DDIFF_KEY_BYTES;
            p->cast[i] = !(x->is_text && y->is_text);
        }
    }
}

/* COPY (SELECT keys, cols FROM ONLY t ORDER BY keys) TO STDOUT */
static char *copy_sql(const struct ddiff_table *t, const struct plan *p, bool side_a)
{
    struct strbuf sb = STRBUF_INIT;
    char *qs = pg_quote_ident(t->schema), *qr = pg_quote_ident(t->rel);
    strbuf_addstr(&sb, "COPY (SELECT ");
    for (size_t i = 0; i < p->keys.nr; i++) {
        char *q = pg_quote_ident(p->keys.v[i]);
        strbuf_addf(&sb, "%s%s", q, p->cast[i] ? "::text" : "");
        strbuf_addstr(&sb, ", ");
        free(q);
    }
    for (size_t i = 0; i < p->cols.nr; i++) {
        char *q = pg_quote_ident(p->cols.v[i]);
        strbuf_addf(&sb, "%s%s", i ? ", " : "", side_a && p->a_missing && p->a_missing[i] ? "NULL" : q);
        free(q);
    }
    strbuf_addf(&sb, " FROM ONLY %s.%s ORDER BY ", qs, qr);
    for (size_t i = 0; i < p->keys.nr; i++) {
        char *q = pg_quote_ident(p->keys.v[i]);
        /* primary key columns are never NULL: plain ASC lets the server walk the pkey index */
        strbuf_addf(&sb, "%s%s%s%s%s", i ? ", " : "", q, p->cast[i] ? "::text" : "",
                    p->kind[i] == DDIFF_KEY_BYTES ? " COLLATE \"C\"" : "",
                    p->by_pk ? "" : " NULLS FIRST");
        free(q);
    }
    strbuf_addstr(&sb, ") TO STDOUT");
    free(qs);
    free(qr);
    return strbuf_detach(&sb, NULL);
}

/* ---- streaming one side ---- */

struct stream {
    PGconn *conn;
    const char *label;
    char *buf;            /* the current row (libpq's buffer) */
    size_t len;           /* without the newline */
    bool done;
    size_t nkeys;
    struct ddiff_key *key;
    struct strbuf *scratch; /* per key: unescaped bytes */
    const char *data;     /* the compared columns of the row */
    size_t data_len;
};

static int stream_start(struct stream *s, PGconn *conn, const char *label, const char *sql,
                        size_t nkeys)
{
    memset(s, 0, sizeof(*s));
    s->conn = conn;
    s->label = label;
    s->nkeys = nkeys;
    s->key = xcalloc(nkeys + 1, sizeof(*s->key));
    s->scratch = xcalloc(nkeys + 1, sizeof(*s->scratch));
    for (size_t i = 0; i < nkeys; i++)
        s->scratch[i] = (struct strbuf)STRBUF_INIT;
    if (!conn) {
        s->done = true;
        return 0;
    }
    trace(NS, "%s: %s", label, sql);
    PGresult *r = PQexec(conn, sql);
    if (PQresultStatus(r) != PGRES_COPY_OUT) {
        pg_print_result_error(r, "cannot read the rows");
        PQclear(r);
        s->done = true;
        return -1;
    }
    PQclear(r);
    return 0;
}

static void stream_release(struct stream *s)
{
    if (s->buf)
        PQfreemem(s->buf);
    s->buf = NULL;
    for (size_t i = 0; i < s->nkeys; i++)
        strbuf_release(&s->scratch[i]);
    free(s->scratch);
    free(s->key);
    /* a stream abandoned half-way: drain it so the connection stays usable */
    if (s->conn && !s->done) {
        char *b;
        while (PQgetCopyData(s->conn, &b, 0) >= 0)
            PQfreemem(b);
        PGresult *r;
        while ((r = PQgetResult(s->conn)))
            PQclear(r);
    }
}

/* Advance to the next row. 1: a row, 0: end, -1: error. */
static int stream_next(struct stream *s, const enum ddiff_key_kind *kind)
{
    if (s->buf)
        PQfreemem(s->buf);
    s->buf = NULL;
    if (s->done)
        return 0;
    int n = PQgetCopyData(s->conn, &s->buf, 0);
    if (n == -1) {
        s->done = true;
        int ret = 0;
        PGresult *r;
        while ((r = PQgetResult(s->conn))) {
            if (PQresultStatus(r) != PGRES_COMMAND_OK) {
                pg_print_result_error(r, "reading the rows failed");
                ret = -1;
            }
            PQclear(r);
        }
        return ret;
    }
    if (n < 0) {
        s->done = true;
        return error("reading the rows from %s failed: %s", s->label, PQerrorMessage(s->conn));
    }
    s->len = (size_t)n;
    if (s->len && s->buf[s->len - 1] == '\n')
        s->len--;
    const char *p = s->buf, *end = s->buf + s->len;
    for (size_t i = 0; i < s->nkeys; i++) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        if (!tab)
            return error("unexpected COPY row from %s (fewer fields than keys)", s->label);
        size_t fl = (size_t)(tab - p);
        struct ddiff_key *k = &s->key[i];
        k->null = fl == 2 && p[0] == '\\' && p[1] == 'N';
        if (k->null) {
            k->ptr = p;
            k->len = 0;
        } else if (memchr(p, '\\', fl)) {
            ddiff_unescape(p, fl, &s->scratch[i]);
            k->ptr = s->scratch[i].buf;
            k->len = s->scratch[i].len;
        } else {
            k->ptr = p;
            k->len = fl;
        }
        if (kind[i] == DDIFF_KEY_INT && !k->null) {
            char tmp[32];
            size_t l = k->len < sizeof(tmp) - 1 ? k->len : sizeof(tmp) - 1;
            memcpy(tmp, k->ptr, l);
            tmp[l] = 0;
            k->ival = strtoll(tmp, NULL, 10);
        }
        p = tab + 1;
    }
    s->data = p;
    s->data_len = (size_t)(end - p);
    return 1;
}

static int keys_cmp(const struct stream *a, const struct stream *b, const enum ddiff_key_kind *kind)
{
    for (size_t i = 0; i < a->nkeys; i++) {
        int c = ddiff_key_cmp(kind[i], &a->key[i], &b->key[i]);
        if (c)
            return c;
    }
    return 0;
}

int ddiff_table(PGconn *a, PGconn *b, struct ddiff_table *t, const struct ddiff_opts *o, FILE *out)
{
    struct cols ca = {0}, cb = {0};
    struct plan p;
    memset(&p, 0, sizeof(p));
    struct stream sa, sb;
    bool started = false;
    int ret = -1;
    char *qs = pg_quote_ident(t->schema), *qr = pg_quote_ident(t->rel);
    char *qname = xasprintf("%s.%s", qs, qr);
    char *sql = NULL, *sql_a = NULL;
    const char *la = o->name_a ? o->name_a : "a", *lb = o->name_b ? o->name_b : "b";
    t->added = t->removed = t->changed = t->same = 0;

    if ((t->on_a && read_cols(a, qname, &ca) < 0) || (t->on_b && read_cols(b, qname, &cb) < 0))
        goto out;
    if (o->columns_of_b && t->on_b)
        make_plan_of_b(t->on_a ? &ca : NULL, &cb, o->include_bookkeeping, &p);
    else
        make_plan(t->on_a ? &ca : NULL, t->on_b ? &cb : NULL, o->include_bookkeeping, &p);
    if (out) {
        fprintf(out, o->color ? "\033[1m=== %s ===\033[0m\n" : "=== %s ===\n", t->name);
        if (!t->on_a || !t->on_b)
            fprintf(out, "(only in %s: every row %s)\n", t->on_a ? la : lb,
                    t->on_a ? "removed" : "added");
        if (p.left_out.nr) {
            fputs("(columns on one side only, left out:", out);
            for (size_t i = 0; i < p.left_out.nr; i++)
                fprintf(out, " %s", p.left_out.v[i]);
            fputs(")\n", out);
        }
        if (!p.by_pk)
            fputs("(no primary key on both sides: rows ordered and matched by all columns)\n", out);
    }
    if (!p.cols.nr) {
        if (out)
            fputs("(no columns to compare)\n", out);
        ret = 0;
        goto out;
    }
    sql = copy_sql(t, &p, false);
    sql_a = p.any_missing ? copy_sql(t, &p, true) : NULL;
    debug(NS, "%s", sql);
    started = true;
    if (stream_start(&sa, t->on_a ? a : NULL, la, sql_a ? sql_a : sql, p.keys.nr) < 0) {
        stream_start(&sb, NULL, lb, sql, p.keys.nr);
        goto out;
    }
    if (stream_start(&sb, t->on_b ? b : NULL, lb, sql, p.keys.nr) < 0)
        goto out;
    struct ddiff_row ev = {t, &p.cols, &p.keys, p.by_pk, p.a_missing, 0, NULL, NULL, 0, 0};

    struct ddiff_writer w;
    char *head = xasprintf("--- %s/%s\n+++ %s/%s\n", la, t->name, lb, t->name);
    ddiff_writer_init(&w, out, o->context, o->chunk, o->color, head);
    int ra = stream_next(&sa, p.kind), rb = stream_next(&sb, p.kind);
    while (ra > 0 || rb > 0) {
        if (interrupted) {
            ra = rb = error("interrupted");
            break;
        }
        int c = ra <= 0 ? 1 : rb <= 0 ? -1 : keys_cmp(&sa, &sb, p.kind);
        ev.a = ev.b = NULL;
        if (c < 0) {
            t->removed++;
            if (out)
                ddiff_writer_del(&w, sa.data, sa.data_len);
            ev.op = '-', ev.a = sa.data, ev.a_len = sa.data_len;
            if (o->on_row && o->on_row(o->on_row_arg, &ev)) {
                ra = rb = -1;
                break;
            }
            ra = stream_next(&sa, p.kind);
        } else if (c > 0) {
            t->added++;
            if (out)
                ddiff_writer_add(&w, sb.data, sb.data_len);
            ev.op = '+', ev.b = sb.data, ev.b_len = sb.data_len;
            if (o->on_row && o->on_row(o->on_row_arg, &ev)) {
                ra = rb = -1;
                break;
            }
            rb = stream_next(&sb, p.kind);
        } else {
            if (!p.any_missing && sa.data_len == sb.data_len &&
                !memcmp(sa.data, sb.data, sa.data_len)) {
                t->same++;
                if (out)
                    ddiff_writer_equal(&w, sa.data, sa.data_len);
            } else {
                t->changed++;
                if (out) {
                    ddiff_writer_del(&w, sa.data, sa.data_len);
                    ddiff_writer_add(&w, sb.data, sb.data_len);
                }
                ev.op = '~', ev.a = sa.data, ev.a_len = sa.data_len;
                ev.b = sb.data, ev.b_len = sb.data_len;
                if (o->on_row && o->on_row(o->on_row_arg, &ev)) {
                    ra = rb = -1;
                    break;
                }
            }
            ra = stream_next(&sa, p.kind);
            rb = stream_next(&sb, p.kind);
        }
    }
    size_t hunks = ddiff_writer_finish(&w);
    free(head);
    if (ra < 0 || rb < 0)
        goto out;
    if (out && !hunks)
        fputs("(no differences)\n", out);
    ret = t->added || t->removed || t->changed;
out:
    if (started) {
        stream_release(&sa);
        stream_release(&sb);
    }
    plan_release(&p);
    cols_release(&ca);
    cols_release(&cb);
    free(sql);
    free(sql_a);
    free(qname);
    free(qs);
    free(qr);
    return ret;
}

static int begin_snapshot(PGconn *conn)
{
    if (!conn)
        return 0;
    /* one snapshot for the catalog reads and every COPY; never a write */
    return pg_exec(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
}

static void end_snapshot(PGconn *conn)
{
    if (conn && PQtransactionStatus(conn) != PQTRANS_IDLE) {
        PGresult *r = PQexec(conn, "ROLLBACK");
        PQclear(r);
    }
}

int ddiff_run(PGconn *a, PGconn *b, const struct ddiff_opts *o, FILE *out, struct ddiff_result *res)
{
    int ret = -1;
    if (begin_snapshot(a) < 0 || begin_snapshot(b) < 0)
        goto out;
    if (ddiff_list_tables(a, b, o->only, res) < 0)
        goto out;
    ret = 0;
    for (size_t i = 0; i < res->nr; i++) {
        double t0 = now_monotonic();
        int r = ddiff_table(a, b, &res->v[i], o, out);
        if (r < 0) {
            ret = -1;
            goto out;
        }
        debug(NS, "%s: %ld same, %ld added, %ld removed, %ld changed in %.3f s", res->v[i].name,
              res->v[i].same, res->v[i].added, res->v[i].removed, res->v[i].changed,
              now_monotonic() - t0);
        if (r)
            ret = 1;
    }
out:
    end_snapshot(a);
    end_snapshot(b);
    return ret;
}
