/*
 * spawn.c — fork+exec with an error pipe (so a missing program is reported
 * by the parent with errno), privilege drop, daemon mode.
 */
#include "lib/spawn.h"
#include "lib/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

void sleep_seconds(double seconds)
{
    struct timespec ts;
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR && !interrupted)
        ;
}

void close_fds_from(int from)
{
#ifdef SYS_close_range
    if (syscall(SYS_close_range, (unsigned)from, ~0U, 0) == 0)
        return;
#endif
    DIR *d = opendir("/proc/self/fd");
    if (d) {
        int dfd = dirfd(d);
        struct dirent *de;
        int fds[1024];
        size_t n = 0;
        while ((de = readdir(d)) && n < ARRAY_SIZE(fds)) {
            int fd = atoi(de->d_name);
            if (fd >= from && fd != dfd)
                fds[n++] = fd;
        }
        closedir(d);
        for (size_t i = 0; i < n; i++)
            close(fds[i]);
        return;
    }
    long max = sysconf(_SC_OPEN_MAX);
    for (int fd = from; fd < (max > 0 ? max : 4096); fd++)
        close(fd);
}

char *find_in_path(const char *name)
{
    if (strchr(name, '/'))
        return access(name, X_OK) == 0 ? xstrdup(name) : NULL;
    const char *path = getenv("PATH");
    if (!path)
        path = "/usr/local/bin:/usr/bin:/bin";
    struct strbuf sb = STRBUF_INIT;
    while (*path) {
        const char *end = strchrnul(path, ':');
        strbuf_reset(&sb);
        if (end == path)
            strbuf_addch(&sb, '.');
        else
            strbuf_add(&sb, path, (size_t)(end - path));
        strbuf_addf(&sb, "/%s", name);
        struct stat st;
        if (stat(sb.buf, &st) == 0 && S_ISREG(st.st_mode) && access(sb.buf, X_OK) == 0)
            return strbuf_detach(&sb, NULL);
        path = *end ? end + 1 : end;
    }
    strbuf_release(&sb);
    return NULL;
}

/* Variables a child of ours may see (SPAWN_ENV_CLEAN); a trailing '*' is a prefix. */
static const char *const env_allowed[] = {
    "PATH", "HOME", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "LC_*", "TZ", "TMPDIR",
    "TERM", "COLUMNS", "LINES", "NO_COLOR", "LD_LIBRARY_PATH", "LD_PRELOAD", "NIX_*",
    "LOCPATH", "PGTZ", "PGDATESTYLE", "PGCLIENTENCODING", "PGSSLMODE", "PGSSLROOTCERT",
    "PGSSLCERT", "PGSSLKEY", "PGSSLCRL", "PGPASSFILE", "PGSERVICEFILE", "PGSYSCONFDIR",
    "PGCONNECT_TIMEOUT", "PGAPPNAME", "SSH_AUTH_SOCK", "SSH_AGENT_PID", "SSH_ASKPASS",
    "DISPLAY", "XDG_RUNTIME_DIR", "ASAN_OPTIONS", "UBSAN_OPTIONS", "LSAN_OPTIONS",
    NULL};
/* Variables no child ever sees: they hold (or may hold) passwords. */
static const char *const env_secret[] = {"DB_URL", "PGURL", "STAGING_DB_URL", "PGPASSWORD", NULL};

static bool env_in(const char *const *list, const char *name, size_t nl)
{
    for (size_t i = 0; list[i]; i++) {
        size_t ll = strlen(list[i]);
        if (list[i][ll - 1] == '*' ? nl >= ll - 1 && !strncmp(name, list[i], ll - 1)
                                   : nl == ll && !strncmp(name, list[i], ll))
            return true;
    }
    return false;
}

/* VALUE is a connection URL or conninfo with a password in it. */
static bool holds_password(const char *value)
{
    const char *p = strstr(value, "://");
    if (p && (starts_with(value, "postgres://") || starts_with(value, "postgresql://"))) {
        p += 3;
        const char *at = strchr(p, '@');
        if (at && memchr(p, ':', (size_t)(at - p)))
            return true; /* user:password@ */
    }
    return strstr(value, "password=") != NULL;
}

