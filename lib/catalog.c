/*
 * catalog.c — the schema model's memory, lookups and canonical text form.
 * Reading it from a server is catalog_read.c.
 */
#include "lib/catalog.h"

/* ---- memory: an arena for the model, plus blocks and query results it frees ---- */

struct chunk {
    struct chunk *next;
    size_t used, size;
    max_align_t data[];
};

struct cat_mem {
    struct chunk *chunks;
    void **blocks;
    size_t nblocks, ablocks;
    PGresult **results;
    size_t nresults, aresults;
};

struct catalog *catalog_new(void)
{
    struct catalog *cat = xcalloc(1, sizeof(*cat));
    cat->mem = xcalloc(1, sizeof(*cat->mem));
    return cat;
}

void *catalog_alloc(struct catalog *cat, size_t size)
{
    struct chunk *c = cat->mem->chunks;
    size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    if (!c || c->size - c->used < size) {
        size_t want = size > 32768 ? size : 32768;
        c = xmalloc(sizeof(*c) + want);
        c->size = want;
        c->used = 0;
        c->next = cat->mem->chunks;
        cat->mem->chunks = c;
    }
    void *p = (char *)c->data + c->used;
    c->used += size;
    memset(p, 0, size);
    return p;
}

char *catalog_strdup(struct catalog *cat, const char *s)
{
    size_t n = strlen(s) + 1;
    return memcpy(catalog_alloc(cat, n), s, n);
}

char *catalog_printf(struct catalog *cat, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    char *s = catalog_strdup(cat, sb.buf);
    strbuf_release(&sb);
    return s;
}

void catalog_track(struct catalog *cat, void *p)
{
    struct cat_mem *m = cat->mem;
    ALLOC_GROW(m->blocks, m->nblocks + 1, m->ablocks);
    m->blocks[m->nblocks++] = p;
}

void catalog_keep_result(struct catalog *cat, PGresult *res)
{
    struct cat_mem *m = cat->mem;
    ALLOC_GROW(m->results, m->nresults + 1, m->aresults);
    m->results[m->nresults++] = res;
}

void catalog_free(struct catalog *cat)
{
    if (!cat)
        return;
    struct cat_mem *m = cat->mem;
    for (struct chunk *c = m->chunks, *next; c; c = next) {
        next = c->next;
        free(c);
    }
    for (size_t i = 0; i < m->nblocks; i++)
        free(m->blocks[i]);
    for (size_t i = 0; i < m->nresults; i++)
        PQclear(m->results[i]);
    free(m->blocks);
    free(m->results);
    free(m);
    free(cat);
}

/* ---- lookups ---- */

static const char *const kind_names[CAT_NKINDS] = {
    [CAT_SCHEMA] = "schema",
    [CAT_EXTENSION] = "extension",
    [CAT_TYPE] = "type",
    [CAT_SEQUENCE] = "sequence",
    [CAT_TABLE] = "table",
    [CAT_CONSTRAINT] = "constraint",
    [CAT_INDEX] = "index",
    [CAT_VIEW] = "view",
    [CAT_MATVIEW] = "materialized view",
    [CAT_FUNCTION] = "function",
    [CAT_TRIGGER] = "trigger",
    [CAT_POLICY] = "policy",
    [CAT_EVENT_TRIGGER] = "event trigger",
    [CAT_DEFACL] = "default privileges",
};

const char *catalog_kind_name(enum cat_kind kind)
{
    return kind < CAT_NKINDS ? kind_names[kind] : "object";
}

int catalog_acl_kind(enum cat_kind kind)
{
    switch (kind) {
    case CAT_TABLE:
    case CAT_VIEW:
    case CAT_MATVIEW:
        return 0;
    case CAT_SEQUENCE:
        return 1;
    case CAT_FUNCTION:
        return 2;
    case CAT_TYPE:
        return 3;
    case CAT_SCHEMA:
        return 4;
    default:
        return -1;
    }
}

static int cmp_object(const struct cat_object *x, const struct cat_object *y)
{
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    return strcmp(x->ident, y->ident);
}

static int cmp_object_ptr(const void *a, const void *b)
{
    return cmp_object(*(struct cat_object *const *)a, *(struct cat_object *const *)b);
}

const struct cat_object *catalog_find(const struct catalog *cat, enum cat_kind kind,
                                      const char *ident)
{
    struct cat_object key = {.kind = kind, .ident = ident}, *kp = &key;
    struct cat_object **hit =
        bsearch(&kp, cat->all, cat->nall, sizeof(*cat->all), cmp_object_ptr);
    return hit ? *hit : NULL;
}

