/*
 * codeorder.c — the code directory's units in order (see codeobj.h): their
 * references resolved against the set into hard and soft edges, a creation
 * order over those edges (ties by file and line, cycles reported), and what
 * a migration script breaks or creates. The units come from codeobj.c.
 */
#include "lib/codeobj_int.h"
#include "lib/fs.h"
#include "lib/sqlsplit.h"

/* ---- resolving references --------------------------------------------------------- */

/* The number of identity arguments of U ("" -> 0, "*" -> 0). */
static int unit_nargs(const struct code_unit *u)
{
    return (int)u->addr_args.nr;
}

static bool skip_schema(const char *schema)
{
    return schema && (!strcmp(schema, "pg_catalog") || !strcmp(schema, "information_schema"));
}

/* Units a ref names, appended to OUT (indices). */
static void lookup_ref(const struct code_set *cs, const struct code_ref *r, bool removed,
                       size_t **out, size_t *n, size_t *alloc)
{
    struct index *ix = code_index_of(cs);
    struct strbuf key = STRBUF_INIT;
    const char *schema = r->schema ? r->schema : cs->schema;
    char p = r->kind == PARSE_REF_RELATION ? 'r' : r->kind == PARSE_REF_FUNCTION ? 'f' : 't';
    strbuf_addf(&key, "%c:%s.%s", p, schema, r->name);
    struct bucket *b = code_bucket_get(ix, key.buf, false);
    strbuf_release(&key);
    if (!b)
        return;
    bool exact = false;
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < b->nr; i++) {
            const struct code_unit *u = &cs->units[b->v[i]];
            if ((u->status == CODE_REMOVED) != removed)
                continue;
            /* a call matches the routines of its arity; failing that (defaults, variadic) all */
            if (pass == 0 && r->kind == PARSE_REF_FUNCTION && r->nargs >= 0 &&
                unit_nargs(u) != r->nargs)
                continue;
            exact = true;
            ALLOC_GROW(*out, *n + 1, *alloc);
            (*out)[(*n)++] = b->v[i];
        }
        if (exact || r->kind != PARSE_REF_FUNCTION)
            break;
    }
}

static void add_unique(struct strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->nr; i++)
        if (!strcmp(sv->v[i], s))
            return;
    strvec_push(sv, s);
}

const struct code_unit *code_ref_removed(const struct code_set *cs, const struct code_ref *r)
{
    size_t *hits = NULL, n = 0, alloc = 0;
    if (skip_schema(r->schema))
        return NULL;
    lookup_ref(cs, r, true, &hits, &n, &alloc);
    const struct code_unit *u = n ? &cs->units[hits[0]] : NULL;
    free(hits);
    return u;
}

