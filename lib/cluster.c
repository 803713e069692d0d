/*
 * cluster.c — the cluster lifecycle: setup from a spec, init (fresh or
 * reused), stop, remove, the working dir's lock and the ownership rule
 * (see cluster.h).
 *
 * A fresh init copies an initdb'd data dir from the template cache
 * (lib/tplcache), writes the runtime configuration (lib/pgconf) and starts
 * the server the way pg_ctl does (lib/postmaster). The replaced data dir is
 * kept as data.previous (one generation); a reused cluster that cannot start
 * is moved to data.failed-STAMP. Nothing is ever deleted as a fallback.
 */
#include "lib/cluster.h"
#include "lib/bundle.h"
#include "lib/fs.h"
#include "lib/job.h"
#include "lib/pg.h"
#include "lib/pgconf.h"
#include "lib/postmaster.h"
#include "lib/settings.h"
#include "lib/spawn.h"
#include "lib/tplcache.h"
#include "lib/workdir.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define NS "cluster"

void cluster_spec_from(struct cluster_spec *sp, const struct settings *s)
{
    memset(sp, 0, sizeof(*sp));
    sp->working_dir = set_get(s, SET_PG_WORKING_DIR);
    sp->local_dir = set_get(s, SET_LOCAL_DIR);
    sp->database = set_get(s, SET_PG_DATABASE);
    sp->port = set_int(s, SET_PG_PORT);
    sp->reuse = set_bool(s, SET_PG_REUSE);
    sp->fsync = set_bool(s, SET_PG_FSYNC);
    sp->disable_logging = set_bool(s, SET_PG_DISABLE_LOGGING);
    sp->hectic_inheritance = set_bool(s, SET_PG_HECTIC_INHERITANCE);
    sp->inheritance_sql = set_get(s, SET_HECTIC_INHERITANCE_SQL);
    sp->conf_file = set_get(s, SET_PG_CONF_FILE);
    sp->preload = set_get(s, SET_PG_SHARED_PRELOAD_LIBRARIES);
    sp->log_path = set_get(s, SET_PG_LOG_PATH);
    sp->os_user = set_get(s, SET_PG_OS_USER);
    sp->bindir = set_get(s, SET_PG_BINDIR);
    sp->client_bindir = set_get(s, SET_PG_CLIENT_BINDIR);
    sp->cache_dir = set_get(s, SET_DBTOOL_CACHE_DIR);
    sp->sync_cache = set_bool(s, SET_DBTOOL_SYNC_CACHE);
    sp->start_timeout = set_double(s, SET_PG_START_TIMEOUT);
}

const char *cl_status_word(enum cl_status st)
{
    switch (st) {
    case CL_OK:
        return "ok";
    case CL_ERR:
        return "failed";
    case CL_NO_PROGRAM:
        return "a program is missing";
    case CL_CANNOT_START:
        return "cannot start";
    case CL_TIMEOUT:
        return "timed out";
    case CL_INTERRUPTED:
        return "interrupted";
    case CL_BUSY:
        return "busy";
    case CL_REFUSED:
        return "refused";
    case CL_CONFIG:
        return "configuration error";
    }
    return "?";
}

/* ---- setup ---- */

/* Is DIR a socket dir we may use: ours, a real directory, private? */
static bool sock_dir_ours(const char *dir, uid_t uid)
{
    struct stat st;
    return lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && st.st_uid == uid &&
           !(st.st_mode & 077);
}

/* The short private socket dir for a working dir whose sock/ path is too long. */
static char *private_sock_dir(struct cluster *c)
{
    /* a previous run's choice, when it is still ours (a random name after a squatted one) */
    char *note = path_join(c->working_dir, "sock");
    char target[256];
    ssize_t n = readlink(note, target, sizeof(target) - 1);
    free(note);
    if (n > 0) {
        target[n] = 0;
        if (target[0] == '/' && strlen(target) + 20 < sizeof(((struct sockaddr_un *)0)->sun_path) &&
            sock_dir_ours(target, c->uid))
            return xstrdup(target);
    }
    uint64_t h = hash_fnv1a(c->working_dir, strlen(c->working_dir));
    const char *tmp = getenv("TMPDIR");
    if (!tmp || strlen(tmp) > 40 || !is_dir(tmp))
        tmp = "/tmp";
    return xasprintf("%s/dbtool-%d-%012llx", tmp, (int)c->uid,
                     (unsigned long long)(h & 0xffffffffffffULL));
}

