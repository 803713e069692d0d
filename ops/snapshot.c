/*
 * snapshot.c (ops) — deploy/check with the snapshot cache, and `database
 * clone` (see ops/snapshot.h).
 */
#include "ops/snapshot.h"
#include "ops/ops.h"
#include "ops/project.h"
#include "ops/throwaway.h"
#include "lib/bundle.h"
#include "lib/fs.h"
#include "lib/job.h"
#include "lib/pg.h"
#include "lib/scratch.h"
#include "lib/settings.h"
#include "lib/sha256.h"
#include "lib/tplcache.h"

#include <sys/resource.h>
#include <sys/select.h>
#include <sys/syscall.h>
#include <unistd.h>

#define NS "snapshot"

const char *psnap_short(const char *entry)
{
    /* the half that hashes the files read: it tells a project's entries apart */
    static char buf[32];
    const char *dash = entry ? strchr(entry, '-') : NULL;
    snprintf(buf, sizeof(buf), "%.8s…", dash ? dash + 1 : entry ? entry : "?");
    return buf;
}

/* sha256 of the bundle as hydrate applies it (the inheritance file replacing its part). */
static void key_bundle(struct snap_key *k, const char *inheritance_sql)
{
    struct strbuf all = STRBUF_INIT;
    for (size_t i = 0; i < bundle_nparts; i++) {
        const struct bundle_part *p = &bundle_parts[i];
        if (!p->name || !bundle_is_part(p))
            continue;
        strbuf_addf(&all, "-- %s\n", p->name);
        if (bundle_part_sql(p, inheritance_sql, &all) < 0)
            strbuf_addstr(&all, "(unreadable)");
    }
    char h[SHA256_HEX_LEN];
    sha256_hex(all.buf, all.len, h);
    snap_key_add(k, "bundle", BUNDLE_VERSION);
    snap_key_add(k, "bundle-sql", h);
    strbuf_release(&all);
}

bool psnap_begin(struct proj_snap *p, const struct settings *s, const struct proj_opts *o,
                 struct cluster *c)
{
    memset(p, 0, sizeof(*p));
    p->deps = (struct strvec)STRVEC_INIT;
    p->key.material = (struct strbuf)STRBUF_INIT;
    if (o->no_snapshot || o->reuse || (o->no_hydrate && o->no_patch))
        return false;
    uint64_t budget = 0;
    if (snap_parse_size(set_get(s, SET_DBTOOL_SNAPSHOT_BUDGET), &budget) < 0 || !budget)
        return false;
    if (snap_open(&p->sc, c->cache_dir, budget) < 0)
        return false;
    struct snap_key *k = &p->key;
    snap_key_init(k, "deploy");
    snap_key_add(k, "dbtool", DBTOOL_VERSION);
    struct strbuf id = STRBUF_INIT;
    pgbin_identity(&c->bin, &id);
    snap_key_add(k, "server", id.buf);
    strbuf_release(&id);
    /* initdb's options and the template layout (lib/tplcache) */
    snap_key_add(k, "initdb", "-A trust -E UTF8 --no-locale -N --wal-segsize=1");
    char num[32];
    snprintf(num, sizeof(num), "%d", (int)c->uid);
    snap_key_add(k, "uid", num);
    snap_key_add(k, "user", c->user);
    snap_key_add(k, "database", c->database);
    snap_key_add(k, "preload", c->conf_file ? "(PG_CONF_FILE)" : c->preload);
    snap_key_add_file(k, "conf-file", c->conf_file);
    snap_key_add(k, "hectic-inheritance", c->hectic_inheritance ? "1" : "0");
    const char *inh = set_get(s, SET_HECTIC_INHERITANCE_SQL);
    snap_key_add_file(k, "inheritance-sql", inh);
    snap_key_add(k, "hydrate", o->no_hydrate ? "0" : "1");
    if (!o->no_hydrate) {
        key_bundle(k, inh);
        snap_key_add(k, "mock", o->mock ? "1" : "0");
        const char *src = set_get(s, SET_DATABASE_SOURCE);
        const char *ep = set_get(s, SET_HYDRATE_ENTRYPOINT);
        char *entry = ep[0] == '/' || !src ? xstrdup(ep) : path_join(src, ep);
        char *abs = path_absolute(entry, NULL);
        snap_key_add(k, "entrypoint", abs);
        free(abs);
        free(entry);
        const char *dotenv = NULL;
        if (proj_dotenv_file(s, &dotenv) < 0) {
            snap_close(&p->sc);
            return false;
        }
        snap_key_add_file(k, "dotenv", dotenv);
        /* the code directory hydrate applies after the sources (ops/code.h) */
        snap_key_add_tree(k, "code-dir", set_get(s, SET_CODE_DIR));
    }
    snap_key_add(k, "patch", o->no_patch ? "0" : "1");
    if (!o->no_patch) {
        char *td = proj_test_data_path(s);
        char *abs = path_absolute(td, NULL);
        snap_key_add(k, "test-data", abs);
        free(abs);
        free(td);
    }
    snap_key_seal(k);
    p->usable = true;
    return true;
}

