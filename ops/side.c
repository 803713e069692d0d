/*
 * side.c — the sides of diff, generate and drift (see side.h).
 */
#include "ops/side.h"
#include "ops/snapshot.h"
#include "ops/code.h"
#include "ops/ops.h"
#include "ops/project.h"
#include "ops/normalize.h"
#include "lib/bundle.h"
#include "lib/fs.h"
#include "lib/migrate.h"
#include "lib/pg.h"
#include "lib/pgconf.h"
#include "lib/settings.h"

#include <fcntl.h>
#include <unistd.h>

#define NS "side"

char *side_url_with_db(const char *conninfo, const char *dbname)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(conninfo, &err);
    if (!opts) {
        char *m = pg_mask_url(conninfo);
        error("invalid database URL '%s': %s", m, err ? err : "cannot parse it");
        free(m);
        PQfreemem(err);
        return NULL;
    }
    struct strbuf sb = STRBUF_INIT;
    bool have_db = false;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        const char *v = o->val;
        if (!strcmp(o->keyword, "dbname")) {
            v = dbname;
            have_db = true;
        }
        if (!v || !*v)
            continue;
        strbuf_addf(&sb, "%s%s='", sb.len ? " " : "", o->keyword);
        for (const char *p = v; *p; p++) {
            if (*p == '\'' || *p == '\\')
                strbuf_addch(&sb, '\\');
            strbuf_addch(&sb, *p);
        }
        strbuf_addch(&sb, '\'');
    }
    if (!have_db) {
        strbuf_addf(&sb, "%sdbname='%s'", sb.len ? " " : "", dbname);
    }
    PQconninfoFree(opts);
    return strbuf_detach(&sb, NULL);
}

/* ---- server mode: a database on a running server ---- */

static int drop_database(const char *server, const char *dbname)
{
    PGconn *conn = pg_connect(server);
    if (!conn)
        return -1;
    char *q = pg_quote_ident(dbname);
    char *sql = xasprintf("DROP DATABASE IF EXISTS %s%s", q,
                          PQserverVersion(conn) >= 130000 ? " WITH (FORCE)" : "");
    int r = pg_exec(conn, sql);
    free(sql);
    free(q);
    PQfinish(conn);
    return r;
}

static void drop_handler(void *arg)
{
    struct side *sd = arg;
    sd->cookie = -1;
    side_close(sd, false);
}

static int open_server(struct side *sd, const char *server)
{
    sd->server = xstrdup(server);
    sd->dbname = xasprintf("dbtool_%s_%s_%d", sd->purpose, sd->name, (int)getpid());
    PGconn *conn = pg_connect(server);
    if (!conn)
        return EXIT_ERR;
    char *q = pg_quote_ident(sd->dbname);
    char *sql = xasprintf("CREATE DATABASE %s TEMPLATE template0", q);
    /* a leftover of a killed run with this pid */
    char *drop = xasprintf("DROP DATABASE IF EXISTS %s", q);
    int r = pg_exec(conn, drop) < 0 || pg_exec(conn, sql) < 0 ? EXIT_ERR : 0;
    free(drop);
    free(sql);
    free(q);
    PQfinish(conn);
    if (r)
        return r;
    sd->cookie = cleanup_push(drop_handler, sd);
    if (!(sd->url = side_url_with_db(server, sd->dbname)))
        return EXIT_ERR;
    debug(NS, "%s: %s side in database %s", sd->purpose, sd->name, sd->dbname);
    return 0;
}

int side_open(struct side *sd, const struct settings *s, const char *purpose, const char *name,
              const char *logs, const char *database, uint64_t need, const char *server)
{
    memset(sd, 0, sizeof(*sd));
    sd->name = name;
    sd->purpose = purpose;
    sd->s = s;
    sd->cookie = -1;
    sd->t.cookie = -1;
    sd->opened = true;
    if (logs)
        sd->logdir = path_join(logs, name);
    if (server) {
        /* no server of ours writes there: ours to create */
        if (sd->logdir && mkdir_p(sd->logdir, 0755) < 0)
            return error_errno("cannot create '%s'", sd->logdir), EXIT_ERR;
        return open_server(sd, server);
    }
    if (logs && mkdir_p(logs, 0755) < 0)
        return error_errno("cannot create '%s'", logs), EXIT_ERR;
    char *tname = xasprintf("%s-%s-%d", purpose, name, (int)getpid());
    struct throwaway_opts to = {.log_path = sd->logdir, .database = database};
    int r = throwaway_open(&sd->t, s, purpose, tname, need ? need : SCRATCH_CLUSTER_BYTES, &to);
    free(tname);
    if (r)
        return r;
    sd->cluster = true;
    /* the server's logs and ours (migrate.log, hydrate.log ...) in one dir of the server user */
    if (sd->logdir && pgconf_make_log_dir(&sd->t.c) < 0)
        return EXIT_ERR;
    return 0;
}

