/*
 * tplgeneric.c — the generic template: independent of the uid and the
 * database name, built at install time or once per server, copied and
 * fitted to a cluster (see tplcache.h, tpl_build_generic and tpl_fit_live).
 */
#include "lib/tplcache.h"
#include "lib/tplcache_int.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/postmaster.h"
#include "lib/spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS "cluster"

#define GENERIC_ROLE "dbtool"
/* the generic template's database: renamed to the cluster's (its layout: GENERIC_LAYOUT) */
#define GENERIC_DB "dbtool_fit"
#define GENERIC_LAYOUT "2"

/* The server's `postgres -V` line (malloc'd), NULL when it cannot be run. */
static char *server_version_text(struct cluster *c)
{
    struct child ch = CHILD_INIT;
    char *postgres = pgbin_server(&c->bin, "postgres");
    strvec_pushl(&ch.args, postgres, "-V", NULL);
    free(postgres);
    ch.in = SPAWN_DEVNULL;
    ch.err = SPAWN_DEVNULL;
    struct strbuf out = STRBUF_INIT;
    int st = spawn_capture(&ch, &out);
    child_clear(&ch);
    strbuf_trim_trailing(&out);
    if (st != 0 || !out.len) {
        strbuf_release(&out);
        return NULL;
    }
    return strbuf_detach(&out, NULL);
}

/*
 * "generic-HASH" for C's server: keyed by its version text (a data dir fits
 * every binary of that release: no path or inode, so a template built at
 * install time serves the installed server) and the initdb options.
 */
static char *generic_name(struct cluster *c, char **material)
{
    char *v = server_version_text(c);
    if (!v)
        return NULL;
    struct strbuf k = STRBUF_INIT;
    strbuf_addf(&k, "fmt=%s\nlayout=%s\nversion=%s\n", TEMPLATE_FORMAT, GENERIC_LAYOUT, v);
    struct strvec a = STRVEC_INIT;
    tpl_initdb_args(c, &a, "initdb", "D");
    for (size_t i = 0; i < a.nr; i++)
        if (i < 4 || strcmp(a.v[i - 1], "-U"))
            strbuf_addf(&k, "%s ", a.v[i]);
    strvec_clear(&a);
    strbuf_addch(&k, '\n');
    free(v);
    uint64_t h = hash_fnv1a(k.buf, k.len);
    if (material)
        *material = strbuf_detach(&k, NULL);
    strbuf_release(&k);
    return xasprintf("generic-%016llx", (unsigned long long)h);
}

/* Templates installed with dbtool: <dir of the executable>/../share/dbtool/templates. */
static char *installed_templates_dir(void)
{
    char exe[4096];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n <= 0)
        return NULL;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    *slash = 0;
    return xasprintf("%s/../share/dbtool/templates", exe);
}

/* DIR/generic-HASH of C's server (malloc'd) when it holds a data dir, else NULL. */
static char *generic_in(struct cluster *c, const char *dir)
{
    char *name = generic_name(c, NULL);
    char *path = name ? path_join(dir, name) : NULL;
    free(name);
    char *pgv = path ? path_join(path, "PG_VERSION") : NULL;
    if (!pgv || !path_exists(pgv)) {
        free(path);
        path = NULL;
    }
    free(pgv);
    return path;
}

char *tplg_installed(struct cluster *c)
{
    char *dir = installed_templates_dir();
    char *path = dir && is_dir(dir) ? generic_in(c, dir) : NULL;
    free(dir);
    return path;
}

char *tplg_cached(struct cluster *c)
{
    return tpl_cache_usable(c->cache_dir) ? generic_in(c, c->cache_dir) : NULL;
}

/* Whether NAME is one of the databases initdb makes. */
static bool builtin_db(const char *name)
{
    return !strcmp(name, "postgres") || !strcmp(name, "template1") || !strcmp(name, "template0");
}

/*
 * Append the statements fitting a copy of the generic template to C, each
 * ended by END ("\n" for single-user mode, which runs a line at a time;
 * ";\n" over a connection): the bootstrap role renamed to the
 * server user (the session's own role cannot be renamed with ALTER ROLE: the
 * catalog row is, PostgreSQL 12+ allows it at runtime), and the template's
 * GENERIC_DB renamed to C's database (dropped when that is one initdb made).
 * A rename writes one catalog row: no 8 MB copy of template1 through the WAL.
 */
static void fit_sql(struct cluster *c, struct strbuf *sql, bool have_db, bool drop, const char *end)
{
    char *user = pg_quote_literal(c->user);
    char *ident = pg_quote_ident(c->database);
    if (strcmp(c->user, GENERIC_ROLE))
        strbuf_addf(sql, "SET allow_system_table_mods = on%s"
                         "UPDATE pg_catalog.pg_authid SET rolname = %s WHERE oid = 10%s", end, user, end);
    if (!have_db || !strcmp(c->database, GENERIC_DB))
        ; /* a template made without it (ensure_database creates the database), or its own name */
    else if (!builtin_db(c->database))
        strbuf_addf(sql, "ALTER DATABASE " GENERIC_DB " RENAME TO %s%s", ident, end);
    else if (drop)
        strbuf_addf(sql, "DROP DATABASE " GENERIC_DB "%s", end);
    free(user);
    free(ident);
}

