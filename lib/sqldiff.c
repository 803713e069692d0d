/*
 * sqldiff.c — the differ's engine: pair A's and B's objects, decide what
 * must be re-created because something it depends on goes, collect the
 * actions sqldiff_ddl.c writes, order them (topologically, by the
 * dependencies the catalog read from pg_depend, ties broken by kind and
 * name so the output is deterministic), and print them.
 */
#include "lib/sqldiff_int.h"
#include "lib/parse.h"

static const char *const hazard_names[SQLDIFF_NHAZARDS] = {
    "data-loss", "table-rewrite", "full-scan-under-lock", "blocking-index-build", "mass-drop",
};

const char *sqldiff_hazard_name(unsigned hazard)
{
    for (int i = 0; i < SQLDIFF_NHAZARDS; i++)
        if (hazard == 1u << i)
            return hazard_names[i];
    return NULL;
}

unsigned sqldiff_hazard_parse(const char *name)
{
    for (int i = 0; i < SQLDIFF_NHAZARDS; i++)
        if (!strcmp(name, hazard_names[i]))
            return 1u << i;
    return 0;
}

void sqldiff_hazard_names(unsigned hazards, struct strbuf *sb)
{
    bool first = true;
    for (int i = 0; i < SQLDIFF_NHAZARDS; i++)
        if (hazards & (1u << i)) {
            strbuf_addf(sb, "%s%s", first ? "" : ", ", hazard_names[i]);
            first = false;
        }
}

/* The one table of lint rules (lib/parse.h) and their hazard classes (see sqldiff.h). */
static const struct {
    const char *rule;
    unsigned hazard;
} rule_classes[] = {
    {"drop-table", SQLDIFF_DATA_LOSS},
    {"drop-column", SQLDIFF_DATA_LOSS},
    {"drop-type", SQLDIFF_DATA_LOSS},
    {"alter-column-type", SQLDIFF_TABLE_REWRITE},
    {"add-column-volatile-default", SQLDIFF_TABLE_REWRITE},
    {"add-fk-without-not-valid", SQLDIFF_FULL_SCAN},
    {"add-check-without-not-valid", SQLDIFF_FULL_SCAN},
    {"set-not-null", SQLDIFF_FULL_SCAN},
    {"create-index-without-concurrently", SQLDIFF_BLOCKING_INDEX},
    {"rename", 0},
    {"lock-timeout-set", 0},
};

unsigned sqldiff_rule_hazard(const char *rule)
{
    for (size_t i = 0; i < ARRAY_SIZE(rule_classes); i++)
        if (!strcmp(rule, rule_classes[i].rule))
            return rule_classes[i].hazard;
    return 0;
}

bool sqldiff_rule_known(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(rule_classes); i++)
        if (!strcmp(name, rule_classes[i].rule))
            return true;
    return false;
}

int sqldiff_allow_parse(const char *list, struct sqldiff_allow *out, char **bad)
{
    memset(out, 0, sizeof(*out));
    out->rules = (struct strvec)STRVEC_INIT;
    *bad = NULL;
    char *copy = xstrdup(list ? list : ""), *save = NULL;
    int r = 0;
    for (char *tok = strtok_r(copy, ", ", &save); tok; tok = strtok_r(NULL, ", ", &save)) {
        unsigned h;
        if (!strcmp(tok, "all"))
            out->all = true;
        else if ((h = sqldiff_hazard_parse(tok)))
            out->classes |= h;
        else if (sqldiff_rule_known(tok))
            strvec_push(&out->rules, tok);
        else {
            *bad = xstrdup(tok);
            r = -1;
            break;
        }
    }
    free(copy);
    return r;
}

void sqldiff_allow_release(struct sqldiff_allow *a)
{
    strvec_clear(&a->rules);
}

