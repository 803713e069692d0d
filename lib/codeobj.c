/*
 * codeobj.c — the code directory as units, their dependencies and an order
 * (see codeobj.h). What a statement creates and names comes from lib/parse;
 * identifiers are quoted with PostgreSQL's own keyword table (libpg_query's
 * scanner), the way quote_ident() decides.
 */
#include "lib/codeobj.h"
#include "lib/fs.h"
#include "lib/sqlsplit.h"

#include <dirent.h>
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>
#include <sys/stat.h>

static const char *const kind_names[CODE__N] = {
    [CODE_VIEW] = "view",           [CODE_MATVIEW] = "materialized view",
    [CODE_FUNCTION] = "function",   [CODE_PROCEDURE] = "procedure",
    [CODE_AGGREGATE] = "aggregate", [CODE_TYPE] = "type",
    [CODE_DOMAIN] = "domain",       [CODE_TRIGGER] = "trigger",
    [CODE_POLICY] = "policy",       [CODE_INDEX] = "index",
    [CODE_STATEMENT] = "statement",
};

const char *code_kind_name(enum code_kind k)
{
    return k >= 0 && k < CODE__N ? kind_names[k] : "?";
}

int code_kind_lookup(const char *name)
{
    for (int k = 0; k < CODE__N; k++)
        if (!strcmp(kind_names[k], name))
            return k;
    return -1;
}

/* ---- identifiers ---------------------------------------------------------------- */

/* Whether IDENT needs quotes: not [a-z_][a-z0-9_$]*, or a keyword other than an unreserved one. */
static bool needs_quotes(const char *ident)
{
    if (!*ident || !((*ident >= 'a' && *ident <= 'z') || *ident == '_'))
        return true;
    for (const char *p = ident; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '$'))
            return true;
    PgQueryScanResult scan = pg_query_scan(ident);
    bool quote = true;
    if (!scan.error) {
        PgQuery__ScanResult *sr =
            pg_query__scan_result__unpack(NULL, scan.pbuf.len, (const uint8_t *)scan.pbuf.data);
        if (sr && sr->n_tokens == 1)
            quote = sr->tokens[0]->keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD &&
                    sr->tokens[0]->keyword_kind != PG_QUERY__KEYWORD_KIND__UNRESERVED_KEYWORD;
        if (sr)
            pg_query__scan_result__free_unpacked(sr, NULL);
    }
    pg_query_free_scan_result(scan);
    return quote;
}

void code_quote_ident(struct strbuf *sb, const char *ident)
{
    if (!needs_quotes(ident)) {
        strbuf_addstr(sb, ident);
        return;
    }
    strbuf_addch(sb, '"');
    for (const char *p = ident; *p; p++) {
        if (*p == '"')
            strbuf_addch(sb, '"');
        strbuf_addch(sb, *p);
    }
    strbuf_addch(sb, '"');
}

void code_qualified(struct strbuf *sb, const char *schema, const char *name)
{
    if (schema) {
        code_quote_ident(sb, schema);
        strbuf_addch(sb, '.');
    }
    code_quote_ident(sb, name);
}

const char *code_unit_where(const struct code_unit *u)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s:%u", u->file ? u->file : "?", u->line);
    return buf;
}

void code_unit_sql(const struct code_unit *u, struct strbuf *sb)
{
    for (size_t i = 0; i < u->stmts_nr; i++) {
        strbuf_addstr(sb, u->stmts[i].sql);
        strbuf_addstr(sb, ";\n");
    }
}

void code_unit_hash(struct code_unit *u)
{
    struct strbuf sb = STRBUF_INIT;
    code_unit_sql(u, &sb);
    sha256_hex(sb.buf, sb.len, u->sha256);
    strbuf_release(&sb);
}

/* ---- the set and its index ------------------------------------------------------- */

struct bucket {
    char *key;
    size_t *v; /* unit indices */
    size_t nr, alloc;
    struct bucket *next;
};

struct index {
    struct bucket **tab;
    size_t size;
    size_t built; /* units indexed */
};

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