const struct cat_column *catalog_column(const struct cat_relation *rel, const char *name)
{
    for (size_t i = 0; i < rel->ncolumns; i++)
        if (!strcmp(rel->columns[i].name, name))
            return &rel->columns[i];
    return NULL;
}

#define SORT(arr, n)                                                                               \
    do {                                                                                           \
        if (n)                                                                                     \
            qsort((arr), (n), sizeof(*(arr)), cmp_object_ptr);                                     \
    } while (0)

void catalog_finish(struct catalog *cat)
{
    size_t n = 0;
    SORT(cat->schemas, cat->nschemas);
    SORT(cat->extensions, cat->nextensions);
    SORT(cat->types, cat->ntypes);
    SORT(cat->sequences, cat->nsequences);
    SORT(cat->relations, cat->nrelations);
    SORT(cat->functions, cat->nfunctions);
    SORT(cat->indexes, cat->nindexes);
    SORT(cat->triggers, cat->ntriggers);
    SORT(cat->policies, cat->npolicies);
    SORT(cat->event_triggers, cat->nevent_triggers);
    SORT(cat->defacls, cat->ndefacls);
    n = cat->nschemas + cat->nextensions + cat->ntypes + cat->nsequences + cat->nrelations +
        cat->nfunctions + cat->nindexes + cat->ntriggers + cat->npolicies +
        cat->nevent_triggers + cat->ndefacls;
    for (size_t i = 0; i < cat->nrelations; i++)
        n += cat->relations[i]->nconstraints;
    cat->all = catalog_alloc(cat, (n ? n : 1) * sizeof(*cat->all));
    cat->nall = 0;
#define ADD(arr, cnt)                                                                              \
    for (size_t i = 0; i < (cnt); i++)                                                             \
        cat->all[cat->nall++] = &(arr)[i]->obj;
    ADD(cat->schemas, cat->nschemas);
    ADD(cat->extensions, cat->nextensions);
    ADD(cat->types, cat->ntypes);
    ADD(cat->sequences, cat->nsequences);
    ADD(cat->relations, cat->nrelations);
    ADD(cat->functions, cat->nfunctions);
    ADD(cat->indexes, cat->nindexes);
    ADD(cat->triggers, cat->ntriggers);
    ADD(cat->policies, cat->npolicies);
    ADD(cat->event_triggers, cat->nevent_triggers);
    ADD(cat->defacls, cat->ndefacls);
    for (size_t r = 0; r < cat->nrelations; r++)
        ADD(cat->relations[r]->constraints, cat->relations[r]->nconstraints);
#undef ADD
    SORT(cat->all, cat->nall);
}

/* ---- the canonical text form ---- */

/*
 * One attribute: "INDENT KEY VALUE". A value over several lines is written
 * "KEY |" and then each line as "INDENT    | line", so every line of the
 * dump stays attributable in a diff.
 */
static void put(struct strbuf *sb, int indent, const char *key, const char *value)
{
    strbuf_addf(sb, "%*s%s", indent * 4, "", key);
    if (!value) {
        strbuf_addch(sb, '\n');
        return;
    }
    if (!strchr(value, '\n')) {
        strbuf_addf(sb, " %s\n", value);
        return;
    }
    strbuf_addstr(sb, " |\n");
    size_t len = strlen(value);
    while (len && value[len - 1] == '\n')
        len--;
    for (const char *p = value, *end = value + len; p <= end;) {
        const char *nl = memchr(p, '\n', end - p);
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        strbuf_addf(sb, "%*s| %.*s\n", (indent + 1) * 4, "", (int)n, p);
        if (!nl)
            break;
        p = nl + 1;
    }
}

bool catalog_acl_equal(const struct cat_acl *x, const struct cat_acl *y)
{
    if (x->nr != y->nr)
        return false;
    for (size_t i = 0; i < x->nr; i++) {
        const struct cat_acl_item *a = &x->v[i], *b = &y->v[i];
        if (strcmp(a->grantee, b->grantee) || strcmp(a->privilege, b->privilege) ||
            a->grantable != b->grantable || (!a->grantor != !b->grantor) ||
            (a->grantor && strcmp(a->grantor, b->grantor)))
            return false;
    }
    return true;
}

