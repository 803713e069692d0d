/*
 * bundle.c — apply the embedded hectic bundle, upgrade it, load secrets.
 * The SQL itself lives in the bundle/ SQL files; this file only decides what runs in
 * which transaction and reports failures with the part's name.
 */
#include "lib/bundle.h"
#include "lib/pg.h"

#include <ctype.h>

#define VERSION_PART "01-version"

/* Serialises concurrent appliers (migrator runs, hydrate) on one database. */
#define LOCK_SQL "SELECT pg_advisory_xact_lock(hashtext('hectic.bundle'))"

bool bundle_is_part(const struct bundle_part *p)
{
    return isdigit((unsigned char)p->name[0]) && isdigit((unsigned char)p->name[1]) &&
           p->name[2] == '-';
}

const struct bundle_part *bundle_find(const char *name)
{
    for (const struct bundle_part *p = bundle_parts; p->name; p++)
        if (!strcmp(p->name, name))
            return p;
    for (const struct bundle_part *p = bundle_parts; p->name; p++)
        if (bundle_is_part(p) && !strcmp(p->name + 3, name))
            return p;
    return NULL;
}

int bundle_part_sql(const struct bundle_part *p, const char *inheritance_file, struct strbuf *out)
{
    if (inheritance_file && !strcmp(p->name, BUNDLE_INHERITANCE_PART)) {
        if (strbuf_read_file(out, inheritance_file) < 0)
            return error_errno("HECTIC_INHERITANCE_SQL not readable: %s", inheritance_file);
        return 0;
    }
    strbuf_add(out, p->sql, p->len);
    return 0;
}

int bundle_db_version(PGconn *conn, struct strbuf *out)
{
    struct strbuf reg = STRBUF_INIT;
    int r = pg_query_value(conn, "SELECT to_regclass('hectic.version') IS NOT NULL", 0, NULL, &reg);
    if (r > 0 && !strcmp(reg.buf, "t"))
        r = pg_query_value(conn, "SELECT coalesce(version, '') FROM hectic.version WHERE name = 'hectic'",
                           0, NULL, out);
    else if (r > 0)
        r = 0;
    strbuf_release(&reg);
    return r;
}

/* Line (1-based) of character offset POS (1-based, in characters) in SQL. */
static int line_of(const char *sql, long pos)
{
    int line = 1;
    for (const unsigned char *p = (const unsigned char *)sql; *p && pos > 1; p++) {
        if ((*p & 0xC0) != 0x80)
            pos--;
        if (*p == '\n')
            line++;
    }
    return line;
}

/* Run SQL (many statements) inside the open transaction; report as WHAT. */
static int exec_script(PGconn *conn, const char *what, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    ExecStatusType st = PQresultStatus(r);
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) {
        PQclear(r);
        return 0;
    }
    const char *pos = PQresultErrorField(r, PG_DIAG_STATEMENT_POSITION);
    char *label = pos ? xasprintf("hectic bundle %s (line %d)", what, line_of(sql, atol(pos)))
                      : xasprintf("hectic bundle %s", what);
    pg_print_result_error(r, label);
    free(label);
    PQclear(r);
    return -1;
}

static int begin(PGconn *conn)
{
    if (PQtransactionStatus(conn) != PQTRANS_IDLE)
        return error("hectic bundle: the connection is already inside a transaction");
    return pg_exec(conn, "BEGIN; SET LOCAL client_min_messages = warning; " LOCK_SQL);
}

static void rollback(PGconn *conn)
{
    PGresult *r = PQexec(conn, "ROLLBACK");
    PQclear(r);
}

/* One part in its own transaction. */
static int apply_one(PGconn *conn, const struct bundle_part *p, const char *inheritance_file)
{
    struct strbuf sql = STRBUF_INIT;
    int ret = -1;
    if (bundle_part_sql(p, inheritance_file, &sql) < 0)
        goto out;
    if (begin(conn) < 0)
        goto out;
    if (exec_script(conn, p->name, sql.buf) < 0 || pg_exec(conn, "COMMIT") < 0) {
        rollback(conn);
        goto out;
    }
    debug("bundle", "applied %s", p->name);
    ret = 0;
out:
    strbuf_release(&sql);
    return ret;
}

int bundle_apply(PGconn *conn, const char *part, const char *inheritance_file)
{
    const struct bundle_part *only = NULL;
    if (part) {
        only = bundle_find(part);
        if (!only || !bundle_is_part(only))
            return error("unknown hectic bundle part '%s' (see 'dbtool bundle list')", part);
    }
    const struct bundle_part *version = bundle_find(VERSION_PART);
    if (!version)
        BUG("bundle part %s is not embedded", VERSION_PART);
    /* the version part always runs first: it refuses a foreign version before anything changes */
    if (apply_one(conn, version, inheritance_file) < 0)
        return -1;
    for (const struct bundle_part *p = bundle_parts; p->name; p++) {
        if (!bundle_is_part(p) || p == version || (only && p != only))
            continue;
        if (apply_one(conn, p, inheritance_file) < 0)
            return -1;
    }
    return 0;
}