static struct bucket *bucket_get(struct index *ix, const char *key, bool create)
{
    size_t slot = hash_str(key) % ix->size;
    for (struct bucket *b = ix->tab[slot]; b; b = b->next)
        if (!strcmp(b->key, key))
            return b;
    if (!create)
        return NULL;
    struct bucket *b = xcalloc(1, sizeof(*b));
    b->key = xstrdup(key);
    b->next = ix->tab[slot];
    ix->tab[slot] = b;
    return b;
}

static void index_free(struct index *ix)
{
    if (!ix)
        return;
    for (size_t i = 0; i < ix->size; i++) {
        for (struct bucket *b = ix->tab[i], *next; b; b = next) {
            next = b->next;
            free(b->key);
            free(b->v);
            free(b);
        }
    }
    free(ix->tab);
    free(ix);
}

static void index_add(struct index *ix, const char *key, size_t idx)
{
    struct bucket *b = bucket_get(ix, key, true);
    ALLOC_GROW(b->v, b->nr + 1, b->alloc);
    b->v[b->nr++] = idx;
}

/* Push "P:SCHEMA.NAME" (no printf: this runs for every unit of every plan). */
static void push_key(struct strvec *keys, char prefix, const char *schema, const char *name)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_grow(&sb, strlen(schema) + strlen(name) + 4);
    strbuf_addch(&sb, prefix);
    strbuf_addch(&sb, ':');
    strbuf_addstr(&sb, schema);
    strbuf_addch(&sb, '.');
    strbuf_addstr(&sb, name);
    ALLOC_GROW(keys->v, keys->nr + 2, keys->alloc);
    keys->v[keys->nr++] = strbuf_detach(&sb, NULL);
    keys->v[keys->nr] = NULL;
}

/* The name keys of U: "r:" relations, "f:" routines, "t:" types (views have a row type). */
static void name_keys(const struct code_unit *u, struct strvec *keys)
{
    if (!u->name)
        return;
    const char *schema = u->schema ? u->schema : "";
    switch (u->kind) {
    case CODE_VIEW:
    case CODE_MATVIEW:
        push_key(keys, 'r', schema, u->name);
        push_key(keys, 't', schema, u->name);
        break;
    case CODE_FUNCTION:
    case CODE_PROCEDURE:
    case CODE_AGGREGATE:
        push_key(keys, 'f', schema, u->name);
        break;
    case CODE_TYPE:
    case CODE_DOMAIN:
        push_key(keys, 't', schema, u->name);
        break;
    default:
        break;
    }
}

/* The index, brought up to date with the units added since it was built. */
static struct index *index_of(const struct code_set *cs)
{
    struct index *ix = cs->index;
    if (!ix) {
        ix = xcalloc(1, sizeof(*ix));
        ix->size = 1021;
        ix->tab = xcalloc(ix->size, sizeof(*ix->tab));
        ((struct code_set *)cs)->index = ix;
    }
    for (; ix->built < cs->units_nr; ix->built++) {
        const struct code_unit *u = &cs->units[ix->built];
        struct strvec keys = STRVEC_INIT;
        char *id = xmalloc(strlen(u->identity) + 2);
        id[0] = '=';
        strcpy(id + 1, u->identity);
        ALLOC_GROW(keys.v, 2, keys.alloc);
        keys.v[keys.nr++] = id;
        keys.v[keys.nr] = NULL;
        name_keys(u, &keys);
        for (size_t k = 0; k < keys.nr; k++)
            index_add(ix, keys.v[k], ix->built);
        strvec_clear(&keys);
    }
    return ix;
}

void code_set_init(struct code_set *cs, const char *dir, const char *schema)
{
    memset(cs, 0, sizeof(*cs));
    cs->dir = dir ? xstrdup(dir) : NULL;
    cs->schema = xstrdup(schema ? schema : "public");
}

static void ref_release(struct code_ref *r)
{
    free(r->schema);
    free(r->name);
}