/* Build the child's environment: environ filtered by c->env_mode, with c->env applied. */
static char **build_env(const struct child *c, const struct passwd *pw)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = xcalloc(n + c->env.nr + 4, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const char *e = environ[i];
        size_t nl = strchrnul(e, '=') - e;
        bool drop = env_in(env_secret, e, nl) || (e[nl] == '=' && holds_password(e + nl + 1)) ||
                    (c->env_mode == SPAWN_ENV_CLEAN && !env_in(env_allowed, e, nl));
        for (size_t j = 0; j < c->env.nr && !drop; j++) {
            const char *s = c->env.v[j];
            size_t sl = strchrnul(s, '=') - s;
            drop = sl == nl && !strncmp(s, e, nl);
        }
        if (pw && ((nl == 4 && !strncmp(e, "HOME", 4)) || (nl == 4 && !strncmp(e, "USER", 4)) ||
                   (nl == 7 && !strncmp(e, "LOGNAME", 7))))
            drop = true;
        if (!drop)
            env[k++] = (char *)e;
    }
    for (size_t j = 0; j < c->env.nr; j++)
        if (strchr(c->env.v[j], '='))
            env[k++] = c->env.v[j];
    if (pw) {
        env[k++] = xasprintf("HOME=%s", pw->pw_dir);
        env[k++] = xasprintf("USER=%s", pw->pw_name);
        env[k++] = xasprintf("LOGNAME=%s", pw->pw_name);
    }
    env[k] = NULL;
    return env;
}

/* Free what build_env allocated: the array and, with PW, its last three entries. */
static void free_env(char **env, const struct passwd *pw)
{
    if (pw) {
        size_t k = 0;
        while (env[k])
            k++;
        for (size_t i = k - 3; i < k; i++)
            free(env[i]);
    }
    free(env);
}

static NORETURN void child_fail(int errpipe, int err)
{
    if (write(errpipe, &err, sizeof(err)) < 0) {
    }
    _exit(127);
}

static void child_dup(int errpipe, int fd, int target)
{
    if (fd == SPAWN_INHERIT)
        return;
    if (fd == SPAWN_DEVNULL) {
        fd = open("/dev/null", target == 0 ? O_RDONLY : O_WRONLY);
        if (fd < 0)
            child_fail(errpipe, errno);
    }
    if (fd == target) {
        int fl = fcntl(fd, F_GETFD);
        fcntl(fd, F_SETFD, fl & ~FD_CLOEXEC);
        return;
    }
    if (dup2(fd, target) < 0)
        child_fail(errpipe, errno);
}

