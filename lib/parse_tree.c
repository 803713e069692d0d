/*
 * parse_tree.c — reading libpg_query's protobuf tree: parsing a string,
 * the one generic walker (it follows protobuf-c's descriptors, so no node
 * type needs traversal code of its own), and helpers that read names, types,
 * options and object kinds out of nodes.
 */
#include "lib/parse_int.h"

/* Deeper trees than this are not walked further (the parser itself stops
 * long before: its stack-depth check). */
#define WALK_MAX_DEPTH 4000

size_t parse_cursor_offset(const char *s, int cursorpos)
{
    size_t off = 0;
    int chars = 1;
    if (cursorpos <= 1)
        return 0;
    while (s[off]) {
        if (((unsigned char)s[off] & 0xC0) != 0x80 && chars++ == cursorpos)
            return off;
        off++;
    }
    return off;
}

/* ---- parsing and walking ------------------------------------------------------------ */

PgQuery__ParseResult *parse_tree(const char *sql, char **err, size_t *errpos)
{
    PgQueryProtobufParseResult r = pg_query_parse_protobuf(sql);
    PgQuery__ParseResult *pr = NULL;
    if (r.error) {
        *err = xstrdup(r.error->message ? r.error->message : "syntax error");
        *errpos = parse_cursor_offset(sql, r.error->cursorpos);
    } else {
        pr = pg_query__parse_result__unpack(NULL, r.parse_tree.len,
                                            (const uint8_t *)r.parse_tree.data);
        if (!pr) {
            *err = xstrdup("libpg_query returned a tree that does not unpack");
            *errpos = 0;
        }
    }
    pg_query_free_protobuf_parse_result(r);
    return pr;
}

void parse_tree_free(PgQuery__ParseResult *pr)
{
    if (pr)
        pg_query__parse_result__free_unpacked(pr, NULL);
}

/* The message a Node holds (its oneof member), or NULL. */
const ProtobufCMessage *parse_node_msg(const PgQuery__Node *n)
{
    const ProtobufCFieldDescriptor *f;
    if (!n || n->node_case == PG_QUERY__NODE__NODE__NOT_SET)
        return NULL;
    f = protobuf_c_message_descriptor_get_field(&pg_query__node__descriptor,
                                                (unsigned)n->node_case);
    if (!f || f->type != PROTOBUF_C_TYPE_MESSAGE)
        return NULL;
    return *(const ProtobufCMessage *const *)((const char *)n + f->offset);
}

static void walk(const ProtobufCMessage *m, const ProtobufCMessage *parent,
                 const ProtobufCFieldDescriptor *pfield, parse_visit_fn *fn, void *data,
                 unsigned depth)
{
    const ProtobufCMessageDescriptor *d;
    if (!m || depth > WALK_MAX_DEPTH)
        return;
    if (m->descriptor == &pg_query__node__descriptor) {
        walk(parse_node_msg((const PgQuery__Node *)m), parent, pfield, fn, data, depth + 1);
        return;
    }
    if (!fn(data, m, parent, pfield))
        return;
    d = m->descriptor;
    for (unsigned i = 0; i < d->n_fields; i++) {
        const ProtobufCFieldDescriptor *f = &d->fields[i];
        const char *base = (const char *)m;
        if (f->type != PROTOBUF_C_TYPE_MESSAGE)
            continue;
        if (f->label == PROTOBUF_C_LABEL_REPEATED) {
            size_t n = *(const size_t *)(base + f->quantifier_offset);
            const ProtobufCMessage *const *v =
                *(const ProtobufCMessage *const *const *)(base + f->offset);
            for (size_t j = 0; j < n; j++)
                walk(v[j], m, f, fn, data, depth + 1);
        } else {
            if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
                *(const uint32_t *)(base + f->quantifier_offset) != f->id)
                continue;
            walk(*(const ProtobufCMessage *const *)(base + f->offset), m, f, fn, data, depth + 1);
        }
    }
}

void parse_walk(const ProtobufCMessage *root, parse_visit_fn *fn, void *data)
{
    walk(root, NULL, NULL, fn, data, 0);
}