struct fill_job {
    struct snap_cache *sc;
    const char *entry;
    const char *trash;
    const char *near;
    uid_t uid;
    gid_t gid;
    bool do_chown;
};

static void fill_job_fn(void *arg)
{
    struct fill_job *j = arg;
    if (j->trash)
        rm_rf(j->trash);
    snap_refill(j->sc, j->entry, j->near, j->uid, j->gid, j->do_chown);
}

/* cluster.fresh_fill: the data dir is a copy of the hit. */
static enum cl_status fill(struct cluster *c, const char *dir, const char *trash, void *arg)
{
    struct proj_snap *p = arg;
    p->t0 = now_monotonic();
    bool chown_it = geteuid() == 0;
    if (snap_claim(&p->sc, p->hit, dir, c->uid, c->gid, chown_it, &p->spare) < 0) {
        p->failed = true;
        return tpl_fresh_data_dir(c, dir, trash);
    }
    p->claimed = true;
    debug(NS, "claimed snapshot %s (%s) in %.0f ms", p->hit, p->spare ? "a spare" : "a copy",
          (now_monotonic() - p->t0) * 1000);
    /* off the critical path: delete what was replaced, make the next spare */
    char *near = xstrdup(c->working_dir);
    struct fill_job j = {&p->sc, p->hit, trash, near, c->uid, c->gid, chown_it};
    char *lock = snap_job_lock(&p->sc, p->hit);
    if (job_start(lock, fill_job_fn, &j, c->sync_cache) < 0 && trash)
        rm_rf(trash); /* a job of this entry is busy: it refills; the trash is ours */
    free(lock);
    free(near);
    return CL_OK;
}

bool psnap_lookup(struct proj_snap *p, struct cluster *c)
{
    if (!p->usable)
        return false;
    double t = now_monotonic();
    p->hit = snap_lookup(&p->sc, &p->key);
    debug(NS, "lookup %s: %s in %.1f ms", p->key.id, p->hit ? p->hit : "miss",
          (now_monotonic() - t) * 1000);
    if (!p->hit)
        return false;
    c->fresh_fill = fill;
    c->fresh_arg = p;
    return true;
}

void psnap_failed(struct proj_snap *p, struct cluster *c)
{
    if (p->hit) {
        warn("the cluster did not start from snapshot %s: removing it from the cache and "
             "replaying", psnap_short(p->hit));
        snap_evict(&p->sc, p->hit);
        free(p->hit);
        p->hit = NULL;
    }
    p->failed = true;
    c->fresh_fill = NULL;
    c->fresh_arg = NULL;
}

/* ---- storing ---- */

struct store_job {
    struct proj_snap *p;
    const struct settings *s;
    const struct proj_opts *o;
    const char *entry;
    const char *near; /* a spare is made on this dir's filesystem (NULL: none) */
    uid_t uid;        /* owning it */
    gid_t gid;
    bool sync;        /* in the foreground (DBTOOL_SYNC_CACHE) */
};

/* SQL for single-user mode: the template database clones are made from. */
static char *template_sql(const char *database)
{
    char *ident = pg_quote_ident(database), *lit = pg_quote_literal(database);
    char *sql = xasprintf(
        "CREATE DATABASE " SNAP_TEMPLATE_DB " TEMPLATE %s\n"
        "ALTER DATABASE " SNAP_TEMPLATE_DB " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false\n"
        "SET allow_system_table_mods = on\n"
        "INSERT INTO pg_catalog.pg_db_role_setting SELECT (SELECT oid FROM pg_catalog.pg_database "
        "WHERE datname = '" SNAP_TEMPLATE_DB "'), setrole, setconfig FROM "
        "pg_catalog.pg_db_role_setting WHERE setdatabase = (SELECT oid FROM pg_catalog.pg_database "
        "WHERE datname = %s)\n",
        ident, lit);
    free(ident);
    free(lit);
    return sql;
}

static bool same_deps(const struct strvec *a, const struct strvec *b)
{
    if (a->nr != b->nr)
        return false;
    for (size_t i = 0; i < a->nr; i++)
        if (strcmp(a->v[i], b->v[i]))
            return false;
    return true;
}

/*
 * The lowest CPU and I/O priority for this process and what it starts (the
 * throwaway server): a background store must not slow the user's next
 * command on a small machine. Failures are ignored (ioprio_set is Linux's).
 */
