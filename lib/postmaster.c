/*
 * postmaster.c — start, wait for, stop and recognise a postmaster (see
 * postmaster.h). Polls every few milliseconds where pg_ctl polls every
 * 100 ms: a fresh cluster is ready in ~50 ms.
 */
#include "lib/postmaster.h"
#include "lib/fs.h"
#include "lib/spawn.h"

#include <dirent.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS "cluster"

void pm_show_tail(const char *path, int n)
{
    struct strbuf sb = STRBUF_INIT;
    if (fs_read_regular(path, 16 << 20, &sb, NULL) < 0 || !sb.len) {
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
    char status[16];
};

/* Read data_dir/postmaster.pid. 1 when read, 0 when absent, -1 unreadable. */
static int pidfile_read(const char *data_dir, struct pidfile *pf)
{
    memset(pf, 0, sizeof(*pf));
    char *path = path_join(data_dir, "postmaster.pid");
    struct strbuf sb = STRBUF_INIT;
    int r = fs_read_regular(path, 64 << 10, &sb, NULL);
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
        if (i == 1)
            pf->pid = (pid_t)atol(line);
        else if (i == 8)
            snprintf(pf->status, sizeof(pf->status), "%s", line);
        line = nl ? nl + 1 : NULL;
    }
    strbuf_release(&sb);
    return pf->pid > 0 ? 1 : 0;
}

/*
 * A zombie is not alive: an orphaned postmaster that has exited stays a
 * zombie until PID 1 reaps it, and some container inits never do.
 */
bool pm_pid_alive(pid_t pid)
{
    if (pid <= 0 || (kill(pid, 0) < 0 && errno != EPERM))
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
    if (pid <= 0 || !pm_pid_alive(pid))
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

pid_t pm_running_pid(const char *data_dir)
{
    struct pidfile pf;
    if (pidfile_read(data_dir, &pf) <= 0)
        return 0;
    return pid_is_postmaster_of(pf.pid, data_dir) ? pf.pid : 0;
}

bool pm_ready(const char *data_dir)
{
    struct pidfile pf;
    return pidfile_read(data_dir, &pf) > 0 && starts_with(pf.status, "ready");
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
        if (w == pid || !pm_pid_alive(pid)) {
            gone = true;
            break;
        }
        if (access(pidpath, F_OK) < 0 && errno == ENOENT) {
            /* the postmaster removes its pidfile last; reap it if it is ours */
            double d2 = now_monotonic() + 1.0;
            while (now_monotonic() < d2) {
                if (waitpid(pid, &st, WNOHANG) == pid)
                    break; /* ours, reaped */
                if (!pm_pid_alive(pid))
                    break;
                sleep_seconds(0.0005);
            }
            gone = true;
            break;
        }
        if (now_monotonic() >= deadline)
            break;
        /* not sleep_seconds(): a stop must finish even after Ctrl-C */
        struct timespec ts = {0, (long)(nap * 1e9)};
        nanosleep(&ts, NULL);
        if (nap < 0.01)
            nap *= 2;
    }
    free(pidpath);
    return gone;
}

int pm_stop_pid(pid_t pid, const char *data_dir, double timeout)
{
    debug(NS, "stopping server pid %d (fast mode)", (int)pid);
    if (kill(pid, SIGINT) < 0 && errno != ESRCH)
        return error_errno("cannot signal the server (pid %d)", (int)pid);
    if (wait_gone(pid, data_dir, timeout))
        return 0;
    warn("server (pid %d) did not stop within %.0fs in fast mode; sending SIGQUIT", (int)pid, timeout);
    kill(pid, SIGQUIT);
    if (wait_gone(pid, data_dir, 10))
        return 0;
    return error("server (pid %d) of '%s' does not stop", (int)pid, data_dir);
}

int pm_stop(const char *data_dir, double timeout)
{
    struct pidfile pf;
    int r = pidfile_read(data_dir, &pf);
    if (r < 0)
        return error_errno("cannot read '%s/postmaster.pid'", data_dir);
    if (r == 0) {
        debug(NS, "no postmaster.pid in %s: nothing to stop", data_dir);
        return 0;
    }
    if (!pid_is_postmaster_of(pf.pid, data_dir)) {
        debug(NS, "postmaster.pid of %s names pid %d, which is not running: stale", data_dir,
              (int)pf.pid);
        return 0;
    }
    return pm_stop_pid(pf.pid, data_dir, timeout);
}

void pm_stop_begin(const char *data_dir)
{
    struct pidfile pf;
    if (pidfile_read(data_dir, &pf) <= 0)
        return;
    if (pid_is_postmaster_of(pf.pid, data_dir))
        kill(pf.pid, SIGINT);
}