static bool allow_has_rule(const struct sqldiff_allow *a, const char *rule, size_t len)
{
    for (size_t i = 0; i < a->rules.nr; i++)
        if (strlen(a->rules.v[i]) == len && !memcmp(a->rules.v[i], rule, len))
            return true;
    return false;
}

unsigned sqldiff_stmt_refused(const struct sqldiff_stmt *s, const struct sqldiff_allow *allow)
{
    if (!allow)
        return s->hazards;
    if (allow->all)
        return 0;
    unsigned refused = 0;
    for (int i = 0; i < SQLDIFF_NHAZARDS; i++) {
        unsigned h = 1u << i;
        if (!(s->hazards & h) || (allow->classes & h))
            continue;
        /* the statement's rules of this class, every one allowed */
        bool any = false, all = true;
        for (const char *p = s->rules; p && *p;) {
            size_t n = strcspn(p, ",");
            char *rule = xstrndup(p, n);
            if (sqldiff_rule_hazard(rule) == h) {
                any = true;
                all = all && allow_has_rule(allow, p, n);
            }
            free(rule);
            p += n;
            while (*p == ',' || *p == ' ')
                p++;
        }
        if (!any || !all)
            refused |= h;
    }
    return refused;
}

/* Name each hazardous statement with the lint rules of lib/parse that match its classes. */
static void lint_statements(struct sqldiff *d)
{
    for (size_t i = 0; i < d->nr; i++) {
        struct sqldiff_stmt *s = &d->v[i];
        if (!s->hazards)
            continue;
        struct parse_list pl = PARSE_LIST_INIT;
        parse_sql(&pl, s->sql, 1, 1);
        struct strvec seen = STRVEC_INIT;
        struct strbuf sb = STRBUF_INIT;
        for (size_t k = 0; k < pl.nr; k++)
            for (size_t f = 0; f < pl.v[k].findings_nr; f++) {
                const char *rule = pl.v[k].findings[f].rule;
                bool dup = false;
                for (size_t j = 0; j < seen.nr; j++)
                    dup = dup || !strcmp(seen.v[j], rule);
                if (dup || !(sqldiff_rule_hazard(rule) & s->hazards))
                    continue;
                strvec_push(&seen, rule);
                strbuf_addf(&sb, "%s%s", sb.len ? "," : "", rule);
            }
        parse_list_release(&pl);
        strvec_clear(&seen);
        free(s->rules);
        s->rules = sb.len ? strbuf_detach(&sb, NULL) : NULL;
        strbuf_release(&sb);
    }
}

/* ---- pairs ---- */

static int cmp_key(enum cat_kind k1, const char *i1, enum cat_kind k2, const char *i2)
{
    if (k1 != k2)
        return k1 < k2 ? -1 : 1;
    return strcmp(i1, i2);
}