static void put_acl(struct strbuf *sb, int indent, const struct cat_acl *acl)
{
    for (size_t i = 0; i < acl->nr; i++) {
        const struct cat_acl_item *a = &acl->v[i];
        strbuf_addf(sb, "%*sacl %s %s%s", indent * 4, "", a->grantee, a->privilege,
                    a->grantable ? " WITH GRANT OPTION" : "");
        if (a->grantor)
            strbuf_addf(sb, " GRANTED BY %s", a->grantor);
        strbuf_addch(sb, '\n');
    }
}

static void put_seqopts(struct strbuf *sb, int indent, const char *key, const struct cat_seqopts *o)
{
    struct strbuf v = STRBUF_INIT;
    strbuf_addf(&v, "AS %s START %s INCREMENT %s MINVALUE %s MAXVALUE %s CACHE %s %s", o->type,
                o->start, o->increment, o->min, o->max, o->cache, o->cycle ? "CYCLE" : "NO CYCLE");
    put(sb, indent, key, v.buf);
    strbuf_release(&v);
}

static void put_column(struct strbuf *sb, const struct cat_column *c, bool attribute)
{
    struct strbuf v = STRBUF_INIT;
    strbuf_addf(&v, "%s %s", c->name, c->type);
    put(sb, 1, attribute ? "attribute" : "column", v.buf);
    strbuf_release(&v);
    if (c->not_null)
        put(sb, 2, "not null", NULL);
    if (c->generated)
        put(sb, 2, c->generated == 'v' ? "generated virtual" : "generated stored", c->default_expr);
    else if (c->default_expr)
        put(sb, 2, "default", c->default_expr);
    if (c->identity) {
        put(sb, 2, c->identity == 'a' ? "identity always" : "identity by default", NULL);
        put_seqopts(sb, 2, "identity sequence", &c->idseq);
    }
    if (c->collation)
        put(sb, 2, "collation", c->collation);
    if (c->compression)
        put(sb, 2, "compression", c->compression);
    if (c->inherited)
        put(sb, 2, "inherited", NULL);
    put_acl(sb, 2, &c->acl);
    if (c->comment)
        put(sb, 2, "comment", c->comment);
}

static const char *enabled_word(char e)
{
    switch (e) {
    case 'D': return "disabled";
    case 'R': return "replica";
    case 'A': return "always";
    }
    return NULL;
}

static void dump_relation(struct strbuf *sb, const struct cat_relation *r)
{
    if (r->unlogged)
        put(sb, 1, "unlogged", NULL);
    if (r->parent) {
        put(sb, 1, "partition of", r->parent);
        put(sb, 1, "bound", r->bound);
    }
    if (r->partkey)
        put(sb, 1, "partition by", r->partkey);
    for (size_t i = 0; i < r->ninherits; i++)
        put(sb, 1, "inherits", r->inherits[i]);
    if (r->options)
        put(sb, 1, "options", r->options);
    if (r->rls)
        put(sb, 1, "row level security", NULL);
    if (r->force_rls)
        put(sb, 1, "force row level security", NULL);
    for (size_t i = 0; i < r->ncolumns; i++)
        put_column(sb, &r->columns[i], false);
    for (size_t i = 0; i < r->nconstraints; i++) {
        const struct cat_constraint *k = r->constraints[i];
        struct strbuf v = STRBUF_INIT;
        strbuf_addf(&v, "%s %s", k->obj.name, k->def);
        put(sb, 1, "constraint", v.buf);
        strbuf_release(&v);
        if (k->obj.comment)
            put(sb, 2, "comment", k->obj.comment);
    }
    if (r->def)
        put(sb, 1, "definition", r->def);
}