enum cl_status cluster_setup(struct cluster *c, const struct cluster_spec *sp)
{
    memset(c, 0, sizeof(*c));
    c->lock_fd = -1;
    const char *wd = sp->working_dir;
    if (!wd) {
        error("neither PG_WORKING_DIR nor LOCAL_DIR is set: set PG_WORKING_DIR to the cluster "
              "directory (or LOCAL_DIR to the project root)");
        return CL_ERR;
    }
    c->working_dir = path_absolute(wd, NULL);
    struct stat st;
    if (lstat(c->working_dir, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode)) {
        error("PG_WORKING_DIR '%s' exists and is not a directory", c->working_dir);
        return CL_ERR;
    }
    c->data_dir = path_join(c->working_dir, "data");
    c->port = sp->port ? sp->port : 5432;
    c->database = xstrdup(sp->database ? sp->database : "testdb");
    c->reuse = sp->reuse;
    c->fsync = sp->fsync;
    c->conf_file = sp->conf_file ? xstrdup(sp->conf_file) : NULL;
    c->preload = xstrdup(sp->preload ? sp->preload : "");
    c->disable_logging = sp->disable_logging;
    c->hectic_inheritance = sp->hectic_inheritance;
    c->inheritance_sql = sp->inheritance_sql ? xstrdup(sp->inheritance_sql) : NULL;
    c->cache_dir = sp->cache_dir ? xstrdup(sp->cache_dir) : NULL;
    c->sync_cache = sp->sync_cache;
    c->start_timeout = sp->start_timeout > 0 ? sp->start_timeout : 60;
    c->throwaway = sp->throwaway;
    c->local_dir = sp->local_dir ? xstrdup(sp->local_dir) : NULL;
    if (c->conf_file) {
        struct strbuf sb = STRBUF_INIT;
        int r = pgconf_read_conf_file(c->conf_file, &sb);
        strbuf_release(&sb);
        if (r < 0)
            return CL_ERR;
    }

    /* who runs the server */
    if (geteuid() == 0) {
        const char *name = sp->os_user ? sp->os_user : "postgres";
        struct passwd *pw = getpwnam(name);
        if (!pw) {
            error("running as root, and PG_OS_USER '%s' does not exist: PostgreSQL refuses to run "
                  "as root; create the user (useradd -r -m %s) or set PG_OS_USER",
                  name, name);
            return CL_ERR;
        }
        if (pw->pw_uid == 0) {
            error("PG_OS_USER '%s' is root: PostgreSQL refuses to run as root; name a non-root user", name);
            return CL_ERR;
        }
        c->switch_user = true;
        c->uid = pw->pw_uid;
        c->gid = pw->pw_gid;
        c->user = xstrdup(pw->pw_name);
    } else {
        struct passwd *pw = getpwuid(geteuid());
        c->uid = geteuid();
        c->gid = getegid();
        if (pw)
            c->user = xstrdup(pw->pw_name);
        else if (env_nonempty("USER"))
            c->user = xstrdup(getenv("USER"));
        else {
            error("cannot tell the name of uid %d (no passwd entry and no USER)", (int)geteuid());
            return CL_ERR;
        }
    }

    if (pgbin_find(&c->bin, sp->bindir, sp->client_bindir) < 0)
        return sp->bindir ? CL_ERR : CL_NO_PROGRAM;

    /* socket dir: sock/ unless .s.PGSQL.PORT.lock would not fit in sun_path */
    char *sock = path_join(c->working_dir, "sock");
    struct sockaddr_un sa;
    size_t need = strlen(sock) + strlen("/.s.PGSQL.65535.lock") + 1;
    if (need > sizeof(sa.sun_path)) {
        c->sock_dir = private_sock_dir(c);
        c->sock_private = true;
        free(sock);
    } else {
        c->sock_dir = sock;
    }