struct pair *sqld_pair(struct differ *d, enum cat_kind kind, const char *ident)
{
    size_t lo = 0, hi = d->npairs;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        const struct cat_object *o = d->pairs[mid].a ? d->pairs[mid].a : d->pairs[mid].b;
        int c = cmp_key(kind, ident, o->kind, o->ident);
        if (!c)
            return &d->pairs[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return NULL;
}

struct colpair *sqld_colpair(struct pair *p, const char *a_name)
{
    for (size_t i = 0; p && i < p->ncols; i++)
        if (p->cols[i].a && !strcmp(p->cols[i].a->name, a_name))
            return &p->cols[i];
    return NULL;
}

bool sqld_gone(const struct pair *p)
{
    return p->state == ST_DROP || p->state == ST_RECREATE;
}

static void make_pairs(struct differ *d)
{
    const struct catalog *a = d->a, *b = d->b;
    size_t i = 0, j = 0;
    d->pairs = xcalloc(a->nall + b->nall + 1, sizeof(*d->pairs));
    while (i < a->nall || j < b->nall) {
        int c = i == a->nall ? 1
                : j == b->nall ? -1
                               : cmp_key(a->all[i]->kind, a->all[i]->ident, b->all[j]->kind,
                                         b->all[j]->ident);
        struct pair *p = &d->pairs[d->npairs++];
        if (c <= 0)
            p->a = a->all[i++];
        if (c >= 0)
            p->b = b->all[j++];
    }
}

/* ---- what goes because something it depends on goes ---- */

static bool mark_recreate(struct pair *p)
{
    if (p->state == ST_RECREATE || p->state == ST_DROP || p->state == ST_CREATE)
        return false;
    p->state = ST_RECREATE;
    if (p->a->kind == CAT_TYPE)
        p->swap = true;
    return true;
}

/* Whether Y's dependency DEP is on something that goes (or a column that changes). */
static bool dep_hit(struct differ *d, const struct cat_object *y, const struct cat_dep *dep)
{
    struct pair *rp = sqld_pair(d, dep->ref->kind, dep->ref->ident);
    if (!rp)
        return false;
    if (sqld_gone(rp))
        return true;
    if (!dep->ref_column || !rp->cols)
        return false;
    struct colpair *rc = sqld_colpair(rp, dep->ref_column);
    if (!rc || !(rc->changed || !rc->b))
        return false;
    /* PostgreSQL rebuilds a table's indexes and constraints when a column's type changes */
    if ((y->kind == CAT_CONSTRAINT || y->kind == CAT_INDEX) && rc->b && !rc->recreate)
        return false;
    return true;
}

static void propagate(struct differ *d)
{
    bool again = true;
    while (again) {
        again = false;
        for (size_t i = 0; i < d->npairs; i++) {
            struct pair *p = &d->pairs[i];
            const struct cat_object *y = p->a;
            if (!y || !p->b || sqld_gone(p))
                continue;
            for (size_t k = 0; k < y->ndeps; k++) {
                const struct cat_dep *dep = &y->deps[k];
                if (dep->column && y->kind == CAT_TABLE) {
                    /* a column's type or default: the column is converted, or its default reset */
                    struct colpair *c = sqld_colpair(p, dep->column);
                    struct pair *rp = sqld_pair(d, dep->ref->kind, dep->ref->ident);
                    if (!c || !c->b || c->recreate || !rp || !sqld_gone(rp))
                        continue;
                    if (rp->swap && !c->convert) {
                        c->convert = c->changed = true;
                        again = true;
                    } else if (!rp->swap && !c->reset_default) {
                        c->reset_default = true;
                        again = true;
                    }
                    continue;
                }
                if (dep_hit(d, y, dep) && mark_recreate(p)) {
                    again = true;
                    break;
                }
            }
        }
        /* a sequence whose owning column goes loses its OWNED BY first (sqldiff_ddl.c) */
    }
}

/* Whether a foreign key references a table (or a key) that goes. */
static bool fk_target_gone(struct differ *d, const struct cat_object *fk)
{
    const char *own = CAT_AS(cat_constraint, fk)->table;
    for (size_t k = 0; k < fk->ndeps; k++) {
        const struct cat_object *ref = fk->deps[k].ref;
        struct pair *rp = sqld_pair(d, ref->kind, ref->ident);
        if (!rp || !sqld_gone(rp))
            continue;
        if (ref->kind == CAT_TABLE && strcmp(ref->ident, own))
            return true;
        if (ref->kind == CAT_CONSTRAINT && strcmp(CAT_AS(cat_constraint, ref)->table, own))
            return true;
    }
    return false;
}

/* Objects that go with what holds them need no DROP of their own. */
static void mark_implicit(struct differ *d)
{
    for (size_t i = 0; i < d->npairs; i++) {
        struct pair *p = &d->pairs[i];
        const struct cat_object *o = p->a;
        const char *holder = NULL;
        struct pair *hp;
        if (!o || !sqld_gone(p))
            continue;
        switch (o->kind) {
        case CAT_CONSTRAINT:
            /*
             * A foreign key whose referenced table goes too is dropped on its
             * own first: two tables referencing each other could not go else.
             */
            if (CAT_AS(cat_constraint, o)->type == 'f' && fk_target_gone(d, o))
                break;
            holder = CAT_AS(cat_constraint, o)->table;
            break;
        case CAT_INDEX:
            holder = CAT_AS(cat_index, o)->table;
            break;
        case CAT_TRIGGER:
            holder = CAT_AS(cat_trigger, o)->table;
            break;
        case CAT_POLICY:
            holder = CAT_AS(cat_policy, o)->table;
            break;
        case CAT_SEQUENCE: {
            const struct cat_sequence *s = CAT_AS(cat_sequence, o);
            if (!s->owned_table)
                break;
            hp = sqld_pair(d, CAT_TABLE, s->owned_table);
            struct colpair *c = sqld_colpair(hp, s->owned_column);
            if (hp && sqld_gone(hp)) {
                p->implicit_drop = true;
                p->holder = hp->a;
            } else if (c && (!c->b || c->recreate)) {
                p->implicit_drop = true;
                p->holder = hp->a;
                p->holder_column = c->a->name;
            }
            break;
        }
        case CAT_DEFACL:
            if (CAT_AS(cat_defacl, o)->in_schema) {
                hp = sqld_pair(d, CAT_SCHEMA, CAT_AS(cat_defacl, o)->in_schema);
                p->implicit_drop = hp && sqld_gone(hp);
                p->holder = p->implicit_drop ? hp->a : NULL;
            }
            break;
        default:
            break;
        }
        if (holder) {
            for (int k = CAT_TABLE; k <= CAT_MATVIEW && !p->implicit_drop; k++) {
                hp = sqld_pair(d, (enum cat_kind)k, holder);
                p->implicit_drop = hp && sqld_gone(hp);
                p->holder = p->implicit_drop ? hp->a : NULL;
            }
        }
    }
}

/* ---- actions ---- */

static int kind_rank(enum cat_kind k, bool column)
{
    static const int rank[CAT_NKINDS] = {
        [CAT_SCHEMA] = 0,    [CAT_EXTENSION] = 1, [CAT_TYPE] = 2,     [CAT_SEQUENCE] = 3,
        [CAT_TABLE] = 4,     [CAT_CONSTRAINT] = 6, [CAT_INDEX] = 7,   [CAT_VIEW] = 8,
        [CAT_MATVIEW] = 9,   [CAT_FUNCTION] = 10, [CAT_TRIGGER] = 11, [CAT_POLICY] = 12,
        [CAT_EVENT_TRIGGER] = 13, [CAT_DEFACL] = 15,
    };
    return column ? 5 : rank[k];
}

struct action *sqld_action(struct differ *d, enum phase ph, const struct cat_object *obj,
                           const char *column, bool provides)
{
    struct action *a = xcalloc(1, sizeof(*a));
    a->phase = ph;
    a->kind = obj->kind;
    a->ident = obj->ident;
    a->column = column;
    a->provides = provides;
    a->rank = kind_rank(obj->kind, column != NULL);
    a->seq = d->nacts;
    ALLOC_GROW(d->acts, d->nacts + 1, d->aacts);
    d->acts[d->nacts++] = a;
    return a;
}

void sqld_source(struct action *a, const struct cat_object *obj, enum src_mode mode,
                 const char *column)
{
    a->src = xrealloc(a->src, (a->nsrc + 1) * sizeof(*a->src));
    a->src[a->nsrc++] = (struct source){obj, mode, column};
}

void sqld_wait(struct action *a, enum cat_kind kind, const char *ident, const char *column)
{
    a->waits = xrealloc(a->waits, (a->nwaits + 1) * sizeof(*a->waits));
    a->waits[a->nwaits++] = (struct wait){kind, ident, column};
}

static void stmt_va(struct action *a, bool notx, unsigned hazards, const char *reason,
                    const char *fmt, va_list ap)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_vaddf(&sb, fmt, ap);
    ALLOC_GROW(a->stmts, a->nstmts + 1, a->astmts);
    a->stmts[a->nstmts++] = (struct sqldiff_stmt){strbuf_detach(&sb, NULL), notx, hazards,
                                                  hazards && reason ? xstrdup(reason) : NULL, NULL};
}