bool parse_field_is(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field,
                    const ProtobufCMessageDescriptor *d, const char *name)
{
    return parent && field && parent->descriptor == d && !strcmp(field->name, name);
}

/* ---- small tree helpers ---------------------------------------------------- */

const char *parse_nz(const char *s)
{
    return s && *s ? s : NULL;
}

char *parse_strdup_nz(const char *s)
{
    return s && *s ? xstrdup(s) : NULL;
}

const char *parse_node_str(const PgQuery__Node *n)
{
    if (n && n->node_case == PG_QUERY__NODE__NODE_STRING && n->string)
        return n->string->sval;
    return NULL;
}

void parse_names(PgQuery__Node *const *v, size_t n, char **schema, char **name)
{
    *schema = n >= 2 ? parse_strdup_nz(parse_node_str(v[n - 2])) : NULL;
    *name = n >= 1 ? parse_strdup_nz(parse_node_str(v[n - 1])) : NULL;
}

char *parse_names_str(PgQuery__Node *const *v, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        const char *s = parse_node_str(v[i]);
        if (i)
            strbuf_addch(&sb, '.');
        strbuf_addstr(&sb, s ? s : "?");
    }
    return strbuf_detach(&sb, NULL);
}

/* format_type's spelling of the built-in names the grammar (or a user) may use. */
static const char *const type_alias[][2] = {
    {"int4", "integer"},
    {"int", "integer"},
    {"integer", "integer"},
    {"int8", "bigint"},
    {"int2", "smallint"},
    {"float4", "real"},
    {"float8", "double precision"},
    {"bool", "boolean"},
    {"varchar", "character varying"},
    {"bpchar", "character"},
    {"decimal", "numeric"},
    {"timestamptz", "timestamp with time zone"},
    {"timestamp", "timestamp without time zone"},
    {"timetz", "time with time zone"},
    {"time", "time without time zone"},
    {"varbit", "bit varying"},
};

void parse_type_str(struct strbuf *sb, const PgQuery__TypeName *tn)
{
    size_t n = tn->n_names;
    const char *schema = n >= 2 ? parse_node_str(tn->names[n - 2]) : NULL;
    const char *name = n >= 1 ? parse_node_str(tn->names[n - 1]) : NULL;
    if (tn->pct_type) {
        char *s = parse_names_str(tn->names, n);
        strbuf_addf(sb, "%s%%TYPE", s);
        free(s);
        return;
    }
    if (!name)
        name = "?";
    if (!schema || !strcmp(schema, "pg_catalog")) {
        for (size_t i = 0; i < ARRAY_SIZE(type_alias); i++)
            if (!strcmp(name, type_alias[i][0])) {
                name = type_alias[i][1];
                schema = NULL;
                break;
            }
        if (schema && !strcmp(schema, "pg_catalog"))
            schema = NULL;
        else if (!schema && !strcmp(name, "char"))
            name = "\"char\"";
    }
    if (schema)
        strbuf_addf(sb, "%s.", schema);
    strbuf_addstr(sb, name);
    for (size_t i = 0; i < tn->n_array_bounds; i++)
        strbuf_addstr(sb, "[]");
}

char *parse_typelist_str(PgQuery__Node *const *v, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < n; i++) {
        if (i)
            strbuf_addstr(&sb, ", ");
        if (v[i] && v[i]->node_case == PG_QUERY__NODE__NODE_TYPE_NAME)
            parse_type_str(&sb, v[i]->type_name);
        else
            strbuf_addch(&sb, '?');
    }
    return strbuf_detach(&sb, NULL);
}

/* PostgreSQL's parse_bool(): unique prefixes of true/false/yes/no, on/off, 1/0. */
static int bool_word(const char *s, bool *out)
{
    static const struct {
        const char *word;
        size_t min;
        bool val;
    } words[] = {{"true", 1, true}, {"false", 1, false}, {"yes", 1, true}, {"no", 1, false},
                 {"on", 2, true},   {"off", 2, false},   {"1", 1, true},   {"0", 1, false}};
    size_t len = strlen(s);
    for (size_t i = 0; i < ARRAY_SIZE(words); i++)
        if (len >= words[i].min && len <= strlen(words[i].word) &&
            !strncasecmp(s, words[i].word, len)) {
            *out = words[i].val;
            return 0;
        }
    return -1;
}

