/*
 * parse_effects.c — what a statement does to a database, read from its tree:
 * transaction control, whether it refuses to run inside a transaction block
 * (PreventInTransactionBlock), the lint findings a migration review wants,
 * and the objects it alters, drops, renames or moves.
 */
#include "lib/parse_int.h"

/* ---- records -------------------------------------------------- */

void parse_add_finding(struct parse_ctx *ctx, const char *rule, int32_t loc, const char *schema,
                       const char *name, const char *fmt, ...)
{
    struct parse_stmt *st = ctx->st;
    struct parse_finding *f;
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    ALLOC_GROW(st->findings, st->findings_nr + 1, st->findings_alloc);
    f = &st->findings[st->findings_nr++];
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    f->rule = rule;
    f->message = strbuf_detach(&sb, NULL);
    f->schema = parse_strdup_nz(schema);
    f->name = parse_strdup_nz(name);
    f->pos = parse_ctx_pos(ctx, loc);
}

static struct parse_change *add_change(struct parse_ctx *ctx, enum parse_change_action action,
                                       int objtype)
{
    struct parse_stmt *st = ctx->st;
    struct parse_change *c;
    ALLOC_GROW(st->changes, st->changes_nr + 1, st->changes_alloc);
    c = &st->changes[st->changes_nr++];
    memset(c, 0, sizeof(*c));
    c->action = action;
    c->kind = parse_objtype_kind(objtype, &c->kind_name);
    c->pos = st->pos;
    return c;
}

static void change_rangevar(struct parse_change *c, const PgQuery__RangeVar *rv)
{
    if (!rv)
        return;
    c->schema = parse_strdup_nz(rv->schemaname);
    c->name = parse_strdup_nz(rv->relname);
}

static void add_cmd(struct parse_change *c, const char *type, const char *name)
{
    ALLOC_GROW(c->cmds, c->cmds_nr + 1, c->cmds_alloc);
    c->cmds[c->cmds_nr].type = type;
    c->cmds[c->cmds_nr].name = parse_strdup_nz(name);
    c->cmds_nr++;
}

/* "s.t" or "t" for messages. */
static char *qname(const char *schema, const char *name)
{
    return parse_nz(schema) ? xasprintf("%s.%s", schema, name ? name : "?")
                            : xstrdup(name ? name : "?");
}

/* ---- no transaction block ------------------------------------------------------ */

