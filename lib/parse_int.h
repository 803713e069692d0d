/*
 * parse_int.h — shared by the files of the parse module: parse.c
 * (statements, positions), parse_tree.c (parsing, the generic walker, tree
 * helpers), parse_effects.c (transaction, lint, changes) and parse_refs.c
 * (created objects, references, function bodies). Not an API.
 */
#ifndef DBTOOL_PARSE_INT_H
#define DBTOOL_PARSE_INT_H

#include "lib/parse.h"
#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

/* The text positions are reported in, with its line index. */
struct parse_text {
    const char *s;
    size_t len;
    unsigned line0, col0; /* where s[0] is in the caller's file */
    size_t *nl;           /* offsets of the '\n's, ascending */
    size_t nl_nr;
};

/* One statement being analysed. */
struct parse_ctx {
    const struct parse_text *text;
    struct parse_stmt *st;
    /* Where offsets in the tree being walked start within TEXT; BASE_UNKNOWN when
     * the tree comes from a string not found verbatim in TEXT (a function body
     * written with '' escapes): positions are then FALLBACK. */
    size_t base;
    size_t fallback;
    bool in_body;
};
#define PARSE_BASE_UNKNOWN ((size_t)-1)

/* Position of byte OFF of the text. */
struct parse_pos parse_pos_of(const struct parse_text *t, size_t off);
/* Position of tree location LOC (-1: none) in CTX: the statement's start when unknown. */
struct parse_pos parse_ctx_pos(const struct parse_ctx *ctx, int32_t loc);

/*
 * The generic walk: FN is called for every message below ROOT (Node wrappers
 * are transparent: FN sees the node inside, with the field that held the
 * Node), with its parent message and the field of the parent that holds it;
 * FN returns false to skip the message's subtree.
 */
typedef bool parse_visit_fn(void *data, const ProtobufCMessage *m, const ProtobufCMessage *parent,
                            const ProtobufCFieldDescriptor *field);
void parse_walk(const ProtobufCMessage *root, parse_visit_fn *fn, void *data);

/* Whether M is a message of descriptor D. */
#define PARSE_IS(m, d) ((m) && ((const ProtobufCMessage *)(m))->descriptor == &(d))
/* Whether FIELD of PARENT (of descriptor D) is the field named NAME. */
bool parse_field_is(const ProtobufCMessage *parent, const ProtobufCFieldDescriptor *field,
                    const ProtobufCMessageDescriptor *d, const char *name);

/* NULL for NULL or "" (protobuf's unset string); a copy of S or NULL. */
const char *parse_nz(const char *s);
char *parse_strdup_nz(const char *s);
/* The message a Node holds (its oneof member), or NULL. */
const ProtobufCMessage *parse_node_msg(const PgQuery__Node *n);
/* A String node's text, or NULL. */
const char *parse_node_str(const PgQuery__Node *n);
/* Split a list of String nodes [catalog.][schema.]name into copies (*schema NULL when absent). */
void parse_names(PgQuery__Node *const *v, size_t n, char **schema, char **name);
/* "s.name" or "name" of a name list (malloc'd). */
char *parse_names_str(PgQuery__Node *const *v, size_t n);
/* Append TN as identity-argument text ("integer", "s.t[]", "character varying"). */
void parse_type_str(struct strbuf *sb, const PgQuery__TypeName *tn);
/* Identity arguments of a function signature given as a list of TypeNames. */
char *parse_typelist_str(PgQuery__Node *const *v, size_t n);
/* A DefElem's value as a boolean the way the server reads it (defGetBoolean); DFLT when odd. */
bool parse_defelem_bool(const PgQuery__DefElem *d, bool dflt);
/* The DefElem named NAME in a list of DefElem nodes, or NULL. */
const PgQuery__DefElem *parse_defelem_find(PgQuery__Node *const *v, size_t n, const char *name);
/* The enum value's name from its descriptor ("AT_AddColumn"), or "?". */
const char *parse_enum_name(const ProtobufCEnumDescriptor *d, int value);
/* Our kind for a parse tree ObjectType; *NAME set to a readable name when OTHER. */
enum parse_obj_kind parse_objtype_kind(int objtype, const char **name);
/*
 * Names of the object node of DROP/COMMENT/RENAME/... for OBJTYPE: a String,
 * a list of Strings, a TypeName or an ObjectWithArgs. All outputs malloc'd or NULL.
 */
void parse_object_names(int objtype, const PgQuery__Node *obj, char **schema, char **name,
                        char **args, char **table_schema, char **table);

/* Byte offset in S of PostgreSQL's 1-based character position CURSORPOS (an error cursor). */
size_t parse_cursor_offset(const char *s, int cursorpos);
/* Parse a NUL-terminated SQL string; NULL with *err (malloc'd) and *errpos (byte offset) on error.
 */
PgQuery__ParseResult *parse_tree(const char *sql, char **err, size_t *errpos);
void parse_tree_free(PgQuery__ParseResult *pr);

/* Append findings/objects/refs/changes to CTX's statement. */
void parse_add_finding(struct parse_ctx *ctx, const char *rule, int32_t loc, const char *schema,
                       const char *name, const char *fmt, ...) PRINTF(6, 7);

/* parse_effects.c: transaction control, no-transaction, findings and changes of STMT. */
void parse_collect_effects(struct parse_ctx *ctx, const PgQuery__Node *stmt);
/* parse_refs.c: what the statement STMT (the tree of CTX's statement) creates and names. */
void parse_collect_creates(struct parse_ctx *ctx, const PgQuery__Node *stmt);
void parse_collect_refs(struct parse_ctx *ctx, const PgQuery__Node *stmt);

#endif