int code_resolve(struct code_set *cs)
{
    int errors = 0;
    size_t *hits = NULL, nhits = 0, ahits = 0;
    /* an identity defined twice */
    struct index *ix = code_index_of(cs);
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        if (u->status == CODE_REMOVED)
            continue;
        struct strbuf key = STRBUF_INIT;
        strbuf_addf(&key, "=%s", u->identity);
        struct bucket *b = code_bucket_get(ix, key.buf, false);
        strbuf_release(&key);
        for (size_t j = 0; b && j < b->nr; j++) {
            const struct code_unit *o = &cs->units[b->v[j]];
            if (b->v[j] >= i || o->status == CODE_REMOVED)
                continue;
            char *where = xasprintf("%s/%s", cs->dir, code_unit_where(o));
            char *file = xasprintf("%s/%s", cs->dir, u->file);
            errors++;
            error_at(file, u->line, 1, "%s is defined twice: here and at %s", u->identity, where);
            free(where);
            free(file);
            break;
        }
    }
    for (size_t i = 0; i < cs->units_nr; i++) {
        struct code_unit *u = &cs->units[i];
        if (!u->loaded || u->status == CODE_REMOVED)
            continue;
        strvec_clear(&u->depends);
        strvec_clear(&u->body_depends);
        for (size_t k = 0; k < u->external_nr; k++)
            ref_release(&u->external[k]);
        u->external_nr = 0;
        for (size_t k = 0; k < u->refs_nr; k++) {
            const struct code_ref *r = &u->refs[k];
            if (skip_schema(r->schema))
                continue;
            nhits = 0;
            lookup_ref(cs, r, false, &hits, &nhits, &ahits);
            size_t found = 0;
            for (size_t h = 0; h < nhits; h++) {
                const struct code_unit *t = &cs->units[hits[h]];
                if (t == u)
                    continue;
                found++;
                add_unique(r->in_body ? &u->body_depends : &u->depends, t->identity);
            }
            if (!found && !nhits) {
                ALLOC_GROW(u->external, u->external_nr + 1, u->external_alloc);
                struct code_ref *e = &u->external[u->external_nr++];
                *e = *r;
                e->schema = r->schema ? xstrdup(r->schema) : NULL;
                e->name = xstrdup(r->name);
            }
        }
        /* a body that also names something outside it: the hard edge wins */
        size_t keep = 0;
        for (size_t k = 0; k < u->body_depends.nr; k++) {
            bool hard = false;
            for (size_t j = 0; j < u->depends.nr && !hard; j++)
                hard = !strcmp(u->depends.v[j], u->body_depends.v[k]);
            if (hard)
                free(u->body_depends.v[k]);
            else
                u->body_depends.v[keep++] = u->body_depends.v[k];
        }
        u->body_depends.nr = keep;
        if (keep < u->body_depends.alloc)
            u->body_depends.v[keep] = NULL;
        if (u->kind == CODE_INDEX) {
            bool on_code = false;
            for (size_t j = 0; j < u->depends.nr && !on_code; j++) {
                const struct code_unit *t = code_unit_find(cs, u->depends.v[j]);
                on_code = t && t->kind == CODE_MATVIEW && t->name && !strcmp(t->name, u->table);
            }
            if (!on_code) {
                char *file = xasprintf("%s/%s", cs->dir, u->file);
                errors++;
                error_at(file, u->line, 1,
                         "index %s is on %s, which is not a materialized view of the code "
                         "directory: indexes of tables belong in migrations", u->name, u->table);
                free(file);
            }
        }
    }
    free(hits);
    return errors;
}

/* ---- order ------------------------------------------------------------------------- */

struct graph {
    size_t n;
    size_t **adj; /* adj[v]: units that come after v */
    bool **soft;  /* parallel: the edge may be dropped */
    size_t *adj_nr, *adj_alloc;
};

static void graph_add(struct graph *g, size_t before, size_t after, bool soft)
{
    if (before == after)
        return;
    for (size_t i = 0; i < g->adj_nr[before]; i++)
        if (g->adj[before][i] == after) {
            if (!soft)
                g->soft[before][i] = false;
            return;
        }
    size_t nr = g->adj_nr[before], alloc = g->adj_alloc[before];
    ALLOC_GROW(g->adj[before], nr + 1, alloc);
    if (alloc != g->adj_alloc[before])
        g->soft[before] = xrealloc(g->soft[before], alloc * sizeof(bool));
    g->adj_alloc[before] = alloc;
    g->adj[before][nr] = after;
    g->soft[before][nr] = soft;
    g->adj_nr[before] = nr + 1;
}

static void graph_free(struct graph *g)
{
    for (size_t i = 0; i < g->n; i++) {
        free(g->adj[i]);
        free(g->soft[i]);
    }
    free(g->adj);
    free(g->soft);
    free(g->adj_nr);
    free(g->adj_alloc);
}

/* Min-heap of unit indices by rank. */
struct heap {
    size_t *v, nr;
    const size_t *rank;
};

static void heap_push(struct heap *h, size_t x)
{
    size_t i = h->nr++;
    h->v[i] = x;
    while (i && h->rank[h->v[(i - 1) / 2]] > h->rank[h->v[i]]) {
        size_t p = (i - 1) / 2, t = h->v[p];
        h->v[p] = h->v[i];
        h->v[i] = t;
        i = p;
    }
}