static void dump_type(struct strbuf *sb, const struct cat_type *t)
{
    switch (t->typtype) {
    case 'e':
        put(sb, 1, "enum", NULL);
        for (size_t i = 0; i < t->nlabels; i++)
            put(sb, 1, "label", t->labels[i]);
        break;
    case 'c':
        put(sb, 1, "composite", NULL);
        for (size_t i = 0; i < t->nattrs; i++)
            put_column(sb, &t->attrs[i], true);
        break;
    case 'd':
        put(sb, 1, "domain", t->base);
        if (t->not_null)
            put(sb, 1, "not null", NULL);
        if (t->default_expr)
            put(sb, 1, "default", t->default_expr);
        if (t->collation)
            put(sb, 1, "collation", t->collation);
        for (size_t i = 0; i < t->nchecks; i++) {
            struct strbuf v = STRBUF_INIT;
            strbuf_addf(&v, "%s %s", t->checks[i].name, t->checks[i].def);
            put(sb, 1, "constraint", v.buf);
            strbuf_release(&v);
            if (t->checks[i].comment)
                put(sb, 2, "comment", t->checks[i].comment);
        }
        break;
    case 'r':
        put(sb, 1, "range", t->base);
        if (t->opclass)
            put(sb, 1, "subtype opclass", t->opclass);
        if (t->collation)
            put(sb, 1, "collation", t->collation);
        if (t->canonical)
            put(sb, 1, "canonical", t->canonical);
        if (t->subdiff)
            put(sb, 1, "subtype diff", t->subdiff);
        if (t->multirange)
            put(sb, 1, "multirange", t->multirange);
        break;
    }
}

static void dump_object(const struct catalog *cat, struct strbuf *sb, const struct cat_object *o)
{
    int ak = catalog_acl_kind(o->kind);
    strbuf_addf(sb, "%s %s\n", catalog_kind_name(o->kind), o->ident);
    switch (o->kind) {
    case CAT_EXTENSION: {
        const struct cat_extension *x = CAT_AS(cat_extension, o);
        put(sb, 1, "schema", x->in_schema);
        put(sb, 1, "version", x->version);
        break;
    }
    case CAT_TYPE:
        dump_type(sb, CAT_AS(cat_type, o));
        break;
    case CAT_SEQUENCE: {
        const struct cat_sequence *s = CAT_AS(cat_sequence, o);
        put_seqopts(sb, 1, "options", &s->opts);
        if (s->owned_table) {
            struct strbuf v = STRBUF_INIT;
            strbuf_addf(&v, "%s.%s", s->owned_table, s->owned_column);
            put(sb, 1, "owned by", v.buf);
            strbuf_release(&v);
        }
        break;
    }
    case CAT_TABLE:
    case CAT_VIEW:
    case CAT_MATVIEW:
        dump_relation(sb, CAT_AS(cat_relation, o));
        break;
    case CAT_FUNCTION: {
        const struct cat_function *f = CAT_AS(cat_function, o);
        put(sb, 1, "definition", f->def);
        break;
    }
    case CAT_INDEX:
        put(sb, 1, "definition", CAT_AS(cat_index, o)->def);
        break;
    case CAT_TRIGGER: {
        const struct cat_trigger *t = CAT_AS(cat_trigger, o);
        put(sb, 1, "definition", t->def);
        if (enabled_word(t->enabled))
            put(sb, 1, "enabled", enabled_word(t->enabled));
        break;
    }
    case CAT_POLICY: {
        const struct cat_policy *p = CAT_AS(cat_policy, o);
        put(sb, 1, p->permissive ? "permissive" : "restrictive", NULL);
        put(sb, 1, "for", p->command);
        put(sb, 1, "to", p->roles);
        if (p->using_expr)
            put(sb, 1, "using", p->using_expr);
        if (p->check_expr)
            put(sb, 1, "with check", p->check_expr);
        break;
    }
    case CAT_EVENT_TRIGGER: {
        const struct cat_event_trigger *e = CAT_AS(cat_event_trigger, o);
        put(sb, 1, "on", e->event);
        if (e->tags)
            put(sb, 1, "tags", e->tags);
        put(sb, 1, "function", e->function);
        if (enabled_word(e->enabled))
            put(sb, 1, "enabled", enabled_word(e->enabled));
        break;
    }
    default:
        break;
    }
    if (o->owner)
        put(sb, 1, "owner", o->owner);
    /* privileges are listed when they are not the kind's default */
    if (ak < 0 || !catalog_acl_equal(&o->acl, &cat->acldefault[ak]))
        put_acl(sb, 1, &o->acl);
    if (o->comment)
        put(sb, 1, "comment", o->comment);
}

void catalog_dump(const struct catalog *cat, struct strbuf *sb)
{
    for (size_t i = 0; i < cat->nall; i++)
        if (cat->all[i]->kind != CAT_CONSTRAINT) /* listed with their table */
            dump_object(cat, sb, cat->all[i]);
}

void catalog_hash(const struct catalog *cat, char hex[SHA256_HEX_LEN])
{
    struct strbuf sb = STRBUF_INIT;
    catalog_dump(cat, &sb);
    sha256_hex(sb.buf, sb.len, hex);
    strbuf_release(&sb);
}
