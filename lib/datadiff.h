/*
 * datadiff.h — row diffs of the tables inheriting hectic.immutable between
 * two databases (the data part of `database diff`, SPEC section 8).
 *
 * Both sides are streamed with COPY (SELECT keys, columns FROM ONLY t ORDER
 * BY keys) TO STDOUT and merged in C, so memory stays flat in the number of
 * rows: a row is held only while it is compared, and a hunk is flushed once
 * it reaches a bounded size. Only catalog queries and COPY TO are sent:
 * either side may be a live database.
 *
 * The row text is COPY's text form of the compared columns (tab-separated,
 * \N for NULL, backslash escapes; one row per line). The merge key is the
 * primary key when both sides have the same one, else every compared column.
 * Keys are compared as the server orders them:
 *   - int2/int4/int8 on both sides: ORDER BY k, compared as integers;
 *   - text/varchar on both sides:   ORDER BY k COLLATE "C", compared as bytes;
 *   - anything else:                ORDER BY k::text COLLATE "C", as bytes;
 * NULLS FIRST on both sides and in C. Byte comparison is on the unescaped
 * value (COPY's escaping would change the byte order: '\t' is "\\t").
 *
 * Columns inherited from hectic.created_at / hectic.updated_at are left out
 * unless include_bookkeeping is set; a column that exists on one side only is
 * left out too (the schema diff shows it).
 */
#ifndef DBTOOL_DATADIFF_H
#define DBTOOL_DATADIFF_H

#include "lib/common.h"
#include <libpq-fe.h>

/* One table of the data diff and what was found. */
struct ddiff_table {
    char *schema, *rel;
    char *name;        /* "schema.rel" as printed */
    bool on_a, on_b;   /* where it exists */
    long added;        /* rows only on side B */
    long removed;      /* rows only on side A */
    long changed;      /* same key, other values */
    long same;
};

struct ddiff_result {
    struct ddiff_table *v;
    size_t nr, alloc;
};
void ddiff_result_release(struct ddiff_result *r);

/* One row event (see ddiff_opts.on_row). */
struct ddiff_row {
    const struct ddiff_table *t;
    const struct strvec *cols;  /* the compared columns (names, unquoted), in row order */
    const struct strvec *keys;  /* the key columns (a subset of cols) */
    bool by_pk;                 /* keys are the primary key (else every compared column) */
    const bool *a_missing;      /* columns_of_b: per column, A lacks it (its field there is \N); else NULL */
    char op;                    /* '-' only on A, '+' only on B, '~' changed */
    const char *a, *b;          /* the compared columns in COPY text form (tab-separated); NULL when absent */
    size_t a_len, b_len;
};

struct ddiff_opts {
    bool include_bookkeeping; /* compare created_at/updated_at too */
    bool color;               /* ANSI colours in the output */
    const char *name_a;       /* label of side A in ---/+++ lines and notes ("backup") */
    const char *name_b;       /* label of side B ("sources") */
    const struct strvec *only; /* "schema.rel" names to limit to, NULL: all */
    int context;              /* lines of context around changes (default 3 when < 0) */
    size_t chunk;             /* flush a hunk once it holds this many bytes (0: 256 KiB) */
    /*
     * Row events, for turning the diff into statements (ops/generate.c):
     * called for every row only on A, only on B and changed; a non-zero
     * return stops the diff (-1). With columns_of_b the compared columns are
     * B's writable ones (generated columns left out; bookkeeping ones too
     * unless include_bookkeeping), a column A lacks is read as NULL there and
     * makes every row found on both sides "changed" (its value on A is
     * whatever the DDL gave it), and the key is B's primary key when A has
     * its columns.
     */
    int (*on_row)(void *arg, const struct ddiff_row *row);
    void *on_row_arg;
    bool columns_of_b;
};

/* Whether CONN has a schema named hectic. 1, 0, or -1 (error printed). */
int ddiff_has_hectic(PGconn *conn);

/*
 * The tables inheriting hectic.immutable (directly or not) on either side,
 * union, sorted by "schema.rel" in byte order, limited to o->only when set.
 * Appended to RES. 0 or -1 (error printed).
 */
int ddiff_list_tables(PGconn *a, PGconn *b, const struct strvec *only, struct ddiff_result *res);

/*
 * Diff one table (from ddiff_list_tables) and print its section to OUT:
 * "=== schema.rel ===", then a unified diff of the rows ("--- A/schema.rel",
 * "+++ B/schema.rel", "@@ -a,b +c,d @@" hunks) or "(no differences)". Fills
 * the counters of T. Returns 1 when the rows differ, 0 when not, -1 on error.
 */
int ddiff_table(PGconn *a, PGconn *b, struct ddiff_table *t, const struct ddiff_opts *o, FILE *out);

/*
 * Both of the above for every table: the sections go to OUT (NULL: nothing
 * printed, counters only). Runs in a REPEATABLE READ READ ONLY transaction on
 * each connection (one snapshot per side). 1 when any table differs, 0 when
 * none does, -1 on error.
 */
int ddiff_run(PGconn *a, PGconn *b, const struct ddiff_opts *o, FILE *out, struct ddiff_result *res);

/* ---- pure pieces (unit-tested) ---- */

/*
 * Decode one field of COPY's text format (IN, LEN bytes, no tab or newline)
 * into OUT (replacing its contents): \b \f \n \r \t \v \\, \NNN octal,
 * \xHH hex, backslash + any other byte = that byte. Returns 1 when the field
 * is \N (NULL; OUT left empty), else 0.
 */
int ddiff_unescape(const char *in, size_t len, struct strbuf *out);

enum ddiff_key_kind {
    DDIFF_KEY_BYTES, /* unescaped bytes, memcmp order, shorter prefix first */
    DDIFF_KEY_INT,   /* signed 64-bit integers */
};

/* One decoded key field: NULL, or bytes (and the integer for DDIFF_KEY_INT). */
struct ddiff_key {
    bool null;
    const char *ptr;
    size_t len;
    long long ival;
};

/* <0, 0, >0 as A sorts before, with or after B; NULL first. */
int ddiff_key_cmp(enum ddiff_key_kind kind, const struct ddiff_key *a, const struct ddiff_key *b);

/*
 * The unified-diff writer over a stream of row events, with bounded memory:
 * at most 2*context+1 equal lines and one hunk of about `chunk` bytes are
 * held; a longer run of changes is printed as consecutive hunks.
 */
struct ddiff_writer {
    FILE *out;
    int context;
    size_t chunk;
    bool color;
    const char *head; /* "--- A\n+++ B\n" printed before the first hunk */
    /* state */
    size_t a_pos, b_pos;            /* lines of A / B seen so far */
    bool in_hunk;
    size_t h_a, h_b, h_na, h_nb;    /* hunk start (0-based) and counts */
    struct strbuf body, minus, plus;
    struct strbuf *ring;            /* equal lines after the last change / before the next */
    size_t ring_nr, ring_first, ring_cap;
    size_t hunks;                   /* hunks printed */
};
void ddiff_writer_init(struct ddiff_writer *w, FILE *out, int context, size_t chunk, bool color,
                       const char *head);
/* A line present on both sides (LINE, LEN bytes, no newline). */
void ddiff_writer_equal(struct ddiff_writer *w, const char *line, size_t len);
/* A line only on side A / only on side B. */
void ddiff_writer_del(struct ddiff_writer *w, const char *line, size_t len);
void ddiff_writer_add(struct ddiff_writer *w, const char *line, size_t len);
/* Flush the last hunk; returns the number of hunks printed. Releases the buffers. */
size_t ddiff_writer_finish(struct ddiff_writer *w);

#endif