int side_restore_backup(struct side *sd, const struct settings *s, const char *purpose, const char *name,
                        const struct norm_backup *b, const char *logs, const char *fallback_db, char **url)
{
    double t0 = now_monotonic();
    /* a raw backup names no database: start on template1 and pick the only one */
    int r = side_open(sd, s, purpose, name, logs, b->database ? b->database : "template1",
                      norm_backup_need(b), NULL);
    if (r)
        return r;
    struct cluster *c = &sd->t.c;
    info("%s: restoring %s into a throwaway cluster %s", purpose, b->dir, scratch_where(&sd->t.scratch));
    if ((r = norm_extract(c, b, c->data_dir)))
        return r;
    if (!b->database) {
        /* not made here: the server user may have no role in it */
        struct strvec roles = STRVEC_INIT;
        strvec_push(&roles, c->user);
        char *log = sd->logdir ? path_join(sd->logdir, "single-user.log") : xstrdup("/dev/null");
        r = norm_ensure_roles(c, c->data_dir, &roles, log);
        free(log);
        strvec_clear(&roles);
        if (r)
            return r;
    }
    if ((r = ops_exit(cluster_start_existing(c)))) {
        error("the backup's data dir did not start here (see %s); 'database normalize-backup' "
              "explains what it changes", c->startup_log);
        return r;
    }
    char *db = NULL;
    if (b->database)
        db = xstrdup(b->database);
    else if (!(db = norm_pick_database(c->url))) {
        /* several databases: the configured one if it is there */
        db = xstrdup(fallback_db);
        warn("%s: using database '%s' of the backup (PG_DATABASE)", purpose, db);
    }
    *url = pg_build_url(c->user, db, c->sock_dir, c->port);
    free(db);
    info("%s: backup restored in %s", purpose, proj_duration(now_monotonic() - t0));
    return 0;
}

/* ---- builds ---- */

static int init_bundle(PGconn *conn, void *arg)
{
    const char *inh = arg;
    return bundle_apply(conn, NULL, inh);
}

/* mig_migrate()'s init: the bundle before anything is read, whether or not a migration runs */
static int init_bundle_first(PGconn *conn, bool apply, void *arg)
{
    return apply ? 0 : init_bundle(conn, arg);
}