static size_t heap_pop(struct heap *h)
{
    size_t top = h->v[0];
    h->v[0] = h->v[--h->nr];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < h->nr && h->rank[h->v[l]] < h->rank[h->v[m]])
            m = l;
        if (r < h->nr && h->rank[h->v[r]] < h->rank[h->v[m]])
            m = r;
        if (m == i)
            break;
        size_t t = h->v[m];
        h->v[m] = h->v[i];
        h->v[i] = t;
        i = m;
    }
    return top;
}

/*
 * Kahn's algorithm over the included units; edges with SOFT set are used
 * unless SKIP_SOFT_IN (when non-NULL) marks both of their ends. Returns the
 * number ordered into OUT; the rest are on a cycle or behind one.
 */
static size_t kahn(const struct graph *g, const bool *include, const size_t *rank,
                   const bool *skip_soft_in, bool hard_only, size_t *out)
{
    size_t *indeg = xcalloc(g->n ? g->n : 1, sizeof(size_t));
    struct heap h = {xcalloc(g->n ? g->n : 1, sizeof(size_t)), 0, rank};
    size_t n = 0;
#define EDGE_ON(v, i)                                                                              \
    (!g->soft[v][i] || (!hard_only && !(skip_soft_in && skip_soft_in[v] &&                         \
                                        skip_soft_in[g->adj[v][i]])))
    for (size_t v = 0; v < g->n; v++)
        for (size_t i = 0; include[v] && i < g->adj_nr[v]; i++)
            if (include[g->adj[v][i]] && EDGE_ON(v, i))
                indeg[g->adj[v][i]]++;
    for (size_t v = 0; v < g->n; v++)
        if (include[v] && !indeg[v])
            heap_push(&h, v);
    while (h.nr) {
        size_t v = heap_pop(&h);
        out[n++] = v;
        for (size_t i = 0; i < g->adj_nr[v]; i++) {
            size_t w = g->adj[v][i];
            if (include[w] && EDGE_ON(v, i) && !--indeg[w])
                heap_push(&h, w);
        }
    }
#undef EDGE_ON
    free(indeg);
    free(h.v);
    return n;
}

static int cmp_rank(const void *a, const void *b, void *arg)
{
    const struct code_set *cs = arg;
    const struct code_unit *x = &cs->units[*(const size_t *)a], *y = &cs->units[*(const size_t *)b];
    int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");
    if (c)
        return c;
    if (x->line != y->line)
        return x->line < y->line ? -1 : 1;
    return strcmp(x->identity, y->identity);
}

/* Print one cycle among the units LEFT (hard edges only). */
static void report_cycle(const struct code_set *cs, const struct graph *g, const bool *left)
{
    size_t start = 0;
    while (start < g->n && !left[start])
        start++;
    /* walk hard edges inside LEFT until a unit repeats: every such unit has a left successor */
    size_t *seen = xcalloc(g->n, sizeof(size_t)); /* step number + 1 */
    size_t *path = xcalloc(g->n + 1, sizeof(size_t)), len = 0, v = start;
    while (!seen[v]) {
        seen[v] = ++len;
        path[len - 1] = v;
        size_t next = g->n;
        for (size_t i = 0; i < g->adj_nr[v] && next == g->n; i++)
            if (left[g->adj[v][i]] && !g->soft[v][i])
                next = g->adj[v][i];
        if (next == g->n)
            break; /* cannot happen for a true cycle */
        v = next;
    }
    struct strbuf sb = STRBUF_INIT;
    size_t from = seen[v] ? seen[v] - 1 : 0;
    /* edges point from what is needed to what needs it: print "needs" backwards */
    for (size_t i = len; i-- > from;) {
        const struct code_unit *u = &cs->units[path[i]];
        strbuf_addf(&sb, "%s (%s/%s) needs ", u->identity, cs->dir, code_unit_where(u));
    }
    const struct code_unit *u = &cs->units[path[len - 1]];
    strbuf_addf(&sb, "%s (%s/%s)", u->identity, cs->dir, code_unit_where(u));
    error("dependency cycle between code objects: %s", sb.buf);
    strbuf_release(&sb);
    free(seen);
    free(path);
}

