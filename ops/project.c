/*
 * project.c — hydrate, patch, test, deploy and check (see project.h).
 *
 * SQL runs in-process through lib/sqlscript on one connection per step;
 * clusters are lib/cluster's. check deploys into a throwaway cluster
 * (ops/throwaway), so nothing of the developer's cluster is looked at
 * except through the shared template cache.
 */
#include "ops/project.h"
#include "ops/code.h"
#include "ops/ops.h"
#include "ops/snapshot.h"
#include "ops/throwaway.h"
#include "lib/bundle.h"
#include "lib/cluster.h"
#include "lib/fs.h"
#include "lib/migrate.h"
#include "lib/miglint.h"
#include "lib/pg.h"
#include "lib/scratch.h"
#include "lib/settings.h"
#include "lib/spawn.h"
#include "lib/sqlscript.h"

#include <fcntl.h>
#include <unistd.h>

#define NS "project"

const char *proj_duration(double s)
{
    static char buf[32];
    if (s < 1)
        snprintf(buf, sizeof(buf), "%.0f ms", s * 1000);
    else if (s < 60)
        snprintf(buf, sizeof(buf), "%.2f s", s);
    else
        snprintf(buf, sizeof(buf), "%dm%02ds", (int)s / 60, (int)s % 60);
    return buf;
}

char *proj_url(const struct settings *s)
{
    const char *url = set_get(s, SET_DB_URL);
    if (url && *url) {
        if (!pg_url_supported(url)) {
            char *m = pg_mask_url(url);
            error("unsupported database URL '%s' (expected postgresql://... or key=value)", m);
            free(m);
            return NULL;
        }
        return xstrdup(url);
    }
    struct cluster c;
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    char *r = NULL;
    if (cluster_setup(&c, &sp) == CL_OK) {
        r = xstrdup(c.url);
        debug(NS, "no -u, DB_URL or PGURL: using the project cluster %s", r);
    }
    cluster_release(&c);
    return r;
}

int proj_dotenv_file(const struct settings *s, const char **path)
{
    const char *p = set_get(s, SET_HECTIC_DOTENV_FILE);
    *path = NULL;
    if (!p)
        return 0;
    if (access(p, R_OK) < 0)
        return error_errno("HECTIC_DOTENV_FILE not readable: %s", p);
    *path = p;
    return 0;
}

int proj_require(const struct settings *s)
{
    struct strbuf why = STRBUF_INIT;
    if (settings_local_dir_ok(s, &why)) {
        strbuf_release(&why);
        return 0;
    }
    error("%s", why.buf);
    strbuf_release(&why);
    return EXIT_MISSING;
}

char *proj_test_data_path(const struct settings *s)
{
    const char *p = set_get(s, SET_PATCH_SQL);
    return xstrdup(p ? p : "test-data.sql");
}

/*
 * Connect; on failure hint at `database init` when URL is the project
 * cluster's. The session does not wait for WAL flushes (synchronous_commit
 * off): scripts of thousands of autocommit statements (10k INSERTs of test
 * data) would otherwise wait for a disk flush each. An OS crash can lose the
 * last moments of a deploy, never corrupt it; scripts may SET it back.
 */
static PGconn *connect_to(const struct settings *s, const char *url)
{
    PGconn *conn = pg_connect(url);
    if (!conn && !set_get(s, SET_DB_URL))
        error("is the project's cluster running? start it with 'database init --reuse' (keeps "
              "its data), or make a new one with 'database deploy'");
    if (conn && pg_exec(conn, "SET synchronous_commit TO off") < 0) {
        PQfinish(conn);
        return NULL;
    }
    return conn;
}

/*
 * Open the output log PATH (NULL: stdout). *opened says whether to fclose.
 * As root, by the owner of its directory (PG_LOG_PATH belongs to the server
 * user): never root writing through a link someone planted there.
 */
static FILE *open_log(const char *what, const char *path, bool *opened, FILE *dflt)
{
    *opened = false;
    if (!path)
        return dflt ? dflt : stdout;
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir) {
        *slash = 0;
        mkdir_p(dir, 0755);
    }
    free(dir);
    int fd = fs_open_write(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        error_errno("cannot open %s '%s'", what, path);
        if (fd >= 0)
            close(fd);
        return NULL;
    }
    *opened = true;
    return f;
}