bool pm_socket_in_use(const char *path)
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

/*
 * Wait until the postmaster PID of c->data_dir says "ready" in
 * postmaster.pid. OURS: PID is our child, so an early exit is seen with
 * waitpid; on a timeout or an interruption it is stopped before returning.
 */
static enum cl_status wait_ready(struct cluster *c, pid_t pid, bool ours, double t0)
{
    double timeout = c->start_timeout > 0 ? c->start_timeout : 60;
    double deadline = t0 + timeout, nap = 0.001;
    for (;;) {
        int st;
        if (ours && waitpid(pid, &st, WNOHANG) == pid) {
            error("the server exited during startup (%s %d)",
                  WIFEXITED(st) ? "exit code" : "signal",
                  WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
            pm_show_tail(c->startup_log, 20);
            return CL_CANNOT_START;
        }
        if (!ours && !pm_pid_alive(pid)) {
            error("the server (pid %d) exited while starting up", (int)pid);
            pm_show_tail(c->startup_log, 20);
            return CL_CANNOT_START;
        }
        struct pidfile pf;
        if (pidfile_read(c->data_dir, &pf) > 0 && pf.pid == pid && starts_with(pf.status, "ready"))
            return CL_OK;
        if (interrupted || now_monotonic() > deadline) {
            enum cl_status why = interrupted ? CL_INTERRUPTED : CL_TIMEOUT;
            if (why == CL_TIMEOUT) {
                error("the server did not become ready within %.0f s (PG_START_TIMEOUT; see %s)",
                      timeout, c->startup_log);
                pm_show_tail(c->startup_log, 20);
            } else {
                error("interrupted while the server was starting");
            }
            if (ours) {
                /* what we started, we stop: never a server left running on a half-made dir */
                if (pm_stop_pid(pid, c->data_dir, 10) < 0)
                    kill(pid, SIGKILL);
                waitpid(pid, &st, 0);
                info("stopped the server that was starting (pid %d)", (int)pid);
            }
            return why;
        }
        sleep_seconds(nap);
        if (nap < 0.005)
            nap *= 1.5;
        else if (now_monotonic() - t0 > 1 && nap < 0.05)
            nap *= 1.5; /* a long crash recovery: poll less often */
    }
}

enum cl_status pm_wait_running(struct cluster *c, pid_t pid)
{
    return wait_ready(c, pid, false, now_monotonic());
}

/* Run CH as the server user (when we are root). */
static void as_server(struct cluster *c, struct child *ch)
{
    if (c->switch_user) {
        ch->as_user = true;
        ch->uid = c->uid;
        ch->gid = c->gid;
    }
}

enum cl_status pm_start(struct cluster *c)
{
    if (interrupted)
        return CL_INTERRUPTED;
    char *postgres = pgbin_server(&c->bin, "postgres");
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
        return errno == ENOENT ? CL_NO_PROGRAM : CL_ERR;
    }
    pid_t pid = ch.pid;
    child_clear(&ch);
    enum cl_status r = wait_ready(c, pid, true, t0);
    if (r)
        return r;
    c->pid = pid;
    debug(NS, "server pid %d ready in %.0f ms", (int)pid, (now_monotonic() - t0) * 1000);
    return CL_OK;
}

void pm_clear_stale(struct cluster *c)
{
    struct pidfile pf;
    if (pidfile_read(c->data_dir, &pf) <= 0)
        return;
    pid_t dead = pf.pid;
    if (pid_is_postmaster_of(dead, c->data_dir))
        return;
    char *real = realpath(c->data_dir, NULL);
    double deadline = now_monotonic() + 15;
    while (real && now_monotonic() < deadline && !interrupted) {
        bool orphans = false;
        DIR *d = opendir("/proc");
        struct dirent *de;
        while (d && (de = readdir(d)) && !orphans) {
            pid_t p = (pid_t)atoi(de->d_name);
            if (p <= 1 || p == dead || !pm_pid_alive(p))
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
    if (fs_read_regular(lock, 4096, &sb, NULL) == 0) {
        pid_t owner = (pid_t)atol(sb.buf);
        if (owner > 0 && !pm_pid_alive(owner)) {
            char *sock = xasprintf("%s/.s.PGSQL.%d", c->sock_dir, c->port);
            unlink(lock);
            unlink(sock);
            free(sock);
        }
    }
    strbuf_release(&sb);
    free(lock);
}

int pm_single_user(struct cluster *c, const char *dir, const char *db, const char *sql,
                   const char *log)
{
    struct child ch = CHILD_INIT;
    char *postgres = pgbin_server(&c->bin, "postgres");
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
