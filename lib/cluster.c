/*
 * cluster.c — postgres-init / postgres-cleanup.
 *
 * Fresh init copies an initdb'd data dir (database already created) from a
 * template cache keyed by the server binary and initdb options, so the common
 * case costs a directory copy and a server start. The server is started the
 * way pg_ctl does it (spawn postgres, poll postmaster.pid for "ready") but
 * polled every few milliseconds; it runs in its own session with no
 * descriptor of ours. Runtime knobs live in data/dbtool.conf, included at
 * the end of postgresql.conf and rewritten on every launch.
 */
#include "lib/cluster.h"
#include "lib/bundle.h"
#include "lib/config.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS "cluster"
#define RUNTIME_CONF "dbtool.conf"
#define INCLUDE_LINE "include_if_exists = '" RUNTIME_CONF "'"
#define TEMPLATE_FORMAT "1" /* bump when the template layout changes */

static uint64_t fnv1a(uint64_t h, const void *data, size_t len)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}
#define FNV_INIT 0xcbf29ce484222325ULL

/* ---- binaries ---- */

static char *bindir_cached;
static const char *bindir_source_cached;

char *pg_find_bindir(const char **source)
{
    if (bindir_cached) {
        if (source)
            *source = bindir_source_cached;
        return xstrdup(bindir_cached);
    }
    char *dir = NULL;
    const char *src = NULL;
    const char *env = cfg_get(CFG_PG_BINDIR);
    if (env) {
        char *p = path_join(env, "postgres");
        if (access(p, X_OK) == 0) {
            dir = xstrdup(env);
            src = "PG_BINDIR";
        }
        free(p);
        if (!dir) {
            error("PG_BINDIR '%s' has no executable 'postgres'", env);
            return NULL;
        }
    }
    if (!dir) {
        char *p = find_in_path("postgres");
        if (p) {
            char *real = realpath(p, NULL);
            free(p);
            if (real) {
                char *slash = strrchr(real, '/');
                *slash = 0;
                dir = real;
                src = "PATH";
            }
        }
    }
    if (!dir) {
        char *pgc = find_in_path("pg_config");
        if (pgc) {
            struct child c = CHILD_INIT;
            struct strbuf out = STRBUF_INIT;
            strvec_pushl(&c.args, pgc, "--bindir", NULL);
            c.err = SPAWN_DEVNULL;
            if (spawn_capture(&c, &out) == 0) {
                strbuf_trim_trailing(&out);
                char *p = path_join(out.buf, "postgres");
                if (access(p, X_OK) == 0) {
                    dir = strbuf_detach(&out, NULL);
                    src = "pg_config --bindir";
                }
                free(p);
            }
            strbuf_release(&out);
            child_clear(&c);
            free(pgc);
        }
    }
    if (!dir) {
        DIR *d = opendir("/usr/lib/postgresql");
        int best = 0;
        if (d) {
            struct dirent *de;
            while ((de = readdir(d))) {
                int v = atoi(de->d_name);
                if (v > best) {
                    char *p = xasprintf("/usr/lib/postgresql/%s/bin/postgres", de->d_name);
                    if (access(p, X_OK) == 0)
                        best = v;
                    free(p);
                }
            }
            closedir(d);
        }
        if (best) {
            dir = xasprintf("/usr/lib/postgresql/%d/bin", best);
            src = "/usr/lib/postgresql";
        }
    }
    if (dir) {
        bindir_cached = xstrdup(dir);
        bindir_source_cached = src;
        debug(NS, "using PostgreSQL binaries from %s (found via %s)", dir, src);
    }
    if (source)
        *source = src;
    return dir;
}

int pg_program_major(const char *prog)
{
    struct child ch = CHILD_INIT;
    struct strbuf out = STRBUF_INIT;
    strvec_pushl(&ch.args, prog, "--version", NULL);
    ch.err = SPAWN_DEVNULL;
    int major = -1;
    /* "pg_dump (PostgreSQL) 15.18 (Debian 15.18-0+deb12u1)" -> 15 */
    if (spawn_capture(&ch, &out) == 0) {
        const char *p = strstr(out.buf, "(PostgreSQL) ");
        if (p && p[13] >= '0' && p[13] <= '9')
            major = atoi(p + 13);
    }
    strbuf_release(&out);
    child_clear(&ch);
    return major;
}

char *pg_client_bindir(const char **source)
{
    const char *dir = cfg_get(CFG_PG_CLIENT_BINDIR);
    if (dir) {
        if (source)
            *source = "PG_CLIENT_BINDIR";
        return xstrdup(dir);
    }
    if (source)
        *source = "the server's bin dir";
    return pg_find_bindir(NULL);
}

/*
 * Client programs come from PG_CLIENT_BINDIR or the server's own bin dir,
 * never from PATH: Debian's /usr/bin/pg_dump is a wrapper that picks a
 * version by its own rules, and pg_dump/pg_basebackup refuse (or worse,
 * misread) a server newer than themselves.
 */
char *pg_program(const char *name)
{
    const char *src;
    char *sdir = pg_find_bindir(&src);
    if (!sdir)
        die(EXIT_NO_PROGRAM, "PostgreSQL server programs not found: put 'postgres' in PATH, "
                             "or set PG_BINDIR to the directory holding initdb and postgres");
    const char *cdir = cfg_get(CFG_PG_CLIENT_BINDIR);
    char *p = path_join(cdir ? cdir : sdir, name);
    char *server = path_join(sdir, "postgres");
    int smajor = -1;
    if (access(p, X_OK) < 0) {
        smajor = pg_program_major(server);
        struct strbuf want = STRBUF_INIT;
        if (smajor > 0)
            strbuf_addf(&want, "the client programs of PostgreSQL %d or newer (e.g. Debian's postgresql-client-%d)",
                        smajor, smajor);
        else
            strbuf_addstr(&want, "the client programs of the server's PostgreSQL version or newer");
        if (cdir)
            die(EXIT_NO_PROGRAM, "'%s' not found in PG_CLIENT_BINDIR '%s': install %s and point "
                                 "PG_CLIENT_BINDIR at their bin dir", name, cdir, want.buf);
        die(EXIT_NO_PROGRAM, "'%s' not found in the server's bin dir '%s' (found via %s): install %s "
                             "and set PG_CLIENT_BINDIR to their bin dir", name, sdir, src, want.buf);
    }
    if (cdir) {
        /* another installation: it must be at least as new as the server */
        int cmajor = pg_program_major(p);
        smajor = pg_program_major(server);
        if (cmajor > 0 && smajor > 0 && cmajor < smajor)
            die(EXIT_NO_PROGRAM, "'%s' is PostgreSQL %d, older than the server (PostgreSQL %d, %s), "
                                 "which it cannot work with: install the client programs of PostgreSQL %d or newer "
                                 "(e.g. Debian's postgresql-client-%d) and set PG_CLIENT_BINDIR to their "
                                 "bin dir", p, cmajor, smajor, sdir, smajor, smajor);
        debug(NS, "%s: PostgreSQL %d client for a PostgreSQL %d server", p, cmajor, smajor);
    }
    free(server);
    free(sdir);
    return p;
}

/* ---- setup ---- */

/* Whether UID/GID can traverse every ancestor of PATH (mode bits only). */
static const char *untraversable_ancestor(const char *path, uid_t uid, gid_t gid)
{
    static char buf[4096];
    snprintf(buf, sizeof(buf), "%s/", path);
    char *p = buf;
    while ((p = strchr(p + 1, '/'))) {
        *p = 0;
        struct stat st;
        if (stat(buf, &st) == 0) {
            mode_t need = st.st_uid == uid ? S_IXUSR : st.st_gid == gid ? S_IXGRP : S_IXOTH;
            if (!(st.st_mode & need))
                return buf;
        }
        *p = '/';
    }
    return NULL;
}

static int check_sock_dir_owner(const char *dir, uid_t uid)
{
    struct stat st;
    if (lstat(dir, &st) < 0)
        return 0;
    if (!S_ISDIR(st.st_mode) || st.st_uid != uid)
        return error("private socket dir '%s' exists but is not a directory owned by uid %d; "
                     "remove it", dir, (int)uid);
    return 0;
}

