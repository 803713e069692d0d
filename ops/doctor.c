/*
 * doctor.c — environment checks: PostgreSQL programs and their versions, the
 * template cache, preload libraries, root/PG_OS_USER, the project's variables
 * and files, socket path length. Each check prints "ok", "warn" or "FAIL"
 * with what to do.
 */
#include "ops/doctor.h"
#include "lib/cluster.h"
#include "lib/common.h"
#include "lib/fs.h"
#include "lib/pgbin.h"
#include "lib/scratch.h"
#include "lib/settings.h"
#include "lib/spawn.h"
#include "lib/tplcache.h"

#include <dirent.h>
#include <pwd.h>
#include <unistd.h>

static int problems;

static void report(int level, const char *what, const char *fmt, ...) PRINTF(3, 4);
static void report(int level, const char *what, const char *fmt, ...)
{
    static const char *const tag[] = {"ok  ", "warn", "FAIL"};
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    printf("[%s] %-22s %s\n", tag[level], what, sb.buf);
    strbuf_release(&sb);
    if (level == 2)
        problems++;
}

/* "postgres (PostgreSQL) 15.18" of PROG --version, or NULL. */
static char *version_of(const char *prog)
{
    struct child c = CHILD_INIT;
    struct strbuf out = STRBUF_INIT;
    strvec_pushl(&c.args, prog, "--version", NULL);
    c.err = SPAWN_DEVNULL;
    int st = spawn_capture(&c, &out);
    child_clear(&c);
    strbuf_trim_trailing(&out);
    if (st != 0 || !out.len) {
        strbuf_release(&out);
        return NULL;
    }
    return strbuf_detach(&out, NULL);
}

static void check_programs(const struct pgbin *bin)
{
    const char *bindir = bin->bindir;
    static const char *const server[] = {"postgres", "initdb"};
    for (size_t i = 0; i < ARRAY_SIZE(server); i++) {
        char *p = path_join(bindir, server[i]);
        char *v = version_of(p);
        if (v)
            report(0, server[i], "%s (%s)", v, p);
        else
            report(2, server[i], "%s does not run: install the PostgreSQL server or set PG_BINDIR", p);
        free(v);
        free(p);
    }
    /* the pairing pgbin_client() enforces: clients from PG_CLIENT_BINDIR or the server's dir, not older */
    static const struct {
        const char *name, *user;
    } client[] = {{"pg_dump", "database diff"}, {"pg_basebackup", "database backup"}};
    const char *cdir = bin->client_bindir ? bin->client_bindir : bindir;
    const char *csrc = bin->client_bindir ? "PG_CLIENT_BINDIR" : "the server's bin dir";
    char *pg = path_join(bindir, "postgres");
    int smajor = pgbin_program_major(pg);
    free(pg);
    for (size_t i = 0; i < ARRAY_SIZE(client); i++) {
        const char *n = client[i].name;
        char *p = path_join(cdir, n);
        int cmajor = access(p, X_OK) == 0 ? pgbin_program_major(p) : -1;
        if (access(p, X_OK) < 0)
            report(1, n, "not in %s (%s): `%s` needs it; install the client programs of PostgreSQL %d or newer "
                   "and set PG_CLIENT_BINDIR to their bin dir", cdir, csrc, client[i].user, smajor);
        else if (cmajor > 0 && smajor > 0 && cmajor < smajor)
            report(1, n, "%s is PostgreSQL %d, older than the server (%d): `%s` refuses it; install the "
                   "client programs of PostgreSQL %d or newer and set PG_CLIENT_BINDIR to their bin dir",
                   p, cmajor, smajor, client[i].user, smajor);
        else
            report(0, n, "%s (PostgreSQL %d for server %d, from %s)", p, cmajor, smajor, csrc);
        free(p);
    }
    char *ssh = find_in_path("ssh");
    if (ssh)
        report(0, "ssh", "%s", ssh);
    else
        report(1, "ssh", "not found: only `database pull_staging` needs it (openssh-client)");
    free(ssh);
}