/*
 * Run FILE on CONN with VARS, output to OUT (QUIET: no command tags); the
 * files read recorded in DEPS (may be NULL: the snapshot key). 0 or -1.
 */
static int run_script(PGconn *conn, const char *file, const struct strvec *vars, FILE *out, bool quiet,
                      struct strvec *deps)
{
    struct sql_opts so = {out, stderr, quiet};
    struct sql_session *ss = sql_session_new(conn, &so);
    int r = 0;
    for (size_t i = 0; vars && i < vars->nr && !r; i++)
        r = sql_session_assign(ss, vars->v[i]);
    sql_session_record_deps(ss, deps);
    if (!r)
        r = sql_session_run_file(ss, file);
    sql_session_free(ss);
    fflush(out);
    return r;
}

/* Whether hectic.load_secrets_from_env(text) exists. 1, 0 or -1. */
static int have_secret_loader(PGconn *conn)
{
    struct strbuf v = STRBUF_INIT;
    int r = pg_query_value(conn,
                           "SELECT to_regprocedure('hectic.load_secrets_from_env(text)') IS NOT NULL",
                           0, NULL, &v);
    int ret = r < 0 ? -1 : !strcmp(v.buf, "t");
    strbuf_release(&v);
    return ret;
}

int proj_hydrate(const struct settings *s, const char *url, const struct proj_opts *o)
{
    double t0 = now_monotonic(), t;
    const char *dotenv;
    if (proj_dotenv_file(s, &dotenv) < 0)
        return EXIT_ERR;
    const char *src = set_get(s, SET_DATABASE_SOURCE);
    const char *ep = set_get(s, SET_HYDRATE_ENTRYPOINT);
    const char *hlog = o->hydrate_log ? o->hydrate_log : set_get(s, SET_HYDRATE_LOG);
    char *entry = ep[0] == '/' || !src ? xstrdup(ep) : path_join(src, ep);
    int ret = 0;
    PGconn *conn = NULL;
    FILE *out = NULL;
    bool opened = false;
    struct strvec vars = STRVEC_INIT;

    if (access(entry, R_OK) < 0) {
        error_errno("hydrate entry point not readable: %s (set DATABASE_SOURCE, or "
                    "HYDRATE_ENTRYPOINT to rename entrypoint.sql)", entry);
        ret = EXIT_ERR;
        goto out;
    }
    if (!(conn = connect_to(s, url))) {
        ret = EXIT_ERR;
        goto out;
    }
    if (!o->no_hook) {
        t = now_monotonic();
        info("hydrate: applying the hectic bundle %s", BUNDLE_VERSION);
        if (bundle_apply(conn, NULL, set_get(s, SET_HECTIC_INHERITANCE_SQL)) < 0) {
            ret = EXIT_ERR;
            goto out;
        }
        info("hydrate: bundle applied in %s", proj_duration(now_monotonic() - t));
    }
    if (dotenv) {
        int have = have_secret_loader(conn);
        if (have < 0) {
            ret = EXIT_ERR;
            goto out;
        }
        if (!have) {
            warn("hydrate: not loading secrets from %s: the database has no hectic bundle "
                 "(--no-hook skips it; run 'database hydrate' without it once)", dotenv);
        } else {
            int n = 0;
            t = now_monotonic();
            if (bundle_load_secrets_file(conn, dotenv, &n) < 0) {
                ret = EXIT_ERR;
                goto out;
            }
            info("hydrate: loaded %d secret%s from %s in %s", n, n == 1 ? "" : "s", dotenv,
                 proj_duration(now_monotonic() - t));
        }
    }
    if (!(out = open_log("HYDRATE_LOG", hlog, &opened, o->sql_out))) {
        ret = EXIT_ERR;
        goto out;
    }
    if (o->mock)
        strvec_push(&vars, "USE_MOCK=1");
    t = now_monotonic();
    info("hydrate: running %s%s%s%s", entry, o->mock ? " with USE_MOCK=1" : "",
         opened ? ", output to " : "", opened ? hlog : "");
    if (run_script(conn, entry, &vars, out, o->quiet, o->deps) < 0 ||
        code_hydrate(conn, set_get(s, SET_CODE_DIR), o->no_hook) < 0) { /* then the code dir */
        error("hydrate %s after %s", interrupted ? "interrupted" : "failed",
              proj_duration(now_monotonic() - t0));
        ret = EXIT_ERR;
        goto out;
    }
    info("hydrate: done in %s", proj_duration(now_monotonic() - t0));
out:
    if (opened)
        fclose(out);
    strvec_clear(&vars);
    if (conn)
        PQfinish(conn);
    free(entry);
    return ret;
}