/*
 * DIR (absent) from the generic template GEN, fitted to C: a copy owned by
 * the server user, then fitted in one single-user session (fit_sql) — or,
 * LIVE, marked FIT_MARKER and fitted over the first connection to the
 * started server (tpl_fit_live): the cluster's first start is then its only
 * start, with no single-user start, shutdown checkpoint and second start.
 */
enum cl_status tplg_from(struct cluster *c, const char *gen, const char *dir, const char *log,
                                   bool live)
{
    double t0 = now_monotonic();
    if (copy_tree(gen, dir, c->uid, c->gid, geteuid() == 0) < 0)
        return CL_ERR;
    double t1 = now_monotonic();
    /* an installed template is readable by all; a data dir is the server user's alone */
    if (chmod(dir, 0700) < 0)
        return error_errno("cannot chmod '%s'", dir), CL_ERR;
    /* the template's key material is the template's, not the cluster's (the copy is ours) */
    char *side = path_join(dir, "dbtool-template.key");
    unlink(side);
    free(side);
    if (live) {
        char *mark = path_join(dir, FIT_MARKER);
        static const char why[] = "dbtool: a copy of the generic template, fitted over the first "
                                  "connection (the bootstrap role and database are renamed)\n";
        int w = fs_write_as(mark, why, sizeof(why) - 1, 0600, c->switch_user, c->uid, c->gid);
        if (w < 0)
            error_errno("cannot write '%s'", mark);
        free(mark);
        debug(NS, "generic template copied in %.0f ms; fitted after the start", (t1 - t0) * 1000);
        return w < 0 ? CL_ERR : CL_OK;
    }
    struct strbuf sql = STRBUF_INIT;
    fit_sql(c, &sql, true, true, "\n");
    int st = sql.len ? pm_single_user(c, dir, "postgres", sql.buf, log) : 0;
    strbuf_release(&sql);
    debug(NS, "generic template copied in %.0f ms, fitted in %.0f ms", (t1 - t0) * 1000,
          (now_monotonic() - t1) * 1000);
    if (st != 0) {
        if (interrupted)
            return CL_INTERRUPTED;
        error("fitting the generic template to '%s' failed (exit %d)", c->user, st);
        if (log)
            pm_show_tail(log, 15);
        return CL_ERR;
    }
    return CL_OK;
}

/* Connect to C's started cluster as ROLE, database postgres (cluster_connect_waiting). */
static PGconn *connect_as(struct cluster *c, const char *role, char **msg)
{
    char *url = pg_build_url(role, "postgres", c->sock_dir, c->port);
    PGconn *conn = cluster_connect_waiting(url, msg);
    free(url);
    return conn;
}

enum cl_status tpl_fit_live(struct cluster *c)
{
    char *mark = path_join(c->data_dir, FIT_MARKER);
    if (!path_exists(mark)) {
        free(mark);
        return CL_OK;
    }
    double t0 = now_monotonic();
    enum cl_status r = CL_OK;
    char *msg = NULL;
    PGconn *conn = connect_as(c, GENERIC_ROLE, &msg);
    if (!conn && !interrupted && strcmp(c->user, GENERIC_ROLE)) {
        /* a fit that committed before it could remove the marker: the role has C's name now */
        char *msg2 = NULL;
        conn = connect_as(c, c->user, &msg2);
        free(msg2);
        if (conn) {
            PQfinish(conn);
            conn = NULL;
            goto done;
        }
    }
    if (!conn) {
        if (interrupted) {
            r = CL_INTERRUPTED;
        } else {
            error("cannot connect to the new cluster to fit it: %s", msg ? msg : "unknown error");
            r = CL_ERR;
        }
        goto out;
    }
    struct strbuf sql = STRBUF_INIT, one = STRBUF_INIT;
    /* DROP DATABASE cannot run in a transaction: first, and repeatable */
    if (builtin_db(c->database) && pg_exec(conn, "DROP DATABASE IF EXISTS " GENERIC_DB) < 0)
        r = CL_ERR;
    /* the rest in one transaction: an interrupted fit is undone, and done again next time */
    int have = r ? -1 : pg_query_value(conn, "SELECT 1 FROM pg_catalog.pg_database WHERE datname = '" GENERIC_DB "'",
                                       0, NULL, &one);
    if (have < 0) {
        r = CL_ERR;
    } else {
        strbuf_addstr(&sql, "BEGIN;\n");
        fit_sql(c, &sql, have == 1, false, ";\n");
        strbuf_addstr(&sql, "COMMIT");
        if (pg_exec(conn, sql.buf) < 0)
            r = interrupted ? CL_INTERRUPTED : CL_ERR;
    }
    strbuf_release(&sql);
    strbuf_release(&one);
    PQfinish(conn);
    if (r) {
        if (r == CL_ERR)
            error("fitting the new cluster to '%s' and database '%s' failed", c->user, c->database);
        goto out;
    }
done:
    if (unlink(mark) < 0 && errno != ENOENT) {
        error_errno("cannot remove '%s'", mark);
        r = CL_ERR;
        goto out;
    }
    debug(NS, "fitted the generic template over a connection in %.0f ms", (now_monotonic() - t0) * 1000);
out:
    free(msg);
    free(mark);
    return r;
}

