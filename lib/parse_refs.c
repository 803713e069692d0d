/*
 * parse_refs.c — what a statement creates and what it names: the objects
 * for code kept as files (views, functions, types, triggers, policies...)
 * and the relations, functions and types they depend on, found by one
 * generic walk of the tree, SQL function bodies and plpgsql bodies included.
 */
#include "lib/parse_int.h"

#include <ctype.h>

/* ---- created objects ----------------------------------------------------------- */

static struct parse_object *add_object(struct parse_ctx *ctx, enum parse_obj_kind kind, int32_t loc)
{
    struct parse_stmt *st = ctx->st;
    struct parse_object *o;
    ALLOC_GROW(st->creates, st->creates_nr + 1, st->creates_alloc);
    o = &st->creates[st->creates_nr++];
    memset(o, 0, sizeof(*o));
    o->kind = kind;
    o->kind_name = parse_obj_kind_name(kind);
    o->pos = parse_ctx_pos(ctx, loc);
    return o;
}

static struct parse_object *add_rangevar_object(struct parse_ctx *ctx, enum parse_obj_kind kind,
                                                const PgQuery__RangeVar *rv)
{
    struct parse_object *o = add_object(ctx, kind, rv ? rv->location : -1);
    if (rv) {
        o->schema = parse_strdup_nz(rv->schemaname);
        o->name = parse_strdup_nz(rv->relname);
    }
    return o;
}

/* Identity arguments of CREATE FUNCTION's parameter list: IN, INOUT and VARIADIC ones. */
static char *param_args(PgQuery__Node *const *v, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    bool first = true;
    for (size_t i = 0; i < n; i++) {
        const PgQuery__FunctionParameter *p =
            v[i] && v[i]->node_case == PG_QUERY__NODE__NODE_FUNCTION_PARAMETER
                ? v[i]->function_parameter
                : NULL;
        if (!p || p->mode == PG_QUERY__FUNCTION_PARAMETER_MODE__FUNC_PARAM_OUT ||
            p->mode == PG_QUERY__FUNCTION_PARAMETER_MODE__FUNC_PARAM_TABLE)
            continue;
        if (!first)
            strbuf_addstr(&sb, ", ");
        first = false;
        if (p->arg_type)
            parse_type_str(&sb, p->arg_type);
        else
            strbuf_addch(&sb, '?');
    }
    return strbuf_detach(&sb, NULL);
}

/* CREATE AGGREGATE: args is [List of FunctionParameter (NULL for *), Integer numDirectArgs]. */
static char *aggregate_args(const PgQuery__DefineStmt *d)
{
    if (d->oldstyle) {
        const PgQuery__DefElem *b = parse_defelem_find(d->definition, d->n_definition, "basetype");
        struct strbuf sb = STRBUF_INIT;
        const PgQuery__TypeName *tn =
            b && b->arg && b->arg->node_case == PG_QUERY__NODE__NODE_TYPE_NAME ? b->arg->type_name
                                                                               : NULL;
        if (!tn)
            return xstrdup("*");
        parse_type_str(&sb, tn);
        if (!strcasecmp(sb.buf, "any")) {
            strbuf_release(&sb);
            return xstrdup("*");
        }
        return strbuf_detach(&sb, NULL);
    }
    if (!d->n_args || !d->args[0] || d->args[0]->node_case != PG_QUERY__NODE__NODE_LIST)
        return xstrdup("*");
    return param_args(d->args[0]->list->items, d->args[0]->list->n_items);
}

static void creates(struct parse_ctx *ctx, const PgQuery__Node *n);

static void create_schema(struct parse_ctx *ctx, const PgQuery__CreateSchemaStmt *s)
{
    const char *name = parse_nz(s->schemaname) ? s->schemaname
                       : s->authrole           ? s->authrole->rolename
                                               : NULL;
    struct parse_object *o = add_object(ctx, PARSE_OBJ_SCHEMA, -1);
    size_t first;
    o->name = parse_strdup_nz(name);
    o->if_not_exists = s->if_not_exists;
    first = ctx->st->creates_nr;
    for (size_t i = 0; i < s->n_schema_elts; i++)
        creates(ctx, s->schema_elts[i]);
    /* CREATE SCHEMA s CREATE TABLE t ...: t is s.t */
    for (size_t i = first; name && i < ctx->st->creates_nr; i++) {
        struct parse_object *e = &ctx->st->creates[i];
        if (!e->schema)
            e->schema = xstrdup(name);
        if (e->table && !e->table_schema)
            e->table_schema = xstrdup(name);
    }
}