void sqld_stmt(struct action *a, unsigned hazards, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stmt_va(a, false, hazards, reason, fmt, ap);
    va_end(ap);
}

void sqld_stmt_notx(struct action *a, unsigned hazards, const char *reason, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    stmt_va(a, true, hazards, reason, fmt, ap);
    va_end(ap);
}

void sqld_note(struct differ *d, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    strvec_push(&d->out->notes, sb.buf);
    strbuf_release(&sb);
}

static void free_action(struct action *a)
{
    for (size_t i = 0; i < a->nstmts; i++) {
        free(a->stmts[i].sql);
        free(a->stmts[i].reason);
    }
    free(a->stmts);
    free(a->src);
    free(a->waits);
    free(a->succ);
    free(a);
}

/* ---- ordering ---- */

static int cmp_action_key(const struct action *x, const struct action *y)
{
    if (x->phase != y->phase)
        return x->phase < y->phase ? -1 : 1;
    int c = cmp_key(x->kind, x->ident, y->kind, y->ident);
    if (c)
        return c;
    if (!x->column || !y->column)
        return x->column ? 1 : y->column ? -1 : 0;
    return strcmp(x->column, y->column);
}

static int cmp_action_ptr(const void *p, const void *q)
{
    const struct action *x = *(struct action *const *)p, *y = *(struct action *const *)q;
    int c = cmp_action_key(x, y);
    return c ? c : (x->seq < y->seq ? -1 : x->seq > y->seq);
}