    if (sp->log_path) {
        c->log_dir = xstrdup(sp->log_path);
        c->log_dir_set = true;
    } else {
        c->log_dir = path_join(c->data_dir, "log");
    }
    c->startup_log = path_join(sp->log_path ? sp->log_path : c->working_dir, "postgres.log");
    c->url = pg_build_url(c->user, c->database, c->sock_dir, c->port);
    return CL_OK;
}

void cluster_release(struct cluster *c)
{
    cluster_unlock(c);
    free(c->working_dir);
    free(c->data_dir);
    free(c->sock_dir);
    free(c->log_dir);
    free(c->startup_log);
    free(c->database);
    free(c->user);
    pgbin_release(&c->bin);
    free(c->url);
    free(c->local_dir);
    free(c->conf_file);
    free(c->preload);
    free(c->inheritance_sql);
    free(c->cache_dir);
    memset(c, 0, sizeof(*c));
    c->lock_fd = -1;
}

int cluster_server_major(struct cluster *c)
{
    return pgbin_server_major(&c->bin, tpl_cache_usable(c->cache_dir) ? c->cache_dir : NULL);
}

int cluster_check_preload(struct cluster *c)
{
    if (c->conf_file || !*c->preload)
        return 0;
    char *list = xstrdup(c->preload);
    int ret = 0;
    char *save = NULL;
    for (char *tok = strtok_r(list, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (!pgbin_lib_installed(&c->bin, tok)) {
            error("shared preload library '%s' is not installed for the server in %s: install it "
                  "(e.g. Debian's postgresql-<version>-cron for pg_cron) or set "
                  "PG_SHARED_PRELOAD_LIBRARIES='' to disable preloading",
                  tok, c->bin.bindir);
            ret = -1;
        }
    }
    free(list);
    return ret;
}

int cluster_single_user(struct cluster *c, const char *dir, const char *db, const char *sql,
                        const char *log)
{
    return pm_single_user(c, dir, db, sql, log);
}

pid_t cluster_running_pid(const char *data_dir)
{
    return pm_running_pid(data_dir);
}

enum cl_status cluster_stop(struct cluster *c, double timeout)
{
    return pm_stop(c->data_dir, timeout) < 0 ? CL_ERR : CL_OK;
}

void cluster_stop_begin(struct cluster *c)
{
    pm_stop_begin(c->data_dir);
}

/* ---- init ---- */

/* Errors a server gives while it starts up or recovers from a crash: worth retrying. */
static bool transient(const char *msg)
{
    return msg && (strstr(msg, "not yet accepting connections") || strstr(msg, "starting up") ||
                   strstr(msg, "in recovery mode") || strstr(msg, "shutting down") ||
                   strstr(msg, "No such file or directory"));
}

PGconn *cluster_connect_waiting(const char *url, char **msg)
{
    PGconn *conn = pg_connect_quiet(url, msg);
    double deadline = now_monotonic() + 60;
    while (!conn && transient(*msg) && now_monotonic() < deadline && !interrupted) {
        debug(NS, "server not accepting connections yet (%s); retrying", *msg);
        free(*msg);
        *msg = NULL;
        sleep_seconds(0.05);
        conn = pg_connect_quiet(url, msg);
    }
    return conn;
}

/* Connect to the database; create it when missing. */
static enum cl_status ensure_database(struct cluster *c)
{
    enum cl_status f = tpl_fit_live(c);
    if (f)
        return f;
    char *msg = NULL;
    PGconn *conn = cluster_connect_waiting(c->url, &msg);
    if (conn) {
        PQfinish(conn);
        free(msg);
        return CL_OK;
    }
    if (interrupted) {
        free(msg);
        return CL_INTERRUPTED;
    }
    bool missing = msg && strstr(msg, "does not exist");
    if (!missing) {
        error("cannot connect to the new cluster: %s", msg ? msg : "unknown error");
        free(msg);
        return CL_ERR;
    }
    free(msg);
    char *admin = pg_build_url(c->user, "postgres", c->sock_dir, c->port);
    conn = pg_connect(admin);
    free(admin);
    if (!conn)
        return CL_ERR;
    char *ident = pg_quote_ident(c->database);
    char *sql = xasprintf("CREATE DATABASE %s", ident);
    info("creating database '%s'", c->database);
    int r = pg_exec(conn, sql);
    free(sql);
    free(ident);
    PQfinish(conn);
    return r ? (interrupted ? CL_INTERRUPTED : CL_ERR) : CL_OK;
}

static int mkdir_server(struct cluster *c, const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return error_errno("cannot create '%s'", path);
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return error("'%s' is not a directory", path);
    if (c->switch_user && fs_chown_dir_nofollow(path, c->uid, c->gid) < 0)
        return error_errno("cannot hand '%s' to %s", path, c->user);
    return 0;
}

static int prepare_sock_dir(struct cluster *c)
{
    if (!c->sock_private)
        return mkdir_server(c, c->sock_dir);
    /* /tmp is everybody's: a name someone else holds is not used, a random one is */
    bool ours = sock_dir_ours(c->sock_dir, c->uid);
    if (!ours) {
        if (mkdir(c->sock_dir, 0700) == 0) {
            if (c->switch_user && fs_chown_dir_nofollow(c->sock_dir, c->uid, c->gid) < 0)
                return error_errno("cannot hand '%s' to %s", c->sock_dir, c->user);
            ours = true;
        } else if (errno != EEXIST) {
            return error_errno("cannot create socket dir '%s'", c->sock_dir);
        }
    }
    if (!ours) {
        char *parent = xstrdup(c->sock_dir);
        *strrchr(parent, '/') = 0;
        char *tmpl = xasprintf("%s/dbtool-%d-XXXXXX", *parent ? parent : "", (int)c->uid);
        free(parent);
        warn("socket dir %s is not ours (another user made it?): using a new private one",
             c->sock_dir);
        if (!mkdtemp(tmpl)) {
            free(tmpl);
            return error_errno("cannot create a private socket dir");
        }
        if (c->switch_user && fs_chown_dir_nofollow(tmpl, c->uid, c->gid) < 0) {
            free(tmpl);
            return error_errno("cannot hand the socket dir to %s", c->user);
        }
        free(c->sock_dir);
        c->sock_dir = tmpl;
        free(c->url);
        c->url = pg_build_url(c->user, c->database, c->sock_dir, c->port);
    }
    /* leave a pointer in the working dir so people (and the next run) can find it */
    char *note = path_join(c->working_dir, "sock");
    struct stat st;
    if (lstat(note, &st) == 0)
        S_ISDIR(st.st_mode) ? rm_rf(note) : unlink(note);
    if (symlink(c->sock_dir, note) == 0 && c->switch_user)
        lchown(note, c->uid, c->gid);
    free(note);
    return 0;
}

/* Refuse when another process listens on our socket path. */
static int check_socket_free(struct cluster *c)
{
    char *sock = xasprintf("%s/.s.PGSQL.%d", c->sock_dir, c->port);
    int ret = 0;
    if (pm_socket_in_use(sock)) {
        struct strbuf lock = STRBUF_INIT;
        char *lockpath = xasprintf("%s.lock", sock);
        fs_read_regular(lockpath, 4096, &lock, NULL);
        char *nl = strchr(lock.buf, '\n');
        char *owner = nl ? strchr(nl + 1, '\n') : NULL;
        if (nl && owner) {
            *owner = 0;
            *nl = 0;
            error("socket %s is held by another server (pid %s, data dir %s): stop it or use "
                  "another PG_PORT / PG_WORKING_DIR",
                  sock, lock.buf, nl + 1);
        } else {
            error("socket %s is held by another process: stop it or use another PG_PORT / "
                  "PG_WORKING_DIR", sock);
        }
        strbuf_release(&lock);
        free(lockpath);
        ret = -1;
    }
    free(sock);
    return ret;
}

/*
 * The working dir's tablespaces/ (a restored backup's) belongs to the data
 * dir being set aside: move it inside, so it goes (or is kept) with it.
 */
static void tablespaces_follow(struct cluster *c)
{
    char *ts = path_join(c->working_dir, "tablespaces");
    struct stat st;
    if (lstat(ts, &st) == 0 && S_ISDIR(st.st_mode)) {
        char *in = path_join(c->data_dir, "dbtool-old-tablespaces");
        if (rename(ts, in) < 0)
            warn("cannot move '%s' into the old data dir: %s", ts, strerror(errno));
        free(in);
    }
    free(ts);
}

/*
 * Rename the data dir to W/NAME-STAMP[-N], a name nothing else has; never
 * deletes. The new path (malloc'd), or NULL after a message.
 */
static char *set_aside(struct cluster *c, const char *name)
{
    char stamp[32];
    time_t t = time(NULL);
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", gmtime(&t));
    tablespaces_follow(c);
    for (int i = 1; i < 1000; i++) {
        char *dst = i == 1 ? xasprintf("%s/%s-%s", c->working_dir, name, stamp)
                           : xasprintf("%s/%s-%s-%d", c->working_dir, name, stamp, i);
        if (path_exists(dst)) {
            free(dst);
            continue;
        }
        if (rename(c->data_dir, dst) == 0)
            return dst;
        int e = errno;
        free(dst);
        if (e != EEXIST && e != ENOTEMPTY) {
            errno = e;
            error_errno("cannot move '%s' aside", c->data_dir);
            return NULL;
        }
    }
    error("cannot find a free name to move '%s' aside", c->data_dir);
    return NULL;
}

/*
 * A directory to delete, taken out of the working dir right away (into the
 * cache when it shares the filesystem, so a script's `rm -rf` of the working
 * dir right after never races the deletion). The path to hand to the
 * background job, or NULL when it was deleted here.
 */
static char *trash_out(struct cluster *c, const char *path)
{
    if (tpl_cache_usable(c->cache_dir)) {
        char *dst = xasprintf("%s/tmp-trash-%d-%ld", c->cache_dir, (int)getpid(), (long)time(NULL));
        if (rename(path, dst) == 0)
            return dst;
        free(dst);
    }
    rm_rf(path);
    return NULL;
}

/*
 * The fresh init's data dir swap: the current data dir (with its
 * tablespaces) becomes data.previous, replacing the older previous one.
 * *TRASH gets what to delete in the background.
 */
static enum cl_status keep_previous(struct cluster *c, char **trash)
{
    char *prev = path_join(c->working_dir, CLUSTER_PREVIOUS);
    struct stat st;
    *trash = NULL;
    if (lstat(prev, &st) == 0) {
        /* one generation only: the older one goes, out of the working dir first */
        char *tmp = xasprintf("%s/.previous-%d", c->working_dir, (int)getpid());
        if (rename(prev, tmp) < 0) {
            error_errno("cannot replace '%s'", prev);
            free(tmp);
            free(prev);
            return CL_ERR;
        }
        *trash = trash_out(c, tmp);
        free(tmp);
    }
    tablespaces_follow(c);
    if (rename(c->data_dir, prev) < 0) {
        error_errno("cannot keep '%s' as '%s'", c->data_dir, prev);
        free(prev);
        return CL_ERR;
    }
    info("kept the replaced cluster as %s (one generation; 'postgres-init --previous' goes back to it)",
         prev);
    free(prev);
    return CL_OK;
}

static enum cl_status fresh_init(struct cluster *c)
{
    char *trash = NULL;
    enum cl_status r;
    char *pgv = path_join(c->data_dir, "PG_VERSION");
    bool have = path_exists(pgv);
    free(pgv);
    if (have && (r = keep_previous(c, &trash)))
        return r;
    char *sock = path_join(c->working_dir, "sock");
    struct stat st;
    if (!c->sock_private && lstat(sock, &st) == 0) {
        if (S_ISDIR(st.st_mode) ? rm_rf(sock) < 0 : unlink(sock) < 0) {
            error_errno("cannot clear '%s'", sock);
            free(sock);
            free(trash);
            return CL_ERR;
        }
    }
    free(sock);
    if (prepare_sock_dir(c) < 0) {
        free(trash);
        return CL_ERR;
    }
    r = c->fresh_fill ? c->fresh_fill(c, c->data_dir, trash, c->fresh_arg)
                      : tpl_fresh_data_dir(c, c->data_dir, trash);
    free(trash);
    if (r)
        return r;
    if (pgconf_write_fresh(c) < 0)
        return CL_ERR;
    return CL_OK;
}

static enum cl_status start_reused(struct cluster *c)
{
    pm_clear_stale(c);
    if (prepare_sock_dir(c) < 0 || check_socket_free(c) < 0)
        return CL_ERR;
    struct stat st;
    if (c->switch_user && (lstat(c->data_dir, &st) < 0 || st.st_uid != c->uid)) {
        struct passwd *pw = lstat(c->data_dir, &st) == 0 ? getpwuid(st.st_uid) : NULL;
        error("the data dir %s belongs to %s, not to the server user %s: PostgreSQL will not "
              "start it (chown -R %s it if it is yours)", c->data_dir,
              pw ? pw->pw_name : "another user", c->user, c->user);
        return CL_ERR;
    }
    if (pgconf_write_runtime(c) < 0)
        return CL_ERR;
    return pm_start(c);
}

/* The major version a data dir was made by ("15"), or 0. */
static int data_dir_major(const char *data_dir)
{
    char *path = path_join(data_dir, "PG_VERSION");
    struct strbuf ver = STRBUF_INIT;
    int major = fs_read_regular(path, 64, &ver, NULL) == 0 ? atoi(ver.buf) : 0;
    free(path);
    strbuf_release(&ver);
    return major;
}

static enum cl_status init_locked(struct cluster *c, bool fallback)
{
    enum cl_status r;
    pid_t running = pm_running_pid(c->data_dir);
    /* someone else on our socket: say so before anything else (nothing is touched) */
    if (!running && check_socket_free(c) < 0)
        return CL_ERR;
    if ((r = wd_ready(c, "use")))
        return r;
    char *pgver = path_join(c->data_dir, "PG_VERSION");
    bool have_data = access(pgver, F_OK) == 0;
    free(pgver);

    if (c->reuse && have_data && !running) {
        /* another major version cannot start here: say which, keep it aside, start fresh */
        int theirs = data_dir_major(c->data_dir), mine = cluster_server_major(c);
        if (theirs && mine && theirs != mine) {
            warn("the existing cluster in %s was initialised by PostgreSQL %d, and this server (%s) "
                 "is PostgreSQL %d: it cannot start here", c->data_dir, theirs, c->bin.bindir, mine);
            if (!fallback)
                return CL_CANNOT_START;
            char *aside = set_aside(c, "data.failed");
            if (!aside)
                return CL_ERR;
            warn("kept it as %s; re-initialising a fresh one", aside);
            free(aside);
            have_data = false;
        }
    }
    if (c->reuse && have_data) {
        if (running && pgconf_runtime_matches(c)) {
            c->reused = c->was_running = true;
            c->pid = running;
            debug(NS, "server pid %d already running with matching settings", (int)running);
            /* e.g. still in crash recovery after a PANIC: wait until it accepts connections */
            if ((r = pm_wait_running(c, running)))
                return r;
            return ensure_database(c);
        }
        if (running && pm_stop_pid(running, c->data_dir, 30) < 0)
            return CL_ERR;
        r = start_reused(c);
        if (r == CL_OK) {
            c->reused = true;
            return ensure_database(c);
        }
        /* only a server that exited on its own "cannot start"; a stop, a timeout, a missing
         * program or a configuration error leave the cluster where it is */
        if (r != CL_CANNOT_START || !fallback)
            return r;
        char *aside = set_aside(c, "data.failed");
        if (!aside)
            return CL_ERR;
        warn("the existing cluster in %s cannot start; kept it as %s (remove it when you no "
             "longer need it); re-initialising a fresh one", c->data_dir, aside);
        free(aside);
    } else if (running) {
        if (pm_stop_pid(running, c->data_dir, 30) < 0)
            return CL_ERR;
    }
    if (interrupted)
        return CL_INTERRUPTED;
    /* before touching sock/: never unlink a socket another server is listening on */
    if (check_socket_free(c) < 0)
        return CL_ERR;
    if ((r = fresh_init(c)))
        return r;
    if (pgconf_write_runtime(c) < 0)
        return CL_ERR;
    if ((r = pm_start(c)))
        return r;
    return ensure_database(c);
}

static enum cl_status cluster_init_mode(struct cluster *c, bool fallback)
{
    double t0 = now_monotonic();
    enum cl_status r;
    if (cluster_check_preload(c) < 0)
        return CL_ERR;
    bool took = c->lock_fd < 0; /* a caller holding the lock (restore) keeps it */
    if ((r = cluster_lock(c, 60)))
        return r;
    r = init_locked(c, fallback);
    if (took)
        cluster_unlock(c);
    if (r)
        return interrupted && r != CL_INTERRUPTED ? CL_INTERRUPTED : r;
    /* kept from the older shell tool: postgres-init is a pure provisioner unless asked */
    if (c->hectic_inheritance) {
        debug(NS, "PG_HECTIC_INHERITANCE=1: applying the inheritance part of the bundle");
        if (bundle_apply_inheritance_url(c->url, c->inheritance_sql) < 0)
            return CL_ERR;
    }
    info("cluster ready in %.2fs: %s%s%s", now_monotonic() - t0, c->url,
         c->was_running ? " (already running)" : c->reused ? " (reused)" : "",
         c->sock_private ? " (short socket dir: the working dir path is too long for a socket)" : "");
    return CL_OK;
}

enum cl_status cluster_init(struct cluster *c)
{
    return cluster_init_mode(c, true);
}

enum cl_status cluster_start_existing(struct cluster *c)
{
    c->reuse = true;
    return cluster_init_mode(c, false);
}

enum cl_status cluster_prepare_root(struct cluster *c)
{
    return wd_ready(c, "use");
}

enum cl_status cluster_use_previous(struct cluster *c)
{
    enum cl_status r;
    bool took = c->lock_fd < 0;
    if ((r = cluster_lock(c, 60)))
        return r;
    if ((r = wd_check(c, "use")))
        goto out;
    char *prev = path_join(c->working_dir, CLUSTER_PREVIOUS);
    char *pgv = path_join(prev, "PG_VERSION");
    if (!path_exists(pgv)) {
        error("there is no previous cluster in %s (a fresh init keeps the one it replaces there)",
              prev);
        r = CL_ERR;
    } else if (pm_stop(c->data_dir, 30) < 0) {
        r = CL_ERR;
    } else {
        char *tmp = xasprintf("%s/.previous-swap-%d", c->working_dir, (int)getpid());
        bool have = path_exists(c->data_dir);
        if (have) {
            tablespaces_follow(c);
            if (rename(c->data_dir, tmp) < 0)
                r = (error_errno("cannot move '%s' aside", c->data_dir), CL_ERR);
        }
        if (!r && rename(prev, c->data_dir) < 0) {
            r = (error_errno("cannot move '%s' into place", prev), CL_ERR);
            if (have)
                rename(tmp, c->data_dir);
        }
        if (!r && have && rename(tmp, prev) < 0)
            warn("the replaced data dir is in %s", tmp);
        /* the tablespaces travel inside the data dir they belong to */
        char *in = path_join(c->data_dir, "dbtool-old-tablespaces");
        char *ts = path_join(c->working_dir, "tablespaces");
        if (!r && path_exists(in) && rename(in, ts) < 0)
            warn("cannot move '%s' back to '%s': %s", in, ts, strerror(errno));
        free(in);
        free(ts);
        free(tmp);
        if (!r)
            info("swapped: the previous cluster is in %s%s", c->data_dir,
                 have ? ", the one it replaced is now the previous one" : "");
    }
    free(pgv);
    free(prev);
out:
    if (took)
        cluster_unlock(c);
    if (r)
        return r;
    return cluster_start_existing(c);
}

static void export_line(FILE *out, const char *name, const char *value)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "export %s=", name);
    strbuf_add_shquote(&sb, value);
    fprintf(out, "%s\n", sb.buf);
    strbuf_release(&sb);
}