static void creates(struct parse_ctx *ctx, const PgQuery__Node *n)
{
    struct parse_object *o;
    if (!n)
        return;
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_CREATE_STMT:
        o = add_rangevar_object(ctx, PARSE_OBJ_TABLE, n->create_stmt->relation);
        o->if_not_exists = n->create_stmt->if_not_exists;
        break;
    case PG_QUERY__NODE__NODE_CREATE_FOREIGN_TABLE_STMT: {
        const PgQuery__CreateStmt *b = n->create_foreign_table_stmt->base_stmt;
        o = add_rangevar_object(ctx, PARSE_OBJ_FOREIGN_TABLE, b ? b->relation : NULL);
        o->if_not_exists = b && b->if_not_exists;
        break;
    }
    case PG_QUERY__NODE__NODE_CREATE_TABLE_AS_STMT: {
        const PgQuery__CreateTableAsStmt *c = n->create_table_as_stmt;
        o = add_rangevar_object(ctx,
                                c->objtype == PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW
                                    ? PARSE_OBJ_MATVIEW
                                    : PARSE_OBJ_TABLE,
                                c->into ? c->into->rel : NULL);
        o->if_not_exists = c->if_not_exists;
        break;
    }
    case PG_QUERY__NODE__NODE_SELECT_STMT: /* SELECT ... INTO t */
        if (n->select_stmt->into_clause && n->select_stmt->into_clause->rel)
            add_rangevar_object(ctx, PARSE_OBJ_TABLE, n->select_stmt->into_clause->rel);
        break;
    case PG_QUERY__NODE__NODE_VIEW_STMT:
        o = add_rangevar_object(ctx, PARSE_OBJ_VIEW, n->view_stmt->view);
        o->or_replace = n->view_stmt->replace;
        break;
    case PG_QUERY__NODE__NODE_CREATE_SEQ_STMT:
        o = add_rangevar_object(ctx, PARSE_OBJ_SEQUENCE, n->create_seq_stmt->sequence);
        o->if_not_exists = n->create_seq_stmt->if_not_exists;
        break;
    case PG_QUERY__NODE__NODE_INDEX_STMT: {
        const PgQuery__IndexStmt *ix = n->index_stmt;
        o = add_object(ctx, PARSE_OBJ_INDEX, ix->relation ? ix->relation->location : -1);
        o->name = parse_strdup_nz(ix->idxname);
        if (ix->relation) {
            /* an index lives in its table's schema */
            o->schema = parse_strdup_nz(ix->relation->schemaname);
            o->table_schema = parse_strdup_nz(ix->relation->schemaname);
            o->table = parse_strdup_nz(ix->relation->relname);
        }
        o->if_not_exists = ix->if_not_exists;
        break;
    }
    case PG_QUERY__NODE__NODE_CREATE_SCHEMA_STMT:
        create_schema(ctx, n->create_schema_stmt);
        break;
    case PG_QUERY__NODE__NODE_CREATE_EXTENSION_STMT:
        o = add_object(ctx, PARSE_OBJ_EXTENSION, -1);
        o->name = parse_strdup_nz(n->create_extension_stmt->extname);
        o->if_not_exists = n->create_extension_stmt->if_not_exists;
        break;
    case PG_QUERY__NODE__NODE_CREATE_FUNCTION_STMT: {
        const PgQuery__CreateFunctionStmt *f = n->create_function_stmt;
        o = add_object(ctx, f->is_procedure ? PARSE_OBJ_PROCEDURE : PARSE_OBJ_FUNCTION, -1);
        parse_names(f->funcname, f->n_funcname, &o->schema, &o->name);
        o->args = param_args(f->parameters, f->n_parameters);
        o->or_replace = f->replace;
        break;
    }
    case PG_QUERY__NODE__NODE_DEFINE_STMT: {
        const PgQuery__DefineStmt *d = n->define_stmt;
        if (d->kind == PG_QUERY__OBJECT_TYPE__OBJECT_AGGREGATE) {
            o = add_object(ctx, PARSE_OBJ_AGGREGATE, -1);
            o->args = aggregate_args(d);
        } else if (d->kind == PG_QUERY__OBJECT_TYPE__OBJECT_TYPE) {
            o = add_object(ctx, PARSE_OBJ_TYPE, -1);
        } else {
            break;
        }
        parse_names(d->defnames, d->n_defnames, &o->schema, &o->name);
        o->or_replace = d->replace;
        o->if_not_exists = d->if_not_exists;
        break;
    }
    case PG_QUERY__NODE__NODE_COMPOSITE_TYPE_STMT:
        add_rangevar_object(ctx, PARSE_OBJ_COMPOSITE, n->composite_type_stmt->typevar);
        break;
    case PG_QUERY__NODE__NODE_CREATE_ENUM_STMT:
        o = add_object(ctx, PARSE_OBJ_ENUM, -1);
        parse_names(n->create_enum_stmt->type_name, n->create_enum_stmt->n_type_name, &o->schema,
                    &o->name);
        break;
    case PG_QUERY__NODE__NODE_CREATE_RANGE_STMT:
        o = add_object(ctx, PARSE_OBJ_RANGE, -1);
        parse_names(n->create_range_stmt->type_name, n->create_range_stmt->n_type_name, &o->schema,
                    &o->name);
        break;
    case PG_QUERY__NODE__NODE_CREATE_DOMAIN_STMT:
        o = add_object(ctx, PARSE_OBJ_DOMAIN, -1);
        parse_names(n->create_domain_stmt->domainname, n->create_domain_stmt->n_domainname,
                    &o->schema, &o->name);
        break;
    case PG_QUERY__NODE__NODE_CREATE_TRIG_STMT: {
        const PgQuery__CreateTrigStmt *t = n->create_trig_stmt;
        o = add_object(ctx, PARSE_OBJ_TRIGGER, t->relation ? t->relation->location : -1);
        o->name = parse_strdup_nz(t->trigname);
        if (t->relation) {
            o->table_schema = parse_strdup_nz(t->relation->schemaname);
            o->table = parse_strdup_nz(t->relation->relname);
        }
        o->or_replace = t->replace;
        break;
    }
    case PG_QUERY__NODE__NODE_CREATE_EVENT_TRIG_STMT:
        o = add_object(ctx, PARSE_OBJ_EVENT_TRIGGER, -1);
        o->name = parse_strdup_nz(n->create_event_trig_stmt->trigname);
        break;
    case PG_QUERY__NODE__NODE_CREATE_POLICY_STMT: {
        const PgQuery__CreatePolicyStmt *p = n->create_policy_stmt;
        o = add_object(ctx, PARSE_OBJ_POLICY, p->table ? p->table->location : -1);
        o->name = parse_strdup_nz(p->policy_name);
        if (p->table) {
            o->table_schema = parse_strdup_nz(p->table->schemaname);
            o->table = parse_strdup_nz(p->table->relname);
        }
        break;
    }
    case PG_QUERY__NODE__NODE_COMMENT_STMT: {
        const PgQuery__CommentStmt *c = n->comment_stmt;
        o = add_object(ctx, PARSE_OBJ_COMMENT, -1);
        o->target = parse_objtype_kind(c->objtype, &o->kind_name);
        parse_object_names(c->objtype, c->object, &o->schema, &o->name, &o->args, &o->table_schema,
                           &o->table);
        break;
    }
    default:
        break;
    }
}