static void check_cache(const struct settings *s)
{
    const char *root = set_get(s, SET_DBTOOL_CACHE_DIR);
    if (!root) {
        report(1, "template cache", "no HOME or XDG_CACHE_HOME: every fresh init runs initdb");
        return;
    }
    if (!tpl_cache_usable(root) || access(root, W_OK) < 0) {
        report(1, "template cache", "%s is not usable (see above; %s): set DBTOOL_CACHE_DIR", root,
               strerror(errno));
    } else {
        int tpl = 0, spare = 0;
        DIR *d = opendir(root);
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                tpl += starts_with(de->d_name, "pg-") && !strchr(de->d_name, '.');
                spare += starts_with(de->d_name, "spare-");
            }
            closedir(d);
        }
        report(0, "template cache", "%s (%d template%s, %d spare%s)", root, tpl, tpl == 1 ? "" : "s",
               spare, spare == 1 ? "" : "s");
    }
}

static void check_scratch(const struct settings *s)
{
    bool ram;
    char *b = scratch_base(s, SCRATCH_CLUSTER_BYTES, &ram);
    if (!b)
        return;
    report(0, "throwaway clusters", "%s %s (%llu MiB free): check, diff, normalize-backup",
           ram ? "in RAM (tmpfs):" : "on disk:", b, (unsigned long long)(fs_avail(b) >> 20));
    free(b);
}

/* Each library of PRELOAD (comma separated) installed for BIN's server, the fix inline when not. */
static void check_preload(const struct pgbin *bin, const char *preload, const char *cache_dir)
{
    if (!preload || !*preload) {
        report(0, "preload libraries", "(none)");
        return;
    }
    char *copy = xstrdup(preload), *save = NULL;
    int missing = 0;
    for (char *l = strtok_r(copy, ", ", &save); l; l = strtok_r(NULL, ", ", &save)) {
        if (pgbin_lib_installed(bin, l))
            continue;
        missing++;
        int major = pgbin_server_major(bin, cache_dir);
        if (!strcmp(l, "pg_cron") && major)
            report(2, "preload libraries", "pg_cron is not installed for %s: install postgresql-%d-cron "
                   "('make deps' as root), or preload nothing: PG_SHARED_PRELOAD_LIBRARIES=\"\" "
                   "(dbtool.yaml: postgres.shared_preload_libraries: \"\")", bin->bindir, major);
        else
            report(2, "preload libraries", "%s is not installed for %s: install it, or leave it out of "
                   "PG_SHARED_PRELOAD_LIBRARIES", l, bin->bindir);
    }
    if (!missing)
        report(0, "preload libraries", "%s", preload);
    free(copy);
}

