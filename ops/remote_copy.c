/*
 * remote_copy.c — a remote database copied into a local one (see
 * remote_copy.h), for the workflow of ops/session.c.
 */
#include "ops/remote_copy.h"
#include "lib/pg.h"
#include "lib/sqldiff.h"

#include <ctype.h>

#define NS "session"

/* A connection to the remote that can only read. NULL after a message. */
PGconn *rcopy_connect(const char *url)
{
    PGconn *conn = pg_connect(url);
    if (!conn)
        return NULL;
    if (pg_exec(conn, "SET default_transaction_read_only = on") < 0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

int rcopy_catalog(PGconn *remote, const char *masked, struct catalog **cat, char hex[SHA256_HEX_LEN])
{
    struct catalog_options co = {0};
    if (catalog_read(remote, &co, cat) < 0)
        return error("cannot read the schema of %s", masked);
    catalog_hash(*cat, hex);
    return 0;
}

static int exec_on(const char *server_url, char *sql)
{
    PGconn *conn = pg_connect(server_url);
    /* no NOTICE for the DROP ... IF EXISTS of a database that is not there */
    int r = conn && pg_exec(conn, "SET client_min_messages = warning") == 0 ? pg_exec(conn, sql) : -1;
    if (conn)
        PQfinish(conn);
    free(sql);
    return r;
}

int rcopy_drop_database(const char *server_url, const char *name)
{
    char *q = pg_quote_ident(name);
    int r = exec_on(server_url, xasprintf("DROP DATABASE IF EXISTS %s WITH (FORCE)", q));
    free(q);
    return r;
}

/* A fresh database NAME (template TPL, NULL: template0) on the server of SERVER_URL. */
int rcopy_create_database(const char *server_url, const char *name, const char *tpl)
{
    if (rcopy_drop_database(server_url, name) < 0)
        return -1;
    char *q = pg_quote_ident(name);
    char *qt = pg_quote_ident(tpl ? tpl : "template0");
    int r = exec_on(server_url, xasprintf("CREATE DATABASE %s TEMPLATE %s", q, qt));
    free(qt);
    free(q);
    return r;
}

/* pg_dump's table pattern WORD as an anchored regular expression; *DOT: it names a schema too. */
static char *pattern_regex(const char *word, bool *dot)
{
    struct strbuf sb = STRBUF_INIT;
    bool quoted = false;
    *dot = false;
    strbuf_addch(&sb, '^');
    for (const char *p = word; *p; p++) {
        if (*p == '"') {
            quoted = !quoted;
        } else if (!quoted && *p == '*') {
            strbuf_addstr(&sb, ".*");
        } else if (!quoted && *p == '?') {
            strbuf_addch(&sb, '.');
        } else if (!quoted && *p == '.') {
            *dot = true;
            strbuf_addstr(&sb, "\\.");
        } else {
            if (strchr(".^$+(){}[]|\\*?", *p))
                strbuf_addch(&sb, '\\');
            strbuf_addch(&sb, quoted ? *p : tolower((unsigned char)*p));
        }
    }
    strbuf_addch(&sb, '$');
    return strbuf_detach(&sb, NULL);
}

/* COPY the rows of QNAME (columns COLS) from FROM to TO. 0 or -1. */
static int copy_rows(PGconn *from, PGconn *to, const char *qname, const char *cols)
{
    char *in = xasprintf("COPY %s (%s) FROM STDIN", qname, cols);
    char *out = xasprintf("COPY (SELECT %s FROM ONLY %s) TO STDOUT", cols, qname);
    int r = -1;
    PGresult *res = PQexec(to, in);
    if (PQresultStatus(res) != PGRES_COPY_IN) {
        pg_print_result_error(res, qname);
        PQclear(res);
        goto done;
    }
    PQclear(res);
    res = PQexec(from, out);
    bool out_ok = PQresultStatus(res) == PGRES_COPY_OUT;
    if (!out_ok)
        pg_print_result_error(res, qname);
    PQclear(res);
    const char *fail = out_ok ? NULL : "reading the remote failed";
    while (out_ok) {
        char *buf = NULL;
        int n = PQgetCopyData(from, &buf, 0);
        if (n == -1)
            break;
        if (n < 0) {
            error("copying %s: %s", qname, PQerrorMessage(from));
            fail = "reading the remote failed";
            break;
        }
        if (PQputCopyData(to, buf, n) != 1) {
            PQfreemem(buf);
            error("copying %s: %s", qname, PQerrorMessage(to));
            fail = "writing failed";
            break;
        }
        PQfreemem(buf);
    }
    PQputCopyEnd(to, fail);
    r = fail ? -1 : 0;
    while ((res = PQgetResult(to))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK && !fail) {
            pg_print_result_error(res, qname);
            r = -1;
        }
        PQclear(res);
    }
    while (out_ok && (res = PQgetResult(from))) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK) {
            pg_print_result_error(res, qname);
            r = -1;
        }
        PQclear(res);
    }