static void lowest_priority(void)
{
    if (setpriority(PRIO_PROCESS, 0, 19) < 0)
        debug(NS, "setpriority: %s", strerror(errno));
#ifdef SYS_ioprio_set
    /* IOPRIO_WHO_PROCESS, this process, IOPRIO_CLASS_IDLE << IOPRIO_CLASS_SHIFT */
    if (syscall(SYS_ioprio_set, 1, 0, 3 << 13) < 0)
        debug(NS, "ioprio_set: %s", strerror(errno));
#endif
}

/* Replay into a throwaway cluster and store it (a background job, or here with DBTOOL_SYNC_CACHE). */
static void store_job_fn(void *arg)
{
    static struct throwaway t; /* reachable from the cleanup stack */
    struct store_job *j = arg;
    if (!j->sync)
        lowest_priority();
    struct proj_snap *p = j->p;
    const struct settings *s = j->s;
    int lk = snap_store_lock(&p->sc, j->entry);
    if (lk < 0) {
        debug(NS, "another run is storing %s", j->entry);
        return;
    }
    char *name = xasprintf("snapshot-%d", (int)getpid());
    uint64_t need = SCRATCH_CLUSTER_BYTES;
    if (!j->o->no_patch) {
        char *td = proj_test_data_path(s);
        need += 4 * scratch_unpacked_size(td);
        free(td);
    }
    struct throwaway_opts to = {.keep_conf_file = true};
    struct strvec deps = STRVEC_INIT;
    bool quiet = !log_enabled(NS, LOG_DEBUG);
    if (quiet)
        log_configure("warn", NULL);
    double t0 = now_monotonic();
    int r = throwaway_open(&t, s, "snapshot", name, need, &to);
    free(name);
    if (!r) {
        r = ops_exit(cluster_init(&t.c));
        struct proj_opts ro = *j->o;
        ro.hydrate_log = ro.patch_log = "/dev/null";
        ro.deps = &deps;
        if (!r)
            r = proj_replay(s, t.c.url, &ro);
        if (!r && !same_deps(&deps, &p->deps)) {
            debug(NS, "the files changed while the snapshot was made: not stored");
            r = EXIT_ERR;
        }
        if (!r)
            r = ops_exit(cluster_stop(&t.c, 30));
        char *sql = r ? NULL : template_sql(t.c.database);
        if (!r && cluster_single_user(&t.c, t.c.data_dir, "postgres", sql, NULL) != 0) {
            warn("snapshot: cannot add the clone template database: not stored");
            r = EXIT_ERR;
        }
        free(sql);
        if (!r) {
            static const char *const junk[] = {"postmaster.opts", "postmaster.pid", "log"};
            for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
                char *x = path_join(t.c.data_dir, junk[i]);
                rm_rf(x);
                free(x);
            }
            t.passed = true;
            if (snap_store(&p->sc, &p->key, &deps, t.c.data_dir) == 0) {
                debug(NS, "snapshot %s stored in %.2f s", j->entry, now_monotonic() - t0);
                /* the next deploy renames a ready copy instead of copying */
                if (j->near)
                    snap_refill(&p->sc, j->entry, j->near, j->uid, j->gid, geteuid() == 0);
            }
        }
        throwaway_close(&t);
    }
    if (quiet)
        log_configure(set_get(s, SET_HECTIC_LOG), NULL);
    strvec_clear(&deps);
    close(lk);
}

void psnap_store(struct proj_snap *p, const struct settings *s, const struct proj_opts *o,
                 const char *near, uid_t uid, gid_t gid)
{
    if (!p->usable || interrupted)
        return;
    char *entry = snap_entry_name(&p->key, &p->deps);
    if (snap_entry_bytes(&p->sc, entry)) {
        free(entry);
        return;
    }
    bool sync = set_bool(s, SET_DBTOOL_SYNC_CACHE);
    struct store_job j = {p, s, o, entry, near, uid, gid, sync};
    char *lock = snap_job_lock(&p->sc, entry);
    if (sync)
        info("snapshot: storing %s (DBTOOL_SYNC_CACHE=1: in the foreground)", psnap_short(entry));
    if (job_start(lock, store_job_fn, &j, sync) < 0)
        debug(NS, "a job is storing %s already", entry);
    else if (!sync)
        debug(NS, "storing snapshot %s in the background", entry);
    free(lock);
    free(entry);
}

void psnap_release(struct proj_snap *p)
{
    free(p->hit);
    p->hit = NULL;
    strvec_clear(&p->deps);
    snap_key_release(&p->key);
    snap_close(&p->sc);
}

/* ---- database clone ---- */

#define CLONE_COMMENT "dbtool clone"

static int admin_exec(PGconn *conn, const char *sql)
{
    return pg_exec(conn, sql);
}