static void add_edge(struct action *from, struct action *to)
{
    for (size_t i = 0; i < from->nsucc; i++)
        if (from->succ[i] == to->seq)
            return;
    ALLOC_GROW(from->succ, from->nsucc + 1, from->asucc);
    from->succ[from->nsucc++] = to->seq;
    to->indeg++;
}

/*
 * Link P to the providing actions on (KIND, IDENT) of its phase: the whole
 * object's, and the column's when COLUMN is given.
 */
static void link(struct differ *d, struct action **sorted, struct action *p, enum cat_kind kind,
                 const char *ident, const char *column)
{
    size_t lo = 0, hi = d->nacts;
    while (lo < hi) { /* first action of (phase, kind, ident) */
        size_t mid = (lo + hi) / 2;
        const struct action *m = sorted[mid];
        int c = m->phase != p->phase ? (m->phase < p->phase ? -1 : 1)
                                     : cmp_key(m->kind, m->ident, kind, ident);
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    for (size_t i = lo; i < d->nacts; i++) {
        struct action *q = sorted[i];
        if (q->phase != p->phase || q->kind != kind || strcmp(q->ident, ident))
            break;
        if (q == p || !q->provides)
            continue;
        if (q->column && (!column || strcmp(q->column, column)))
            continue;
        if (p->phase == PH_CREATE)
            add_edge(q, p);
        else
            add_edge(p, q);
    }
}

static void build_edges(struct differ *d)
{
    struct action **sorted = xmalloc((d->nacts + 1) * sizeof(*sorted));
    if (d->nacts) /* acts is NULL when nothing differs */
        memcpy(sorted, d->acts, d->nacts * sizeof(*sorted));
    qsort(sorted, d->nacts, sizeof(*sorted), cmp_action_ptr);
    for (size_t i = 0; i < d->nacts; i++) {
        struct action *p = d->acts[i];
        for (size_t s = 0; s < p->nsrc; s++) {
            const struct source *src = &p->src[s];
            for (size_t k = 0; k < src->obj->ndeps; k++) {
                const struct cat_dep *dep = &src->obj->deps[k];
                if (src->mode == SRC_OBJECT && dep->column)
                    continue;
                if (src->mode == SRC_COLUMN &&
                    (!dep->column || strcmp(dep->column, src->column)))
                    continue;
                link(d, sorted, p, dep->ref->kind, dep->ref->ident, dep->ref_column);
            }
        }
        for (size_t w = 0; w < p->nwaits; w++)
            link(d, sorted, p, p->waits[w].kind, p->waits[w].ident, p->waits[w].column);
    }
    free(sorted);
}

/* Which of two ready actions goes first: creates by rising rank, drops by falling rank. */
static bool before(const struct action *x, const struct action *y)
{
    if (x->rank != y->rank)
        return x->phase == PH_CREATE ? x->rank < y->rank : x->rank > y->rank;
    int c = cmp_key(x->kind, x->ident, y->kind, y->ident);
    if (c)
        return c < 0;
    if (!x->column != !y->column)
        return !x->column == (x->phase == PH_CREATE);
    if (x->column && (c = strcmp(x->column, y->column)))
        return c < 0;
    return x->seq < y->seq;
}

static void emit_action(struct differ *d, struct action *a)
{
    struct sqldiff *out = d->out;
    for (size_t i = 0; i < a->nstmts; i++) {
        ALLOC_GROW(out->v, out->nr + 1, out->alloc);
        out->v[out->nr++] = a->stmts[i];
        out->hazards |= a->stmts[i].hazards;
    }
    a->nstmts = 0; /* handed over */
}

/*
 * Every action left is waiting: walk back through predecessors still
 * waiting until one repeats; of that cycle, the first by kind and name goes.
 */
static struct action *break_cycle(struct differ *d, struct action *start)
{
    size_t n = d->nacts, *pred = xmalloc(n * sizeof(*pred));
    unsigned char *seen = xcalloc(n, 1);
    for (size_t i = 0; i < n; i++)
        pred[i] = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const struct action *a = d->acts[i];
        if (a->done || a->phase != start->phase)
            continue;
        for (size_t k = 0; k < a->nsucc; k++)
            if (pred[a->succ[k]] == SIZE_MAX)
                pred[a->succ[k]] = i;
    }
    size_t at = start->seq;
    while (!seen[at] && pred[at] != SIZE_MAX) {
        seen[at] = 1;
        at = pred[at];
    }
    struct action *best = d->acts[at];
    for (size_t i = pred[at]; i != SIZE_MAX && i != at; i = pred[i])
        if (before(d->acts[i], best))
            best = d->acts[i];
    free(pred);
    free(seen);
    return best;
}