int side_migrate(const struct settings *s, const char *purpose, const char *url, const char *dir,
                 const char *logdir, bool ignore, bool bundle_always)
{
    const char *mdir = dir ? dir : set_get(s, SET_MIGRATION_DIR);
    const char *inh = set_get(s, SET_HECTIC_INHERITANCE_SQL);
    if (!mdir || !is_dir(mdir)) {
        if (!bundle_always) {
            info("%s: no migration folder (%s): the backup is compared as it is", purpose,
                 mdir ? mdir : "MIGRATION_DIR unset");
            return 0;
        }
        debug(NS, "%s: no migration folder (%s): the bundle only", purpose,
              mdir ? mdir : "MIGRATION_DIR unset");
        PGconn *conn = pg_connect(url);
        if (!conn)
            return EXIT_ERR;
        int r = bundle_apply(conn, NULL, inh) < 0 ? EXIT_ERR : 0;
        PQfinish(conn);
        return r;
    }
    double t = now_monotonic();
    struct mig_folder f;
    memset(&f, 0, sizeof(f));
    PGconn *conn = NULL;
    FILE *log = NULL;
    bool ok = false;
    if (mig_scan(mdir, &f) < 0)
        goto out;
    if (!(conn = pg_connect(url)))
        goto out;
    if (logdir) {
        char *lp = path_join(logdir, "migrate.log");
        int lfd = fs_open_write(lp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        log = lfd >= 0 ? fdopen(lfd, "w") : NULL;
        if (!log && lfd >= 0)
            close(lfd);
        if (!log)
            warn("%s: cannot write %s: %s", purpose, lp, strerror(errno));
        free(lp);
    }
    struct mig_opts mo = {.out = log ? log : stderr, .init = init_bundle_first, .init_arg = (void *)inh};
    struct mig_request req = {MIG_REQ_UP, 0, NULL};
    debug(NS, "%s: migrate up all (%s)", purpose, mdir);
    /* with a code directory, that side gets it too, as a release would (issue 17) */
    const char *cdir = set_get(s, SET_CODE_DIR);
    enum mig_status st = cdir && is_dir(cdir) ? code_migrate(conn, cdir, &f, &req, &mo, init_bundle, (void *)inh)
                                              : mig_migrate(conn, &f, &req, &mo);
    ok = st == MIG_OK || st == MIG_AT_TARGET || st == MIG_NONE; /* NONE: an empty folder */
out:
    if (log)
        fclose(log);
    if (conn)
        PQfinish(conn);
    mig_folder_release(&f);
    if (ok) {
        debug(NS, "%s: migrated in %s", purpose, proj_duration(now_monotonic() - t));
        return 0;
    }
    if (ignore) {
        warn("%s: migrating failed; comparing anyway (--ignore-migration-fail): that side has only "
             "the migrations that applied", purpose);
        return 0;
    }
    error("%s: 'migrate up all' of %s failed (see above%s%s)", purpose, mdir,
          logdir ? " and " : "", logdir ? logdir : "");
    return EXIT_MIGRATION;
}

int side_code_hook(const struct settings *s, const char *url)
{
    /* the code directory is applied by proj_hydrate() itself (code_hydrate) */
    (void)s;
    (void)url;
    return 0;
}

/* The sources on URL; HIT: they came from a snapshot (only `migrator init` left). DEPS: see proj_opts. */
static int build_sources(struct side *sd, const char *url, bool hit, struct strvec *deps)
{
    int r;
    if (!hit) {
        char *hlog = NULL;
        if (!sd->hydrate_log && sd->logdir)
            hlog = path_join(sd->logdir, "hydrate.log");
        struct proj_opts po = {.mock = sd->mock, .quiet = sd->quiet,
                               .hydrate_log = sd->hydrate_log ? sd->hydrate_log : hlog, .deps = deps};
        r = proj_hydrate(sd->s, url, &po);
        free(hlog);
        if (r)
            return r;
        if ((r = side_code_hook(sd->s, url)))
            return r;
    }
    PGconn *conn = pg_connect(url);
    if (!conn)
        return EXIT_ERR;
    r = bundle_apply(conn, NULL, set_get(sd->s, SET_HECTIC_INHERITANCE_SQL)) < 0 ? EXIT_ERR : 0;
    PQfinish(conn);
    return r;
}

/* In the child: start the cluster when there is one, then build. An exit code. */
static int build(void *arg)
{
    struct side *sd = arg;
    double t0 = now_monotonic();
    int r;
    /* a throwaway sources side is `database deploy -P`: the snapshot cache may have it */
    struct proj_snap ps;
    memset(&ps, 0, sizeof(ps));
    struct proj_opts so = {.mock = sd->mock, .no_patch = true, .no_snapshot = sd->no_snapshot};
    bool snap = sd->cluster && sd->build == SIDE_SOURCES && psnap_begin(&ps, sd->s, &so, &sd->t.c);
    bool hit = snap && psnap_lookup(&ps, &sd->t.c);
    if (sd->cluster) {
        enum cl_status st = cluster_init(&sd->t.c);
        if (hit && ps.claimed && st == CL_CANNOT_START) {
            psnap_failed(&ps, &sd->t.c);
            st = cluster_init(&sd->t.c);
        }
        hit = hit && ps.claimed && !ps.failed;
        if ((r = ops_exit(st))) {
            psnap_release(&ps);
            return r;
        }
    }
    const char *url = sd->cluster ? sd->t.c.url : sd->url;
    switch (sd->build) {
    case SIDE_EMPTY:
        r = 0;
        break;
    case SIDE_SOURCES:
        if (!sd->quiet && hit)
            info("%s: sources from snapshot %s", sd->purpose, psnap_short(ps.hit));
        else if (!sd->quiet)
            info("%s: hydrating the sources into %s", sd->purpose,
                 sd->cluster ? "a throwaway cluster" : sd->dbname);
        r = build_sources(sd, url, hit, snap ? &ps.deps : NULL);
        if (!r && snap && !hit)
            psnap_store(&ps, sd->s, &so, NULL, 0, 0);
        break;
    case SIDE_MIGRATIONS:
        r = side_migrate(sd->s, sd->purpose, url, sd->migration_dir, sd->logdir,
                         sd->ignore_migration_fail, true);
        break;
    default:
        BUG("side build %d", (int)sd->build);
    }
    if (!r && !sd->quiet)
        info("%s: %s side built in %s", sd->purpose, sd->name, proj_duration(now_monotonic() - t0));
    psnap_release(&ps);
    return r;
}

int side_start(struct side *sd)
{
    if (sd->cluster)
        sd->t.job = &sd->job;
    if (job_async_start(&sd->job, build, sd) < 0)
        return EXIT_ERR;
    return 0;
}

int side_finish(struct side *sd)
{
    int r = job_async_finish(&sd->job);
    if (r)
        return r;
    if (sd->cluster && !sd->url)
        sd->url = xstrdup(sd->t.c.url);
    return 0;
}

void side_stop_begin(struct side *sd)
{
    if (sd->opened && sd->cluster && !(sd->job.pid > 0))
        throwaway_stop_begin(&sd->t);
}

void side_close(struct side *sd, bool passed)
{
    if (!sd->opened)
        return;
    if (sd->cluster) {
        sd->t.passed = passed;
        throwaway_close(&sd->t);
        sd->cluster = false;
    }
    if (sd->cookie >= 0) {
        cleanup_pop(sd->cookie);
        sd->cookie = -1;
    }
    if (sd->server) {
        if (sd->job.pid > 0) {
            job_async_kill(&sd->job);
            job_async_finish(&sd->job);
        }
        if (sd->dbname && drop_database(sd->server, sd->dbname) < 0)
            warn("%s: could not drop the database %s; drop it by hand", sd->purpose, sd->dbname);
        free(sd->server);
        sd->server = NULL;
    }
    free(sd->dbname);
    sd->dbname = NULL;
    free(sd->url);
    sd->url = NULL;
    free(sd->logdir);
    sd->logdir = NULL;
    sd->opened = false;
}