/* Run $EDITOR (split on blanks, no shell) on FILE. 0 or an exit code. */
static int run_editor(const char *file)
{
    const char *ed = env_nonempty("EDITOR");
    if (!ed)
        ed = env_nonempty("VISUAL");
    if (!ed)
        ed = "vi";
    struct child c = CHILD_INIT;
    char *copy = xstrdup(ed), *save = NULL;
    for (char *w = strtok_r(copy, " \t", &save); w; w = strtok_r(NULL, " \t", &save))
        strvec_push(&c.args, w);
    free(copy);
    if (!c.args.nr) {
        child_clear(&c);
        error("EDITOR is blank");
        return EXIT_MISSING;
    }
    strvec_push(&c.args, file);
    c.env_mode = SPAWN_ENV_USER; /* the user's editor with the user's environment, minus secrets */
    int st = spawn_run(&c);
    int ret = 0;
    if (st < 0) {
        ret = errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
        error("cannot run the editor '%s' (set EDITOR)", c.args.v[0]);
    } else if (st) {
        error("the editor '%s' exited with status %d: %s not applied", c.args.v[0], st, file);
        ret = EXIT_ERR;
    }
    child_clear(&c);
    return ret;
}

int proj_patch(const struct settings *s, const char *url, const struct proj_opts *o)
{
    double t0 = now_monotonic();
    char *file = proj_test_data_path(s);
    const char *plog = o->patch_log ? o->patch_log : set_get(s, SET_PATCH_LOG);
    int ret = 0;
    PGconn *conn = NULL;
    FILE *out = NULL;
    bool opened = false;

    if (access(file, F_OK) < 0) {
        char *dir = xstrdup(file);
        *strrchr(dir, '/') = 0;
        int fd = -1;
        if (mkdir_p(dir, 0755) < 0 ||
            (fd = open(file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0) {
            error_errno("cannot create '%s'", file);
            free(dir);
            ret = EXIT_ERR;
            goto out;
        }
        close(fd);
        free(dir);
        info("patch: created an empty %s (put your test data there)", file);
    }
    if (o->edit && (ret = run_editor(file)))
        goto out;
    if (!(conn = connect_to(s, url))) {
        ret = EXIT_ERR;
        goto out;
    }
    if (!(out = open_log("PATCH_LOG", plog, &opened, o->sql_out))) {
        ret = EXIT_ERR;
        goto out;
    }
    info("patch: running %s%s%s", file, opened ? ", output to " : "",
         opened ? plog : "");
    if (run_script(conn, file, NULL, out, o->quiet, o->deps) < 0) {
        error("patch %s after %s", interrupted ? "interrupted" : "failed",
              proj_duration(now_monotonic() - t0));
        ret = EXIT_ERR;
        goto out;
    }
    info("patch: done in %s", proj_duration(now_monotonic() - t0));
out:
    if (opened)
        fclose(out);
    if (conn)
        PQfinish(conn);
    free(file);
    return ret;
}

int proj_test(const struct settings *s, const char *url, const struct proj_opts *o)
{
    double t0 = now_monotonic();
    const char *ddir = set_get(s, SET_DATABASE_DIR);
    char *file = path_join(ddir ? ddir : ".", "test/test.sql");
    int ret = 0;
    PGconn *conn = NULL;
    if (access(file, R_OK) < 0) {
        error_errno("no tests to run: %s", file);
        ret = EXIT_ERR;
        goto out;
    }
    if (!(conn = connect_to(s, url))) {
        ret = EXIT_ERR;
        goto out;
    }
    info("test: running %s", file);
    if (run_script(conn, file, NULL, stdout, o->quiet, NULL) < 0) {
        error("tests FAILED (%s) after %s", file, proj_duration(now_monotonic() - t0));
        ret = EXIT_ERR;
        goto out;
    }
    info("test: all tests passed in %s", proj_duration(now_monotonic() - t0));
out:
    if (conn)
        PQfinish(conn);
    free(file);
    return ret;
}

int proj_replay(const struct settings *s, const char *url, const struct proj_opts *o)
{
    int r = 0;
    struct proj_opts ho = *o;
    if (!ho.sql_out)
        ho.sql_out = stderr;
    if (!o->no_hydrate && (r = proj_hydrate(s, url, &ho)))
        return r;
    if (interrupted)
        return error("interrupted"), EXIT_ERR;
    struct proj_opts po = *o;
    po.edit = false;
    /* deploy's and check's stdout is the URL alone: SQL output goes to stderr */
    if (!po.sql_out)
        po.sql_out = stderr;
    if (!o->no_patch && (r = proj_patch(s, url, &po)))
        return r;
    return 0;
}

int proj_baseline(const struct settings *s, const char *url)
{
    const char *mdir = set_get(s, SET_MIGRATION_DIR);
    if (!mdir || !is_dir(mdir)) {
        info("baseline: no migration folder (%s): nothing to record", mdir ? mdir : "MIGRATION_DIR unset");
        return 0;
    }
    struct mig_folder f;
    PGconn *conn = NULL;
    int r = EXIT_ERR;
    if (mig_scan(mdir, &f) < 0 || !(conn = connect_to(s, url)))
        goto out;
    if (bundle_apply(conn, NULL, set_get(s, SET_HECTIC_INHERITANCE_SQL)) < 0)
        goto out;
    size_t n = 0;
    enum mig_status st = mig_baseline(conn, &f, NULL, &n);
    r = st == MIG_OK || st == MIG_AT_TARGET ? 0 : st == MIG_MISMATCH || st == MIG_BLOCKED ? EXIT_AMBIGUOUS : EXIT_ERR;
    if (st == MIG_OK)
        info("baseline: recorded %zu migration%s of %s as applied (the sources have them)", n, n == 1 ? "" : "s",
             mdir);
out:
    if (conn)
        PQfinish(conn);
    mig_folder_release(&f);
    return r;
}

/* check's lint step: findings are warnings, entries that would stop migrate fail it. */
static int lint_step(const struct settings *s)
{
    const char *mdir = set_get(s, SET_MIGRATION_DIR);
    if (!mdir || !is_dir(mdir))
        return 0;
    struct mig_folder f;
    if (mig_scan(mdir, &f) < 0) {
        mig_folder_release(&f);
        return EXIT_ERR;
    }
    int r = 0;
    if (mig_blocking(&f, NULL, true)) {
        error("check: the migration folder has entries 'migrate' would stop at (see above)");
        r = EXIT_AMBIGUOUS;
    }
    struct mig **list = xcalloc(f.nr ? f.nr : 1, sizeof(*list));
    for (size_t i = 0; i < f.nr; i++)
        list[i] = &f.v[i];
    struct lint_opts lo = {NULL, set_get(s, SET_MIGRATION_LOCK_TIMEOUT)};
    struct lint_result res;
    if (miglint_run(&f, list, f.nr, &lo, &res) < 0 && !r)
        r = EXIT_ERR;
    if (res.config_error && !r)
        r = EXIT_MISSING;
    for (size_t i = 0; i < res.nr && i < 20; i++)
        warn("lint: %s:%u:%u: %s: %s", res.v[i].file, res.v[i].line, res.v[i].col, res.v[i].rule, res.v[i].message);
    if (res.nr > 20)
        warn("lint: ... and %zu more ('migrator lint --all' lists them all)", res.nr - 20);
    info("check: lint: %zu finding%s in %zu migration%s (warnings; 'migrator lint' exits 1 on them)", res.nr,
         res.nr == 1 ? "" : "s", res.migrations, res.migrations == 1 ? "" : "s");
    miglint_release(&res);
    free(list);
    mig_folder_release(&f);
    return r;
}

int proj_deploy(const struct settings *s, const struct proj_opts *o)
{
    double t0 = now_monotonic();
    struct proj_opts d = *o;
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    if (d.reuse) {
        sp.reuse = true;
        d.no_hydrate = d.no_patch = true;
    }
    struct cluster c;
    struct proj_snap ps;
    memset(&ps, 0, sizeof(ps));
    int r = ops_exit(cluster_setup(&c, &sp));
    if (r)
        goto out;
    const char *dburl = set_get(s, SET_DB_URL);
    if (dburl && strcmp(dburl, c.url))
        debug(NS, "deploy works on the cluster it starts (%s), not DB_URL/PGURL", c.url);
    info("init: %s cluster in %s", d.reuse ? "reusing the" : "a fresh", c.working_dir);
    bool snap = psnap_begin(&ps, s, &d, &c);
    bool hit = snap && psnap_lookup(&ps, &c);
    enum cl_status st = cluster_init(&c);
    if (hit && ps.claimed && st == CL_CANNOT_START) {
        psnap_failed(&ps, &c);
        st = cluster_init(&c);
    }
    hit = hit && ps.claimed && !ps.failed;
    if ((r = ops_exit(st)))
        goto out;
    if (!hit) {
        d.deps = snap ? &ps.deps : NULL;
        if ((r = proj_replay(s, c.url, &d)))
            goto out;
        if (snap)
            psnap_store(&ps, s, &d, c.working_dir, c.uid, c.gid);
    }
    if (d.baseline && (r = proj_baseline(s, c.url)))
        goto out;
    if (d.cleanup) {
        double t = now_monotonic();
        if ((r = ops_exit(cluster_stop(&c, 30))))
            goto out;
        info("cleanup: cluster stopped in %s (data kept in %s)", proj_duration(now_monotonic() - t),
             c.data_dir);
    }
    if (hit)
        info("deploy: from snapshot %s, %s%s", psnap_short(ps.hit),
             proj_duration(now_monotonic() - t0), d.cleanup ? "" : "; connect with:");
    else
        info("deploy: done in %s%s", proj_duration(now_monotonic() - t0),
             d.cleanup ? "" : "; connect with:");
    if (!d.cleanup)
        printf("%s\n", c.url);
out:
    psnap_release(&ps);
    cluster_release(&c);
    return r;
}

int proj_check(const struct settings *s, const struct proj_opts *o)
{
    static struct throwaway t; /* reachable from the cleanup stack */
    double t0 = now_monotonic();
    if (!set_get(s, SET_LOCAL_DIR)) {
        error("LOCAL_DIR is not set: export LOCAL_DIR to the project root");
        return EXIT_MISSING;
    }
    struct proj_opts d = *o;
    d.reuse = d.cleanup = d.edit = false;
    /* room for a fresh cluster and what the test data grows it by */
    uint64_t need = SCRATCH_CLUSTER_BYTES;
    if (!d.no_patch) {
        char *td = proj_test_data_path(s);
        need += 4 * scratch_unpacked_size(td);
        free(td);
    }
    char *name = xasprintf("check-%d", (int)getpid());
    struct throwaway_opts to = {.keep_conf_file = true};
    int r = throwaway_open(&t, s, "check", name, need, &to);
    free(name);
    if (r)
        return r;
    info("check: deploying into a throwaway cluster %s: %s", scratch_where(&t.scratch),
         t.c.working_dir);
    struct proj_snap ps;
    bool snap = psnap_begin(&ps, s, &d, &t.c);
    bool hit = snap && psnap_lookup(&ps, &t.c);
    enum cl_status st = cluster_init(&t.c);
    if (hit && ps.claimed && st == CL_CANNOT_START) {
        psnap_failed(&ps, &t.c);
        st = cluster_init(&t.c);
    }
    hit = hit && ps.claimed && !ps.failed;
    r = ops_exit(st);
    if (!r && hit)
        info("check: from snapshot %s (these inputs deployed before), started in %s", psnap_short(ps.hit),
             proj_duration(now_monotonic() - t0));
    if (!r && !hit) {
        d.deps = snap ? &ps.deps : NULL;
        r = proj_replay(s, t.c.url, &d);
    }
    if (!r && interrupted) {
        error("interrupted");
        r = EXIT_ERR;
    }
    if (!r)
        r = lint_step(s);
    t.passed = r == 0;
    uid_t su = t.c.uid; /* the server user: a spare for the developer's cluster is theirs */
    gid_t sg = t.c.gid;
    double tr = now_monotonic();
    throwaway_close(&t);
    info("check: throwaway cluster removed in %s", proj_duration(now_monotonic() - tr));
    if (r)
        error("check %s after %s", interrupted ? "interrupted" : "FAILED",
              proj_duration(now_monotonic() - t0));
    else
        info("check: passed in %s", proj_duration(now_monotonic() - t0));
    if (!r && !hit && snap) {
        /* a spare beside the developer's cluster too: a deploy of the same inputs renames it */
        const char *wd = set_get(s, SET_PG_WORKING_DIR);
        const char *near = wd && is_dir(wd) ? wd : set_get(s, SET_LOCAL_DIR);
        psnap_store(&ps, s, &d, near, su, sg);
    }
    psnap_release(&ps);
    return r;
}