static void order_phase(struct differ *d, enum phase ph)
{
    for (;;) {
        struct action *best = NULL, *stuck = NULL;
        for (size_t i = 0; i < d->nacts; i++) {
            struct action *a = d->acts[i];
            if (a->phase != ph || a->done)
                continue;
            if (!a->indeg && (!best || before(a, best)))
                best = a;
            if (!stuck)
                stuck = a;
        }
        if (!best && !stuck)
            return;
        if (!best) {
            /* a cycle the dependencies do not resolve (none known to happen) */
            best = break_cycle(d, stuck);
            sqld_note(d, "dependency cycle through %s %s: its statements may need reordering",
                      catalog_kind_name(best->kind), best->ident);
        }
        best->done = true;
        for (size_t i = 0; i < best->nsucc; i++)
            d->acts[best->succ[i]]->indeg--;
        emit_action(d, best);
    }
}

/* ---- the whole diff ---- */

size_t sqldiff_compute(const struct catalog *from, const struct catalog *to,
                       const struct sqldiff_options *opts, struct sqldiff *out)
{
    static const struct sqldiff_options defaults = {0};
    struct differ d = {from, to, opts ? *opts : defaults, out, NULL, 0, NULL, 0, 0, false};
    memset(out, 0, sizeof(*out));
    out->notes = (struct strvec)STRVEC_INIT;
    if (!d.opts.mass_drop_percent)
        d.opts.mass_drop_percent = 25;

    make_pairs(&d);
    for (size_t i = 0; i < d.npairs; i++)
        sqld_classify(&d, &d.pairs[i]);
    propagate(&d);
    mark_implicit(&d);
    for (size_t i = 0; i < d.npairs; i++) {
        struct pair *p = &d.pairs[i];
        /* the project's objects: the hectic bundle's own (which grows with releases) never
         * count towards a mass drop */
        bool counted = p->a && p->a->kind != CAT_DEFACL && !(p->a->schema && !strcmp(p->a->schema, "hectic"));
        if (counted)
            out->objects++;
        if (counted && p->state == ST_DROP)
            out->dropped++;
    }
    for (size_t i = 0; i < d.npairs; i++)
        sqld_emit(&d, &d.pairs[i]);

    /* mass drop: every DROP of an object that is not re-created carries it */
    if (out->objects && out->dropped * 100 > (size_t)d.opts.mass_drop_percent * out->objects) {
        for (size_t i = 0; i < d.nacts; i++) {
            struct action *a = d.acts[i];
            struct pair *p = a->phase == PH_DROP && !a->column ? sqld_pair(&d, a->kind, a->ident)
                                                               : NULL;
            for (size_t k = 0; p && p->state == ST_DROP && k < a->nstmts; k++) {
                struct sqldiff_stmt *s = &a->stmts[k];
                char *r = xasprintf("%s%s%zu of %zu objects dropped", s->reason ? s->reason : "",
                                    s->reason ? "; " : "", out->dropped, out->objects);
                free(s->reason);
                s->reason = r;
                s->hazards |= SQLDIFF_MASS_DROP;
            }
        }
    }

    /*
     * An object dropped with its holder is gone when the holder's DROP runs:
     * what it depends on must outlive that DROP.
     */
    for (size_t i = 0; i < d.npairs; i++) {
        struct pair *p = &d.pairs[i];
        for (size_t k = 0; p->implicit_drop && p->holder && k < d.nacts; k++) {
            struct action *a = d.acts[k];
            if (a->phase == PH_DROP && a->kind == p->holder->kind && a->provides &&
                !strcmp(a->ident, p->holder->ident) &&
                (p->holder_column ? a->column && !strcmp(a->column, p->holder_column) : !a->column))
                sqld_source(a, p->a, SRC_ALL, NULL);
        }
    }
    build_edges(&d);
    order_phase(&d, PH_DROP);
    if (d.sql_functions) {
        /* like pg_dump: SQL function bodies may name objects created after them */
        ALLOC_GROW(out->v, out->nr + 1, out->alloc);
        out->v[out->nr++] =
            (struct sqldiff_stmt){xstrdup("SET check_function_bodies = false"), false, 0, NULL, NULL};
    }
    order_phase(&d, PH_CREATE);
    order_phase(&d, PH_FINAL);

    for (size_t i = 0; i < d.nacts; i++)
        free_action(d.acts[i]);
    free(d.acts);
    for (size_t i = 0; i < d.npairs; i++)
        free(d.pairs[i].cols);
    free(d.pairs);
    /* a lone SET is no difference */
    if (out->nr == 1 && d.sql_functions)
        sqldiff_release(out);
    lint_statements(out);
    return out->nr;
}