static const char *no_transaction(const PgQuery__Node *n)
{
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_INDEX_STMT:
        return n->index_stmt->concurrent ? "CREATE INDEX CONCURRENTLY" : NULL;
    case PG_QUERY__NODE__NODE_DROP_STMT:
        return n->drop_stmt->concurrent ? "DROP INDEX CONCURRENTLY" : NULL;
    case PG_QUERY__NODE__NODE_REINDEX_STMT: {
        const PgQuery__ReindexStmt *r = n->reindex_stmt;
        const PgQuery__DefElem *c = parse_defelem_find(r->params, r->n_params, "concurrently");
        if (c && parse_defelem_bool(c, true))
            return "REINDEX CONCURRENTLY";
        switch (r->kind) {
        case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SCHEMA:
            return "REINDEX SCHEMA";
        case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_SYSTEM:
            return "REINDEX SYSTEM";
        case PG_QUERY__REINDEX_OBJECT_TYPE__REINDEX_OBJECT_DATABASE:
            return "REINDEX DATABASE";
        default:
            return NULL;
        }
    }
    case PG_QUERY__NODE__NODE_VACUUM_STMT:
        return n->vacuum_stmt->is_vacuumcmd ? "VACUUM" : NULL;
    case PG_QUERY__NODE__NODE_CLUSTER_STMT:
        return n->cluster_stmt->relation ? NULL : "CLUSTER";
    case PG_QUERY__NODE__NODE_CREATEDB_STMT:
        return "CREATE DATABASE";
    case PG_QUERY__NODE__NODE_DROPDB_STMT:
        return "DROP DATABASE";
    case PG_QUERY__NODE__NODE_ALTER_DATABASE_STMT: {
        const PgQuery__AlterDatabaseStmt *a = n->alter_database_stmt;
        return parse_defelem_find(a->options, a->n_options, "tablespace")
                   ? "ALTER DATABASE SET TABLESPACE"
                   : NULL;
    }
    case PG_QUERY__NODE__NODE_CREATE_TABLE_SPACE_STMT:
        return "CREATE TABLESPACE";
    case PG_QUERY__NODE__NODE_DROP_TABLE_SPACE_STMT:
        return "DROP TABLESPACE";
    case PG_QUERY__NODE__NODE_ALTER_SYSTEM_STMT:
        return "ALTER SYSTEM";
    case PG_QUERY__NODE__NODE_CREATE_SUBSCRIPTION_STMT: {
        /* parse_subscription_options(): connect = false implies create_slot = false */
        const PgQuery__CreateSubscriptionStmt *s = n->create_subscription_stmt;
        const PgQuery__DefElem *conn = parse_defelem_find(s->options, s->n_options, "connect");
        const PgQuery__DefElem *slot = parse_defelem_find(s->options, s->n_options, "create_slot");
        if (conn && !parse_defelem_bool(conn, true))
            return NULL;
        if (slot && !parse_defelem_bool(slot, true))
            return NULL;
        return "CREATE SUBSCRIPTION ... WITH (create_slot = true)";
    }
    case PG_QUERY__NODE__NODE_DROP_SUBSCRIPTION_STMT:
        return "DROP SUBSCRIPTION";
    case PG_QUERY__NODE__NODE_ALTER_SUBSCRIPTION_STMT: {
        const PgQuery__AlterSubscriptionStmt *s = n->alter_subscription_stmt;
        const PgQuery__DefElem *refresh;
        switch (s->kind) {
        case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_REFRESH:
            return "ALTER SUBSCRIPTION ... REFRESH";
        case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_SET_PUBLICATION:
        case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_ADD_PUBLICATION:
        case PG_QUERY__ALTER_SUBSCRIPTION_TYPE__ALTER_SUBSCRIPTION_DROP_PUBLICATION:
            refresh = parse_defelem_find(s->options, s->n_options, "refresh");
            return !refresh || parse_defelem_bool(refresh, true) ? "ALTER SUBSCRIPTION with refresh"
                                                                 : NULL;
        default:
            return NULL;
        }
    }
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT: {
        const PgQuery__AlterTableStmt *a = n->alter_table_stmt;
        for (size_t i = 0; i < a->n_cmds; i++) {
            const PgQuery__AlterTableCmd *c =
                a->cmds[i]->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD
                    ? a->cmds[i]->alter_table_cmd
                    : NULL;
            if (c && c->subtype == PG_QUERY__ALTER_TABLE_TYPE__AT_DetachPartition && c->def &&
                c->def->node_case == PG_QUERY__NODE__NODE_PARTITION_CMD &&
                c->def->partition_cmd->concurrent)
                return "ALTER TABLE ... DETACH CONCURRENTLY";
        }
        return NULL;
    }
    case PG_QUERY__NODE__NODE_DISCARD_STMT:
        return n->discard_stmt->target == PG_QUERY__DISCARD_MODE__DISCARD_ALL ? "DISCARD ALL"
                                                                              : NULL;
    case PG_QUERY__NODE__NODE_TRANSACTION_STMT:
        switch (n->transaction_stmt->kind) {
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT_PREPARED:
            return "COMMIT PREPARED";
        case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_PREPARED:
            return "ROLLBACK PREPARED";
        default:
            return NULL;
        }
    default:
        return NULL;
    }
}