void parse_collect_creates(struct parse_ctx *ctx, const PgQuery__Node *stmt)
{
    creates(ctx, stmt);
}

/* ---- references ------------------------------------------------------------------- */

struct refs {
    struct parse_ctx *ctx;
    struct strvec ctes; /* WITH names seen: not relations */
    bool bodies;        /* analyse function bodies (not inside a body already) */
};

static void add_ref(struct parse_ctx *ctx, enum parse_ref_kind kind, const char *schema,
                    const char *name, int nargs, int32_t loc)
{
    struct parse_stmt *st = ctx->st;
    struct parse_ref *r;
    if (!parse_nz(name))
        return;
    ALLOC_GROW(st->refs, st->refs_nr + 1, st->refs_alloc);
    r = &st->refs[st->refs_nr++];
    r->kind = kind;
    r->schema = parse_strdup_nz(schema);
    r->name = xstrdup(name);
    r->nargs = nargs;
    r->in_body = ctx->in_body;
    r->pos = parse_ctx_pos(ctx, loc);
}

static void add_names_ref(struct parse_ctx *ctx, enum parse_ref_kind kind, PgQuery__Node *const *v,
                          size_t n, int nargs, int32_t loc)
{
    const char *schema = n >= 2 ? parse_node_str(v[n - 2]) : NULL;
    const char *name = n >= 1 ? parse_node_str(v[n - 1]) : NULL;
    add_ref(ctx, kind, schema, name, nargs, loc);
}

/* 'name' or 'schema.name' as regclass reads it (unquoted: folded to lower case). */
static void add_regclass_ref(struct parse_ctx *ctx, const char *text, int32_t loc)
{
    char *copy, *dot;
    if (!parse_nz(text) || strchr(text, '"'))
        return; /* quoted identifiers inside the literal: leave them to the server */
    copy = xstrdup(text);
    for (char *p = copy; *p; p++)
        *p = (char)tolower((unsigned char)*p);
    dot = strrchr(copy, '.');
    if (dot) {
        *dot = 0;
        add_ref(ctx, PARSE_REF_RELATION, copy, dot + 1, -1, loc);
    } else {
        add_ref(ctx, PARSE_REF_RELATION, NULL, copy, -1, loc);
    }
    free(copy);
}

static const char *aconst_str(const PgQuery__Node *n)
{
    if (n && n->node_case == PG_QUERY__NODE__NODE_A_CONST &&
        n->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL && n->a_const->sval)
        return n->a_const->sval->sval;
    return NULL;
}