void code_unit_release(struct code_unit *u)
{
    free(u->identity);
    free(u->schema);
    free(u->name);
    free(u->args);
    free(u->table_schema);
    free(u->table);
    free(u->file);
    for (size_t i = 0; i < u->stmts_nr; i++)
        free(u->stmts[i].sql);
    free(u->stmts);
    free(u->drop_sql);
    free(u->addr_type);
    strvec_clear(&u->addr_names);
    strvec_clear(&u->addr_args);
    strvec_clear(&u->depends);
    strvec_clear(&u->body_depends);
    for (size_t i = 0; i < u->refs_nr; i++)
        ref_release(&u->refs[i]);
    free(u->refs);
    for (size_t i = 0; i < u->external_nr; i++)
        ref_release(&u->external[i]);
    free(u->external);
    free(u->note);
    memset(u, 0, sizeof(*u));
}

void code_set_release(struct code_set *cs)
{
    for (size_t i = 0; i < cs->files_nr; i++)
        free(cs->files[i].path);
    free(cs->files);
    for (size_t i = 0; i < cs->units_nr; i++)
        code_unit_release(&cs->units[i]);
    free(cs->units);
    index_free(cs->index);
    free(cs->dir);
    free(cs->schema);
    memset(cs, 0, sizeof(*cs));
}

struct code_unit *code_unit_new(struct code_set *cs, const char *identity, enum code_kind kind)
{
    ALLOC_GROW(cs->units, cs->units_nr + 1, cs->units_alloc);
    struct code_unit *u = &cs->units[cs->units_nr++];
    memset(u, 0, sizeof(*u));
    u->identity = xstrdup(identity);
    u->kind = kind;
    u->status = CODE_NEW;
    return u;
}

struct code_unit *code_unit_find(const struct code_set *cs, const char *identity)
{
    struct strbuf key = STRBUF_INIT;
    strbuf_addf(&key, "=%s", identity);
    struct bucket *b = bucket_get(index_of(cs), key.buf, false);
    strbuf_release(&key);
    return b && b->nr ? &cs->units[b->v[b->nr - 1]] : NULL;
}

size_t code_unit_idx(const struct code_set *cs, const struct code_unit *u)
{
    return (size_t)(u - cs->units);
}