/* 1 when database NAME exists, 0 when not, -1 on error. */
static int db_exists(PGconn *conn, const char *name)
{
    struct strbuf v = STRBUF_INIT;
    const char *params[1] = {name};
    int r = pg_query_value(conn, "SELECT count(*) FROM pg_catalog.pg_database WHERE datname = $1", 1,
                           params, &v);
    int ret = r < 0 ? -1 : strcmp(v.buf, "0") != 0;
    strbuf_release(&v);
    return ret;
}

/* 1 when NAME is a database `database clone` made. */
static int is_clone(PGconn *conn, const char *name)
{
    struct strbuf v = STRBUF_INIT;
    const char *params[1] = {name};
    int r = pg_query_value(conn,
                           "SELECT count(*) FROM pg_catalog.pg_database d WHERE d.datname = $1 AND "
                           "pg_catalog.shobj_description(d.oid, 'pg_database') = '" CLONE_COMMENT "'",
                           1, params, &v);
    int ret = r < 0 ? -1 : strcmp(v.buf, "0") != 0;
    strbuf_release(&v);
    return ret;
}

static int drop_one(PGconn *conn, const char *name, int major)
{
    char *ident = pg_quote_ident(name);
    char *sql = xasprintf("DROP DATABASE IF EXISTS %s%s", ident, major >= 13 ? " WITH (FORCE)" : "");
    int r = admin_exec(conn, sql);
    free(sql);
    free(ident);
    if (!r)
        info("clone: dropped %s", name);
    return r;
}

/* Make the template database from the deployed one as it is now (a replayed cluster has none). */
static int make_template(PGconn *conn, const char *database)
{
    warn("clone: this cluster has no snapshot template (it was deployed by a replay, not from a "
         "snapshot): making one from '%s' as it is now", database);
    char *ident = pg_quote_ident(database), *lit = pg_quote_literal(database);
    char *sql = xasprintf("CREATE DATABASE " SNAP_TEMPLATE_DB " TEMPLATE %s", ident);
    int r = admin_exec(conn, sql);
    free(sql);
    if (!r)
        r = admin_exec(conn, "ALTER DATABASE " SNAP_TEMPLATE_DB
                             " WITH IS_TEMPLATE true ALLOW_CONNECTIONS false");
    if (!r) {
        sql = xasprintf("SET allow_system_table_mods = on; INSERT INTO pg_catalog.pg_db_role_setting "
                        "SELECT (SELECT oid FROM pg_catalog.pg_database WHERE datname = '"
                        SNAP_TEMPLATE_DB "'), setrole, setconfig FROM pg_catalog.pg_db_role_setting "
                        "WHERE setdatabase = (SELECT oid FROM pg_catalog.pg_database WHERE datname = "
                        "%s); RESET allow_system_table_mods",
                        lit);
        r = admin_exec(conn, sql);
        free(sql);
    }
    free(ident);
    free(lit);
    return r;
}

/* The database settings (ALTER DATABASE ... SET) of the template, onto NAME. */
static int copy_settings(PGconn *conn, const char *name)
{
    char *lit = pg_quote_literal(name);
    char *sql = xasprintf(
        "DO $$BEGIN IF EXISTS (SELECT 1 FROM pg_catalog.pg_db_role_setting s JOIN "
        "pg_catalog.pg_database d ON d.oid = s.setdatabase WHERE d.datname = '" SNAP_TEMPLATE_DB
        "') THEN SET LOCAL allow_system_table_mods = on; INSERT INTO pg_catalog.pg_db_role_setting "
        "SELECT (SELECT oid FROM pg_catalog.pg_database WHERE datname = %s), s.setrole, s.setconfig "
        "FROM pg_catalog.pg_db_role_setting s JOIN pg_catalog.pg_database d ON d.oid = "
        "s.setdatabase WHERE d.datname = '" SNAP_TEMPLATE_DB "'; END IF; END$$",
        lit);
    int r = admin_exec(conn, sql);
    free(sql);
    free(lit);
    return r;
}

/*
 * The strategy of CREATE DATABASE: WAL_LOG (the default of 15+) writes every
 * block of the template to the WAL, FILE_COPY copies the files after a
 * checkpoint. Measured on ext4 (bench/snapshot.sh): WAL_LOG is faster for
 * databases of tens of MB; FILE_COPY wins on large ones and on PostgreSQL 18
 * with file_copy_method = clone (copy_file_range: reflinks on btrfs/XFS).
 */
static const char *clone_strategy(PGconn *conn, int major)
{
    if (major < 15)
        return "";
    if (major >= 18)
        return " STRATEGY FILE_COPY";
    struct strbuf v = STRBUF_INIT;
    long long size = 0;
    if (pg_query_value(conn, "SELECT pg_catalog.pg_database_size('" SNAP_TEMPLATE_DB "')", 0, NULL,
                       &v) == 0)
        size = atoll(v.buf);
    strbuf_release(&v);
    return size > (256LL << 20) ? " STRATEGY FILE_COPY" : " STRATEGY WAL_LOG";
}