void cluster_print_exports(const struct cluster *c, const char *url_var, FILE *out)
{
    char port[16];
    snprintf(port, sizeof(port), "%d", c->port);
    export_line(out, "POSTGRESQL_HOST", c->sock_dir);
    export_line(out, "POSTGRESQL_PORT", port);
    export_line(out, "POSTGRESQL_USER", c->user);
    export_line(out, "POSTGRESQL_DATABASE", c->database);
    export_line(out, "PGURL", c->url);
    if (url_var && strcmp(url_var, "PGURL"))
        export_line(out, url_var, c->url);
}

/* ---- removal ---- */

/*
 * Remove the working dir (checked: ours) after stopping its server. A
 * background job of the cache is left alone: it never works inside the
 * working dir (what it deletes was moved out first, templates are built in
 * the cache), so it may finish warming the cache.
 */
static enum cl_status remove_locked(struct cluster *c)
{
    if (pm_stop(c->data_dir, 30) < 0)
        return CL_ERR;
    if (c->sock_private && c->sock_dir && sock_dir_ours(c->sock_dir, c->uid))
        rm_rf(c->sock_dir);
    if (wd_remove_tree(c->working_dir) < 0) {
        error_errno("cannot remove '%s'", c->working_dir);
        return CL_ERR;
    }
    /* the lock file goes with the dir it guarded (held: a waiter then finds no dir to use) */
    if (c->lock_fd >= 0) {
        char *lp = wd_lock_path(c);
        unlink(lp);
        free(lp);
    }
    info("removed %s", c->working_dir);
    return CL_OK;
}