int spawn_start(struct child *c)
{
    if (!c->args.nr)
        BUG("spawn without argv");
    char *prog = find_in_path(c->args.v[0]);
    if (!prog) {
        errno = ENOENT;
        return error("required program '%s' not found in PATH", c->args.v[0]);
    }
    struct passwd *pw = NULL;
    if (c->as_user) {
        pw = getpwuid(c->uid);
        if (!pw) {
            free(prog);
            return error("no passwd entry for uid %d", (int)c->uid);
        }
    }
    char **env = build_env(c, pw);
    int out_fd = -1;
    if (c->out_path) {
        /* as root, by the owner of its directory: never root writing through a planted link */
        out_fd = fs_open_write(c->out_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (out_fd < 0) {
            error_errno("cannot open log file '%s'", c->out_path);
            goto fail;
        }
    }
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        error_errno("pipe");
        goto fail;
    }
    /* init groups before fork: initgroups is not async-signal-safe */
    gid_t groups[1] = {c->gid};

    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        close(ep[0]);
        close(ep[1]);
        error_errno("fork");
        goto fail;
    }
    if (pid == 0) {
        close(ep[0]);
        /* restore default signal dispositions our handlers changed */
        signal(SIGPIPE, SIG_DFL);
        signal(SIGINT, SIG_DFL);
        signal(SIGTERM, SIG_DFL);
        signal(SIGHUP, SIG_DFL);
        if (c->daemon && setsid() < 0)
            child_fail(ep[1], errno);
        if (c->daemon) {
            child_dup(ep[1], c->in == SPAWN_INHERIT ? SPAWN_DEVNULL : c->in, 0);
            if (out_fd >= 0) {
                child_dup(ep[1], out_fd, 1);
                child_dup(ep[1], out_fd, 2);
            } else {
                child_dup(ep[1], c->out == SPAWN_INHERIT ? SPAWN_DEVNULL : c->out, 1);
                child_dup(ep[1], c->err == SPAWN_INHERIT ? SPAWN_DEVNULL : c->err, 2);
            }
        } else {
            child_dup(ep[1], c->in, 0);
            if (out_fd >= 0) {
                child_dup(ep[1], out_fd, 1);
                child_dup(ep[1], out_fd, 2);
            } else {
                child_dup(ep[1], c->out, 1);
                child_dup(ep[1], c->err, 2);
            }
        }
        /* nothing of ours or of our caller reaches the program, but the error pipe */
        if (ep[1] != 3) {
            if (dup2(ep[1], 3) < 0)
                child_fail(ep[1], errno);
            ep[1] = 3;
        }
        fcntl(3, F_SETFD, FD_CLOEXEC);
        close_fds_from(4);
        if (c->as_user) {
            if (setgroups(1, groups) < 0 || setgid(c->gid) < 0 || setuid(c->uid) < 0)
                child_fail(ep[1], errno);
        }
        if (c->dir && chdir(c->dir) < 0)
            child_fail(ep[1], errno);
        execve(prog, c->args.v, env);
        child_fail(ep[1], errno);
    }
    close(ep[1]);
    int err = 0;
    ssize_t r;
    do {
        r = read(ep[0], &err, sizeof(err));
    } while (r < 0 && errno == EINTR);
    close(ep[0]);
    if (out_fd >= 0)
        close(out_fd);
    if (r == sizeof(err)) {
        waitpid(pid, NULL, 0);
        errno = err;
        error_errno("cannot run '%s'", prog);
        free(prog);
        free_env(env, pw);
        return -1;
    }
    c->pid = pid;
    debug("spawn", "started %s (pid %d)", prog, (int)pid);
    free(prog);
    free_env(env, pw);
    return 0;
fail:
    if (out_fd >= 0)
        close(out_fd);
    free(prog);
    free_env(env, pw);
    return -1;
}

static int decode_status(int st)
{
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    if (WIFSIGNALED(st))
        return 128 + WTERMSIG(st);
    return 128;
}

int spawn_wait(struct child *c, double timeout)
{
    int st;
    if (timeout < 0) {
        for (;;) {
            pid_t r = waitpid(c->pid, &st, 0);
            if (r == c->pid)
                return decode_status(st);
            if (r < 0 && errno != EINTR)
                return error_errno("waitpid %d", (int)c->pid), 128;
            if (interrupted)
                kill(c->pid, interrupted);
        }
    }
    double deadline = now_monotonic() + timeout, nap = 0.001;
    for (;;) {
        pid_t r = waitpid(c->pid, &st, WNOHANG);
        if (r == c->pid)
            return decode_status(st);
        if (r < 0 && errno != EINTR)
            return error_errno("waitpid %d", (int)c->pid), 128;
        if (now_monotonic() >= deadline)
            return -1;
        sleep_seconds(nap);
        if (nap < 0.02)
            nap *= 2;
    }
}

int spawn_run(struct child *c)
{
    if (spawn_start(c) < 0)
        return -1;
    return spawn_wait(c, -1);
}

int spawn_capture(struct child *c, struct strbuf *out)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return error_errno("pipe");
    c->out = p[1];
    if (spawn_start(c) < 0) {
        close(p[0]);
        close(p[1]);
        return -1;
    }
    close(p[1]);
    c->out = SPAWN_INHERIT;
    strbuf_read_fd(out, p[0]);
    close(p[0]);
    return spawn_wait(c, -1);
}

int spawn_feed(struct child *c, const char *text, size_t len)
{
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return error_errno("pipe");
    c->in = p[0];
    if (spawn_start(c) < 0) {
        int e = errno;
        close(p[0]);
        close(p[1]);
        errno = e;
        return -1;
    }
    close(p[0]);
    /* SIGPIPE is ignored: a child that stops reading ends the loop with EPIPE */
    for (size_t off = 0; off < len;) {
        ssize_t w = write(p[1], text + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += (size_t)w;
    }
    close(p[1]);
    c->in = SPAWN_INHERIT;
    return spawn_wait(c, -1);
}

void child_clear(struct child *c)
{
    strvec_clear(&c->args);
    strvec_clear(&c->env);
}