/* After CREATE DATABASE NAME on CONN: mark it a clone, carry the template's settings. */
static int clone_finish(PGconn *conn, const char *name)
{
    char *ident = pg_quote_ident(name);
    char *sql = xasprintf("COMMENT ON DATABASE %s IS '" CLONE_COMMENT "'", ident);
    int r = admin_exec(conn, sql);
    free(sql);
    free(ident);
    if (!r)
        r = copy_settings(conn, name);
    return r;
}

#define CLONE_PARALLEL 4

/*
 * CREATE DATABASE each of NAMES from the template, up to CLONE_PARALLEL at a
 * time (one connection each), printing each URL as it is ready. 0 or an exit code.
 */
static int create_clones(PGconn *conn0, struct cluster *c, const struct strvec *names, int major)
{
    const char *strategy = clone_strategy(conn0, major);
    size_t np = names->nr < CLONE_PARALLEL ? names->nr : CLONE_PARALLEL;
    PGconn *conns[CLONE_PARALLEL] = {conn0};
    long busy[CLONE_PARALLEL];
    double started[CLONE_PARALLEL];
    int ret = 0;
    char *admin = pg_build_url(c->user, "postgres", c->sock_dir, c->port);
    for (size_t i = 1; i < np; i++)
        if (!(conns[i] = pg_connect(admin)))
            np = i; /* as many as we got */
    free(admin);
    for (size_t i = 0; i < np; i++) {
        busy[i] = -1;
        /* PG 18: copy_file_range (a reflink where the filesystem has them) */
        if (major >= 18 && pg_exec(conns[i], "SET file_copy_method = clone") < 0)
            debug(NS, "file_copy_method = clone not available");
    }
    size_t next = 0, done = 0;
    while (done < names->nr && !ret) {
        for (size_t i = 0; i < np && next < names->nr; i++) {
            if (busy[i] >= 0)
                continue;
            char *ident = pg_quote_ident(names->v[next]);
            char *sql = xasprintf("CREATE DATABASE %s TEMPLATE " SNAP_TEMPLATE_DB "%s", ident, strategy);
            free(ident);
            if (!PQsendQuery(conns[i], sql)) {
                error("cannot send CREATE DATABASE: %s", PQerrorMessage(conns[i]));
                free(sql);
                ret = EXIT_ERR;
                break;
            }
            free(sql);
            busy[i] = (long)next++;
            started[i] = now_monotonic();
        }
        if (ret)
            break;
        fd_set rd;
        FD_ZERO(&rd);
        int maxfd = -1;
        for (size_t i = 0; i < np; i++)
            if (busy[i] >= 0) {
                int fd = PQsocket(conns[i]);
                FD_SET(fd, &rd);
                maxfd = fd > maxfd ? fd : maxfd;
            }
        struct timeval tv = {0, 100000};
        if (select(maxfd + 1, &rd, NULL, NULL, &tv) < 0 && errno != EINTR) {
            ret = EXIT_ERR;
            break;
        }
        if (interrupted) {
            for (size_t i = 0; i < np; i++)
                if (busy[i] >= 0) {
                    PGcancel *cn = PQgetCancel(conns[i]);
                    char eb[256];
                    if (cn) {
                        PQcancel(cn, eb, sizeof(eb));
                        PQfreeCancel(cn);
                    }
                }
        }
        for (size_t i = 0; i < np; i++) {
            if (busy[i] < 0 || !PQconsumeInput(conns[i]) || PQisBusy(conns[i]))
                continue;
            PGresult *res;
            bool ok = true;
            while ((res = PQgetResult(conns[i]))) {
                if (PQresultStatus(res) != PGRES_COMMAND_OK) {
                    error("CREATE DATABASE %s: %s", names->v[busy[i]], PQresultErrorMessage(res));
                    ok = false;
                }
                PQclear(res);
            }
            const char *name = names->v[busy[i]];
            if (!ok || clone_finish(conns[i], name) < 0) {
                ret = EXIT_ERR;
                break;
            }
            char *url = pg_build_url(c->user, name, c->sock_dir, c->port);
            printf("%s\n", url);
            fflush(stdout);
            free(url);
            debug(NS, "clone %s in %.1f ms", name, (now_monotonic() - started[i]) * 1000);
            busy[i] = -1;
            done++;
        }
    }
    /* a failure leaves the others' statements to finish: wait, so no session is left busy */
    for (size_t i = 0; i < np; i++) {
        if (busy[i] >= 0) {
            PGresult *res;
            while ((res = PQgetResult(conns[i])))
                PQclear(res);
        }
        if (i)
            PQfinish(conns[i]);
    }
    return ret;
}