int code_order(const struct code_set *cs, const bool *include, const size_t (*extra)[2],
               size_t n_extra, size_t **order, size_t *n)
{
    size_t nu = cs->units_nr;
    struct graph g = {nu, xcalloc(nu + 1, sizeof(size_t *)), xcalloc(nu + 1, sizeof(bool *)),
                      xcalloc(nu + 1, sizeof(size_t)), xcalloc(nu + 1, sizeof(size_t))};
    bool *inc = xcalloc(nu + 1, sizeof(bool));
    size_t *rank = xcalloc(nu + 1, sizeof(size_t)), *byrank = xcalloc(nu + 1, sizeof(size_t));
    size_t *out = xcalloc(nu + 1, sizeof(size_t));
    int ret = 0;
    for (size_t i = 0; i < nu; i++) {
        inc[i] = include ? include[i] : true;
        byrank[i] = i;
    }
    qsort_r(byrank, nu, sizeof(size_t), cmp_rank, (void *)cs);
    for (size_t i = 0; i < nu; i++)
        rank[byrank[i]] = i;
    for (size_t i = 0; i < nu; i++) {
        const struct code_unit *u = &cs->units[i];
        if (!inc[i])
            continue;
        for (int soft = 0; soft < 2; soft++) {
            const struct strvec *deps = soft ? &u->body_depends : &u->depends;
            for (size_t k = 0; k < deps->nr; k++) {
                const struct code_unit *t = code_unit_find(cs, deps->v[k]);
                if (t)
                    graph_add(&g, code_unit_idx(cs, t), i, soft);
            }
        }
    }
    for (size_t e = 0; e < n_extra; e++)
        if (extra[e][0] < nu && extra[e][1] < nu)
            graph_add(&g, extra[e][0], extra[e][1], true);
    size_t want = 0;
    for (size_t i = 0; i < nu; i++)
        want += inc[i];
    size_t got = kahn(&g, inc, rank, NULL, false, out);
    if (got < want) {
        /* a cycle: of hard edges (an error), or one a soft edge closes (drop those) */
        bool *left = xcalloc(nu + 1, sizeof(bool));
        for (size_t i = 0; i < nu; i++)
            left[i] = inc[i];
        for (size_t i = 0; i < got; i++)
            left[out[i]] = false;
        size_t *tmp = xcalloc(nu + 1, sizeof(size_t));
        size_t hard = kahn(&g, left, rank, NULL, true, tmp);
        size_t nleft = want - got;
        if (hard < nleft) {
            for (size_t i = 0; i < hard; i++)
                left[tmp[i]] = false;
            report_cycle(cs, &g, left);
            ret = -1;
        } else {
            got = kahn(&g, inc, rank, left, false, out);
            if (got < want)
                BUG("code_order: %zu of %zu ordered after dropping soft edges", got, want);
        }
        free(tmp);
        free(left);
    }
    if (!ret) {
        *order = out;
        *n = got;
        out = NULL;
    }
    free(out);
    free(inc);
    free(rank);
    free(byrank);
    graph_free(&g);
    return ret;
}

/* ---- migrations ------------------------------------------------------------------ */

static void add_target(struct code_mig *m, char kind, const char *schema, const char *name,
                       const char *args, const char *column, const char *what, const char *file,
                       unsigned line)
{
    if (!name)
        return;
    ALLOC_GROW(m->targets, m->targets_nr + 1, m->targets_alloc);
    struct code_target *t = &m->targets[m->targets_nr++];
    t->kind = kind;
    t->schema = schema ? xstrdup(schema) : NULL;
    t->name = xstrdup(name);
    t->args = args ? xstrdup(args) : NULL;
    t->column = column ? xstrdup(column) : NULL;
    t->what = xstrdup(what);
    t->file = xstrdup(file);
    t->line = line;
}