static void check_project(const struct settings *s)
{
    const char *local = set_get(s, SET_LOCAL_DIR);
    struct strbuf why = STRBUF_INIT;
    for (size_t i = 0; i < s->warnings.nr; i++)
        report(1, "LOCAL_DIR", "%s", s->warnings.v[i]);
    if (!local) {
        report(1, "LOCAL_DIR", "not set: `database` needs it (export LOCAL_DIR to the project root)");
    } else if (!settings_local_dir_ok(s, &why)) {
        report(2, "LOCAL_DIR", "%s", why.buf);
    } else if (set_source(s, SET_LOCAL_DIR) == SET_SRC_DEFAULT && !s->file_path) {
        report(1, "LOCAL_DIR", "not set, and no dbtool.yaml here or above: `database` takes the current "
               "directory %s as the project ('database new' makes one)", local);
    } else {
        report(0, "LOCAL_DIR", "%s%s%s%s", local,
               set_source(s, SET_LOCAL_DIR) == SET_SRC_DEFAULT ? " (found by its dbtool.yaml)" : "",
               s->file_path ? ", project file " : "", s->file_path ? s->file_path : "");
    }
    strbuf_release(&why);
    const char *wd = set_get(s, SET_PG_WORKING_DIR);
    if (wd)
        report(0, "PG_WORKING_DIR", "%s", wd);
    else
        report(1, "PG_WORKING_DIR", "not set and no LOCAL_DIR: postgres-init cannot run here");
    const char *src = set_get(s, SET_DATABASE_SOURCE);
    if (src) {
        char *entry = path_join(src, set_get(s, SET_HYDRATE_ENTRYPOINT));
        if (access(entry, R_OK) == 0)
            report(0, "hydrate entrypoint", "%s", entry);
        else
            report(1, "hydrate entrypoint", "%s missing: `database hydrate` has nothing to run", entry);
        free(entry);
    }
    const char *mig = set_get(s, SET_MIGRATION_DIR);
    if (mig)
        report(is_dir(mig) ? 0 : 1, "MIGRATION_DIR", "%s%s", mig, is_dir(mig) ? "" : " (missing)");
    const char *dotenv = set_get(s, SET_HECTIC_DOTENV_FILE);
    if (dotenv)
        report(access(dotenv, R_OK) == 0 ? 0 : 2, "dotenv", "%s%s", dotenv,
               access(dotenv, R_OK) == 0 ? "" : " is not readable (HECTIC_DOTENV_FILE)");
    if (set_get(s, SET_DB_URL))
        report(0, "DB_URL", "set (source: %s)", set_source(s, SET_DB_URL) == SET_SRC_DEFAULT ? "$PGURL" : "DB_URL");
    else
        report(1, "DB_URL", "not set: `migrator` and `database -u` need a URL (postgres-init exports PGURL)");
}

int doctor_run(const struct settings *s)
{
    problems = 0;
    printf("dbtool %s\n", DBTOOL_VERSION);
    for (size_t i = 0; i < s->problems.nr; i++)
        report(2, "configuration", "%s", s->problems.v[i]);
    struct pgbin bin;
    fflush(stdout);
    bool have_bin = pgbin_find(&bin, set_get(s, SET_PG_BINDIR), set_get(s, SET_PG_CLIENT_BINDIR)) == 0;
    if (!have_bin) {
        report(2, "PostgreSQL", "server programs not found: put `postgres` in PATH or set PG_BINDIR");
    } else {
        report(0, "PostgreSQL bin dir", "%s (found via %s)", bin.bindir, bin.source);
        check_programs(&bin);
    }
    if (geteuid() == 0) {
        const char *u = set_get(s, SET_PG_OS_USER);
        struct passwd *pw = getpwnam(u);
        if (pw && pw->pw_uid != 0)
            report(0, "root", "the server will run as PG_OS_USER '%s' (uid %d)", u, (int)pw->pw_uid);
        else
            report(2, "root", "PG_OS_USER '%s' %s: create a non-root user (useradd -r -m %s) or set PG_OS_USER",
                   u, pw ? "is root" : "does not exist", u);
    }
    check_cache(s);
    if (have_bin && set_get(s, SET_PG_WORKING_DIR)) {
        struct cluster c;
        struct cluster_spec sp;
        cluster_spec_from(&sp, s);
        fflush(stdout);
        if (cluster_setup(&c, &sp) == CL_OK) {
            fflush(stdout);
            check_preload(&bin, c.preload, set_get(s, SET_DBTOOL_CACHE_DIR));
            if (c.sock_private)
                report(1, "socket path", "working dir too deep for a socket: a short dir %s is used", c.sock_dir);
            pid_t pid = cluster_running_pid(c.data_dir);
            if (pid)
                report(0, "cluster", "running (pid %d): %s", (int)pid, c.url);
            else
                report(0, "cluster", "not running in %s", c.data_dir);
        } else {
            report(2, "cluster", "configuration error (see above)");
        }
        cluster_release(&c);
    }
    if (have_bin)
        pgbin_release(&bin);
    check_project(s);
    if (set_get(s, SET_LOCAL_DIR) || set_get(s, SET_DBTOOL_SCRATCH_DIR))
        check_scratch(s);
    printf("%d problem%s found\n", problems, problems == 1 ? "" : "s");
    return problems;
}