/* CREATE TYPE/AGGREGATE/OPERATOR/RANGE options that name a function. */
static const char *const func_options[] = {
    "sfunc",    "finalfunc",  "combinefunc", "serialfunc",   "deserialfunc", "msfunc",
    "minvfunc", "mfinalfunc", "procedure",   "function",     "input",        "output",
    "receive",  "send",       "typmod_in",   "typmod_out",   "analyze",      "subscript",
    "restrict", "join",       "canonical",   "subtype_diff",
};

static void function_bodies(struct refs *w, const ProtobufCMessage *m);

static bool refs_visit(void *data, const ProtobufCMessage *m, const ProtobufCMessage *parent,
                       const ProtobufCFieldDescriptor *field)
{
    struct refs *w = data;
    struct parse_ctx *ctx = w->ctx;

    /* What a statement creates, drops or comments on is not something it uses. */
    if (parse_field_is(parent, field, &pg_query__view_stmt__descriptor, "view") ||
        parse_field_is(parent, field, &pg_query__create_stmt__descriptor, "relation") ||
        parse_field_is(parent, field, &pg_query__into_clause__descriptor, "rel") ||
        parse_field_is(parent, field, &pg_query__create_seq_stmt__descriptor, "sequence") ||
        parse_field_is(parent, field, &pg_query__composite_type_stmt__descriptor, "typevar") ||
        parse_field_is(parent, field, &pg_query__drop_stmt__descriptor, "objects") ||
        parse_field_is(parent, field, &pg_query__comment_stmt__descriptor, "object"))
        return false;

    if (PARSE_IS(m, pg_query__range_var__descriptor)) {
        const PgQuery__RangeVar *rv = (const PgQuery__RangeVar *)m;
        add_ref(ctx, PARSE_REF_RELATION, rv->schemaname, rv->relname, -1, rv->location);
    } else if (PARSE_IS(m, pg_query__func_call__descriptor)) {
        const PgQuery__FuncCall *f = (const PgQuery__FuncCall *)m;
        const char *name = f->n_funcname ? parse_node_str(f->funcname[f->n_funcname - 1]) : NULL;
        const char *arg0 = f->n_args ? aconst_str(f->args[0]) : NULL;
        add_names_ref(ctx, PARSE_REF_FUNCTION, f->funcname, f->n_funcname, (int)f->n_args,
                      f->location);
        if (name && arg0 &&
            (!strcmp(name, "nextval") || !strcmp(name, "currval") || !strcmp(name, "setval")))
            add_regclass_ref(ctx, arg0, f->location);
    } else if (PARSE_IS(m, pg_query__type_name__descriptor)) {
        const PgQuery__TypeName *tn = (const PgQuery__TypeName *)m;
        if (tn->pct_type) /* t.c%TYPE: the relation t */
            add_names_ref(ctx, PARSE_REF_RELATION, tn->names, tn->n_names ? tn->n_names - 1 : 0, -1,
                          tn->location);
        else
            add_names_ref(ctx, PARSE_REF_TYPE, tn->names, tn->n_names, -1, tn->location);
    } else if (PARSE_IS(m, pg_query__type_cast__descriptor)) {
        /* 'name'::regclass */
        const PgQuery__TypeCast *tc = (const PgQuery__TypeCast *)m;
        const char *s = aconst_str(tc->arg);
        const PgQuery__TypeName *tn = tc->type_name;
        const char *type = tn && tn->n_names ? parse_node_str(tn->names[tn->n_names - 1]) : NULL;
        if (s && type && !strcmp(type, "regclass") && !tn->n_array_bounds)
            add_regclass_ref(ctx, s, tc->location);
    } else if (PARSE_IS(m, pg_query__create_trig_stmt__descriptor)) {
        const PgQuery__CreateTrigStmt *t = (const PgQuery__CreateTrigStmt *)m;
        add_names_ref(ctx, PARSE_REF_FUNCTION, t->funcname, t->n_funcname, 0, -1);
    } else if (PARSE_IS(m, pg_query__create_event_trig_stmt__descriptor)) {
        const PgQuery__CreateEventTrigStmt *t = (const PgQuery__CreateEventTrigStmt *)m;
        add_names_ref(ctx, PARSE_REF_FUNCTION, t->funcname, t->n_funcname, 0, -1);
    } else if (PARSE_IS(m, pg_query__def_elem__descriptor)) {
        /*
         * The grammar reads an option's bare word (WITH (connect = off)) as a
         * TypeName: a type only in CREATE TYPE/AGGREGATE/OPERATOR/RANGE, whose
         * function-valued options (sfunc = f) name functions, and in a
         * sequence's AS type.
         */
        const PgQuery__DefElem *d = (const PgQuery__DefElem *)m;
        const PgQuery__TypeName *tn = d->arg && d->arg->node_case == PG_QUERY__NODE__NODE_TYPE_NAME
                                          ? d->arg->type_name
                                          : NULL;
        if (!tn)
            return true;
        if (PARSE_IS(parent, pg_query__define_stmt__descriptor) ||
            PARSE_IS(parent, pg_query__create_range_stmt__descriptor)) {
            for (size_t i = 0; i < ARRAY_SIZE(func_options); i++)
                if (!strcmp(d->defname, func_options[i])) {
                    add_names_ref(ctx, PARSE_REF_FUNCTION, tn->names, tn->n_names, -1,
                                  tn->location);
                    return false;
                }
            return true;
        }
        return !strcmp(d->defname, "as") &&
               (PARSE_IS(parent, pg_query__create_seq_stmt__descriptor) ||
                PARSE_IS(parent, pg_query__alter_seq_stmt__descriptor));
    } else if (PARSE_IS(m, pg_query__common_table_expr__descriptor)) {
        const PgQuery__CommonTableExpr *c = (const PgQuery__CommonTableExpr *)m;
        if (parse_nz(c->ctename))
            strvec_push(&w->ctes, c->ctename);
    } else if (w->bodies && (PARSE_IS(m, pg_query__create_function_stmt__descriptor) ||
                             PARSE_IS(m, pg_query__do_stmt__descriptor))) {
        function_bodies(w, m);
    }
    return true;
}