bool parse_defelem_bool(const PgQuery__DefElem *d, bool dflt)
{
    const PgQuery__Node *a = d->arg;
    bool b;
    if (!a || a->node_case == PG_QUERY__NODE__NODE__NOT_SET)
        return true; /* "WITH (create_slot)" alone means true */
    switch (a->node_case) {
    case PG_QUERY__NODE__NODE_INTEGER:
        return a->integer->ival != 0;
    case PG_QUERY__NODE__NODE_BOOLEAN:
        return a->boolean->boolval;
    case PG_QUERY__NODE__NODE_STRING:
        return bool_word(a->string->sval, &b) ? dflt : b;
    case PG_QUERY__NODE__NODE_TYPE_NAME: /* a bare word: WITH (connect = off) */
        if (a->type_name->n_names == 1 && parse_node_str(a->type_name->names[0]))
            return bool_word(parse_node_str(a->type_name->names[0]), &b) ? dflt : b;
        return dflt;
    default:
        return dflt;
    }
}

const PgQuery__DefElem *parse_defelem_find(PgQuery__Node *const *v, size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (v[i] && v[i]->node_case == PG_QUERY__NODE__NODE_DEF_ELEM &&
            !strcmp(v[i]->def_elem->defname, name))
            return v[i]->def_elem;
    return NULL;
}

const char *parse_enum_name(const ProtobufCEnumDescriptor *d, int value)
{
    const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(d, value);
    return v ? v->name : "?";
}

/* Readable names of the parse tree's ObjectType values, as the server's messages spell them. */
static const char *const objtype_names[] = {
    [PG_QUERY__OBJECT_TYPE__OBJECT_ACCESS_METHOD] = "access method",
    [PG_QUERY__OBJECT_TYPE__OBJECT_AMOP] = "operator of access method",
    [PG_QUERY__OBJECT_TYPE__OBJECT_AMPROC] = "function of access method",
    [PG_QUERY__OBJECT_TYPE__OBJECT_ATTRIBUTE] = "attribute",
    [PG_QUERY__OBJECT_TYPE__OBJECT_CAST] = "cast",
    [PG_QUERY__OBJECT_TYPE__OBJECT_COLLATION] = "collation",
    [PG_QUERY__OBJECT_TYPE__OBJECT_CONVERSION] = "conversion",
    [PG_QUERY__OBJECT_TYPE__OBJECT_DATABASE] = "database",
    [PG_QUERY__OBJECT_TYPE__OBJECT_DEFAULT] = "default value",
    [PG_QUERY__OBJECT_TYPE__OBJECT_DEFACL] = "default acl",
    [PG_QUERY__OBJECT_TYPE__OBJECT_DOMCONSTRAINT] = "domain constraint",
    [PG_QUERY__OBJECT_TYPE__OBJECT_FDW] = "foreign-data wrapper",
    [PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_SERVER] = "server",
    [PG_QUERY__OBJECT_TYPE__OBJECT_LANGUAGE] = "language",
    [PG_QUERY__OBJECT_TYPE__OBJECT_LARGEOBJECT] = "large object",
    [PG_QUERY__OBJECT_TYPE__OBJECT_OPCLASS] = "operator class",
    [PG_QUERY__OBJECT_TYPE__OBJECT_OPERATOR] = "operator",
    [PG_QUERY__OBJECT_TYPE__OBJECT_OPFAMILY] = "operator family",
    [PG_QUERY__OBJECT_TYPE__OBJECT_PARAMETER_ACL] = "parameter acl",
    [PG_QUERY__OBJECT_TYPE__OBJECT_PUBLICATION] = "publication",
    [PG_QUERY__OBJECT_TYPE__OBJECT_PUBLICATION_NAMESPACE] = "publication namespace",
    [PG_QUERY__OBJECT_TYPE__OBJECT_PUBLICATION_REL] = "publication relation",
    [PG_QUERY__OBJECT_TYPE__OBJECT_ROLE] = "role",
    [PG_QUERY__OBJECT_TYPE__OBJECT_RULE] = "rule",
    [PG_QUERY__OBJECT_TYPE__OBJECT_SUBSCRIPTION] = "subscription",
    [PG_QUERY__OBJECT_TYPE__OBJECT_STATISTIC_EXT] = "statistics object",
    [PG_QUERY__OBJECT_TYPE__OBJECT_TABCONSTRAINT] = "table constraint",
    [PG_QUERY__OBJECT_TYPE__OBJECT_TABLESPACE] = "tablespace",
    [PG_QUERY__OBJECT_TYPE__OBJECT_TRANSFORM] = "transform",
    [PG_QUERY__OBJECT_TYPE__OBJECT_TSCONFIGURATION] = "text search configuration",
    [PG_QUERY__OBJECT_TYPE__OBJECT_TSDICTIONARY] = "text search dictionary",
    [PG_QUERY__OBJECT_TYPE__OBJECT_TSPARSER] = "text search parser",
    [PG_QUERY__OBJECT_TYPE__OBJECT_TSTEMPLATE] = "text search template",
    [PG_QUERY__OBJECT_TYPE__OBJECT_USER_MAPPING] = "user mapping",
};