/* ---- the warm pool ----
 *
 * DBTOOL_CLONE_POOL databases made ahead from the template, named
 * POOL_PREFIX K and commented POOL_COMMENT "<template oid>.<xmin>": the
 * identity of the template they were made from (a template dropped and made
 * again, or altered, has another). `database clone` takes one by renaming it
 * (a catalog update) and marking it a clone, in one transaction; a database
 * whose comment names another template, or none (a refill stopped between
 * its CREATE DATABASE and its COMMENT), is never handed out and the next
 * refill drops it. One refill job per cluster (a job lock); it keeps one
 * connection, so it ends when the cluster stops.
 */
#define POOL_PREFIX "dbtool_pool_"
#define POOL_LIKE "dbtool\\_pool\\_%"
#define POOL_COMMENT "dbtool pool "
#define POOL_APP "dbtool clone pool"

/* An admin statement whose failure is not an error here (0 or -1, nothing printed). */
static int exec_quiet(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        debug(NS, "%s", PQresultErrorMessage(r));
    PQclear(r);
    if (!ok && PQtransactionStatus(conn) == PQTRANS_INERROR)
        PQclear(PQexec(conn, "ROLLBACK"));
    return ok ? 0 : -1;
}

/* The comment of a pool database made from the template as it is now: 1, 0 (no template), -1. */
static int pool_comment(PGconn *conn, struct strbuf *out)
{
    PGresult *r = PQexec(conn, "SELECT '" POOL_COMMENT "' || oid::text || '.' || xmin::text FROM "
                               "pg_catalog.pg_database WHERE datname = '" SNAP_TEMPLATE_DB "'");
    int ret = PQresultStatus(r) == PGRES_TUPLES_OK ? PQntuples(r) > 0 : -1;
    if (ret > 0)
        strbuf_addstr(out, PQgetvalue(r, 0, 0));
    else if (ret < 0)
        debug(NS, "%s", PQresultErrorMessage(r));
    PQclear(r);
    return ret;
}

/* The pool databases whose comment is (VALID) or is not (!VALID) COMMENT, oldest first. */
static int pool_list(PGconn *conn, const char *comment, bool valid, struct strvec *out)
{
    const char *params[1] = {comment};
    PGresult *r = PQexecParams(conn, valid ?
        "SELECT datname FROM pg_catalog.pg_database d WHERE datname LIKE '" POOL_LIKE "' AND "
        "pg_catalog.shobj_description(d.oid, 'pg_database') = $1 ORDER BY oid" :
        "SELECT datname FROM pg_catalog.pg_database d WHERE datname LIKE '" POOL_LIKE "' AND "
        "coalesce(pg_catalog.shobj_description(d.oid, 'pg_database'), '') <> $1 ORDER BY oid",
        1, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        debug(NS, "%s", PQresultErrorMessage(r));
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++)
        strvec_push(out, PQgetvalue(r, i, 0));
    PQclear(r);
    return 0;
}

/*
 * Take a pool database made from the template as it is (COMMENT) as NAME:
 * rename it and mark it a clone, in one transaction. 1 taken, 0 none left
 * (POOLED: how many were there before), -1 on error.
 */
static int pool_take(PGconn *conn, const char *comment, const char *name, size_t *pooled)
{
    struct strvec cand = STRVEC_INIT;
    if (pool_list(conn, comment, true, &cand) < 0)
        return -1;
    *pooled = cand.nr;
    int ret = 0;
    char *to = pg_quote_ident(name);
    for (size_t i = 0; i < cand.nr && !ret; i++) {
        char *from = pg_quote_ident(cand.v[i]);
        /* a concurrent clone may take the same one: its rename fails, try the next */
        char *sql = xasprintf("BEGIN; ALTER DATABASE %s RENAME TO %s; COMMENT ON DATABASE %s IS '"
                              CLONE_COMMENT "'; COMMIT",
                              from, to, to);
        if (!exec_quiet(conn, sql))
            ret = 1;
        free(sql);
        free(from);
    }
    free(to);
    strvec_clear(&cand);
    return ret;
}

static const char *clone_strategy(PGconn *conn, int major);
static int copy_settings(PGconn *conn, const char *name);

struct pool_job {
    const char *admin; /* the cluster's admin URL */
    int size;
};