void sqldiff_release(struct sqldiff *d)
{
    for (size_t i = 0; i < d->nr; i++) {
        free(d->v[i].sql);
        free(d->v[i].reason);
        free(d->v[i].rules);
    }
    free(d->v);
    strvec_clear(&d->notes);
    memset(d, 0, sizeof(*d));
    d->notes = (struct strvec)STRVEC_INIT;
}

/* ---- output ---- */

static void hazard_comment(struct strbuf *sb, const struct sqldiff_stmt *s)
{
    if (!s->hazards)
        return;
    strbuf_addstr(sb, "-- hazard ");
    sqldiff_hazard_names(s->hazards, sb);
    if (s->rules) {
        strbuf_addstr(sb, " (");
        for (const char *p = s->rules; *p; p++) {
            strbuf_addch(sb, *p);
            if (*p == ',')
                strbuf_addch(sb, ' ');
        }
        strbuf_addch(sb, ')');
    }
    strbuf_addf(sb, ": %s\n", s->reason ? s->reason : "");
}

void sqldiff_format_sql(const struct sqldiff *d, struct strbuf *sb)
{
    bool in_tx = false;
    for (size_t i = 0; i < d->nr; i++) {
        const struct sqldiff_stmt *s = &d->v[i];
        if (s->no_transaction && in_tx) {
            strbuf_addstr(sb, "COMMIT;\n");
            in_tx = false;
        } else if (!s->no_transaction && !in_tx) {
            strbuf_addstr(sb, "BEGIN;\n");
            in_tx = true;
        }
        hazard_comment(sb, s);
        if (s->no_transaction)
            strbuf_addstr(sb, "-- outside a transaction block\n");
        strbuf_addf(sb, "%s;\n", s->sql);
    }
    if (in_tx)
        strbuf_addstr(sb, "COMMIT;\n");
}