static void walk_refs(struct refs *w, const ProtobufCMessage *root)
{
    parse_walk(root, refs_visit, w);
}

/* ---- function bodies -------------------------------------------------------------------- */

static void body_error(struct parse_ctx *ctx, size_t off, const char *what, const char *msg)
{
    struct parse_stmt *st = ctx->st;
    if (st->body_error)
        return; /* the first is enough to say the body was not fully analysed */
    st->body_error = xasprintf("%s not analysed: %s", what, msg);
    st->body_error_pos = parse_pos_of(ctx->text, off);
}

/* Offset in the text where BODY (the string's value) starts, or PARSE_BASE_UNKNOWN. */
static size_t find_body(const struct parse_ctx *ctx, const char *body, int32_t from)
{
    const struct parse_stmt *st = ctx->st;
    size_t start = st->pos.offset, end = st->pos.offset + st->len, blen = strlen(body);
    const char *p;
    if (ctx->base != PARSE_BASE_UNKNOWN && from >= 0 && ctx->base + (size_t)from > start &&
        ctx->base + (size_t)from < end)
        start = ctx->base + (size_t)from;
    if (!blen || end > ctx->text->len)
        return PARSE_BASE_UNKNOWN;
    p = memmem(ctx->text->s + start, end - start, body, blen);
    return p ? (size_t)(p - ctx->text->s) : PARSE_BASE_UNKNOWN;
}

/* The offset for plpgsql's LINENO (1 = the body's first line), from the body's start. */
static size_t body_line_offset(const struct parse_ctx *ctx, size_t body, size_t fallback,
                               long lineno)
{
    const char *s = ctx->text->s;
    size_t off = body;
    if (body == PARSE_BASE_UNKNOWN)
        return fallback;
    for (long l = 1; l < lineno && off < ctx->text->len; l++) {
        const char *nl = memchr(s + off, '\n', ctx->text->len - off);
        if (!nl)
            break;
        off = (size_t)(nl - s) + 1;
    }
    return off;
}

/* Parse SQL (a body string, a plpgsql query) and collect its references into W. */
static int body_sql_refs(struct refs *w, const char *sql, size_t base, size_t fallback, char **err,
                         size_t *errpos)
{
    struct parse_ctx sub = *w->ctx;
    struct refs sw = {&sub, STRVEC_INIT, false};
    size_t ignored;
    PgQuery__ParseResult *pr = parse_tree(sql, err, errpos ? errpos : &ignored);
    if (!pr)
        return -1;
    sub.base = base;
    sub.fallback = fallback;
    sub.in_body = true;
    for (size_t i = 0; i < pr->n_stmts; i++)
        walk_refs(&sw, &pr->stmts[i]->base);
    for (size_t i = 0; i < sw.ctes.nr; i++)
        strvec_push(&w->ctes, sw.ctes.v[i]);
    strvec_clear(&sw.ctes);
    parse_tree_free(pr);
    return 0;
}

/*
 * A plpgsql expression or statement as the plpgsql compiler keeps it: a full
 * statement ("SELECT c FROM t WHERE id = a", INTO removed), an expression
 * ("v > 0"), or an assignment ("v := g(a) + 1", "r.x[1] := ..."). PostgreSQL's
 * scanner finds the := of an assignment.
 */
