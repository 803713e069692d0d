/*
 * codeobj.c — the code directory read into units (see codeobj.h): its
 * files listed and hashed, each file's statements parsed into units with
 * their identities, drop statements and references. What a statement
 * creates and names comes from lib/parse; identifiers are quoted with
 * PostgreSQL's own keyword table (libpg_query's scanner), the way
 * quote_ident() decides. References, the order and migrations are
 * codeorder.c.
 */
#include "lib/codeobj_int.h"
#include "lib/fs.h"

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

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct bucket *code_bucket_get(struct index *ix, const char *key, bool create)
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
    struct bucket *b = code_bucket_get(ix, key, true);
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
struct index *code_index_of(const struct code_set *cs)
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
    struct bucket *b = code_bucket_get(code_index_of(cs), key.buf, false);
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