done:
    free(in);
    free(out);
    return r;
}

static const char *const tables_sql =
    "SELECT format('%I.%I', n.nspname, c.relname),"
    " (SELECT string_agg(quote_ident(a.attname), ', ' ORDER BY a.attnum) FROM pg_attribute a"
    "   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''),"
    " c.oid::text"
    " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
    " WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')"
    "  AND n.nspname !~ '^pg_'"
    "  AND CASE WHEN $2 THEN (n.nspname || '.' || c.relname) ~ $1"
    "      ELSE c.relname ~ $1 AND pg_table_is_visible(c.oid) END"
    " ORDER BY 1";

static const char *const seqs_sql =
    "SELECT format('%I.%I', n.nspname, s.relname), pg_sequence_last_value(s.oid)::text"
    " FROM pg_depend d JOIN pg_class s ON s.oid = d.objid JOIN pg_namespace n ON n.oid = s.relnamespace"
    " WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass"
    "  AND d.refobjid = $1::oid AND s.relkind = 'S' AND d.deptype IN ('a', 'i')";

/* SQL with N text parameters on CONN: the rows, or NULL after a message about WHAT. */
static PGresult *query(PGconn *conn, const char *sql, int n, const char *const *p, const char *what)
{
    PGresult *res = PQexecParams(conn, sql, n, NULL, p, NULL, NULL, 0);
    if (PQresultStatus(res) == PGRES_TUPLES_OK)
        return res;
    pg_print_result_error(res, what);
    PQclear(res);
    return NULL;
}

/* The owned sequences of the table OID: the remote's last values on LOCAL. 0 or -1. */
static int copy_sequences(PGconn *remote, PGconn *local, const char *oid)
{
    const char *p[] = {oid};
    PGresult *res = query(remote, seqs_sql, 1, p, "reading sequences");
    if (!res)
        return -1;
    int r = 0;
    for (int i = 0; i < PQntuples(res) && !r; i++) {
        if (PQgetisnull(res, i, 1))
            continue;
        const char *sp[] = {PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)};
        struct strbuf v = STRBUF_INIT;
        r = pg_query_value(local, "SELECT setval($1::regclass, $2::bigint)", 2, sp, &v) < 0 ? -1 : 0;
        strbuf_release(&v);
    }
    PQclear(res);
    return r;
}

/* The tables matching one pattern (REGEX, DOT) copied, unless in DONE already. *N: how many matched. */
static int copy_pattern(PGconn *remote, PGconn *local, const char *regex, bool dot, struct strvec *done,
                        int *n)
{
    const char *p[] = {regex, dot ? "true" : "false"};
    PGresult *res = query(remote, tables_sql, 2, p, "listing tables");
    if (!res)
        return -1;
    int r = 0;
    *n = PQntuples(res);
    for (int i = 0; i < PQntuples(res) && !r; i++) {
        const char *q = PQgetvalue(res, i, 0);
        if (rcopy_has(done, q) || PQgetisnull(res, i, 1))
            continue;
        double t0 = now_monotonic();
        if (copy_rows(remote, local, q, PQgetvalue(res, i, 1)) < 0 ||
            copy_sequences(remote, local, PQgetvalue(res, i, 2)) < 0) {
            r = error("copying the rows of %s failed", q);
            break;
        }
        debug(NS, "copied %s in %.2fs", q, now_monotonic() - t0);
        strvec_push(done, q);
    }
    PQclear(res);
    return r;
}

/* Add the roles ACL names (grantees, grantors; quoted) to ROLES. */
static void acl_roles(struct strvec *roles, const struct cat_acl *acl)
{
    for (size_t i = 0; i < acl->nr; i++) {
        const char *names[] = {acl->v[i].grantee, acl->v[i].grantor};
        for (size_t k = 0; k < ARRAY_SIZE(names); k++)
            if (names[k] && strcmp(names[k], "PUBLIC") && strcmp(names[k], "OWNER") && !rcopy_has(roles, names[k]))
                strvec_push(roles, names[k]);
    }
}