enum parse_obj_kind parse_objtype_kind(int objtype, const char **name)
{
    static const struct {
        int objtype;
        enum parse_obj_kind kind;
    } map[] = {
        {PG_QUERY__OBJECT_TYPE__OBJECT_TABLE, PARSE_OBJ_TABLE},
        {PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE, PARSE_OBJ_FOREIGN_TABLE},
        {PG_QUERY__OBJECT_TYPE__OBJECT_VIEW, PARSE_OBJ_VIEW},
        {PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW, PARSE_OBJ_MATVIEW},
        {PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE, PARSE_OBJ_SEQUENCE},
        {PG_QUERY__OBJECT_TYPE__OBJECT_INDEX, PARSE_OBJ_INDEX},
        {PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN, PARSE_OBJ_COLUMN},
        {PG_QUERY__OBJECT_TYPE__OBJECT_SCHEMA, PARSE_OBJ_SCHEMA},
        {PG_QUERY__OBJECT_TYPE__OBJECT_EXTENSION, PARSE_OBJ_EXTENSION},
        {PG_QUERY__OBJECT_TYPE__OBJECT_FUNCTION, PARSE_OBJ_FUNCTION},
        {PG_QUERY__OBJECT_TYPE__OBJECT_PROCEDURE, PARSE_OBJ_PROCEDURE},
        {PG_QUERY__OBJECT_TYPE__OBJECT_ROUTINE, PARSE_OBJ_ROUTINE},
        {PG_QUERY__OBJECT_TYPE__OBJECT_AGGREGATE, PARSE_OBJ_AGGREGATE},
        {PG_QUERY__OBJECT_TYPE__OBJECT_TYPE, PARSE_OBJ_TYPE},
        {PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN, PARSE_OBJ_DOMAIN},
        {PG_QUERY__OBJECT_TYPE__OBJECT_TRIGGER, PARSE_OBJ_TRIGGER},
        {PG_QUERY__OBJECT_TYPE__OBJECT_EVENT_TRIGGER, PARSE_OBJ_EVENT_TRIGGER},
        {PG_QUERY__OBJECT_TYPE__OBJECT_POLICY, PARSE_OBJ_POLICY},
    };
    for (size_t i = 0; i < ARRAY_SIZE(map); i++)
        if (map[i].objtype == objtype) {
            if (name)
                *name = parse_obj_kind_name(map[i].kind);
            return map[i].kind;
        }
    if (name)
        *name = (unsigned)objtype < ARRAY_SIZE(objtype_names) && objtype_names[objtype]
                    ? objtype_names[objtype]
                    : "object";
    return PARSE_OBJ_OTHER;
}