int cluster_setup(struct cluster *c)
{
    memset(c, 0, sizeof(*c));
    const char *wd = cfg_get(CFG_PG_WORKING_DIR);
    if (!wd) {
        error("neither PG_WORKING_DIR nor LOCAL_DIR is set: set PG_WORKING_DIR to the cluster "
              "directory (or LOCAL_DIR to the project root)");
        return EXIT_ERR;
    }
    c->working_dir = xstrdup(wd);
    struct stat st;
    if (stat(wd, &st) == 0 && !S_ISDIR(st.st_mode)) {
        error("PG_WORKING_DIR '%s' exists and is not a directory", wd);
        return EXIT_ERR;
    }
    c->data_dir = path_join(wd, "data");
    c->port = cfg_int(CFG_PG_PORT);
    c->database = xstrdup(cfg_get(CFG_PG_DATABASE));
    c->reuse = cfg_bool(CFG_PG_REUSE);
    c->conf_file = cfg_get(CFG_PG_CONF_FILE);
    c->preload = cfg_get(CFG_PG_SHARED_PRELOAD_LIBRARIES);
    if (!c->preload)
        c->preload = "";
    c->disable_logging = cfg_bool(CFG_PG_DISABLE_LOGGING);
    {
        const char *f = getenv("PG_FSYNC");
        bool b = true;
        if (f && *f && cfg_parse_bool(f, &b) < 0) {
            error("PG_FSYNC: expected a boolean, got '%s'", f);
            return EXIT_MISSING;
        }
        c->fsync = b;
    }
    if (c->conf_file && access(c->conf_file, R_OK) < 0) {
        error_errno("PG_CONF_FILE not readable: %s", c->conf_file);
        return EXIT_ERR;
    }

    /* who runs the server */
    if (geteuid() == 0) {
        const char *name = cfg_get(CFG_PG_OS_USER);
        struct passwd *pw = getpwnam(name);
        if (!pw) {
            error("running as root, and PG_OS_USER '%s' does not exist: PostgreSQL refuses to run "
                  "as root; create the user (useradd -r -m %s) or set PG_OS_USER",
                  name, name);
            return EXIT_ERR;
        }
        if (pw->pw_uid == 0) {
            error("PG_OS_USER '%s' is root: PostgreSQL refuses to run as root; name a non-root user", name);
            return EXIT_ERR;
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
            return EXIT_ERR;
        }
    }

    c->bindir = pg_find_bindir(&c->bindir_source);
    if (!c->bindir) {
        error("PostgreSQL server programs not found: put 'postgres' in PATH, or set PG_BINDIR "
              "to the directory holding initdb and postgres");
        return EXIT_NO_PROGRAM;
    }

    /* socket dir: sock/ unless .s.PGSQL.PORT.lock would not fit in sun_path */
    char *sock = path_join(wd, "sock");
    struct sockaddr_un sa;
    size_t need = strlen(sock) + strlen("/.s.PGSQL.65535.lock") + 1;
    if (need > sizeof(sa.sun_path)) {
        uint64_t h = fnv1a(FNV_INIT, wd, strlen(wd));
        const char *tmp = getenv("TMPDIR");
        if (!tmp || strlen(tmp) > 40 || !is_dir(tmp))
            tmp = "/tmp";
        c->sock_dir = xasprintf("%s/dbtool-%d-%012llx", tmp, (int)c->uid,
                                (unsigned long long)(h & 0xffffffffffffULL));
        c->sock_private = true;
        free(sock);
        if (check_sock_dir_owner(c->sock_dir, c->uid) < 0)
            return EXIT_ERR;
    } else {
        c->sock_dir = sock;
    }

    const char *lp = cfg_get(CFG_PG_LOG_PATH);
    c->log_dir = lp ? xstrdup(lp) : path_join(c->data_dir, "log");
    c->startup_log = path_join(lp ? lp : wd, "postgres.log");
    c->url = pg_build_url(c->user, c->database, c->sock_dir, c->port);
    return 0;
}

void cluster_release(struct cluster *c)
{
    free(c->working_dir);
    free(c->data_dir);
    free(c->sock_dir);
    free(c->log_dir);
    free(c->startup_log);
    free(c->database);
    free(c->user);
    free(c->bindir);
    free(c->url);
    memset(c, 0, sizeof(*c));
}

/* ---- helpers ---- */

static void as_server(struct cluster *c, struct child *ch)
{
    if (c->switch_user) {
        ch->as_user = true;
        ch->uid = c->uid;
        ch->gid = c->gid;
    }
}

static int own(struct cluster *c, const char *path)
{
    if (c->switch_user && chown(path, c->uid, c->gid) < 0)
        return error_errno("cannot hand '%s' to %s", path, c->user);
    return 0;
}

/* Create PATH with MODE owned by the server user; missing parents get 0755. */
static int make_dir(struct cluster *c, const char *path, mode_t mode)
{
    char *parent = xstrdup(path);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (mkdir_p(parent, 0755) < 0) {
            error_errno("cannot create directory '%s'", parent);
            free(parent);
            return -1;
        }
    }
    free(parent);
    if (mkdir(path, mode) < 0 && errno != EEXIST)
        return error_errno("cannot create directory '%s'", path);
    if (chmod(path, mode) < 0)
        return error_errno("cannot chmod '%s'", path);
    return own(c, path);
}

/* Last N lines of PATH to stderr, indented. */
static void show_tail(const char *path, int n)
{
    struct strbuf sb = STRBUF_INIT;
    if (strbuf_read_file(&sb, path) < 0 || !sb.len) {
        strbuf_release(&sb);
        return;
    }
    strbuf_trim_trailing(&sb);
    const char *p = sb.buf + sb.len;
    int lines = 0;
    while (p > sb.buf && lines < n) {
        p--;
        if (*p == '\n')
            lines++;
    }
    if (*p == '\n')
        p++;
    fprintf(stderr, "%s: last lines of %s:\n", progname, path);
    for (const char *l = p; *l;) {
        const char *e = strchrnul(l, '\n');
        fprintf(stderr, "    %.*s\n", (int)(e - l), l);
        l = *e ? e + 1 : e;
    }
    strbuf_release(&sb);
}

struct pidfile {
    pid_t pid;
    char *data_dir;
    int port;
    char *sock_dir;
    char status[16];
};

static void pidfile_clear(struct pidfile *pf)
{
    free(pf->data_dir);
    free(pf->sock_dir);
    memset(pf, 0, sizeof(*pf));
}

/* Read data_dir/postmaster.pid. 1 when read, 0 when absent, -1 unreadable. */
static int pidfile_read(const char *data_dir, struct pidfile *pf)
{
    memset(pf, 0, sizeof(*pf));
    char *path = path_join(data_dir, "postmaster.pid");
    struct strbuf sb = STRBUF_INIT;
    int r = strbuf_read_file(&sb, path);
    free(path);
    if (r < 0) {
        strbuf_release(&sb);
        return errno == ENOENT ? 0 : -1;
    }
    char *line = sb.buf;
    for (int i = 1; line && *line; i++) {
        char *nl = strchr(line, '\n');
        if (nl)
            *nl = 0;
        switch (i) {
        case 1:
            pf->pid = (pid_t)atol(line);
            break;
        case 2:
            pf->data_dir = xstrdup(line);
            break;
        case 4:
            pf->port = atoi(line);
            break;
        case 5:
            pf->sock_dir = xstrdup(line);
            break;
        case 8:
            snprintf(pf->status, sizeof(pf->status), "%s", line);
            break;
        }
        line = nl ? nl + 1 : NULL;
    }
    strbuf_release(&sb);
    return pf->pid > 0 ? 1 : 0;
}

/*
 * Is PID a live process? A zombie is not: an orphaned postmaster that has
 * exited stays a zombie until PID 1 reaps it, and some container inits never do.
 */