static enum parse_tx tx_kind(const PgQuery__TransactionStmt *t)
{
    switch (t->kind) {
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_BEGIN:
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_START:
        return PARSE_TX_BEGIN;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT:
        return PARSE_TX_COMMIT;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK:
        return PARSE_TX_ROLLBACK;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_SAVEPOINT:
        return PARSE_TX_SAVEPOINT;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_RELEASE:
        return PARSE_TX_RELEASE;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_TO:
        return PARSE_TX_ROLLBACK_TO;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_PREPARE:
        return PARSE_TX_PREPARE;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_COMMIT_PREPARED:
        return PARSE_TX_COMMIT_PREPARED;
    case PG_QUERY__TRANSACTION_STMT_KIND__TRANS_STMT_ROLLBACK_PREPARED:
        return PARSE_TX_ROLLBACK_PREPARED;
    default:
        return PARSE_TX_NONE;
    }
}

/* ---- lint ----------------------------------------------------------------------------- */

/* Functions whose provolatile is 'v' and that show up in column defaults. */
static const char *const volatile_funcs[] = {
    "random",
    "random_normal",
    "gen_random_uuid",
    "uuid_generate_v1",
    "uuid_generate_v1mc",
    "uuid_generate_v4",
    "uuidv4",
    "uuidv7",
    "gen_random_bytes",
    "clock_timestamp",
    "timeofday",
    "nextval",
};

static const char *const serial_types[] = {"serial",    "serial4",     "serial8",
                                           "bigserial", "smallserial", "serial2"};

static const PgQuery__Constraint *node_constraint(const PgQuery__Node *n)
{
    return n && n->node_case == PG_QUERY__NODE__NODE_CONSTRAINT ? n->constraint : NULL;
}

static const char *last_name(PgQuery__Node *const *v, size_t n)
{
    return n ? parse_node_str(v[n - 1]) : NULL;
}

static bool volatile_visit(void *data, const ProtobufCMessage *m, const ProtobufCMessage *parent,
                           const ProtobufCFieldDescriptor *field)
{
    const char **found = data;
    if (!*found && PARSE_IS(m, pg_query__func_call__descriptor)) {
        const PgQuery__FuncCall *f = (const PgQuery__FuncCall *)m;
        const char *name = last_name(f->funcname, f->n_funcname);
        for (size_t i = 0; name && i < ARRAY_SIZE(volatile_funcs); i++)
            if (!strcmp(name, volatile_funcs[i]))
                *found = volatile_funcs[i];
    }
    return !*found;
}

/*
 * Why adding column CD rewrites the table ("a serial type", "an identity
 * column", "a default calling" with *FUNC set to the function), or NULL.
 * *LOC: where.
 */
static const char *rewriting_default(const PgQuery__ColumnDef *cd, int32_t *loc, const char **func)
{
    const char *type =
        cd->type_name ? last_name(cd->type_name->names, cd->type_name->n_names) : NULL;
    *loc = cd->location;
    *func = NULL;
    for (size_t i = 0; type && i < ARRAY_SIZE(serial_types); i++)
        if (!strcmp(type, serial_types[i]) && cd->type_name->n_names == 1)
            return "a serial type (a nextval() default)";
    if (cd->raw_default)
        parse_walk(&cd->raw_default->base, volatile_visit, func);
    for (size_t i = 0; !*func && i < cd->n_constraints; i++) {
        const PgQuery__Constraint *c = node_constraint(cd->constraints[i]);
        if (!c)
            continue;
        *loc = c->location;
        if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_IDENTITY)
            return "an identity column";
        if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_GENERATED)
            return "a stored generated column";
        if (c->contype == PG_QUERY__CONSTR_TYPE__CONSTR_DEFAULT && c->raw_expr)
            parse_walk(&c->raw_expr->base, volatile_visit, func);
    }
    return *func ? "a default calling" : NULL;
}