enum cl_status cluster_remove(struct cluster *c)
{
    struct stat st;
    if (lstat(c->working_dir, &st) < 0 && errno == ENOENT) {
        info("%s does not exist: nothing to remove", c->working_dir);
        return CL_OK;
    }
    bool took = c->lock_fd < 0;
    enum cl_status r = cluster_lock(c, 60);
    if (r)
        return r;
    if (!(r = wd_check(c, "remove")))
        r = remove_locked(c);
    if (took)
        cluster_unlock(c);
    return r;
}

enum cl_status cluster_remove_abandoned(const char *working_dir, const char *cache_dir)
{
    /* no configuration: only what the ownership rule can tell from the directory */
    struct cluster c;
    memset(&c, 0, sizeof(c));
    c.lock_fd = -1;
    c.working_dir = xstrdup(working_dir);
    c.data_dir = path_join(working_dir, "data");
    c.uid = geteuid();
    struct stat st;
    if (geteuid() == 0 && lstat(working_dir, &st) == 0)
        c.uid = st.st_uid; /* root's throwaway clusters belong to the server user */
    c.user = xstrdup("the server user");
    c.cache_dir = cache_dir ? xstrdup(cache_dir) : NULL;
    c.throwaway = true;
    enum cl_status r = cluster_lock(&c, 0);
    if (!r)
        r = wd_check(&c, "remove the abandoned");
    if (!r)
        r = remove_locked(&c);
    cluster_release(&c);
    return r;
}

static void remove_fn(void *arg)
{
    rm_rf(arg);
}

void cluster_remove_later(struct cluster *c, const char *path)
{
    char *t = trash_out(c, path);
    if (!t)
        return;
    char *lock = tpl_job_lock_for(c->cache_dir, t);
    job_start(lock, remove_fn, t, c->sync_cache || !lock);
    free(lock);
    free(t);
}