static void plpgsql_query(struct refs *w, const char *q, size_t off)
{
    char *err = NULL, *sql;
    PgQueryScanResult scan;
    PgQuery__ScanResult *sr;
    size_t from = 0;

    if (!body_sql_refs(w, q, PARSE_BASE_UNKNOWN, off, &err, NULL))
        return;
    free(err);
    err = NULL;
    scan = pg_query_scan(q);
    sr = scan.error
             ? NULL
             : pg_query__scan_result__unpack(NULL, scan.pbuf.len, (const uint8_t *)scan.pbuf.data);
    for (size_t i = 0; sr && i < sr->n_tokens; i++)
        if (sr->tokens[i]->token == PG_QUERY__TOKEN__COLON_EQUALS) {
            from = (size_t)sr->tokens[i]->end;
            break;
        }
    if (sr)
        pg_query__scan_result__free_unpacked(sr, NULL);
    pg_query_free_scan_result(scan);
    if (from > strlen(q))
        from = 0;
    sql = xasprintf("SELECT %s", q + from);
    if (body_sql_refs(w, sql, PARSE_BASE_UNKNOWN, off, &err, NULL))
        body_error(w->ctx, off, "plpgsql expression", err);
    free(err);
    free(sql);
}

/* A declared variable's type as plpgsql prints it: "integer", "t.c%TYPE", "t%ROWTYPE". */
static void plpgsql_type(struct refs *w, const char *typname, size_t off)
{
    size_t len = strlen(typname);
    bool rel = false;
    char *name, *sql, *err = NULL;
    if (!strcmp(typname, "UNKNOWN")) /* parameters: their types are in the CREATE FUNCTION */
        return;
    if (len > 5 && !strcasecmp(typname + len - 5, "%TYPE"))
        len -= 5, rel = true;
    else if (len > 8 && !strcasecmp(typname + len - 8, "%ROWTYPE"))
        len -= 8, rel = true;
    name = xstrndup(typname, len);
    sql = xasprintf("SELECT NULL::%s", name);
    if (!rel) {
        if (body_sql_refs(w, sql, PARSE_BASE_UNKNOWN, off, &err, NULL))
            free(err);
    } else {
        /* t.c%TYPE names relation t (and its column c); t%ROWTYPE names t */
        size_t errpos;
        PgQuery__ParseResult *pr = parse_tree(sql, &err, &errpos);
        struct parse_ctx sub = *w->ctx;
        sub.base = PARSE_BASE_UNKNOWN;
        sub.fallback = off;
        sub.in_body = true;
        if (pr && pr->n_stmts && pr->stmts[0]->stmt &&
            pr->stmts[0]->stmt->node_case == PG_QUERY__NODE__NODE_SELECT_STMT) {
            const PgQuery__SelectStmt *s = pr->stmts[0]->stmt->select_stmt;
            const PgQuery__Node *v = s->n_target_list ? s->target_list[0] : NULL;
            const PgQuery__ResTarget *rt =
                v && v->node_case == PG_QUERY__NODE__NODE_RES_TARGET ? v->res_target : NULL;
            const PgQuery__Node *e = rt ? rt->val : NULL;
            if (e && e->node_case == PG_QUERY__NODE__NODE_TYPE_CAST && e->type_cast->type_name) {
                const PgQuery__TypeName *tn = e->type_cast->type_name;
                size_t n = tn->n_names;
                bool pct = len != strlen(typname) && !strcasecmp(typname + len, "%TYPE");
                if (pct && n >= 2)
                    n--; /* drop the column */
                add_names_ref(&sub, PARSE_REF_RELATION, tn->names, n, -1, -1);
            }
        }
        parse_tree_free(pr);
        free(err);
    }
    free(sql);
    free(name);
}

/*
 * libpg_query gives the compiled plpgsql function only as JSON. Two keys
 * matter: "query" (every SQL statement and expression) and "typname" (declared
 * types), with "lineno" of the enclosing statement for the position. A small
 * string-aware scan finds them; no document is built. Lines are kept per
 * nesting depth so a key takes the lineno of its own statement, not a
 * sibling's.
 */
struct json_scan {
    const char *p, *end;
};