struct code_file *code_file_find(const struct code_set *cs, const char *path)
{
    size_t lo = 0, hi = cs->files_nr;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        int c = strcmp(cs->files[mid].path, path);
        if (!c)
            return &cs->files[mid];
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

/* ---- scanning the directory ------------------------------------------------------ */

struct code_hash_entry {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    char sha256[SHA256_HEX_LEN];
};

void code_hash_cache_release(struct code_hash_cache *hc)
{
    for (size_t i = 0; i < hc->nr; i++)
        free(hc->v[i].path);
    free(hc->v);
    memset(hc, 0, sizeof(*hc));
}

static struct code_hash_entry *cache_entry(struct code_hash_cache *hc, const char *path)
{
    for (size_t i = 0; i < hc->nr; i++)
        if (!strcmp(hc->v[i].path, path))
            return &hc->v[i];
    ALLOC_GROW(hc->v, hc->nr + 1, hc->alloc);
    struct code_hash_entry *e = &hc->v[hc->nr++];
    memset(e, 0, sizeof(*e));
    e->path = xstrdup(path);
    return e;
}

/* Hash P (of stat ST) into HEX, through the cache when there is one. 0 or -1 (errno). */
static int hash_file(struct code_set *cs, const char *p, const struct stat *st,
                     char hex[SHA256_HEX_LEN])
{
    struct code_hash_entry *e = cs->hash_cache ? cache_entry(cs->hash_cache, p) : NULL;
    if (e && e->sha256[0] && e->dev == st->st_dev && e->ino == st->st_ino &&
        e->size == st->st_size && e->mtime.tv_sec == st->st_mtim.tv_sec &&
        e->mtime.tv_nsec == st->st_mtim.tv_nsec) {
        memcpy(hex, e->sha256, SHA256_HEX_LEN);
        return 0;
    }
    if (sha256_file_hex(p, hex) < 0)
        return -1;
    if (e) {
        e->dev = st->st_dev, e->ino = st->st_ino, e->size = st->st_size, e->mtime = st->st_mtim;
        memcpy(e->sha256, hex, SHA256_HEX_LEN);
    }
    return 0;
}

static int scan_dir(struct code_set *cs, const char *rel, int depth)
{
    char *abs = rel ? path_join(cs->dir, rel) : xstrdup(cs->dir);
    DIR *d = opendir(abs);
    int ret = 0;
    if (!d) {
        if (!rel && errno == ENOENT) {
            free(abs);
            return 0;
        }
        ret = error_errno("cannot read the code directory '%s'", abs);
        free(abs);
        return ret;
    }
    if (depth > 64) {
        closedir(d);
        ret = error("%s: directories nested too deep (a symlink loop?)", abs);
        free(abs);
        return ret;
    }
    for (struct dirent *de; !ret && (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        char *r = rel ? xasprintf("%s/%s", rel, de->d_name) : xstrdup(de->d_name);
        char *p = path_join(cs->dir, r);
        struct stat st;
        if (stat(p, &st) < 0) {
            ret = error_errno("cannot read '%s'", p);
        } else if (S_ISDIR(st.st_mode)) {
            ret = scan_dir(cs, r, depth + 1);
        } else if (S_ISREG(st.st_mode) && ends_with(de->d_name, ".sql")) {
            ALLOC_GROW(cs->files, cs->files_nr + 1, cs->files_alloc);
            struct code_file *f = &cs->files[cs->files_nr++];
            memset(f, 0, sizeof(*f));
            f->path = r;
            r = NULL;
            if (hash_file(cs, p, &st, f->sha256) < 0)
                ret = error_errno("cannot read '%s'", p);
        }
        free(p);
        free(r);
    }
    closedir(d);
    free(abs);
    return ret;
}

static int cmp_file(const void *a, const void *b)
{
    return strcmp(((const struct code_file *)a)->path, ((const struct code_file *)b)->path);
}

int code_scan(struct code_set *cs)
{
    if (!cs->dir)
        return 0;
    if (scan_dir(cs, NULL, 0) < 0)
        return -1;
    qsort(cs->files, cs->files_nr, sizeof(*cs->files), cmp_file);
    return 0;
}

/* ---- parsing a file into units --------------------------------------------------- */

static void upper_kind(struct strbuf *sb, const char *kind_name)
{
    for (const char *p = kind_name; *p; p++)
        strbuf_addch(sb, *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
}


static int kind_of(enum parse_obj_kind k)
{
    switch (k) {
    case PARSE_OBJ_VIEW:
        return CODE_VIEW;
    case PARSE_OBJ_MATVIEW:
        return CODE_MATVIEW;
    case PARSE_OBJ_FUNCTION:
        return CODE_FUNCTION;
    case PARSE_OBJ_PROCEDURE:
        return CODE_PROCEDURE;
    case PARSE_OBJ_AGGREGATE:
        return CODE_AGGREGATE;
    case PARSE_OBJ_TYPE:
    case PARSE_OBJ_ENUM:
    case PARSE_OBJ_COMPOSITE:
    case PARSE_OBJ_RANGE:
        return CODE_TYPE;
    case PARSE_OBJ_DOMAIN:
        return CODE_DOMAIN;
    case PARSE_OBJ_TRIGGER:
        return CODE_TRIGGER;
    case PARSE_OBJ_POLICY:
        return CODE_POLICY;
    case PARSE_OBJ_INDEX:
        return CODE_INDEX;
    default:
        return -1;
    }
}

/* Split "integer, text[]" into SV (parse spells identity arguments so: ", " between them). */
static void split_args(const char *args, struct strvec *sv)
{
    if (!args || !*args || !strcmp(args, "*"))
        return;
    const char *p = args;
    int depth = 0;
    const char *start = p;
    for (;; p++) {
        if (*p == '(')
            depth++;
        else if (*p == ')' && depth)
            depth--;
        if (!*p || (*p == ',' && !depth)) {
            const char *e = p;
            while (*start == ' ')
                start++;
            while (e > start && e[-1] == ' ')
                e--;
            char *a = xstrndup(start, (size_t)(e - start));
            strvec_push(sv, a);
            free(a);
            if (!*p)
                break;
            start = p + 1;
        }
    }
}

/* Identity, drop statement and catalog address of a parsed unit (schema resolved). */
static void describe(struct code_unit *u)
{
    struct strbuf id = STRBUF_INIT, q = STRBUF_INIT, drop = STRBUF_INIT;
    const char *kn = code_kind_name(u->kind);
    switch (u->kind) {
    case CODE_TRIGGER:
    case CODE_POLICY:
        code_qualified(&q, u->table_schema, u->table);
        strbuf_addf(&id, "%s ", kn);
        code_quote_ident(&id, u->name);
        strbuf_addf(&id, " on %s", q.buf);
        strbuf_addf(&drop, "DROP %s ", u->kind == CODE_TRIGGER ? "TRIGGER" : "POLICY");
        code_quote_ident(&drop, u->name);
        strbuf_addf(&drop, " ON %s", q.buf);
        strvec_pushl(&u->addr_names, u->table_schema, u->table, u->name, NULL);
        break;
    case CODE_FUNCTION:
    case CODE_PROCEDURE:
    case CODE_AGGREGATE:
        code_qualified(&q, u->schema, u->name);
        strbuf_addf(&q, "(%s)", u->args ? u->args : "");
        strbuf_addf(&id, "%s %s", kn, q.buf);
        strbuf_addf(&drop, "DROP %s %s",
                    u->kind == CODE_FUNCTION    ? "FUNCTION"
                    : u->kind == CODE_PROCEDURE ? "PROCEDURE"
                                                : "AGGREGATE",
                    q.buf);
        strvec_pushl(&u->addr_names, u->schema, u->name, NULL);
        split_args(u->args, &u->addr_args);
        break;
    default:
        code_qualified(&q, u->schema, u->name);
        strbuf_addf(&id, "%s %s", kn, q.buf);
        strbuf_addstr(&drop, "DROP ");
        for (const char *p = kn; *p; p++)
            strbuf_addch(&drop, *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
        strbuf_addf(&drop, " %s", q.buf);
        strvec_pushl(&u->addr_names, u->schema, u->name, NULL);
        break;
    }
    free(u->identity);
    u->identity = strbuf_detach(&id, NULL);
    u->drop_sql = strbuf_detach(&drop, NULL);
    u->addr_type = xstrdup(kn);
    strbuf_release(&q);
}

static void add_stmt(struct code_unit *u, const char *text, const struct parse_stmt *st)
{
    ALLOC_GROW(u->stmts, u->stmts_nr + 1, u->stmts_alloc);
    struct code_stmt *s = &u->stmts[u->stmts_nr++];
    s->sql = xstrndup(text + st->pos.offset, st->len);
    s->line = st->pos.line;
    s->offset = st->pos.offset;
}

/* Whether REF names U itself (a view granting on itself, a recursive function). */
static bool is_self(const struct code_unit *u, const struct parse_ref *r, const char *schema)
{
    if (!u->name || strcmp(r->name, u->name) || strcmp(schema, u->schema))
        return false;
    switch (r->kind) {
    case PARSE_REF_RELATION:
        return u->kind == CODE_VIEW || u->kind == CODE_MATVIEW;
    case PARSE_REF_FUNCTION:
        return u->kind == CODE_FUNCTION || u->kind == CODE_PROCEDURE || u->kind == CODE_AGGREGATE;
    case PARSE_REF_TYPE:
        return u->kind == CODE_TYPE || u->kind == CODE_DOMAIN || u->kind == CODE_VIEW ||
               u->kind == CODE_MATVIEW;
    }
    return false;
}

static void add_refs(struct code_set *cs, struct code_unit *u, const struct parse_stmt *st)
{
    for (size_t i = 0; i < st->refs_nr; i++) {
        const struct parse_ref *r = &st->refs[i];
        if (!r->name || is_self(u, r, r->schema ? r->schema : cs->schema))
            continue;
        ALLOC_GROW(u->refs, u->refs_nr + 1, u->refs_alloc);
        struct code_ref *c = &u->refs[u->refs_nr++];
        c->kind = r->kind;
        c->schema = r->schema ? xstrdup(r->schema) : NULL;
        c->name = xstrdup(r->name);
        c->nargs = r->nargs;
        c->in_body = r->in_body;
        c->line = r->pos.line;
    }
}

/* A readable name of statement node NODE ("CreateStmt" -> "CREATE TABLE" where we know it). */
static const char *node_what(const struct parse_stmt *st)
{
    static const char *const names[][2] = {
        {"CreateStmt", "CREATE TABLE"},
        {"CreateSeqStmt", "CREATE SEQUENCE"},
        {"CreateSchemaStmt", "CREATE SCHEMA"},
        {"CreateExtensionStmt", "CREATE EXTENSION"},
        {"CreateForeignTableStmt", "CREATE FOREIGN TABLE"},
        {"CreateEventTrigStmt", "CREATE EVENT TRIGGER"},
        {"CreateTableAsStmt", "CREATE TABLE AS"},
        {"DropStmt", "DROP"},
        {"VariableSetStmt", "SET"},
        {"SelectStmt", "SELECT"},
        {"InsertStmt", "INSERT"},
        {"UpdateStmt", "UPDATE"},
        {"DeleteStmt", "DELETE"},
        {"DoStmt", "DO"},
        {"TransactionStmt", "transaction control"},
        {"RenameStmt", "RENAME"},
        {"AlterObjectSchemaStmt", "ALTER ... SET SCHEMA"},
        {"GrantStmt", "GRANT"},
        {"AlterTableStmt", "ALTER"},
        {"AlterOwnerStmt", "ALTER ... OWNER"},
        {"AlterFunctionStmt", "ALTER FUNCTION"},
        {"SecLabelStmt", "SECURITY LABEL"},
    };
    for (size_t i = 0; i < ARRAY_SIZE(names); i++)
        if (st->node && !strcmp(st->node, names[i][0]))
            return names[i][1];
    return st->node ? st->node : "statement";
}

/* Statements that may follow an object in its file and run with it. */
static bool attaches(const struct parse_stmt *st)
{
    static const char *const nodes[] = {"GrantStmt", "AlterTableStmt", "AlterOwnerStmt",
                                        "AlterFunctionStmt", "SecLabelStmt"};
    for (size_t i = 0; i < ARRAY_SIZE(nodes); i++)
        if (st->node && !strcmp(st->node, nodes[i]))
            return true;
    return false;
}

/* The unit of this file (units FIRST..) a COMMENT ON target O is about, or NULL. */
static struct code_unit *comment_target(struct code_set *cs, size_t first,
                                        const struct parse_object *o)
{
    const char *name = o->target == PARSE_OBJ_COLUMN ? o->table : o->name;
    const char *schema = o->target == PARSE_OBJ_COLUMN ? o->table_schema : o->schema;
    if (!name)
        return NULL;
    if (!schema)
        schema = cs->schema;
    for (size_t i = cs->units_nr; i-- > first;) {
        struct code_unit *u = &cs->units[i];
        if (!u->name)
            continue;
        if (o->target == PARSE_OBJ_TRIGGER || o->target == PARSE_OBJ_POLICY) {
            const char *ts = o->table_schema ? o->table_schema : cs->schema;
            if ((u->kind == CODE_TRIGGER || u->kind == CODE_POLICY) && !strcmp(u->name, name) &&
                u->table && o->table && !strcmp(u->table, o->table) && !strcmp(u->table_schema, ts))
                return u;
            continue;
        }
        if (!strcmp(u->name, name) && !strcmp(u->schema, schema))
            return u;
    }
    return NULL;
}

/* Units of TEXT, the contents of file FILE_IDX (PATH: its name in messages). */
static int parse_text(struct code_set *cs, size_t file_idx, const char *path, struct strbuf *text)
{
    struct code_file *f = &cs->files[file_idx];
    int errors = 0;
    /* what was parsed is what is hashed, even if the file changed since the scan */
    sha256_hex(text->buf, text->len, f->sha256);
    f->parsed = true;
    struct parse_list pl = PARSE_LIST_INIT;
    parse_script(&pl, text->buf);
    size_t first = cs->units_nr;
    struct code_unit *cur = NULL;
    for (size_t i = 0; i < pl.nr; i++) {
        const struct parse_stmt *st = &pl.v[i];
        if (st->status == PARSE_UNKNOWN) {
            struct strbuf sb = STRBUF_INIT;
            char sha[SHA256_HEX_LEN];
            strbuf_add(&sb, text->buf + st->pos.offset, st->len);
            strbuf_addstr(&sb, ";\n");
            sha256_hex(sb.buf, sb.len, sha);
            strbuf_reset(&sb);
            strbuf_addf(&sb, "statement %.16s", sha);
            cur = code_unit_new(cs, sb.buf, CODE_STATEMENT);
            strbuf_release(&sb);
            add_stmt(cur, text->buf, st);
            cur->file = xstrdup(f->path);
            cur->line = st->pos.line;
            cur->loaded = true;
            memcpy(cur->file_sha256, f->sha256, sizeof(f->sha256));
            cur->note = xasprintf("%s:%u:%u: not analysed (the PostgreSQL 15 grammar rejects it: %s)",
                                  path, st->error_pos.line ? st->error_pos.line : st->pos.line,
                                  st->error_pos.line ? st->error_pos.col : st->pos.col,
                                  st->error ? st->error : "syntax error");
            code_unit_hash(cur);
            continue;
        }
        const struct parse_object *o = st->creates_nr ? &st->creates[0] : NULL;
        if (o && o->kind == PARSE_OBJ_COMMENT) {
            struct code_unit *t = comment_target(cs, first, o);
            if (!t) {
                errors++;
                error_at(path, st->pos.line, st->pos.col,
                         "COMMENT ON %s %s: the object is not defined before it in this file (keep "
                         "comments with their object)", o->kind_name, o->name ? o->name : "?");
                continue;
            }
            add_stmt(t, text->buf, st);
            add_refs(cs, t, st);
            continue;
        }
        if (!o && attaches(st)) {
            if (!cur || cur->kind == CODE_STATEMENT) {
                errors++;
                error_at(path, st->pos.line, st->pos.col,
                         "%s must follow the object it is about in the same file",
                         node_what(st));
                continue;
            }
            add_stmt(cur, text->buf, st);
            add_refs(cs, cur, st);
            continue;
        }
        int kind = o ? kind_of(o->kind) : -1;
        if (kind < 0 || st->creates_nr > 1) {
            struct strbuf upper = STRBUF_INIT;
            if (o)
                upper_kind(&upper, o->kind_name);
            errors++;
            if (o && (o->kind == PARSE_OBJ_TABLE || o->kind == PARSE_OBJ_SEQUENCE ||
                      o->kind == PARSE_OBJ_SCHEMA || o->kind == PARSE_OBJ_EXTENSION ||
                      o->kind == PARSE_OBJ_FOREIGN_TABLE))
                error_at(path, st->pos.line, st->pos.col,
                         "CREATE %s does not belong in the code directory: tables, sequences, "
                         "schemas and extensions hold data or state; create them in a migration",
                         upper.buf);
            else if (o)
                error_at(path, st->pos.line, st->pos.col,
                         "CREATE %s is not managed as code (views, materialized views, functions, "
                         "procedures, aggregates, types, domains, triggers, policies and indexes "
                         "on materialized views are)", upper.buf);
            else
                error_at(path, st->pos.line, st->pos.col,
                         "%s does not belong in the code directory: it holds CREATE statements of "
                         "code objects (and COMMENT, GRANT, ALTER ... OWNER on them); dbtool drops "
                         "and creates them itself%s",
                         node_what(st),
                         st->node && !strcmp(st->node, "VariableSetStmt")
                             ? " (qualify names with their schema instead of SET search_path)"
                             : "");
            strbuf_release(&upper);
            continue;
        }
        cur = code_unit_new(cs, "", (enum code_kind)kind);
        cur->file = xstrdup(f->path);
        cur->line = st->pos.line;
        cur->loaded = true;
        memcpy(cur->file_sha256, f->sha256, sizeof(f->sha256));
        cur->name = o->name ? xstrdup(o->name) : NULL;
        cur->args = o->args ? xstrdup(o->args) : NULL;
        cur->or_replace = o->or_replace;
        if (kind == CODE_TRIGGER || kind == CODE_POLICY || kind == CODE_INDEX) {
            cur->table = o->table ? xstrdup(o->table) : NULL;
            cur->table_schema = xstrdup(o->table_schema ? o->table_schema : cs->schema);
        }
        /* an index lives in its table's schema */
        cur->schema = xstrdup(kind == CODE_INDEX ? cur->table_schema
                              : o->schema       ? o->schema
                                                : cs->schema);
        if (!cur->name || ((kind == CODE_TRIGGER || kind == CODE_POLICY || kind == CODE_INDEX) &&
                           !cur->table)) {
            errors++;
            struct strbuf upper = STRBUF_INIT;
            upper_kind(&upper, o->kind_name);
            error_at(path, st->pos.line, st->pos.col, "CREATE %s without a name: name it, so "
                     "that dbtool can drop and re-create it", upper.buf);
            strbuf_release(&upper);
            cs->units_nr--;
            code_unit_release(cur);
            cur = NULL;
            continue;
        }
        add_stmt(cur, text->buf, st);
        add_refs(cs, cur, st);
        if (st->body_error)
            cur->note = xasprintf("%s:%u:%u: %s not fully analysed (%s)", path,
                                  st->body_error_pos.line, st->body_error_pos.col,
                                  cur->name, st->body_error);
        describe(cur);
    }
    for (size_t i = first; i < cs->units_nr; i++)
        if (cs->units[i].kind != CODE_STATEMENT)
            code_unit_hash(&cs->units[i]);
    parse_list_release(&pl);
    return errors;
}

int code_parse_file(struct code_set *cs, size_t file_idx)
{
    char *path = path_join(cs->dir ? cs->dir : ".", cs->files[file_idx].path);
    struct strbuf text = STRBUF_INIT;
    const char *why = NULL;
    int ret;
    if (fs_read_regular(path, (size_t)64 << 20, &text, &why) < 0) {
        error("cannot read '%s': %s", path, why);
        ret = -1;
    } else {
        ret = parse_text(cs, file_idx, path, &text);
    }
    free(path);
    strbuf_release(&text);
    return ret;
}

int code_add_text(struct code_set *cs, const char *path, const char *text, size_t len)
{
    ALLOC_GROW(cs->files, cs->files_nr + 1, cs->files_alloc);
    size_t i = cs->files_nr++;
    memset(&cs->files[i], 0, sizeof(cs->files[i]));
    cs->files[i].path = xstrdup(path);
    struct strbuf sb = STRBUF_INIT;
    strbuf_add(&sb, text, len);
    int ret = parse_text(cs, i, path, &sb);
    strbuf_release(&sb);
    /* keep the files sorted for code_file_find() */
    qsort(cs->files, cs->files_nr, sizeof(*cs->files), cmp_file);
    return ret;
}

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
    struct index *ix = index_of(cs);
    struct strbuf key = STRBUF_INIT;
    const char *schema = r->schema ? r->schema : cs->schema;
    char p = r->kind == PARSE_REF_RELATION ? 'r' : r->kind == PARSE_REF_FUNCTION ? 'f' : 't';
    strbuf_addf(&key, "%c:%s.%s", p, schema, r->name);
    struct bucket *b = bucket_get(ix, key.buf, false);
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
    struct index *ix = index_of(cs);
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        if (u->status == CODE_REMOVED)
            continue;
        struct strbuf key = STRBUF_INIT;
        strbuf_addf(&key, "=%s", u->identity);
        struct bucket *b = bucket_get(ix, key.buf, false);
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