static void json_hazards(struct strbuf *sb, unsigned hazards)
{
    bool first = true;
    strbuf_addch(sb, '[');
    for (int i = 0; i < SQLDIFF_NHAZARDS; i++)
        if (hazards & (1u << i)) {
            strbuf_addstr(sb, first ? "" : ",");
            strbuf_add_json_str(sb, hazard_names[i]);
            first = false;
        }
    strbuf_addch(sb, ']');
}

void sqldiff_format_json(const struct sqldiff *d, struct strbuf *sb)
{
    strbuf_addstr(sb, "{\"statements\":[");
    for (size_t i = 0; i < d->nr; i++) {
        const struct sqldiff_stmt *s = &d->v[i];
        strbuf_addstr(sb, i ? ",\n{\"sql\":" : "\n{\"sql\":");
        strbuf_add_json_str(sb, s->sql);
        strbuf_addf(sb, ",\"transaction\":%s,\"hazards\":", s->no_transaction ? "false" : "true");
        json_hazards(sb, s->hazards);
        strbuf_addstr(sb, ",\"rules\":[");
        for (const char *p = s->rules; p && *p;) {
            size_t n = strcspn(p, ",");
            char *rule = xstrndup(p, n);
            strbuf_addstr(sb, p == s->rules ? "" : ",");
            strbuf_add_json_str(sb, rule);
            free(rule);
            p += n + (p[n] == ',');
        }
        strbuf_addstr(sb, "],\"reason\":");
        if (s->reason)
            strbuf_add_json_str(sb, s->reason);
        else
            strbuf_addstr(sb, "null");
        strbuf_addch(sb, '}');
    }
    strbuf_addstr(sb, "],\n\"hazards\":");
    json_hazards(sb, d->hazards);
    strbuf_addf(sb, ",\"objects\":%zu,\"dropped\":%zu,\"notes\":[", d->objects, d->dropped);
    for (size_t i = 0; i < d->notes.nr; i++) {
        strbuf_addstr(sb, i ? "," : "");
        strbuf_add_json_str(sb, d->notes.v[i]);
    }
    strbuf_addstr(sb, "]}\n");
}

void sqldiff_format_hazards(const struct sqldiff *d, struct strbuf *sb)
{
    for (size_t i = 0; i < d->nr; i++)
        hazard_comment(sb, &d->v[i]);
    for (size_t i = 0; i < d->notes.nr; i++)
        strbuf_addf(sb, "-- note: %s\n", d->notes.v[i]);
}