/* chmod a+rX of the tree DIR (no symlinks followed): an installed template anyone may copy. */
static void make_readable(const char *dir)
{
    DIR *d = opendir(dir);
    chmod(dir, 0755);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *p = path_join(dir, de->d_name);
        struct stat st;
        if (lstat(p, &st) == 0) {
            if (S_ISDIR(st.st_mode))
                make_readable(p);
            else if (S_ISREG(st.st_mode))
                chmod(p, 0644);
        }
        free(p);
    }
    closedir(d);
}

enum cl_status tpl_build_generic(struct cluster *c, const char *parent)
{
    char *material = NULL;
    char *name = generic_name(c, &material);
    if (!name)
        return error("cannot run '%s/postgres -V'", c->bin.bindir), CL_NO_PROGRAM;
    char *final = path_join(parent, name);
    char *tmp = xasprintf("%s/tmp-%s-%d", parent, name, (int)getpid());
    char *work = NULL; /* where initdb runs: TMP, or a private dir the server user can reach */
    enum cl_status r = CL_OK;
    if (is_dir(final)) {
        info("template %s exists already", final);
        goto out;
    }
    if (mkdir_p(parent, 0755) < 0) {
        r = (error_errno("cannot create '%s'", parent), CL_ERR);
        goto out;
    }
    rm_rf(tmp);
    if (c->switch_user && fs_untraversable(parent, c->uid, c->gid)) {
        /* root's cache: the server user cannot reach inside */
        const char *t = getenv("TMPDIR");
        work = xasprintf("%s/dbtool-build-XXXXXX", t && *t && strlen(t) < 200 ? t : "/tmp");
        if (!mkdtemp(work)) {
            r = (error_errno("cannot create a build dir"), CL_ERR);
            free(work);
            work = NULL;
            goto out;
        }
    } else {
        work = xstrdup(tmp);
        if (mkdir(work, 0700) < 0) {
            r = (error_errno("cannot create '%s'", work), CL_ERR);
            goto out;
        }
    }
    if (c->switch_user && fs_chown_dir_nofollow(work, c->uid, c->gid) < 0) {
        r = (error_errno("cannot hand '%s' to %s", work, c->user), CL_ERR);
        goto out;
    }
    /* initdb as GENERIC_ROLE, no database of a user's: fitted after each copy */
    char *user = c->user;
    c->user = (char *)GENERIC_ROLE;
    struct child ch = CHILD_INIT;
    char *initdb = pgbin_server(&c->bin, "initdb");
    tpl_initdb_args(c, &ch.args, initdb, work);
    if (cluster_server_major(c) >= 14)
        strvec_push(&ch.args, "--no-instructions");
    free(initdb);
    r = tpl_run_logged(c, &ch, "initdb", NULL);
    child_clear(&ch);
    /* the database every fit renames to the cluster's (a copy: no write through the WAL) */
    if (!r) {
        /* FILE_COPY (15+; the only strategy before): not 7 MB of WAL every copy carries */
        int st = pm_single_user(c, work, "postgres",
                                cluster_server_major(c) >= 15
                                    ? "CREATE DATABASE " GENERIC_DB " STRATEGY FILE_COPY\n"
                                    : "CREATE DATABASE " GENERIC_DB "\n",
                                NULL);
        if (st != 0)
            r = st < 0 && errno == ENOENT ? CL_NO_PROGRAM
                                          : (error("creating " GENERIC_DB " in single-user mode failed "
                                                   "(exit %d)", st), CL_ERR);
    }
    c->user = user;
    if (r)
        goto out;
    tpl_scrub_data_dir(work);
    char *side = path_join(work, "dbtool-template.key");
    write_file_atomic(side, material, strlen(material), 0644);
    free(side);
    if (strcmp(work, tmp) && copy_tree(work, tmp, 0, 0, false) < 0) {
        r = CL_ERR;
        goto out;
    }
    if (geteuid() == 0)
        chown_tree(tmp, 0, 0);
    make_readable(tmp);
    if (rename(tmp, final) < 0 && !is_dir(final)) {
        r = (error_errno("cannot rename '%s' to '%s'", tmp, final), CL_ERR);
        goto out;
    }
    debug(NS, "built the generic template %s", final);
out:
    if (work && strcmp(work, tmp))
        rm_rf(work);
    free(work);
    rm_rf(tmp);
    free(tmp);
    free(final);
    free(name);
    free(material);
    return r;
}