static bool pid_alive(pid_t pid)
{
    if (kill(pid, 0) < 0 && errno != EPERM)
        return false;
    char path[64];
    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    struct strbuf sb = STRBUF_INIT;
    bool alive = true;
    if (strbuf_read_file(&sb, path) == 0) {
        const char *rp = strrchr(sb.buf, ')');
        if (rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X'))
            alive = false;
    }
    strbuf_release(&sb);
    return alive;
}

/* Is PID alive and (where we can tell) a postmaster whose cwd is DATA_DIR? */
static bool pid_is_postmaster_of(pid_t pid, const char *data_dir)
{
    if (pid <= 0 || !pid_alive(pid))
        return false;
    /* zombie of ours (e.g. a server we started in this process)? */
    int st;
    if (waitpid(pid, &st, WNOHANG) == pid)
        return false;
    char link[64], cwd[4096];
    snprintf(link, sizeof(link), "/proc/%d/cwd", (int)pid);
    ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
    if (n < 0)
        return errno == EACCES || errno == EPERM; /* alive, cannot tell: assume it is */
    cwd[n] = 0;
    char *real = realpath(data_dir, NULL);
    bool same = real && !strcmp(real, cwd);
    free(real);
    return same;
}

pid_t cluster_running_pid(const char *data_dir)
{
    struct pidfile pf;
    if (pidfile_read(data_dir, &pf) <= 0)
        return 0;
    pid_t pid = pid_is_postmaster_of(pf.pid, data_dir) ? pf.pid : 0;
    pidfile_clear(&pf);
    return pid;
}

/* Wait until PID is gone (or its pidfile is). true when stopped. */
static bool wait_gone(pid_t pid, const char *data_dir, double timeout)
{
    double deadline = now_monotonic() + timeout, nap = 0.001;
    char *pidpath = path_join(data_dir, "postmaster.pid");
    bool gone = false;
    for (;;) {
        int st;
        pid_t w = waitpid(pid, &st, WNOHANG);
        if (w == pid || !pid_alive(pid)) {
            gone = true;
            break;
        }
        if (access(pidpath, F_OK) < 0 && errno == ENOENT) {
            /* the postmaster removes its pidfile last; reap it if it is ours */
            double d2 = now_monotonic() + 1.0;
            while (now_monotonic() < d2) {
                if (waitpid(pid, &st, WNOHANG) == pid)
                    break; /* ours, reaped */
                if (!pid_alive(pid))
                    break;
                sleep_seconds(0.0005);
            }
            gone = true;
            break;
        }
        if (now_monotonic() >= deadline)
            break;
        sleep_seconds(nap);
        if (nap < 0.01)
            nap *= 2;
    }
    free(pidpath);
    return gone;
}

static int stop_pid(pid_t pid, const char *data_dir, double timeout)
{
    debug(NS, "stopping server pid %d (fast mode)", (int)pid);
    if (kill(pid, SIGINT) < 0 && errno != ESRCH)
        return error_errno("cannot signal the server (pid %d)", (int)pid), EXIT_ERR;
    if (wait_gone(pid, data_dir, timeout))
        return 0;
    warn("server (pid %d) did not stop within %.0fs in fast mode; sending SIGQUIT", (int)pid, timeout);
    kill(pid, SIGQUIT);
    if (wait_gone(pid, data_dir, 10))
        return 0;
    error("server (pid %d) of '%s' does not stop", (int)pid, data_dir);
    return EXIT_ERR;
}

int cluster_stop(struct cluster *c, double timeout)
{
    struct pidfile pf;
    int r = pidfile_read(c->data_dir, &pf);
    if (r < 0) {
        error_errno("cannot read '%s/postmaster.pid'", c->data_dir);
        return EXIT_ERR;
    }
    if (r == 0) {
        debug(NS, "no postmaster.pid in %s: nothing to stop", c->data_dir);
        return 0;
    }
    if (!pid_is_postmaster_of(pf.pid, c->data_dir)) {
        debug(NS, "postmaster.pid of %s names pid %d, which is not running: stale", c->data_dir,
              (int)pf.pid);
        pidfile_clear(&pf);
        return 0;
    }
    pid_t pid = pf.pid;
    pidfile_clear(&pf);
    return stop_pid(pid, c->data_dir, timeout);
}

void cluster_stop_begin(struct cluster *c)
{
    struct pidfile pf;
    if (pidfile_read(c->data_dir, &pf) <= 0)
        return;
    if (pid_is_postmaster_of(pf.pid, c->data_dir))
        kill(pf.pid, SIGINT);
    pidfile_clear(&pf);
}

/* Is something accepting connections on PATH (a unix socket)? */
static bool socket_in_use(const char *path)
{
    struct sockaddr_un sa;
    if (strlen(path) >= sizeof(sa.sun_path))
        return false;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    memset(&sa, 0, sizeof(sa));
    sa.sun_family = AF_UNIX;
    strcpy(sa.sun_path, path);
    bool used = connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    close(fd);
    return used;
}

/* ---- configuration files ---- */

static void conf_quote(struct strbuf *sb, const char *key, const char *value)
{
    strbuf_addf(sb, "%s = '", key);
    for (const char *p = value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            strbuf_addch(sb, *p);
        strbuf_addch(sb, *p);
    }
    strbuf_addstr(sb, "'\n");
}

static void runtime_conf(struct cluster *c, struct strbuf *sb)
{
    strbuf_addstr(sb, "# Written by dbtool postgres-init on every start; edits here are overwritten.\n"
                      "# Put your own settings in postgresql.conf (or PG_CONF_FILE).\n");
    strbuf_addf(sb, "port = %d\n", c->port);
    conf_quote(sb, "unix_socket_directories", c->sock_dir);
    char *hba = path_join(c->data_dir, "pg_hba.conf");
    char *ident = path_join(c->data_dir, "pg_ident.conf");
    conf_quote(sb, "hba_file", hba);
    conf_quote(sb, "ident_file", ident);
    free(hba);
    free(ident);
    if (!c->conf_file) {
        strbuf_addstr(sb, "listen_addresses = ''\n");
        strbuf_addf(sb, "logging_collector = %s\n", c->disable_logging ? "off" : "on");
        if (!c->disable_logging)
            conf_quote(sb, "log_directory", c->log_dir);
        conf_quote(sb, "shared_preload_libraries", c->preload);
        if (strstr(c->preload, "pg_cron")) {
            conf_quote(sb, "cron.database_name", c->database);
            conf_quote(sb, "cron.host", c->sock_dir);
        }
    }
    if (!c->fsync)
        strbuf_addstr(sb, "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
}

/* Append the include line to postgresql.conf when it is not there yet. */
static int ensure_include(struct cluster *c)
{
    char *conf = path_join(c->data_dir, "postgresql.conf");
    struct strbuf sb = STRBUF_INIT;
    int ret = 0;
    if (strbuf_read_file(&sb, conf) < 0 && errno != ENOENT) {
        ret = error_errno("cannot read '%s'", conf);
    } else if (!strstr(sb.buf, INCLUDE_LINE)) {
        if (sb.len && sb.buf[sb.len - 1] != '\n')
            strbuf_addch(&sb, '\n');
        strbuf_addstr(&sb, "\n# dbtool: runtime settings (port, socket, logging, preload)\n" INCLUDE_LINE "\n");
        if (write_file_atomic(conf, sb.buf, sb.len, 0600) < 0 || own(c, conf) < 0)
            ret = error_errno("cannot write '%s'", conf);
    }
    strbuf_release(&sb);
    free(conf);
    return ret;
}

static int write_runtime_conf(struct cluster *c)
{
    if (cfg_get(CFG_PG_LOG_PATH) && make_dir(c, c->log_dir, 0700) < 0)
        return -1;
    struct strbuf sb = STRBUF_INIT;
    runtime_conf(c, &sb);
    char *path = path_join(c->data_dir, RUNTIME_CONF);
    int ret = 0;
    if (write_file_atomic(path, sb.buf, sb.len, 0600) < 0)
        ret = error_errno("cannot write '%s'", path);
    else
        ret = own(c, path);
    free(path);
    strbuf_release(&sb);
    return ret ? -1 : ensure_include(c);
}

static bool runtime_conf_matches(struct cluster *c)
{
    struct strbuf want = STRBUF_INIT, have = STRBUF_INIT;
    runtime_conf(c, &want);
    char *path = path_join(c->data_dir, RUNTIME_CONF);
    bool same = strbuf_read_file(&have, path) == 0 && !strcmp(want.buf, have.buf);
    free(path);
    strbuf_release(&want);
    strbuf_release(&have);
    return same;
}

/* Fresh data dir: postgresql.conf from PG_CONF_FILE (or initdb's) and our hba. */
static int write_fresh_conf(struct cluster *c)
{
    if (c->conf_file) {
        struct strbuf sb = STRBUF_INIT;
        if (strbuf_read_file(&sb, c->conf_file) < 0) {
            strbuf_release(&sb);
            return error_errno("PG_CONF_FILE not readable: %s", c->conf_file);
        }
        char *conf = path_join(c->data_dir, "postgresql.conf");
        int r = write_file_atomic(conf, sb.buf, sb.len, 0600);
        if (r < 0)
            error_errno("cannot write '%s'", conf);
        else
            r = own(c, conf);
        free(conf);
        strbuf_release(&sb);
        if (r < 0)
            return -1;
    }
    static const char hba[] =
        "# Written by dbtool postgres-init: a local development cluster, trust over the socket.\n"
        "local   all             all                                     trust\n"
        "local   replication     all                                     trust\n"
        "host    all             all             127.0.0.1/32            trust\n"
        "host    all             all             ::1/128                 trust\n"
        "host    replication     all             127.0.0.1/32            trust\n";
    char *path = path_join(c->data_dir, "pg_hba.conf");
    int r = write_file_atomic(path, hba, sizeof(hba) - 1, 0600);
    if (r < 0)
        error_errno("cannot write '%s'", path);
    else
        r = own(c, path);
    free(path);
    return r;
}

bool cluster_lib_installed(const struct cluster *c, const char *name)
{
    if (name[0] == '$' || strchr(name, '/'))
        return true; /* $libdir/x or a path: let the server judge */
    char *cands[2] = {xasprintf("%s/../lib/postgresql/%s.so", c->bindir, name),
                      xasprintf("%s/../lib/%s.so", c->bindir, name)};
    bool found = access(cands[0], F_OK) == 0 || access(cands[1], F_OK) == 0;
    free(cands[0]);
    free(cands[1]);
    if (found)
        return true;
    /*
     * Ask the server's own pg_config where its libraries are (Debian's
     * /usr/lib/postgresql/N/lib is found above already). Never the pg_config
     * on PATH: that is another installation, whose pg_cron this server
     * cannot load (the preflight would pass and the server die at start).
     */
    char *pgc = path_join(c->bindir, "pg_config");
    if (access(pgc, X_OK) == 0) {
        struct child ch = CHILD_INIT;
        struct strbuf out = STRBUF_INIT;
        strvec_pushl(&ch.args, pgc, "--pkglibdir", NULL);
        ch.err = SPAWN_DEVNULL;
        if (spawn_capture(&ch, &out) == 0) {
            strbuf_trim_trailing(&out);
            char *p = xasprintf("%s/%s.so", out.buf, name);
            found = access(p, F_OK) == 0;
            free(p);
        }
        strbuf_release(&out);
        child_clear(&ch);
    }
    free(pgc);
    return found;
}

int cluster_check_preload(struct cluster *c)
{
    if (c->conf_file || !*c->preload)
        return 0;
    char *list = xstrdup(c->preload);
    int ret = 0;
    char *save = NULL;
    for (char *tok = strtok_r(list, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (!cluster_lib_installed(c, tok)) {
            error("shared preload library '%s' is not installed for the server in %s: install it "
                  "(e.g. Debian's postgresql-<version>-cron for pg_cron) or set "
                  "PG_SHARED_PRELOAD_LIBRARIES='' to disable preloading",
                  tok, c->bindir);
            ret = -1;
        }
    }
    free(list);
    return ret;
}

/* ---- template cache ---- */

char *cluster_cache_root(void)
{
    const char *x = env_nonempty("DBTOOL_CACHE_DIR");
    if (x)
        return xstrdup(x);
    x = env_nonempty("XDG_CACHE_HOME");
    if (x)
        return path_join(x, "dbtool");
    const char *home = env_nonempty("HOME");
    if (!home) {
        struct passwd *pw = getpwuid(getuid());
        home = pw ? pw->pw_dir : NULL;
    }
    if (!home)
        return NULL;
    return xasprintf("%s/.cache/dbtool", home);
}

static void initdb_args(struct cluster *c, struct strvec *args, const char *initdb, const char *dir)
{
    /* 1 MB WAL segments: pg_wal is a third of a fresh data dir with the default 16 MB,
     * and every fresh init copies it */
    strvec_pushl(args, initdb, "-D", dir, "-U", c->user, "-A", "trust", "-E", "UTF8",
                 "--no-locale", "-N", "--wal-segsize=1", NULL);
}

/*
 * Key: server binary identity + initdb options + database name. *MATERIAL
 * (may be NULL) gets the text it hashes, kept beside the template as
 * KEY.key so a later prune can tell the binary is gone.
 */
static char *template_key(struct cluster *c, char **material)
{
    char *pg = path_join(c->bindir, "postgres");
    char *real = realpath(pg, NULL);
    struct stat st;
    uint64_t h = FNV_INIT;
    struct strbuf k = STRBUF_INIT;
    strbuf_addf(&k, "fmt=%s\n", TEMPLATE_FORMAT);
    if (real && stat(real, &st) == 0)
        strbuf_addf(&k, "bin=%s\nsize=%lld\nmtime=%lld.%09ld\nino=%llu\n", real,
                    (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                    (unsigned long long)st.st_ino);
    struct strvec a = STRVEC_INIT;
    initdb_args(c, &a, "initdb", "D");
    for (size_t i = 0; i < a.nr; i++)
        strbuf_addf(&k, "%s ", a.v[i]);
    strvec_clear(&a);
    strbuf_addf(&k, "\ndb=%s\nuid=%d\n", c->database, (int)c->uid);
    h = fnv1a(h, k.buf, k.len);
    trace(NS, "template key material:\n%s", k.buf);
    if (material)
        *material = strbuf_detach(&k, NULL);
    strbuf_release(&k);
    free(real);
    free(pg);
    return xasprintf("pg-%016llx", (unsigned long long)h);
}

/* Run CH as the server user with output to LOG (NULL: discarded). */
static int run_logged(struct cluster *c, struct child *ch, const char *what, const char *log)
{
    as_server(c, ch);
    if (log)
        ch->out_path = log;
    else
        ch->out = ch->err = SPAWN_DEVNULL;
    ch->in = SPAWN_DEVNULL;
    int st = spawn_run(ch);
    if (st == -1)
        return errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
    if (st != 0) {
        error("%s failed (exit %d)", what, st);
        if (log)
            show_tail(log, 15);
        return EXIT_ERR;
    }
    return 0;
}

int cluster_single_user(struct cluster *c, const char *dir, const char *db, const char *sql,
                        const char *log)
{
    struct child ch = CHILD_INIT;
    char *postgres = path_join(c->bindir, "postgres");
    strvec_pushl(&ch.args, postgres, "--single", "-D", dir, "-F", "-c", "exit_on_error=true",
                 "-c", "shared_preload_libraries=", "-c", "logging_collector=off", db, NULL);
    free(postgres);
    strvec_pushl(&ch.env, "PGDATA", "PGPORT", "PGHOST", "PGOPTIONS", NULL);
    as_server(c, &ch);
    if (log)
        ch.out_path = log;
    else
        ch.out = ch.err = SPAWN_DEVNULL;
    int st = spawn_feed(&ch, sql, strlen(sql));
    child_clear(&ch);
    return st;
}

/* Create the database inside the stopped data dir DIR with single-user mode. */
static int single_user_createdb(struct cluster *c, const char *dir, const char *log)
{
    char *ident = pg_quote_ident(c->database);
    struct strbuf sql = STRBUF_INIT;
    if (strcmp(c->database, "postgres") && strcmp(c->database, "template1") &&
        strcmp(c->database, "template0"))
        strbuf_addf(&sql, "CREATE DATABASE %s;\n", ident);
    free(ident);
    int st = cluster_single_user(c, dir, "postgres", sql.buf, log);
    strbuf_release(&sql);
    if (st < 0)
        return errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
    if (st != 0) {
        error("creating database '%s' in single-user mode failed (exit %d)", c->database, st);
        if (log)
            show_tail(log, 15);
        return EXIT_ERR;
    }
    return 0;
}

/* Remove files a template must not carry (runtime leftovers). */
static void scrub_data_dir(const char *dir)
{
    static const char *const junk[] = {"postmaster.opts", "postmaster.pid", "log", RUNTIME_CONF};
    for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
        char *p = path_join(dir, junk[i]);
        rm_rf(p);
        free(p);
    }
}

/* initdb + the database into DIR (which must not exist). */
static int build_data_dir(struct cluster *c, const char *dir, const char *log)
{
    struct child ch = CHILD_INIT;
    char *initdb = path_join(c->bindir, "initdb");
    /* no --no-instructions: PostgreSQL 13's initdb rejects it, and the
     * "Success. You can now start..." text only reaches LOG */
    initdb_args(c, &ch.args, initdb, dir);
    free(initdb);
    int r = run_logged(c, &ch, "initdb", log);
    child_clear(&ch);
    if (!r)
        r = single_user_createdb(c, dir, log);
    if (!r)
        scrub_data_dir(dir);
    return r;
}

/*
 * The template cache. ROOT/KEY is an initdb'd data dir (database created,
 * never started), written once by an atomic rename and never modified.
 * ROOT/spare-KEY-* are ready copies of it: a fresh init renames one into
 * place (atomic: two inits can never claim the same spare), so the 1000+
 * files of a data dir are created off the critical path, by a detached
 * background job that also builds a missing template and deletes the
 * replaced data dir. DBTOOL_SYNC_CACHE=1 runs that job in the foreground.
 */
struct cache {
    char *root;
    char *key;
    char *tpl;      /* root/key */
    char *material; /* what the key hashes (root/key.key) */
    bool same_fs;   /* root and the working dir share a filesystem (spares usable) */
};

static void cache_release(struct cache *k)
{
    free(k->root);
    free(k->key);
    free(k->tpl);
    free(k->material);
}

/*
 * ROOT/KEY.key: the key material, written when the template is stored (or
 * first used, for caches older than the file); its mtime is the last use.
 */
static void cache_mark_used(struct cache *k)
{
    char *side = xasprintf("%s.key", k->tpl);
    if (utimensat(AT_FDCWD, side, NULL, 0) < 0 && errno == ENOENT && k->material)
        write_file_atomic(side, k->material, strlen(k->material), 0600);
    free(side);
}

static int cache_open(struct cluster *c, struct cache *k)
{
    memset(k, 0, sizeof(*k));
    k->root = cluster_cache_root();
    if (!k->root)
        return -1;
    if (mkdir_p(k->root, 0700) < 0) {
        debug(NS, "template cache %s not usable: %s", k->root, strerror(errno));
        free(k->root);
        k->root = NULL;
        return -1;
    }
    k->key = template_key(c, &k->material);
    k->tpl = path_join(k->root, k->key);
    struct stat a, b;
    k->same_fs = stat(k->root, &a) == 0 && stat(c->working_dir, &b) == 0 && a.st_dev == b.st_dev;
    return 0;
}

/* Rename a spare of K into DST. 0 when claimed. */
static int spare_claim(struct cache *k, const char *dst)
{
    if (!k->same_fs)
        return -1;
    DIR *d = opendir(k->root);
    if (!d)
        return -1;
    char *prefix = xasprintf("spare-%s-", k->key);
    int ret = -1;
    struct dirent *de;
    while (ret && (de = readdir(d))) {
        if (!starts_with(de->d_name, prefix))
            continue;
        char *src = path_join(k->root, de->d_name);
        if (rename(src, dst) == 0)
            ret = 0;
        free(src);
    }
    closedir(d);
    free(prefix);
    return ret;
}

static int count_spares(struct cache *k)
{
    DIR *d = opendir(k->root);
    if (!d)
        return 0;
    char *prefix = xasprintf("spare-%s-", k->key);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += starts_with(de->d_name, prefix);
    closedir(d);
    free(prefix);
    return n;
}

/* Background job: delete TRASH, build a missing template, refill a spare. */
struct bgjob {
    struct cluster *c;
    struct cache *k;
    char *trash;
};

/* Take ROOT/.NAME-KEY.lock without waiting; the fd, or -1 when another job holds it. */
static int try_lock(struct cache *k, const char *name)
{
    char *path = xasprintf("%s/.%s-%s.lock", k->root, name, k->key);
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

#define CACHE_UNUSED_DAYS 30
#define CACHE_UNUSED_TEXT "30 days"

/* Does MATERIAL (a KEY.key) name a server binary that is still the same file? */
static bool material_current(const char *material)
{
    const char *b = strstr(material, "\nbin=");
    if (!b)
        return true; /* no binary recorded: only age tells */
    b += 5;
    char *bin = xstrndup(b, strchrnul(b, '\n') - b);
    struct stat st;
    bool same = false;
    if (stat(bin, &st) == 0) {
        char *want = xasprintf("bin=%s\nsize=%lld\nmtime=%lld.%09ld\nino=%llu\n", bin,
                               (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                               st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
        same = strstr(material, want) != NULL;
        free(want);
    }
    free(bin);
    return same;
}

/* Move ROOT/NAME out of reach (one rename, as a claim is) and delete it. */
static void cache_delete(const char *root, const char *name)
{
    char *src = path_join(root, name);
    char *dst = xasprintf("%s/tmp-prune-%d-%s", root, (int)getpid(), name);
    if (rename(src, dst) == 0)
        rm_rf(dst);
    free(src);
    free(dst);
}

/*
 * At most once a day: delete the templates (with their spares) that can never
 * be used again, because the server binary of their key is gone or changed
 * (a package upgrade, a Nix garbage collection), or that nobody used for
 * CACHE_UNUSED_DAYS days, and copies left by killed jobs. KEEP is in use now.
 */
static void cache_prune(struct cache *keep)
{
    const char *root = keep->root;
    char *stamp = path_join(root, ".pruned");
    time_t now = time(NULL);
    struct stat st;
    bool due = stat(stamp, &st) < 0 || now - st.st_mtime >= 86400 || now < st.st_mtime;
    if (due && write_file_atomic(stamp, "", 0, 0600) < 0)
        due = false;
    free(stamp);
    if (!due)
        return;
    DIR *d = opendir(root);
    if (!d)
        return;
    struct strvec stale = STRVEC_INIT, junk = STRVEC_INIT;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        char *path = path_join(root, n);
        if (starts_with(n, "tmp-")) {
            /* a copy a killed job left: nobody writes one for an hour */
            if (lstat(path, &st) == 0 && now - st.st_mtime > 3600)
                strvec_push(&junk, n);
        } else if (starts_with(n, "pg-") && !strchr(n, '.') && strcmp(n, keep->key) &&
                   lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *side = xasprintf("%s.key", path);
            struct strbuf m = STRBUF_INIT;
            struct stat ss;
            const char *why = NULL;
            if (strbuf_read_file(&m, side) == 0 && stat(side, &ss) == 0) {
                if (!material_current(m.buf))
                    why = "its server binary is gone or changed";
                else if (now - ss.st_mtime > CACHE_UNUSED_DAYS * 86400)
                    why = "unused for " CACHE_UNUSED_TEXT;
            } else if (now - st.st_mtime > CACHE_UNUSED_DAYS * 86400) {
                why = "unused for " CACHE_UNUSED_TEXT " (no use recorded)";
            }
            if (why) {
                debug(NS, "pruning template %s: %s", n, why);
                strvec_push(&stale, n);
            }
            strbuf_release(&m);
            free(side);
        }
        free(path);
    }
    closedir(d);
    for (size_t i = 0; i < junk.nr; i++) {
        char *p = path_join(root, junk.v[i]);
        rm_rf(p);
        free(p);
    }
    for (size_t i = 0; i < stale.nr; i++) {
        const char *key = stale.v[i];
        char *lp = xasprintf("%s/.build-%s.lock", root, key);
        int fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
            char *prefix = xasprintf("spare-%s-", key);
            if ((d = opendir(root))) {
                struct strvec spares = STRVEC_INIT;
                while ((de = readdir(d)))
                    if (starts_with(de->d_name, prefix))
                        strvec_push(&spares, de->d_name);
                closedir(d);
                for (size_t j = 0; j < spares.nr; j++)
                    cache_delete(root, spares.v[j]);
                strvec_clear(&spares);
            }
            free(prefix);
            cache_delete(root, key);
            char *side = xasprintf("%s/%s.key", root, key);
            char *rl = xasprintf("%s/.refill-%s.lock", root, key);
            unlink(side);
            unlink(rl);
            unlink(lp);
            free(side);
            free(rl);
        }
        if (fd >= 0)
            close(fd);
        free(lp);
    }
    strvec_clear(&stale);
    strvec_clear(&junk);
}

static void bg_work(struct bgjob *j)
{
    struct cluster *c = j->c;
    struct cache *k = j->k;
    if (j->trash)
        rm_rf(j->trash);
    if (!k->root)
        return;
    int lk = -1;
    bool built = false;
    if (!is_dir(k->tpl) && (lk = try_lock(k, "build")) >= 0) {
        built = true;
        /* built in the working dir: the server user can always reach it (root's cache it may not) */
        char *tmp = xasprintf("%s/.template-%d", c->working_dir, (int)getpid());
        rm_rf(tmp);
        /* initdb would recreate a working dir removed meanwhile (it mkdir -p's) */
        if (is_dir(c->working_dir) && build_data_dir(c, tmp, NULL) == 0) {
            if (rename(tmp, k->tpl) < 0 && errno == EXDEV) {
                char *t2 = xasprintf("%s/tmp-%d", k->root, (int)getpid());
                if (copy_tree(tmp, t2, 0, 0, false) == 0 && rename(t2, k->tpl) == 0)
                    debug(NS, "stored template %s", k->tpl);
                rm_rf(t2);
                free(t2);
            } else if (is_dir(k->tpl)) {
                debug(NS, "stored template %s", k->tpl);
            }
            cache_mark_used(k);
        }
        rm_rf(tmp);
        free(tmp);
    }
    if (lk >= 0)
        close(lk);
    lk = -1;
    if (c->throwaway && !built && k->same_fs) {
        /*
         * A throwaway cluster's refill waits for its removal: copying 1300
         * files beside its hydrate (or a backup's extraction) slows both on
         * a disk. Removal leaves this job running (bg_leave_to_cache).
         */
        double deadline = now_monotonic() + 600;
        while (is_dir(c->working_dir) && now_monotonic() < deadline && !interrupted)
            sleep_seconds(0.05);
    }
    if (k->same_fs && is_dir(k->tpl) && count_spares(k) < 1 && (lk = try_lock(k, "refill")) >= 0 &&
        count_spares(k) < 1) {
        char *tmp = xasprintf("%s/tmp-spare-%d", k->root, (int)getpid());
        char *dst = xasprintf("%s/spare-%s-%d-%ld", k->root, k->key, (int)getpid(), (long)time(NULL));
        rm_rf(tmp);
        if (copy_tree(k->tpl, tmp, c->uid, c->gid, geteuid() == 0) == 0 && rename(tmp, dst) == 0)
            debug(NS, "refilled spare %s", dst);
        rm_rf(tmp);
        free(tmp);
        free(dst);
    }
    if (lk >= 0)
        close(lk);
    cache_prune(k);
}

/* The pid file of the working dir's background job (so cleanup can stop it). */
static char *bg_pidfile(struct cluster *c)
{
    return path_join(c->working_dir, ".dbtool-bg.pid");
}

/*
 * Run J detached: double fork, new session, no descriptor of ours or of the
 * caller (a CI job or $(...) must return), low priority. The job leaves its
 * pid in the working dir and removes it when done.
 */
static void bg_start(struct bgjob *j)
{
    if (env_nonempty("DBTOOL_SYNC_CACHE")) {
        bg_work(j);
        return;
    }
    fflush(stdout);
    fflush(stderr);
    /* the job waits on GO until its pidfile exists, so bg_stop() can always find it */
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0) {
        bg_work(j);
        return;
    }
    pid_t p = fork();
    if (p < 0) {
        close(go[0]);
        close(go[1]);
        bg_work(j);
        return;
    }
    if (p == 0) {
        setsid();
        pid_t q = fork();
        if (q > 0) {
            /* intermediate child: record the job before our parent returns */
            char *pf = bg_pidfile(j->c);
            char buf[32];
            int n = snprintf(buf, sizeof(buf), "%d\n", (int)q);
            write_file_atomic(pf, buf, (size_t)n, 0600);
            free(pf);
            close(go[1]); /* releases the job */
            _exit(0);
        }
        if (q < 0)
            _exit(1);
        /* the job: its own process group, so bg_stop() reaches initdb and postgres too;
         * bg_stop()'s SIGTERM ends it (our handlers only set a flag) */
        setpgid(0, 0);
        signal(SIGTERM, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        close(go[1]);
        char c;
        while (read(go[0], &c, 1) < 0 && errno == EINTR)
            ;
        close(go[0]);
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        close_fds_from(3);
        if (nice(10) < 0) {
        }
        /* the working dir may be gone already (removed right after we started) */
        if (is_dir(j->c->working_dir))
            bg_work(j);
        char *pf = bg_pidfile(j->c);
        unlink(pf);
        free(pf);
        _exit(0); /* never the parent's cleanup stack */
    }
    close(go[0]);
    close(go[1]);
    int st;
    waitpid(p, &st, 0);
}

/* Stop a background job of C's working dir (before removing it). */
/* The pid in the working dir's job pidfile (> 1), or 0. */
static pid_t bg_job_pid(struct cluster *c)
{
    char *pf = bg_pidfile(c);
    struct strbuf sb = STRBUF_INIT;
    pid_t pid = strbuf_read_file(&sb, pf) == 0 ? (pid_t)atol(sb.buf) : 0;
    strbuf_release(&sb);
    free(pf);
    return pid > 1 ? pid : 0;
}

/* Wait up to TIMEOUT s (or an interruption, when STOP_ON_SIGNAL) for PID to end; true when it did. */
static bool bg_wait(pid_t pid, double timeout, bool stop_on_signal)
{
    /* zombie-aware: an exited job may stay a zombie where PID 1 does not reap */
    double deadline = now_monotonic() + timeout;
    while (pid_alive(pid) && now_monotonic() < deadline && !(stop_on_signal && interrupted))
        sleep_seconds(0.01);
    return !pid_alive(pid);
}

static void bg_stop(struct cluster *c)
{
    pid_t pid = bg_job_pid(c);
    if (pid && kill(-pid, SIGTERM) == 0) {
        bg_wait(pid, 10, false);
        /* its children (initdb, a single-user postgres) got the signal too */
        sleep_seconds(0.02);
    }
    char *pf = bg_pidfile(c);
    unlink(pf);
    free(pf);
}

/*
 * A throwaway cluster made on a cold cache started a job that builds the
 * template in its working dir; killing it on removal would leave the cache
 * cold for ever when a project only ever runs check or diff (a CI cache
 * that never warms). So when the template is still missing, let the job
 * finish first (it started with the cluster, so it is usually done). Once
 * the template exists the job only refills the spare and prunes, both in
 * the cache root: it may outlive the working dir, so the next throwaway
 * cluster on the same filesystem finds a spare instead of copying. True
 * when the job can be left running (or is gone).
 */
static bool bg_leave_to_cache(struct cluster *c)
{
    struct cache k;
    if (cache_open(c, &k) < 0)
        return false;
    pid_t pid = is_dir(k.tpl) ? 0 : bg_job_pid(c);
    bool left = true;
    if (pid && pid_alive(pid)) {
        double t0 = now_monotonic();
        debug(NS, "waiting for the background job (pid %d) to store the template", (int)pid);
        /* to the end: its temporary copy lives in the working dir we remove next */
        left = bg_wait(pid, 60, true);
        debug(NS, "waited %.0f ms", (now_monotonic() - t0) * 1000);
    }
    left = left && is_dir(k.tpl);
    cache_release(&k);
    return left;
}

/*
 * Make c->data_dir (absent) a fresh data dir with the database: a spare
 * renamed into place, else a copy of the template, else initdb. Then start
 * the background job (TRASH: the replaced data dir to delete, or NULL).
 */
static int fresh_data_dir(struct cluster *c, char *trash)
{
    struct cache k;
    bool have_cache = cache_open(c, &k) == 0;
    int r = 0;
    double t0 = now_monotonic();
    if (have_cache && spare_claim(&k, c->data_dir) == 0) {
        debug(NS, "claimed a spare copy of the template in %.1f ms", (now_monotonic() - t0) * 1000);
        cache_mark_used(&k);
    } else if (have_cache && is_dir(k.tpl) &&
               copy_tree(k.tpl, c->data_dir, c->uid, c->gid, geteuid() == 0) == 0) {
        debug(NS, "copied template %s in %.0f ms", k.tpl, (now_monotonic() - t0) * 1000);
        cache_mark_used(&k);
    } else if (errno == ENOSPC || errno == EDQUOT) {
        /* initdb would need the same space: say so instead of trying */
        int e = errno;
        rm_rf(c->data_dir);
        errno = e;
        error_errno("not enough space in %s for a data dir (about 40 MB)", c->working_dir);
        r = EXIT_ERR;
    } else {
        rm_rf(c->data_dir);
        info("initialising a new cluster in %s (initdb; later inits reuse a cached template)",
             c->data_dir);
        r = build_data_dir(c, c->data_dir, c->startup_log);
    }
    if (!r && (trash || have_cache)) {
        struct bgjob j = {c, &k, trash};
        if (!have_cache)
            k.root = NULL;
        bg_start(&j);
    }
    if (have_cache)
        cache_release(&k);
    return r;
}

/* ---- start ---- */

/*
 * Wait until the postmaster PID of c->data_dir says "ready" in postmaster.pid.
 * OURS: PID is our child, so an early exit is seen with waitpid. 0 or an exit code.
 */
static int wait_ready(struct cluster *c, pid_t pid, bool ours, double t0)
{
    double timeout = 60;
    const char *t = env_nonempty("PG_START_TIMEOUT");
    if (t)
        timeout = atof(t);
    double deadline = t0 + timeout, nap = 0.001;
    for (;;) {
        int st;
        if (ours && waitpid(pid, &st, WNOHANG) == pid) {
            error("the server exited during startup (%s %d)",
                  WIFEXITED(st) ? "exit code" : "signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            show_tail(c->startup_log, 20);
            return EXIT_ERR;
        }
        if (!ours && !pid_alive(pid)) {
            error("the server (pid %d) exited while starting up", (int)pid);
            show_tail(c->startup_log, 20);
            return EXIT_ERR;
        }
        struct pidfile pf;
        if (pidfile_read(c->data_dir, &pf) > 0) {
            bool ready = pf.pid == pid && starts_with(pf.status, "ready");
            pidfile_clear(&pf);
            if (ready)
                return 0;
        }
        if (interrupted) {
            if (ours)
                kill(pid, SIGQUIT);
            error("interrupted while the server was starting");
            return EXIT_ERR;
        }
        if (now_monotonic() > deadline) {
            error("the server did not become ready within %.0f s (see %s)", timeout, c->startup_log);
            show_tail(c->startup_log, 20);
            return EXIT_ERR;
        }
        sleep_seconds(nap);
        if (nap < 0.005)
            nap *= 1.5;
        else if (now_monotonic() - t0 > 1 && nap < 0.05)
            nap *= 1.5; /* a long crash recovery: poll less often */
    }
}

static int start_server(struct cluster *c)
{
    char *postgres = path_join(c->bindir, "postgres");
    struct child ch = CHILD_INIT;
    strvec_pushl(&ch.args, postgres, "-D", c->data_dir, NULL);
    free(postgres);
    as_server(c, &ch);
    ch.daemon = true;
    ch.out_path = c->startup_log;
    ch.dir = c->data_dir;
    /* a caller's PGDATA/PGPORT must not redirect the server */
    strvec_pushl(&ch.env, "PGDATA", "PGPORT", "PGHOST", "PGOPTIONS", NULL);
    double t0 = now_monotonic();
    if (spawn_start(&ch) < 0) {
        child_clear(&ch);
        return errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
    }
    pid_t pid = ch.pid;
    child_clear(&ch);
    int r = wait_ready(c, pid, true, t0);
    if (r)
        return r;
    c->pid = pid;
    debug(NS, "server pid %d ready in %.0f ms", (int)pid, (now_monotonic() - t0) * 1000);
    return 0;
}

/*
 * A postmaster.pid whose postmaster is dead (or a zombie nobody reaps, which
 * PostgreSQL's own kill(pid, 0) check takes for alive): wait for backends it
 * left behind (processes whose cwd is the data dir) to exit, then remove the
 * stale file so the server can start. Never touches a live postmaster's file.
 */
static void clear_stale_pidfile(struct cluster *c)
{
    struct pidfile pf;
    if (pidfile_read(c->data_dir, &pf) <= 0)
        return;
    pid_t dead = pf.pid;
    pidfile_clear(&pf);
    if (pid_is_postmaster_of(dead, c->data_dir))
        return;
    char *real = realpath(c->data_dir, NULL);
    double deadline = now_monotonic() + 15;
    while (real && now_monotonic() < deadline) {
        bool orphans = false;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)) && !orphans) {
            pid_t p = (pid_t)atoi(de->d_name);
            if (p <= 1 || p == dead || !pid_alive(p))
                continue;
            char link[64], cwd[4096];
            snprintf(link, sizeof(link), "/proc/%d/cwd", (int)p);
            ssize_t n = readlink(link, cwd, sizeof(cwd) - 1);
            if (n > 0) {
                cwd[n] = 0;
                orphans = !strcmp(cwd, real);
            }
        }
        if (d)
            closedir(d);
        if (!orphans)
            break;
        debug(NS, "waiting for processes left by the dead server (pid %d) to exit", (int)dead);
        sleep_seconds(0.05);
    }
    free(real);
    char *path = path_join(c->data_dir, "postmaster.pid");
    if (unlink(path) == 0)
        info("removed the stale postmaster.pid of a server that is gone (pid %d)", (int)dead);
    free(path);
    /* its socket lock names the same dead pid: PostgreSQL would refuse it as well */
    char *lock = xasprintf("%s/.s.PGSQL.%d.lock", c->sock_dir, c->port);
    struct strbuf sb = STRBUF_INIT;
    if (strbuf_read_file(&sb, lock) == 0) {
        pid_t owner = (pid_t)atol(sb.buf);
        if (owner > 0 && !pid_alive(owner)) {
            char *sock = xasprintf("%s/.s.PGSQL.%d", c->sock_dir, c->port);
            unlink(lock);
            unlink(sock);
            free(sock);
        }
    }
    strbuf_release(&sb);
    free(lock);
}

/* Connect to the database; create it when missing. */
/* Errors a server gives while it starts up or recovers from a crash: worth retrying. */
static bool transient(const char *msg)
{
    return msg && (strstr(msg, "not yet accepting connections") || strstr(msg, "starting up") ||
                   strstr(msg, "in recovery mode") || strstr(msg, "shutting down") ||
                   strstr(msg, "No such file or directory"));
}

static int ensure_database(struct cluster *c)
{
    char *msg = NULL;
    PGconn *conn = pg_connect_quiet(c->url, &msg);
    double deadline = now_monotonic() + 60;
    while (!conn && transient(msg) && now_monotonic() < deadline && !interrupted) {
        debug(NS, "server not accepting connections yet (%s); retrying", msg);
        free(msg);
        msg = NULL;
        sleep_seconds(0.05);
        conn = pg_connect_quiet(c->url, &msg);
    }
    if (conn) {
        PQfinish(conn);
        free(msg);
        return 0;
    }
    bool missing = msg && strstr(msg, "does not exist");
    if (!missing) {
        error("cannot connect to the new cluster: %s", msg ? msg : "unknown error");
        free(msg);
        return EXIT_ERR;
    }
    free(msg);
    char *admin = pg_build_url(c->user, "postgres", c->sock_dir, c->port);
    conn = pg_connect(admin);
    free(admin);
    if (!conn)
        return EXIT_ERR;
    char *ident = pg_quote_ident(c->database);
    char *sql = xasprintf("CREATE DATABASE %s", ident);
    info("creating database '%s'", c->database);
    int r = pg_exec(conn, sql);
    free(sql);
    free(ident);
    PQfinish(conn);
    return r ? EXIT_ERR : 0;
}

static int prepare_sock_dir(struct cluster *c)
{
    if (c->sock_private) {
        if (check_sock_dir_owner(c->sock_dir, c->uid) < 0)
            return -1;
        if (mkdir(c->sock_dir, 0700) < 0 && errno != EEXIST)
            return error_errno("cannot create socket dir '%s'", c->sock_dir);
        if (own(c, c->sock_dir) < 0)
            return -1;
        /* leave a pointer in the working dir so people can find it */
        char *note = path_join(c->working_dir, "sock");
        rm_rf(note);
        if (symlink(c->sock_dir, note) == 0 && c->switch_user)
            lchown(note, c->uid, c->gid);
        free(note);
        return 0;
    }
    return make_dir(c, c->sock_dir, 0700);
}

/* Refuse when another process listens on our socket path. */
static int check_socket_free(struct cluster *c)
{
    char *sock = xasprintf("%s/.s.PGSQL.%d", c->sock_dir, c->port);
    int ret = 0;
    if (socket_in_use(sock)) {
        struct strbuf lock = STRBUF_INIT;
        char *lockpath = xasprintf("%s.lock", sock);
        strbuf_read_file(&lock, lockpath);
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
 * The working dir's tablespaces/ (a restored backup's, see lib/backup.c)
 * belongs to the data dir being set aside: move it inside, so it goes (or is
 * kept) together with it.
 */
static void tablespaces_follow(struct cluster *c)
{
    char *ts = path_join(c->working_dir, "tablespaces");
    if (is_dir(ts)) {
        char *in = path_join(c->data_dir, "dbtool-old-tablespaces");
        if (rename(ts, in) < 0)
            warn("cannot move '%s' into the old data dir: %s", ts, strerror(errno));
        free(in);
    }
    free(ts);
}

static int fresh_init(struct cluster *c)
{
    char *sock = path_join(c->working_dir, "sock");
    char *trash = NULL;
    if (path_exists(c->data_dir)) {
        tablespaces_follow(c);
        /* deleting 1000+ files is slow: rename now, delete in the background */
        trash = xasprintf("%s/.old-data-%d-%ld", c->working_dir, (int)getpid(), (long)time(NULL));
        if (rename(c->data_dir, trash) < 0) {
            free(trash);
            trash = NULL;
            if (rm_rf(c->data_dir) < 0) {
                free(sock);
                return error_errno("cannot clear '%s'", c->data_dir), EXIT_ERR;
            }
        }
    }
    if (rm_rf(sock) < 0) {
        free(sock);
        free(trash);
        return error_errno("cannot clear '%s'", c->working_dir), EXIT_ERR;
    }
    free(sock);
    if (make_dir(c, c->working_dir, 0700) < 0) {
        free(trash);
        return EXIT_ERR;
    }
    if (c->switch_user) {
        const char *bad = untraversable_ancestor(c->working_dir, c->uid, c->gid);
        if (bad) {
            error("the server user '%s' cannot reach '%s' (a parent directory denies it): put "
                  "PG_WORKING_DIR where '%s' can traverse, or grant it (chmod o+x '%s')",
                  c->user, c->working_dir, c->user, bad);
            free(trash);
            return EXIT_ERR;
        }
    }
    if (prepare_sock_dir(c) < 0) {
        free(trash);
        return EXIT_ERR;
    }
    int r = fresh_data_dir(c, trash);
    free(trash);
    if (r)
        return r;
    if (write_fresh_conf(c) < 0)
        return EXIT_ERR;
    return 0;
}

/*
 * The server's major version ("15"), from `postgres -V`, cached in the
 * template cache under the binary's identity so the reuse path spawns
 * nothing. NULL when it cannot be told.
 */
char *cluster_server_major(struct cluster *c)
{
    struct cache k;
    char *cached = NULL;
    if (cache_open(c, &k) == 0) {
        char *path = xasprintf("%s/version-%s", k.root, k.key);
        struct strbuf sb = STRBUF_INIT;
        if (strbuf_read_file(&sb, path) == 0 && sb.len) {
            strbuf_trim_trailing(&sb);
            cached = strbuf_detach(&sb, NULL);
        }
        strbuf_release(&sb);
        if (!cached) {
            struct child ch = CHILD_INIT;
            struct strbuf out = STRBUF_INIT;
            strvec_pushf(&ch.args, "%s/postgres", c->bindir);
            strvec_push(&ch.args, "-V");
            ch.err = SPAWN_DEVNULL;
            if (spawn_capture(&ch, &out) == 0) {
                /* "postgres (PostgreSQL) 15.18 (Debian ...)" -> "15" */
                const char *p = strstr(out.buf, ") ");
                if (p) {
                    p += 2;
                    size_t n = strspn(p, "0123456789");
                    if (n) {
                        cached = xstrndup(p, n);
                        write_file_atomic(path, cached, strlen(cached), 0644);
                    }
                }
            }
            strbuf_release(&out);
            child_clear(&ch);
        }
        free(path);
        cache_release(&k);
    }
    return cached;
}

/* Move a data dir that cannot start aside instead of deleting it. */
static void move_aside(struct cluster *c)
{
    char stamp[32];
    time_t t = time(NULL);
    strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", gmtime(&t));
    char *dst = xasprintf("%s.failed-%s", c->data_dir, stamp);
    tablespaces_follow(c);
    if (rename(c->data_dir, dst) == 0)
        warn("kept the old data dir as %s (remove it when you no longer need it)", dst);
    else
        rm_rf(c->data_dir);
    free(dst);
}

int cluster_init(struct cluster *c)
{
    double t0 = now_monotonic();
    int r;
    if (cluster_check_preload(c) < 0)
        return EXIT_ERR;

    char *pgver = path_join(c->data_dir, "PG_VERSION");
    bool have_data = access(pgver, F_OK) == 0;
    free(pgver);
    pid_t running = cluster_running_pid(c->data_dir);

    if (c->reuse && have_data && !running) {
        /* another major version cannot start here: say which, keep it aside, start fresh */
        char *path = path_join(c->data_dir, "PG_VERSION");
        struct strbuf ver = STRBUF_INIT;
        char *major = NULL;
        if (strbuf_read_file(&ver, path) == 0 && (strbuf_trim_trailing(&ver), ver.len) &&
            (major = cluster_server_major(c)) && strcmp(major, ver.buf)) {
            warn("the existing cluster in %s was initialised by PostgreSQL %s, and this server (%s) "
                 "is PostgreSQL %s: it cannot start here; re-initialising a fresh one",
                 c->data_dir, ver.buf, c->bindir, major);
            move_aside(c);
            have_data = false;
        }
        free(major);
        free(path);
        strbuf_release(&ver);
    }
    if (c->reuse && have_data) {
        if (running && runtime_conf_matches(c)) {
            c->reused = c->was_running = true;
            c->pid = running;
            debug(NS, "server pid %d already running with matching settings", (int)running);
            /* e.g. still in crash recovery after a PANIC: wait until it accepts connections */
            if ((r = wait_ready(c, running, false, now_monotonic())))
                return r;
            r = ensure_database(c);
            if (r)
                return r;
            goto done;
        }
        if (running && (r = stop_pid(running, c->data_dir, 30)))
            return r;
        if (!running)
            clear_stale_pidfile(c);
        if (prepare_sock_dir(c) < 0)
            return EXIT_ERR;
        if (check_socket_free(c) < 0)
            return EXIT_ERR;
        if (write_runtime_conf(c) < 0)
            return EXIT_ERR;
        if (c->switch_user)
            chown_tree(c->working_dir, c->uid, c->gid);
        r = start_server(c);
        if (r == 0) {
            c->reused = true;
            r = ensure_database(c);
            if (r)
                return r;
            goto done;
        }
        if (r == EXIT_NO_PROGRAM)
            return r;
        warn("the existing cluster in %s cannot start; re-initialising a fresh one", c->data_dir);
        move_aside(c);
    } else if (running) {
        if ((r = stop_pid(running, c->data_dir, 30)))
            return r;
    }
    /* before wiping sock/: never unlink a socket another server is listening on */
    if (check_socket_free(c) < 0)
        return EXIT_ERR;
    if ((r = fresh_init(c)))
        return r;
    if (write_runtime_conf(c) < 0)
        return EXIT_ERR;
    if ((r = start_server(c)))
        return r;
done:
    /* kept from the older shell tool: postgres-init is a pure provisioner unless asked */
    if (cfg_bool(CFG_PG_HECTIC_INHERITANCE)) {
        debug(NS, "PG_HECTIC_INHERITANCE=1: applying the inheritance part of the bundle");
        if (bundle_apply_inheritance_url(c->url) < 0)
            return EXIT_ERR;
    }
    info("cluster ready in %.2fs: %s%s%s", now_monotonic() - t0, c->url,
         c->was_running ? " (already running)" : c->reused ? " (reused)" : "",
         c->sock_private ? " (short socket dir: the working dir path is too long for a socket)" : "");
    return 0;
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

/* A cluster root holds only what postgres-init puts there. */
static bool looks_like_cluster_root(const char *dir, struct strbuf *why)
{
    DIR *d = opendir(dir);
    if (!d) {
        strbuf_addf(why, "cannot read it: %s", strerror(errno));
        return false;
    }
    bool ok = true;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "data") || !strcmp(n, "sock") ||
            !strcmp(n, "postgres.log") || starts_with(n, "data.failed-") ||
            starts_with(n, ".old-data-") || starts_with(n, ".template-") ||
            !strcmp(n, ".dbtool-bg.pid") || !strcmp(n, "tablespaces"))
            continue;
        strbuf_addf(why, "it contains '%s', which postgres-init does not create", n);
        ok = false;
        break;
    }
    closedir(d);
    return ok;
}

int cluster_remove(struct cluster *c)
{
    char *wd = realpath(c->working_dir, NULL);
    if (!wd) {
        if (errno == ENOENT) {
            info("%s does not exist: nothing to remove", c->working_dir);
            return 0;
        }
        error_errno("cannot resolve '%s'", c->working_dir);
        return EXIT_ERR;
    }
    const char *home = getenv("HOME");
    const char *local = cfg_get(CFG_LOCAL_DIR);
    char *rhome = home ? realpath(home, NULL) : NULL;
    char *rlocal = local ? realpath(local, NULL) : NULL;
    struct strbuf why = STRBUF_INIT;
    int ret = 0;
    if (!strcmp(wd, "/"))
        strbuf_addstr(&why, "it is the root directory");
    else if (rhome && !strcmp(wd, rhome))
        strbuf_addstr(&why, "it is $HOME");
    else if (rlocal && !strcmp(wd, rlocal))
        strbuf_addstr(&why, "it is $LOCAL_DIR itself");
    else
        looks_like_cluster_root(wd, &why);
    if (why.len) {
        error("refusing to remove PG_WORKING_DIR '%s': %s", wd, why.buf);
        ret = EXIT_ERR;
        goto out;
    }
    ret = cluster_stop(c, 30);
    if (ret)
        goto out;
    if (!c->throwaway || !bg_leave_to_cache(c))
        bg_stop(c);
    if (c->sock_private && c->sock_dir)
        rm_rf(c->sock_dir);
    if (rm_rf(wd) < 0) {
        error_errno("cannot remove '%s'", wd);
        ret = EXIT_ERR;
        goto out;
    }
    info("removed %s", wd);
out:
    strbuf_release(&why);
    free(wd);
    free(rhome);
    free(rlocal);
    return ret;
}

int cluster_remove_abandoned(const char *working_dir)
{
    struct cluster c;
    memset(&c, 0, sizeof(c));
    c.working_dir = (char *)working_dir;
    c.data_dir = path_join(working_dir, "data");
    int r = cluster_stop(&c, 10);
    free(c.data_dir);
    if (r)
        return r;
    bg_stop(&c);
    if (rm_rf(working_dir) < 0)
        return error_errno("cannot remove '%s'", working_dir), EXIT_ERR;
    return 0;
}

void cluster_remove_later(struct cluster *c, const char *path)
{
    struct cache k;
    memset(&k, 0, sizeof(k)); /* no cache work: only the deletion */
    struct bgjob j = {c, &k, (char *)path};
    bg_start(&j);
}