/* The refill job: drop stale pool databases, make new ones up to the size; stop at any error. */
static void pool_job_fn(void *arg)
{
    struct pool_job *j = arg;
    char *err = NULL;
    PGconn *conn = pg_connect_quiet(j->admin, &err);
    if (!conn || PQstatus(conn) != CONNECTION_OK) {
        debug(NS, "pool: cannot connect: %s", err ? err : "?");
        free(err);
        goto out;
    }
    if (exec_quiet(conn, "SET application_name = '" POOL_APP "'") < 0)
        goto out;
    int major = PQserverVersion(conn) / 10000;
    const char *strategy = clone_strategy(conn, major);
    if (major >= 18)
        exec_quiet(conn, "SET file_copy_method = clone");
    for (int round = 0; round < 2 * j->size + 4 && !interrupted; round++) {
        struct strbuf comment = STRBUF_INIT;
        struct strvec stale = STRVEC_INIT, valid = STRVEC_INIT;
        int r = pool_comment(conn, &comment);
        if (r > 0 && pool_list(conn, comment.buf, false, &stale) < 0)
            r = -1;
        for (size_t i = 0; r > 0 && i < stale.nr; i++) {
            char *ident = pg_quote_ident(stale.v[i]);
            char *sql = xasprintf("DROP DATABASE IF EXISTS %s%s", ident, major >= 13 ? " WITH (FORCE)" : "");
            if (exec_quiet(conn, sql) < 0)
                r = -1;
            free(sql);
            free(ident);
        }
        if (r > 0 && pool_list(conn, comment.buf, true, &valid) < 0)
            r = -1;
        char *name = NULL;
        if (r > 0 && (int)valid.nr < j->size) {
            /* the first free name (a stale one was dropped above) */
            for (int k = 1; !name; k++) {
                char *n = xasprintf(POOL_PREFIX "%d", k);
                if (db_exists(conn, n) == 0)
                    name = n;
                else
                    free(n);
                if (k > 10000)
                    break;
            }
        }
        if (name) {
            double t = now_monotonic();
            char *sql = xasprintf("CREATE DATABASE %s TEMPLATE " SNAP_TEMPLATE_DB "%s", name, strategy);
            char *lit = pg_quote_literal(comment.buf);
            char *cmt = xasprintf("COMMENT ON DATABASE %s IS %s", name, lit);
            if (exec_quiet(conn, sql) < 0 || copy_settings(conn, name) < 0 || exec_quiet(conn, cmt) < 0)
                r = -1;
            else
                debug(NS, "pool: made %s in %.1f ms", name, (now_monotonic() - t) * 1000);
            free(cmt);
            free(lit);
            free(sql);
            free(name);
        } else if (r > 0) {
            r = 0; /* full */
        }
        strbuf_release(&comment);
        strvec_clear(&stale);
        strvec_clear(&valid);
        if (r <= 0) {
            debug(NS, "pool: %s", r ? "stopped by an error" : "full");
            break;
        }
    }
out:
    if (conn)
        PQfinish(conn);
}

/* The lock of the cluster C's refill job: beside the cache's jobs (whoever waits for those waits for it). */
static char *pool_lock(const struct cluster *c)
{
    char h[SHA256_HEX_LEN];
    sha256_hex(c->data_dir, strlen(c->data_dir), h);
    if (c->cache_dir) {
        char *jobs = path_join(c->cache_dir, "jobs");
        if (mkdir_p(jobs, 0700) == 0 || errno == EEXIST) {
            char *p = xasprintf("%s/pool-%.16s.lock", jobs, h);
            free(jobs);
            return p;
        }
        free(jobs);
    }
    return path_join(c->working_dir, "clone-pool.lock");
}

/* Refill the pool of C in the background (nothing when a refill runs already). */
static void pool_refill(const struct cluster *c, int size)
{
    char *lock = pool_lock(c);
    char *admin = pg_build_url(c->user, "postgres", c->sock_dir, c->port);
    struct pool_job j = {admin, size};
    if (job_start(lock, pool_job_fn, &j, false) < 0)
        debug(NS, "a refill of the pool runs already");
    free(admin);
    free(lock);
}

/*
 * For --all: end a running refill (its backend first, so that no CREATE
 * DATABASE commits after we listed the pool), then list every pool database.
 */
static int pool_stop(PGconn *conn, const struct cluster *c, struct strvec *out)
{
    char *lock = pool_lock(c);
    exec_quiet(conn, "SELECT pg_catalog.pg_terminate_backend(pid) FROM pg_catalog.pg_stat_activity "
                     "WHERE application_name = '" POOL_APP "' AND pid <> pg_catalog.pg_backend_pid()");
    job_stop(lock, 10);
    free(lock);
    PGresult *r = PQexec(conn, "SELECT datname FROM pg_catalog.pg_database WHERE datname LIKE '"
                               POOL_LIKE "' ORDER BY 1");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        error("cannot list the pool: %s", PQerrorMessage(conn));
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++)
        strvec_push(out, PQgetvalue(r, i, 0));
    PQclear(r);
    return 0;
}