/* Decode the JSON string at S->p (at the opening quote) into SB; -1 when malformed. */
static int json_string(struct json_scan *s, struct strbuf *sb)
{
    const char *p = s->p + 1;
    strbuf_reset(sb);
    while (p < s->end && *p != '"') {
        if (*p != '\\') {
            strbuf_addch(sb, *p++);
            continue;
        }
        if (++p >= s->end)
            return -1;
        switch (*p) {
        case 'n':
            strbuf_addch(sb, '\n');
            break;
        case 't':
            strbuf_addch(sb, '\t');
            break;
        case 'r':
            strbuf_addch(sb, '\r');
            break;
        case 'b':
            strbuf_addch(sb, '\b');
            break;
        case 'f':
            strbuf_addch(sb, '\f');
            break;
        case 'u': {
            unsigned cp = 0;
            if (s->end - p < 5)
                return -1;
            for (int i = 1; i <= 4; i++) {
                int c = p[i];
                cp = cp * 16 + (unsigned)(isdigit(c) ? c - '0' : (tolower(c) - 'a' + 10) & 15);
            }
            p += 4;
            /* libpg_query escapes control characters only: no surrogate pairs */
            if (cp < 0x80) {
                strbuf_addch(sb, (char)cp);
            } else if (cp < 0x800) {
                strbuf_addch(sb, (char)(0xC0 | (cp >> 6)));
                strbuf_addch(sb, (char)(0x80 | (cp & 0x3F)));
            } else {
                strbuf_addch(sb, (char)(0xE0 | (cp >> 12)));
                strbuf_addch(sb, (char)(0x80 | ((cp >> 6) & 0x3F)));
                strbuf_addch(sb, (char)(0x80 | (cp & 0x3F)));
            }
            break;
        }
        default:
            strbuf_addch(sb, *p);
            break; /* \" \\ \/ */
        }
        p++;
    }
    if (p >= s->end)
        return -1;
    s->p = p + 1;
    return 0;
}

static void plpgsql_json(struct refs *w, const char *json, size_t body, size_t fallback)
{
    struct json_scan s = {json, json + strlen(json)};
    struct strbuf str = STRBUF_INIT, key = STRBUF_INIT;
    long lineno[64] = {1};
    size_t depth = 0;
    while (s.p < s.end) {
        char c = *s.p;
        if (c == '{' || c == '[') {
            if (depth + 1 < ARRAY_SIZE(lineno))
                lineno[depth + 1] = lineno[depth];
            depth++;
            s.p++;
        } else if (c == '}' || c == ']') {
            if (depth)
                depth--;
            s.p++;
            strbuf_reset(&key);
        } else if (c == '"') {
            const char *q;
            size_t d = depth < ARRAY_SIZE(lineno) ? depth : ARRAY_SIZE(lineno) - 1;
            if (json_string(&s, &str))
                break;
            for (q = s.p; q < s.end && isspace((unsigned char)*q); q++)
                ;
            if (q < s.end && *q == ':') {
                strbuf_reset(&key);
                strbuf_add(&key, str.buf, str.len);
                s.p = q + 1;
                continue;
            }
            if (!strcmp(key.buf, "query"))
                plpgsql_query(w, str.buf, body_line_offset(w->ctx, body, fallback, lineno[d]));
            else if (!strcmp(key.buf, "typname"))
                plpgsql_type(w, str.buf, body_line_offset(w->ctx, body, fallback, lineno[d]));
            strbuf_reset(&key);
        } else if ((isdigit((unsigned char)c) || c == '-') && !strcmp(key.buf, "lineno")) {
            char *e;
            long v = strtol(s.p, &e, 10);
            if (depth < ARRAY_SIZE(lineno) && v > 0)
                lineno[depth] = v;
            s.p = e > s.p ? e : s.p + 1;
            strbuf_reset(&key);
        } else {
            if (c == ',')
                strbuf_reset(&key);
            s.p++;
        }
    }
    strbuf_release(&str);
    strbuf_release(&key);
}

/*
 * libpg_query's plpgsql compiler does not register OUT and TABLE parameters,
 * so the bare "RETURN NEXT;" of a set-returning function that has them is
 * rejected ("missing expression"). Give it one: STMT with " NULL" before the
 * ';' of each RETURN NEXT ; that PostgreSQL's scanner finds in the body,
 * which starts at BODY (bytes into STMT) and runs BODY_LEN bytes. Lines stay
 * where they were. NULL when there is none.
 */
static char *return_next_fixed(const char *stmt, size_t body, size_t body_len)
{
    char *copy = xstrndup(stmt + body, body_len);
    PgQueryScanResult scan = pg_query_scan(copy);
    PgQuery__ScanResult *sr = NULL;
    struct strbuf sb = STRBUF_INIT;
    size_t done = 0;
    int tok[3] = {0, 0, 0};
    if (!scan.error)
        sr = pg_query__scan_result__unpack(NULL, scan.pbuf.len, (const uint8_t *)scan.pbuf.data);
    pg_query_free_scan_result(scan);
    for (size_t i = 0; sr && i < sr->n_tokens; i++) {
        const PgQuery__ScanToken *tk = sr->tokens[i];
        if (tk->token == PG_QUERY__TOKEN__SQL_COMMENT || tk->token == PG_QUERY__TOKEN__C_COMMENT)
            continue;
        tok[0] = tok[1], tok[1] = tok[2], tok[2] = tk->token;
        if (tok[0] == PG_QUERY__TOKEN__RETURN && tok[1] == PG_QUERY__TOKEN__NEXT &&
            tok[2] == PG_QUERY__TOKEN__ASCII_59 && (size_t)tk->start <= body_len) {
            if (!sb.len)
                strbuf_add(&sb, stmt, body);
            strbuf_add(&sb, copy + done, (size_t)tk->start - done);
            strbuf_addstr(&sb, " NULL");
            done = (size_t)tk->start;
        }
    }
    if (sr)
        pg_query__scan_result__free_unpacked(sr, NULL);
    if (sb.len) {
        strbuf_addstr(&sb, copy + done);
        strbuf_addstr(&sb, stmt + body + body_len);
    }
    free(copy);
    return sb.len ? strbuf_detach(&sb, NULL) : NULL;
}