/* 'r', 't', 'f' for a kind of object, 0 for kinds no code object depends on. */
static char target_kind(enum parse_obj_kind k)
{
    switch (k) {
    case PARSE_OBJ_TABLE:
    case PARSE_OBJ_FOREIGN_TABLE:
    case PARSE_OBJ_VIEW:
    case PARSE_OBJ_MATVIEW:
    case PARSE_OBJ_SEQUENCE:
        return 'r';
    case PARSE_OBJ_TYPE:
    case PARSE_OBJ_ENUM:
    case PARSE_OBJ_COMPOSITE:
    case PARSE_OBJ_RANGE:
    case PARSE_OBJ_DOMAIN:
        return 't';
    case PARSE_OBJ_FUNCTION:
    case PARSE_OBJ_PROCEDURE:
    case PARSE_OBJ_ROUTINE:
    case PARSE_OBJ_AGGREGATE:
        return 'f';
    default:
        return 0;
    }
}

static void analyse_stmt(struct code_mig *m, const struct parse_stmt *st, const char *file)
{
    struct strbuf what = STRBUF_INIT;
    if (st->status == PARSE_UNKNOWN) {
        strvec_pushf(&m->notes, "%s:%u: not analysed (the PostgreSQL 15 grammar rejects it: %s)",
                     file, st->pos.line, st->error ? st->error : "syntax error");
        return;
    }
    if (st->tx != PARSE_TX_NONE && !m->tx_control)
        m->tx_control = xasprintf("%s:%u", file, st->pos.line);
    for (size_t i = 0; i < st->creates_nr; i++) {
        const struct parse_object *o = &st->creates[i];
        char k = target_kind(o->kind);
        if (!k || !o->name || o->kind == PARSE_OBJ_COMMENT)
            continue;
        ALLOC_GROW(m->creates, m->creates_nr + 1, m->creates_alloc);
        struct code_ref *r = &m->creates[m->creates_nr++];
        memset(r, 0, sizeof(*r));
        r->kind = k == 'r' ? PARSE_REF_RELATION : k == 't' ? PARSE_REF_TYPE : PARSE_REF_FUNCTION;
        r->schema = o->schema ? xstrdup(o->schema) : NULL;
        r->name = xstrdup(o->name);
        r->nargs = -1;
        r->line = o->pos.line;
    }
    for (size_t i = 0; i < st->changes_nr; i++) {
        const struct parse_change *c = &st->changes[i];
        strbuf_reset(&what);
        if (c->kind == PARSE_OBJ_COLUMN) {
            /* RENAME COLUMN: the relation, that column */
            if (c->action == PARSE_RENAME && c->table) {
                strbuf_addf(&what, "RENAME COLUMN %s", c->subname ? c->subname : c->name);
                add_target(m, 'r', c->table_schema, c->table, NULL, c->subname ? c->subname : c->name,
                           what.buf, file, c->pos.line);
            }
            continue;
        }
        char k = target_kind(c->kind);
        if (!k)
            continue;
        switch (c->action) {
        case PARSE_DROP:
            strbuf_addstr(&what, "DROP ");
            upper_kind(&what, c->kind_name);
            add_target(m, k, c->schema, c->name, c->args, NULL, what.buf, file, c->pos.line);
            break;
        case PARSE_RENAME:
            if (c->subname) {
                /* RENAME ATTRIBUTE / CONSTRAINT ...: attributes matter, constraints do not */
                if (k == 'r' || k == 't') {
                    strbuf_addf(&what, "RENAME %s", c->subname);
                    add_target(m, k, c->schema, c->name, NULL, c->subname, what.buf, file,
                               c->pos.line);
                }
                break;
            }
            strbuf_addstr(&what, "RENAME ");
            upper_kind(&what, c->kind_name);
            add_target(m, k, c->schema, c->name, c->args, NULL, what.buf, file, c->pos.line);
            break;
        case PARSE_SET_SCHEMA:
            strbuf_addstr(&what, "SET SCHEMA of ");
            upper_kind(&what, c->kind_name);
            add_target(m, k, c->schema, c->name, c->args, NULL, what.buf, file, c->pos.line);
            break;
        case PARSE_ALTER:
            for (size_t j = 0; j < c->cmds_nr; j++) {
                const struct parse_alter_cmd *a = &c->cmds[j];
                strbuf_reset(&what);
                if (!strcmp(a->type, "AlterColumnType"))
                    strbuf_addf(&what, "ALTER COLUMN %s TYPE", a->name ? a->name : "?");
                else if (!strcmp(a->type, "DropColumn"))
                    strbuf_addf(&what, "DROP COLUMN %s", a->name ? a->name : "?");
                else
                    continue;
                add_target(m, k, c->schema, c->name, NULL, a->name, what.buf, file, c->pos.line);
            }
            break;
        }
    }
    strbuf_release(&what);
}