int psnap_clone(const struct settings *s, const struct clone_opts *o)
{
    struct cluster c;
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    int ret = ops_exit(cluster_setup(&c, &sp));
    PGconn *conn = NULL;
    struct strvec names = STRVEC_INIT;
    if (ret)
        goto out;
    if (!cluster_running_pid(c.data_dir)) {
        error("the project's cluster is not running: start it with 'database deploy' (or "
              "'database init --reuse')");
        ret = EXIT_ERR;
        goto out;
    }
    char *admin = pg_build_url(c.user, "postgres", c.sock_dir, c.port);
    conn = pg_connect(admin);
    free(admin);
    if (!conn) {
        ret = EXIT_ERR;
        goto out;
    }
    int major = PQserverVersion(conn) / 10000;
    double t0 = now_monotonic();
    if (o->drop || o->drop_all) {
        if (o->drop_all) {
            PGresult *res = PQexec(conn, "SELECT datname FROM pg_catalog.pg_database d WHERE "
                                         "pg_catalog.shobj_description(d.oid, 'pg_database') = '"
                                         CLONE_COMMENT "' ORDER BY 1");
            if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                error("cannot list the clones: %s", PQerrorMessage(conn));
                PQclear(res);
                ret = EXIT_ERR;
                goto out;
            }
            for (int i = 0; i < PQntuples(res); i++)
                strvec_push(&names, PQgetvalue(res, i, 0));
            PQclear(res);
            /* the pool too: a test runner's --all leaves the cluster as deploy made it */
            size_t nclones = names.nr;
            if (pool_stop(conn, &c, &names) < 0) {
                ret = EXIT_ERR;
                goto out;
            }
            if (!nclones)
                info("clone: no clones to drop");
            if (names.nr > nclones)
                info("clone: dropping the pool (%zu database%s)", names.nr - nclones,
                     names.nr - nclones == 1 ? "" : "s");
        } else {
            int ic = is_clone(conn, o->drop);
            if (ic < 0) {
                ret = EXIT_ERR;
                goto out;
            }
            if (!ic) {
                error("'%s' is not a database made by 'database clone': not dropping it", o->drop);
                ret = EXIT_ERR;
                goto out;
            }
            strvec_push(&names, o->drop);
        }
        for (size_t i = 0; i < names.nr; i++)
            if (drop_one(conn, names.v[i], major) < 0)
                ret = EXIT_ERR;
        goto out;
    }

    int have = db_exists(conn, SNAP_TEMPLATE_DB);
    if (have < 0 || (!have && make_template(conn, c.database) < 0)) {
        ret = EXIT_ERR;
        goto out;
    }
    /* the names: NAME, NAME_1..N, or DB_clone_K with free K */
    int count = o->count > 0 ? o->count : 1;
    for (int i = 1, k = 1; (int)names.nr < count; k++) {
        char *n = o->name ? (count == 1 ? xstrdup(o->name) : xasprintf("%s_%d", o->name, i++))
                          : xasprintf("%s_clone_%d", c.database, k);
        int ex = db_exists(conn, n);
        if (ex < 0) {
            free(n);
            ret = EXIT_ERR;
            goto out;
        }
        if (ex && o->name) {
            error("database '%s' exists already", n);
            free(n);
            ret = EXIT_ERR;
            goto out;
        }
        if (!ex)
            strvec_push(&names, n);
        free(n);
    }
    /* from the warm pool first (DBTOOL_CLONE_POOL), the rest made here */
    int pool = set_int(s, SET_DBTOOL_CLONE_POOL);
    size_t taken = 0, pooled = 0;
    struct strbuf comment = STRBUF_INIT;
    if (pool > 0 && pool_comment(conn, &comment) > 0) {
        for (; taken < names.nr; taken++) {
            size_t n = 0;
            int r = pool_take(conn, comment.buf, names.v[taken], &n);
            if (!taken)
                pooled = n;
            if (r <= 0)
                break;
            char *url = pg_build_url(c.user, names.v[taken], c.sock_dir, c.port);
            printf("%s\n", url);
            free(url);
        }
        fflush(stdout);
    }
    strbuf_release(&comment);
    if (taken)
        info("clone: from the pool (%zu of %zu)", taken, names.nr);
    struct strvec rest = STRVEC_INIT;
    for (size_t i = taken; i < names.nr; i++)
        strvec_push(&rest, names.v[i]);
    if (rest.nr)
        ret = create_clones(conn, &c, &rest, major);
    strvec_clear(&rest);
    /* refill off the critical path (also after a failure: the pool is for the next call) */
    if (pool > 0 && (pooled < (size_t)pool + taken) && !interrupted)
        pool_refill(&c, pool);
    if (ret)
        goto out;
    info("clone: %zu database%s in %s", names.nr, names.nr == 1 ? "" : "s",
         proj_duration(now_monotonic() - t0));
out:
    if (conn)
        PQfinish(conn);
    strvec_clear(&names);
    cluster_release(&c);
    return ret;
}