static bool lock_timeout_visit(void *data, const ProtobufCMessage *m,
                               const ProtobufCMessage *parent,
                               const ProtobufCFieldDescriptor *field)
{
    struct parse_ctx *ctx = data;
    if (PARSE_IS(m, pg_query__func_call__descriptor)) {
        const PgQuery__FuncCall *f = (const PgQuery__FuncCall *)m;
        const char *name = last_name(f->funcname, f->n_funcname);
        const PgQuery__Node *a = f->n_args ? f->args[0] : NULL;
        if (name && !strcmp(name, "set_config") && a &&
            a->node_case == PG_QUERY__NODE__NODE_A_CONST &&
            a->a_const->val_case == PG_QUERY__A__CONST__VAL_SVAL &&
            !strcasecmp(a->a_const->sval->sval, "lock_timeout"))
            parse_add_finding(ctx, "lock-timeout-set", f->location, NULL, NULL,
                              "set_config('lock_timeout', ...)");
    }
    return true;
}

static void lint_alter_table(struct parse_ctx *ctx, const PgQuery__AlterTableStmt *a)
{
    const PgQuery__RangeVar *rv = a->relation;
    const char *schema = rv ? rv->schemaname : NULL, *table = rv ? rv->relname : NULL;
    char *q;
    if (a->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_TABLE &&
        a->objtype != PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE)
        return;
    q = qname(schema, table);
    for (size_t i = 0; i < a->n_cmds; i++) {
        const PgQuery__AlterTableCmd *c =
            a->cmds[i]->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD
                ? a->cmds[i]->alter_table_cmd
                : NULL;
        const PgQuery__Constraint *con;
        int32_t loc = rv ? rv->location : -1;
        const char *why, *func;
        if (!c)
            continue;
        switch (c->subtype) {
        case PG_QUERY__ALTER_TABLE_TYPE__AT_DropColumn:
            parse_add_finding(ctx, "drop-column", loc, schema, table, "DROP COLUMN %s of %s",
                              c->name, q);
            break;
        case PG_QUERY__ALTER_TABLE_TYPE__AT_AlterColumnType:
            if (c->def && c->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
                loc = c->def->column_def->location;
            parse_add_finding(ctx, "alter-column-type", loc, schema, table,
                              "ALTER COLUMN %s TYPE of %s may rewrite the table", c->name, q);
            break;
        case PG_QUERY__ALTER_TABLE_TYPE__AT_SetNotNull:
            parse_add_finding(ctx, "set-not-null", loc, schema, table,
                              "SET NOT NULL on %s of %s scans the whole table", c->name, q);
            break;
        case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumn:
        case PG_QUERY__ALTER_TABLE_TYPE__AT_AddColumnRecurse:
            if (c->def && c->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF &&
                (why = rewriting_default(c->def->column_def, &loc, &func)))
                parse_add_finding(ctx, "add-column-volatile-default", loc, schema, table,
                                  "ADD COLUMN %s to %s with %s%s%s%s rewrites the table",
                                  c->def->column_def->colname, q, why, func ? " " : "",
                                  func ? func : "", func ? "()" : "");
            break;
        case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraint:
        case PG_QUERY__ALTER_TABLE_TYPE__AT_AddConstraintRecurse:
            con = node_constraint(c->def);
            if (!con || con->skip_validation)
                break;
            if (con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_FOREIGN)
                parse_add_finding(ctx, "add-fk-without-not-valid", con->location, schema, table,
                                  "ADD FOREIGN KEY to %s without NOT VALID checks every row "
                                  "under lock",
                                  q);
            else if (con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK)
                parse_add_finding(ctx, "add-check-without-not-valid", con->location, schema, table,
                                  "ADD CHECK to %s without NOT VALID checks every row under lock",
                                  q);
            break;
        default:
            break;
        }
    }
    free(q);
}

static void lint(struct parse_ctx *ctx, const PgQuery__Node *n)
{
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_DROP_STMT: {
        const PgQuery__DropStmt *d = n->drop_stmt;
        const char *rule = NULL;
        if (d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TABLE)
            rule = "drop-table";
        else if (d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_TYPE ||
                 d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN)
            rule = "drop-type";
        for (size_t i = 0; rule && i < d->n_objects; i++) {
            char *schema, *name, *args, *ts, *t, *q;
            parse_object_names(d->remove_type, d->objects[i], &schema, &name, &args, &ts, &t);
            q = qname(schema, name);
            parse_add_finding(ctx, rule, -1, schema, name, "DROP %s %s",
                              !strcmp(rule, "drop-table")                              ? "TABLE"
                              : d->remove_type == PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN ? "DOMAIN"
                                                                                       : "TYPE",
                              q);
            free(q);
            free(schema), free(name), free(args), free(ts), free(t);
        }
        break;
    }
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT:
        lint_alter_table(ctx, n->alter_table_stmt);
        break;
    case PG_QUERY__NODE__NODE_ALTER_DOMAIN_STMT: {
        const PgQuery__AlterDomainStmt *a = n->alter_domain_stmt;
        const PgQuery__Constraint *con = node_constraint(a->def);
        if (!strcmp(a->subtype, "C") && con && !con->skip_validation &&
            con->contype == PG_QUERY__CONSTR_TYPE__CONSTR_CHECK) {
            char *schema, *name, *q;
            parse_names(a->type_name, a->n_type_name, &schema, &name);
            q = qname(schema, name);
            parse_add_finding(ctx, "add-check-without-not-valid", con->location, schema, name,
                              "ADD CHECK to domain %s without NOT VALID checks every column "
                              "of that type",
                              q);
            free(q), free(schema), free(name);
        }
        break;
    }
    case PG_QUERY__NODE__NODE_INDEX_STMT: {
        const PgQuery__IndexStmt *ix = n->index_stmt;
        const PgQuery__RangeVar *rv = ix->relation;
        if (!ix->concurrent && rv) {
            char *q = qname(rv->schemaname, rv->relname);
            parse_add_finding(ctx, "create-index-without-concurrently", rv->location,
                              rv->schemaname, rv->relname,
                              "CREATE INDEX %s on %s without CONCURRENTLY blocks writes to it",
                              parse_nz(ix->idxname) ? ix->idxname : "(unnamed)", q);
            free(q);
        }
        break;
    }
    case PG_QUERY__NODE__NODE_RENAME_STMT: {
        const PgQuery__RenameStmt *r = n->rename_stmt;
        const PgQuery__RangeVar *rv = r->relation;
        char *q;
        switch (r->rename_type) {
        case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_VIEW:
        case PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW:
        case PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN:
            if (!rv)
                break;
            q = qname(rv->schemaname, rv->relname);
            if (r->rename_type == PG_QUERY__OBJECT_TYPE__OBJECT_COLUMN)
                parse_add_finding(ctx, "rename", rv->location, rv->schemaname, rv->relname,
                                  "RENAME COLUMN %s of %s to %s breaks code using the old name",
                                  r->subname, q, r->newname);
            else
                parse_add_finding(ctx, "rename", rv->location, rv->schemaname, rv->relname,
                                  "RENAME %s to %s breaks code using the old name", q, r->newname);
            free(q);
            break;
        default:
            break;
        }
        break;
    }
    case PG_QUERY__NODE__NODE_VARIABLE_SET_STMT: {
        const PgQuery__VariableSetStmt *v = n->variable_set_stmt;
        if (v->kind == PG_QUERY__VARIABLE_SET_KIND__VAR_SET_VALUE &&
            !strcmp(v->name, "lock_timeout"))
            parse_add_finding(ctx, "lock-timeout-set", -1, NULL, NULL, "SET %slock_timeout",
                              v->is_local ? "LOCAL " : "");
        break;
    }
    default:
        break;
    }
    parse_walk(parse_node_msg(n), lock_timeout_visit, ctx);
}