/*
 * The roles the remote's privileges name that LOCAL's cluster lacks, created
 * NOLOGIN (roles are the cluster's, not the database's: without them the
 * GRANTs of the copy fail). 0 or -1.
 */
static int create_roles(PGconn *local, const struct catalog *rcat)
{
    struct strvec roles = STRVEC_INIT;
    for (size_t i = 0; i < rcat->nall; i++) {
        const struct cat_object *o = rcat->all[i];
        acl_roles(&roles, &o->acl);
        if (o->kind == CAT_TABLE || o->kind == CAT_VIEW || o->kind == CAT_MATVIEW) {
            const struct cat_relation *rel = CAT_AS(cat_relation, o);
            for (size_t k = 0; k < rel->ncolumns; k++)
                acl_roles(&roles, &rel->columns[k].acl);
        }
        if (o->kind == CAT_DEFACL && CAT_AS(cat_defacl, o)->role && !rcopy_has(&roles, CAT_AS(cat_defacl, o)->role))
            strvec_push(&roles, CAT_AS(cat_defacl, o)->role);
    }
    int r = 0;
    for (size_t i = 0; i < roles.nr && !r; i++) {
        const char *p[] = {roles.v[i]};
        struct strbuf v = STRBUF_INIT;
        int n = pg_query_value(local, "SELECT 1 FROM pg_roles WHERE quote_ident(rolname) = $1", 1, p, &v);
        strbuf_release(&v);
        if (n < 0) {
            r = -1;
        } else if (n == 0) {
            char *sql = xasprintf("CREATE ROLE %s NOLOGIN", roles.v[i]);
            r = pg_exec(local, sql);
            free(sql);
            if (!r)
                info("session: created the role %s (NOLOGIN) that the remote's privileges name", roles.v[i]);
        }
    }
    strvec_clear(&roles);
    return r;
}

/*
 * The remote's schema (RCAT) and the rows of the tables TABLES lists (blank
 * separated patterns, NULL: none) plus the migration tables, into the empty
 * database TARGET. DONE gets the tables copied. 0 or -1.
 */
int rcopy_load(PGconn *remote, const struct catalog *rcat, const char *target, const char *tables,
               struct strvec *done)
{
    PGconn *local = pg_connect(target);
    if (!local)
        return -1;
    int r = -1;
    struct catalog *lcat = NULL;
    struct sqldiff d;
    memset(&d, 0, sizeof(d));
    struct catalog_options co = {0};
    if (catalog_read(local, &co, &lcat) < 0)
        goto out;
    if (create_roles(local, rcat) < 0)
        goto out;
    struct sqldiff_options so = {.plain_constraints = true, .blocking_indexes = true};
    sqldiff_compute(lcat, rcat, &so, &d);
    double t0 = now_monotonic();
    for (size_t i = 0; i < d.nr; i++) {
        if (pg_exec(local, d.v[i].sql) < 0) {
            error("creating the remote's schema failed at: %s", d.v[i].sql);
            goto out;
        }
    }
    info("session: schema created (%zu statements) in %.2fs", d.nr, now_monotonic() - t0);
    /* one snapshot of the remote for every table; no trigger or FK check on the copy */
    if (pg_exec(remote, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY") < 0 ||
        pg_exec(local, "SET session_replication_role = replica") < 0 || pg_exec(local, "BEGIN") < 0)
        goto out;
    t0 = now_monotonic();
    char *list = xstrdup(tables ? tables : "");
    char *save = NULL;
    r = 0;
    for (char *w = strtok_r(list, " \t\n", &save); w && !r; w = strtok_r(NULL, " \t\n", &save)) {
        bool dot;
        int n = 0;
        char *re = pattern_regex(w, &dot);
        r = copy_pattern(remote, local, re, dot, done, &n);
        if (!r && !n)
            warn("session: no table on the remote matches '%s' (STAGING_DUMP_TABLES)", w);
        free(re);
    }
    free(list);
    size_t user_tables = done->nr;
    int n;
    if (!r)
        r = copy_pattern(remote, local, "^hectic\\.migration$", true, done, &n);
    if (!r)
        r = copy_pattern(remote, local, "^hectic\\.migration_step$", true, done, &n);
    if (!r && pg_exec(local, "COMMIT") < 0)
        r = -1;
    pg_exec(remote, r ? "ROLLBACK" : "COMMIT");
    if (!r)
        info("session: rows of %zu table(s) copied in %.2fs", user_tables, now_monotonic() - t0);
out:
    sqldiff_release(&d);
    if (lcat)
        catalog_free(lcat);
    PQfinish(local);
    return r;
}