static int analyse_file(struct code_mig *m, const char *path, int depth);

static void analyse_text(struct code_mig *m, const char *path, const char *sql, unsigned line)
{
    struct parse_list pl = PARSE_LIST_INIT;
    parse_sql(&pl, sql, line, 1);
    for (size_t i = 0; i < pl.nr; i++)
        analyse_stmt(m, &pl.v[i], path);
    parse_list_release(&pl);
}

static int analyse_file(struct code_mig *m, const char *path, int depth)
{
    struct strbuf text = STRBUF_INIT, query = STRBUF_INIT;
    const char *why = NULL;
    if (depth > 32)
        return error("%s: includes nested too deep", path);
    if (fs_read_regular(path, (size_t)256 << 20, &text, &why) < 0) {
        error("cannot read '%s': %s", path, why);
        strbuf_release(&text);
        return -1;
    }
    struct sql_lexer lx;
    sql_lexer_init(&lx);
    unsigned lineno = 0, start = 0;
    int ret = 0;
    const char *p = text.buf, *end = text.buf + text.len;
    while (p < end && !ret) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        lineno++;
        if (query.len)
            strbuf_addch(&query, '\n');
        sql_lexer_feed(&lx, p, len);
        for (enum sql_scan_result r; (r = sql_scan(&lx, &query, NULL)) != SQL_SCAN_EOL;) {
            if (query.len && !start)
                start = lineno;
            if (r == SQL_SCAN_SEMI) {
                analyse_text(m, path, query.buf, start ? start : lineno);
                strbuf_reset(&query);
                sql_lexer_reset(&lx);
                start = 0;
                continue;
            }
            char *cmd = sql_scan_cmd(&lx);
            bool inc = !strcmp(cmd, "i") || !strcmp(cmd, "include");
            bool rel = !strcmp(cmd, "ir") || !strcmp(cmd, "include_relative");
            for (char *arg; (arg = sql_scan_arg(&lx, NULL, true, NULL));) {
                if ((inc || rel) && !ret) {
                    char *dir = xstrdup(path), *slash = strrchr(dir, '/');
                    if (slash)
                        *slash = 0;
                    char *f = arg[0] == '/' || !rel || !slash ? xstrdup(arg) : path_join(dir, arg);
                    ret = analyse_file(m, f, depth + 1);
                    free(f);
                    free(dir);
                    inc = rel = false;
                }
                free(arg);
            }
            free(cmd);
        }
        if (query.len && !start)
            start = lineno;
        strbuf_reset(&lx.warnings);
        p = nl ? nl + 1 : end;
    }
    if (!ret && query.len) {
        size_t n = query.len;
        while (n && (query.buf[n - 1] == ' ' || query.buf[n - 1] == '\n' || query.buf[n - 1] == '\t'))
            n--;
        if (n)
            analyse_text(m, path, query.buf, start ? start : lineno);
    }
    sql_lexer_release(&lx);
    strbuf_release(&query);
    strbuf_release(&text);
    return ret;
}

int code_mig_analyse(const char *path, struct code_mig *m)
{
    return analyse_file(m, path, 0);
}

void code_mig_release(struct code_mig *m)
{
    for (size_t i = 0; i < m->targets_nr; i++) {
        struct code_target *t = &m->targets[i];
        free(t->schema);
        free(t->name);
        free(t->args);
        free(t->column);
        free(t->what);
        free(t->file);
    }
    free(m->targets);
    for (size_t i = 0; i < m->creates_nr; i++)
        ref_release(&m->creates[i]);
    free(m->creates);
    free(m->tx_control);
    strvec_clear(&m->notes);
    memset(m, 0, sizeof(*m));
}