void parse_object_names(int objtype, const PgQuery__Node *obj, char **schema, char **name,
                        char **args, char **table_schema, char **table)
{
    *schema = *name = *args = *table_schema = *table = NULL;
    if (!obj)
        return;
    switch (obj->node_case) {
    case PG_QUERY__NODE__NODE_STRING:
        *name = parse_strdup_nz(obj->string->sval);
        break;
    case PG_QUERY__NODE__NODE_TYPE_NAME:
        parse_names(obj->type_name->names, obj->type_name->n_names, schema, name);
        break;
    case PG_QUERY__NODE__NODE_OBJECT_WITH_ARGS: {
        const PgQuery__ObjectWithArgs *o = obj->object_with_args;
        parse_names(o->objname, o->n_objname, schema, name);
        if (objtype == PG_QUERY__OBJECT_TYPE__OBJECT_AGGREGATE && !o->n_objargs)
            *args = xstrdup("*"); /* agg(*) */
        else if (!o->args_unspecified)
            *args = parse_typelist_str(o->objargs, o->n_objargs);
        break;
    }
    case PG_QUERY__NODE__NODE_LIST: {
        PgQuery__Node **v = obj->list->items;
        size_t n = obj->list->n_items;
        switch (objtype) {
        case PG_QUERY__OBJECT_TYPE__OBJECT_TRIGGER:
        case PG_QUERY__OBJECT_TYPE__OBJECT_POLICY:
        case PG_QUERY__OBJECT_TYPE__OBJECT_RULE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN:
        case PG_QUERY__OBJECT_TYPE__OBJECT_TABCONSTRAINT:
            /* [schema.]table.name */
            if (n >= 1)
                *name = parse_strdup_nz(parse_node_str(v[n - 1]));
            if (n >= 2)
                parse_names(v, n - 1, table_schema, table);
            break;
        default:
            parse_names(v, n, schema, name);
        }
        break;
    }
    default:
        break;
    }
}

const char *parse_obj_kind_name(enum parse_obj_kind kind)
{
    static const char *const names[] = {
        [PARSE_OBJ_OTHER] = "object",
        [PARSE_OBJ_TABLE] = "table",
        [PARSE_OBJ_FOREIGN_TABLE] = "foreign table",
        [PARSE_OBJ_VIEW] = "view",
        [PARSE_OBJ_MATVIEW] = "materialized view",
        [PARSE_OBJ_SEQUENCE] = "sequence",
        [PARSE_OBJ_INDEX] = "index",
        [PARSE_OBJ_COLUMN] = "column",
        [PARSE_OBJ_SCHEMA] = "schema",
        [PARSE_OBJ_EXTENSION] = "extension",
        [PARSE_OBJ_FUNCTION] = "function",
        [PARSE_OBJ_PROCEDURE] = "procedure",
        [PARSE_OBJ_ROUTINE] = "routine",
        [PARSE_OBJ_AGGREGATE] = "aggregate",
        [PARSE_OBJ_TYPE] = "type",
        [PARSE_OBJ_ENUM] = "enum type",
        [PARSE_OBJ_COMPOSITE] = "composite type",
        [PARSE_OBJ_RANGE] = "range type",
        [PARSE_OBJ_DOMAIN] = "domain",
        [PARSE_OBJ_TRIGGER] = "trigger",
        [PARSE_OBJ_EVENT_TRIGGER] = "event trigger",
        [PARSE_OBJ_POLICY] = "policy",
        [PARSE_OBJ_COMMENT] = "comment",
    };
    return (unsigned)kind < ARRAY_SIZE(names) && names[kind] ? names[kind] : "object";
}

bool parse_obj_kind_is_type(enum parse_obj_kind kind)
{
    return kind == PARSE_OBJ_TYPE || kind == PARSE_OBJ_ENUM || kind == PARSE_OBJ_COMPOSITE ||
           kind == PARSE_OBJ_RANGE || kind == PARSE_OBJ_DOMAIN;
}