/* ---- changes ---------------------------------------------------------------------------- */

static const char *strip_at(const char *s)
{
    return starts_with(s, "AT_") ? s + 3 : s;
}

static void changes(struct parse_ctx *ctx, const PgQuery__Node *n)
{
    struct parse_change *c;
    switch (n->node_case) {
    case PG_QUERY__NODE__NODE_ALTER_TABLE_STMT: {
        const PgQuery__AlterTableStmt *a = n->alter_table_stmt;
        c = add_change(ctx, PARSE_ALTER, a->objtype);
        change_rangevar(c, a->relation);
        c->if_exists = a->missing_ok;
        for (size_t i = 0; i < a->n_cmds; i++) {
            const PgQuery__AlterTableCmd *cmd =
                a->cmds[i]->node_case == PG_QUERY__NODE__NODE_ALTER_TABLE_CMD
                    ? a->cmds[i]->alter_table_cmd
                    : NULL;
            const char *name;
            if (!cmd)
                continue;
            name = cmd->name;
            if (!parse_nz(name) && cmd->def &&
                cmd->def->node_case == PG_QUERY__NODE__NODE_COLUMN_DEF)
                name = cmd->def->column_def->colname;
            else if (!parse_nz(name) && node_constraint(cmd->def))
                name = cmd->def->constraint->conname;
            add_cmd(
                c, strip_at(parse_enum_name(&pg_query__alter_table_type__descriptor, cmd->subtype)),
                name);
        }
        break;
    }
    case PG_QUERY__NODE__NODE_ALTER_ENUM_STMT: {
        const PgQuery__AlterEnumStmt *a = n->alter_enum_stmt;
        c = add_change(ctx, PARSE_ALTER, PG_QUERY__OBJECT_TYPE__OBJECT_TYPE);
        parse_names(a->type_name, a->n_type_name, &c->schema, &c->name);
        if (parse_nz(a->old_val))
            add_cmd(c, "RenameValue", a->old_val);
        else
            add_cmd(c, "AddValue", a->new_val);
        break;
    }
    case PG_QUERY__NODE__NODE_ALTER_TYPE_STMT: {
        const PgQuery__AlterTypeStmt *a = n->alter_type_stmt;
        c = add_change(ctx, PARSE_ALTER, PG_QUERY__OBJECT_TYPE__OBJECT_TYPE);
        parse_names(a->type_name, a->n_type_name, &c->schema, &c->name);
        add_cmd(c, "SetOptions", NULL);
        break;
    }
    case PG_QUERY__NODE__NODE_ALTER_DOMAIN_STMT: {
        static const char *const sub[][2] = {{"T", "SetDefault"},     {"N", "DropNotNull"},
                                             {"O", "SetNotNull"},     {"C", "AddConstraint"},
                                             {"X", "DropConstraint"}, {"V", "ValidateConstraint"}};
        const PgQuery__AlterDomainStmt *a = n->alter_domain_stmt;
        const char *type = "?", *name = a->name;
        c = add_change(ctx, PARSE_ALTER, PG_QUERY__OBJECT_TYPE__OBJECT_DOMAIN);
        parse_names(a->type_name, a->n_type_name, &c->schema, &c->name);
        for (size_t i = 0; i < ARRAY_SIZE(sub); i++)
            if (!strcmp(a->subtype, sub[i][0]))
                type = sub[i][1];
        if (!parse_nz(name) && node_constraint(a->def))
            name = a->def->constraint->conname;
        add_cmd(c, type, name);
        break;
    }
    case PG_QUERY__NODE__NODE_ALTER_SEQ_STMT:
        c = add_change(ctx, PARSE_ALTER, PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE);
        change_rangevar(c, n->alter_seq_stmt->sequence);
        c->if_exists = n->alter_seq_stmt->missing_ok;
        add_cmd(c, "SetOptions", NULL);
        break;
    case PG_QUERY__NODE__NODE_ALTER_FUNCTION_STMT: {
        const PgQuery__AlterFunctionStmt *a = n->alter_function_stmt;
        PgQuery__Node node = PG_QUERY__NODE__INIT;
        char *ts, *t;
        c = add_change(ctx, PARSE_ALTER, a->objtype);
        node.node_case = PG_QUERY__NODE__NODE_OBJECT_WITH_ARGS;
        node.object_with_args = a->func;
        if (a->func)
            parse_object_names(a->objtype, &node, &c->schema, &c->name, &c->args, &ts, &t);
        else
            ts = t = NULL;
        free(ts), free(t);
        add_cmd(c, "SetOptions", NULL);
        break;
    }
    case PG_QUERY__NODE__NODE_DROP_STMT: {
        const PgQuery__DropStmt *d = n->drop_stmt;
        for (size_t i = 0; i < d->n_objects; i++) {
            c = add_change(ctx, PARSE_DROP, d->remove_type);
            parse_object_names(d->remove_type, d->objects[i], &c->schema, &c->name, &c->args,
                               &c->table_schema, &c->table);
            c->cascade = d->behavior == PG_QUERY__DROP_BEHAVIOR__DROP_CASCADE;
            c->if_exists = d->missing_ok;
            c->concurrently = d->concurrent;
        }
        break;
    }
    case PG_QUERY__NODE__NODE_RENAME_STMT: {
        const PgQuery__RenameStmt *r = n->rename_stmt;
        bool rel_kind = false;
        c = add_change(ctx, PARSE_RENAME, r->rename_type);
        switch (r->rename_type) {
        case PG_QUERY__OBJECT_TYPE__OBJECT_TABLE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_VIEW:
        case PG_QUERY__OBJECT_TYPE__OBJECT_MATVIEW:
        case PG_QUERY__OBJECT_TYPE__OBJECT_INDEX:
        case PG_QUERY__OBJECT_TYPE__OBJECT_SEQUENCE:
        case PG_QUERY__OBJECT_TYPE__OBJECT_FOREIGN_TABLE:
            rel_kind = true;
            break;
        default:
            break;
        }
        if (r->relation && rel_kind) {
            change_rangevar(c, r->relation);
        } else if (r->relation) {
            /* column, constraint, trigger, policy, rule, attribute: NAME on TABLE */
            c->table_schema = parse_strdup_nz(r->relation->schemaname);
            c->table = parse_strdup_nz(r->relation->relname);
            c->name = parse_strdup_nz(r->subname);
        } else if (r->object) {
            parse_object_names(r->rename_type, r->object, &c->schema, &c->name, &c->args,
                               &c->table_schema, &c->table);
        } else {
            /* schema, database, role, tablespace...: the old name is subname */
            c->name = parse_strdup_nz(r->subname);
        }
        c->subname = parse_strdup_nz(r->subname);
        c->newname = parse_strdup_nz(r->newname);
        c->if_exists = r->missing_ok;
        break;
    }
    case PG_QUERY__NODE__NODE_ALTER_OBJECT_SCHEMA_STMT: {
        const PgQuery__AlterObjectSchemaStmt *a = n->alter_object_schema_stmt;
        c = add_change(ctx, PARSE_SET_SCHEMA, a->object_type);
        if (a->relation)
            change_rangevar(c, a->relation);
        else
            parse_object_names(a->object_type, a->object, &c->schema, &c->name, &c->args,
                               &c->table_schema, &c->table);
        c->newname = parse_strdup_nz(a->newschema);
        c->if_exists = a->missing_ok;
        break;
    }
    default:
        break;
    }
}

void parse_collect_effects(struct parse_ctx *ctx, const PgQuery__Node *n)
{
    struct parse_stmt *st = ctx->st;
    if (n->node_case == PG_QUERY__NODE__NODE_TRANSACTION_STMT) {
        st->tx = tx_kind(n->transaction_stmt);
        st->tx_chain = n->transaction_stmt->chain;
    }
    st->no_transaction_why = no_transaction(n);
    st->no_transaction = st->no_transaction_why != NULL;
    lint(ctx, n);
    changes(ctx, n);
}