int bundle_apply_url(const char *url, const char *part, const char *inheritance_file)
{
    PGconn *conn = pg_connect(url);
    if (!conn)
        return -1;
    int r = bundle_apply(conn, part, inheritance_file);
    PQfinish(conn);
    return r;
}

int bundle_apply_inheritance_url(const char *url, const char *inheritance_sql)
{
    return bundle_apply_url(url, BUNDLE_INHERITANCE_PART, inheritance_sql);
}

int bundle_upgrade(PGconn *conn, const char *inheritance_file)
{
    struct strbuf have = STRBUF_INIT, sql = STRBUF_INIT;
    int ret = -1;
    int r = bundle_db_version(conn, &have);
    if (r < 0)
        goto out;
    if (r == 0) {
        info("no hectic bundle in the database yet: installing %s", BUNDLE_VERSION);
        ret = bundle_apply(conn, NULL, inheritance_file);
        goto out;
    }
    if (!strcmp(have.buf, BUNDLE_VERSION)) {
        info("hectic bundle already at %s: re-applying it", BUNDLE_VERSION);
        ret = bundle_apply(conn, NULL, inheritance_file);
        goto out;
    }
    char *name = xasprintf("upgrade-%s", have.buf);
    const struct bundle_part *up = bundle_find(name);
    free(name);
    if (!up) {
        error("the database has hectic bundle '%s' and there is no upgrade path from it to %s",
              have.buf, BUNDLE_VERSION);
        goto out;
    }
    /* the chain of upgrade scripts and every part in one transaction: all or nothing */
    if (begin(conn) < 0)
        goto out;
    struct strbuf at = STRBUF_INIT;
    strbuf_addstr(&at, have.buf);
    for (int step = 0; strcmp(at.buf, BUNDLE_VERSION); step++) {
        char *n = xasprintf("upgrade-%s", at.buf);
        up = bundle_find(n);
        free(n);
        if (!up || step > 32) {
            error("hectic upgrade: no upgrade script from %s to %s", at.buf, BUNDLE_VERSION);
            strbuf_release(&at);
            goto fail;
        }
        if (exec_script(conn, up->name, up->sql) < 0) {
            strbuf_release(&at);
            goto fail;
        }
        struct strbuf next = STRBUF_INIT;
        if (bundle_db_version(conn, &next) != 1 || !strcmp(next.buf, at.buf)) {
            error("hectic upgrade: %s left the version at %s", up->name, at.buf);
            strbuf_release(&next);
            strbuf_release(&at);
            goto fail;
        }
        debug("bundle", "%s: %s -> %s", up->name, at.buf, next.buf);
        strbuf_reset(&at);
        strbuf_addstr(&at, next.buf);
        strbuf_release(&next);
    }
    strbuf_release(&at);
    for (const struct bundle_part *p = bundle_parts; p->name; p++) {
        if (!bundle_is_part(p))
            continue;
        strbuf_reset(&sql);
        if (bundle_part_sql(p, inheritance_file, &sql) < 0 || exec_script(conn, p->name, sql.buf) < 0)
            goto fail;
    }
    if (pg_exec(conn, "COMMIT") < 0)
        goto fail;
    info("hectic bundle upgraded from %s to %s", have.buf, BUNDLE_VERSION);
    ret = 0;
    goto out;
fail:
    rollback(conn);
    error("upgrade from hectic %s failed: the database was left unchanged", have.buf);
out:
    strbuf_release(&have);
    strbuf_release(&sql);
    return ret;
}

int bundle_load_secrets(PGconn *conn, const char *text, size_t len, int *count)
{
    if (memchr(text, '\0', len))
        return error("dotenv text contains a NUL byte");
    char *copy = xstrndup(text, len);
    const char *params[1] = {copy};
    PGresult *r = PQexecParams(conn, "SELECT hectic.load_secrets_from_env($1::text)", 1, NULL, params,
                               NULL, NULL, 0);
    int ret = 0;
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_print_result_error(r, "loading secrets");
        ret = -1;
    } else if (count) {
        *count = PQntuples(r) ? atoi(PQgetvalue(r, 0, 0)) : 0;
    }
    PQclear(r);
    /* the plaintext does not outlive its use */
    explicit_bzero(copy, len);
    free(copy);
    return ret;
}

int bundle_load_secrets_file(PGconn *conn, const char *path, int *count)
{
    struct strbuf sb = STRBUF_INIT;
    if (strbuf_read_file(&sb, path) < 0) {
        strbuf_release(&sb);
        return error_errno("cannot read dotenv file '%s'", path);
    }
    int r = bundle_load_secrets(conn, sb.buf, sb.len, count);
    if (r < 0)
        error("secrets from '%s' were not loaded", path);
    explicit_bzero(sb.buf, sb.len);
    strbuf_release(&sb);
    return r;
}