static void plpgsql_body(struct refs *w, const char *body_text, size_t body, size_t fallback)
{
    struct parse_ctx *ctx = w->ctx;
    const struct parse_stmt *st = ctx->st;
    char *text = xstrndup(ctx->text->s + st->pos.offset, st->len);
    PgQueryPlpgsqlParseResult r = pg_query_parse_plpgsql(text);
    if (r.error && body != PARSE_BASE_UNKNOWN && body >= st->pos.offset) {
        char *fixed = return_next_fixed(text, body - st->pos.offset, strlen(body_text));
        if (fixed) {
            PgQueryPlpgsqlParseResult again = pg_query_parse_plpgsql(fixed);
            if (!again.error) {
                pg_query_free_plpgsql_parse_result(r);
                r = again;
            } else {
                pg_query_free_plpgsql_parse_result(again);
            }
            free(fixed);
        }
    }
    if (r.error)
        body_error(ctx, body != PARSE_BASE_UNKNOWN ? body : fallback, "plpgsql body",
                   r.error->message ? r.error->message : "error");
    else if (r.plpgsql_funcs)
        plpgsql_json(w, r.plpgsql_funcs, body, fallback);
    pg_query_free_plpgsql_parse_result(r);
    free(text);
}

/* The body of CREATE FUNCTION ... AS '...' LANGUAGE sql|plpgsql, and of DO. */
static void function_bodies(struct refs *w, const ProtobufCMessage *m)
{
    struct parse_ctx *ctx = w->ctx;
    PgQuery__Node *const *opts;
    size_t n_opts;
    const PgQuery__DefElem *as, *lang;
    const char *language, *body = NULL;
    size_t at, where;
    char *err = NULL;

    if (ctx->base == PARSE_BASE_UNKNOWN)
        return;
    if (PARSE_IS(m, pg_query__do_stmt__descriptor)) {
        const PgQuery__DoStmt *d = (const PgQuery__DoStmt *)m;
        opts = d->args, n_opts = d->n_args;
    } else {
        const PgQuery__CreateFunctionStmt *f = (const PgQuery__CreateFunctionStmt *)m;
        opts = f->options, n_opts = f->n_options;
    }
    as = parse_defelem_find(opts, n_opts, "as");
    lang = parse_defelem_find(opts, n_opts, "language");
    language = lang && lang->arg ? parse_node_str(lang->arg) : NULL;
    if (!language)
        language = PARSE_IS(m, pg_query__do_stmt__descriptor) ? "plpgsql" : "sql";
    if (as && as->arg && as->arg->node_case == PG_QUERY__NODE__NODE_LIST &&
        as->arg->list->n_items == 1)
        body = parse_node_str(as->arg->list->items[0]);
    else if (as && as->arg)
        body = parse_node_str(as->arg);
    if (!body)
        return; /* BEGIN ATOMIC (walked as part of the tree), or C's 'obj', 'sym' */
    at = as->location >= 0 ? ctx->base + (size_t)as->location : ctx->st->pos.offset;
    where = find_body(ctx, body, as->location);
    if (!strcasecmp(language, "sql")) {
        size_t errpos = 0;
        if (body_sql_refs(w, body, where, at, &err, &errpos)) {
            body_error(ctx, where != PARSE_BASE_UNKNOWN ? where + errpos : at, "function body",
                       err);
            free(err);
        }
    } else if (!strcasecmp(language, "plpgsql")) {
        plpgsql_body(w, body, where, at);
    }
}

void parse_collect_refs(struct parse_ctx *ctx, const PgQuery__Node *stmt)
{
    struct refs w = {ctx, STRVEC_INIT, true};
    struct parse_stmt *st = ctx->st;
    size_t keep = 0;
    parse_walk(&stmt->base, refs_visit, &w);
    /* WITH x AS (...) ... FROM x: x is no relation */
    for (size_t i = 0; i < st->refs_nr; i++) {
        struct parse_ref *r = &st->refs[i];
        bool cte = false;
        for (size_t j = 0; r->kind == PARSE_REF_RELATION && !r->schema && j < w.ctes.nr; j++)
            cte = cte || !strcmp(w.ctes.v[j], r->name);
        if (cte) {
            free(r->schema);
            free(r->name);
            continue;
        }
        st->refs[keep++] = *r;
    }
    st->refs_nr = keep;
    strvec_clear(&w.ctes);
}
