/*
 * tunnel.c — an ssh tunnel to a PostgreSQL server (see tunnel.h).
 */
#include "ops/tunnel.h"
#include "lib/fs.h"
#include "lib/pg.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS "tunnel"

/* The remote's default socket directory when the URL names no host (Debian's). */
#define REMOTE_SOCKET_DIR "/var/run/postgresql"

static void tunnel_handler(void *arg)
{
    struct tunnel *t = arg;
    t->cookie = -1;
    tunnel_close(t);
}

void tunnel_close(struct tunnel *t)
{
    if (t->cookie > 0) {
        cleanup_pop(t->cookie);
        t->cookie = -1;
    }
    if (t->running) {
        kill(t->ch.pid, SIGTERM);
        if (spawn_wait(&t->ch, 5) == -1) {
            kill(t->ch.pid, SIGKILL);
            spawn_wait(&t->ch, -1);
        }
        t->running = false;
        debug(NS, "ssh (pid %d) stopped", (int)t->ch.pid);
    }
    if (t->dir) {
        if (t->sock)
            unlink(t->sock);
        if (t->errpath)
            unlink(t->errpath);
        char *pid = path_join(t->dir, "ssh.pid"), *lock = path_join(t->dir, "lock");
        unlink(pid);
        unlink(lock);
        free(pid);
        free(lock);
        if (rmdir(t->dir) < 0 && errno != ENOENT)
            warn("cannot remove the tunnel directory '%s': %s", t->dir, strerror(errno));
    }
    if (t->lock_fd >= 0)
        close(t->lock_fd);
    child_clear(&t->ch);
    if (t->conninfo)
        explicit_bzero(t->conninfo, strlen(t->conninfo));
    free(t->conninfo);
    free(t->dir);
    free(t->sock);
    free(t->errpath);
    free(t->what);
    memset(t, 0, sizeof(*t));
    t->cookie = -1;
    t->lock_fd = -1;
}

static void add_kv(struct strbuf *sb, const char *key, const char *val)
{
    if (sb->len)
        strbuf_addch(sb, ' ');
    strbuf_addf(sb, "%s='", key);
    for (const char *v = val; *v; v++) {
        if (*v == '\\' || *v == '\'')
            strbuf_addch(sb, '\\');
        strbuf_addch(sb, *v);
    }
    strbuf_addch(sb, '\'');
}

/* The last lines of ssh's stderr (at most 3, joined by "; "), or "no message". */
static char *ssh_summary(const char *path)
{
    struct strbuf sb = STRBUF_INIT, out = STRBUF_INIT;
    const char *why = NULL;
    if (fs_read_regular(path, 1 << 20, &sb, &why) == 0) {
        struct strvec lines = STRVEC_INIT;
        char *save = NULL;
        for (char *l = strtok_r(sb.buf, "\r\n", &save); l; l = strtok_r(NULL, "\r\n", &save))
            if (*l)
                strvec_push(&lines, l);
        for (size_t i = lines.nr > 3 ? lines.nr - 3 : 0; i < lines.nr; i++) {
            if (out.len)
                strbuf_addstr(&out, "; ");
            strbuf_addstr(&out, lines.v[i]);
        }
        strvec_clear(&lines);
    }
    strbuf_release(&sb);
    if (!out.len)
        strbuf_addstr(&out, "no message");
    return strbuf_detach(&out, NULL);
}

static void split_words(struct strvec *sv, const char *s)
{
    char *copy = xstrdup(s ? s : ""), *save = NULL;
    for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
        strvec_push(sv, w);
    free(copy);
}

int tunnel_target(const char *url, const char *masked, char **remote, char **port, char **rest)
{
    *remote = *port = *rest = NULL;
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (!opts) {
        error("'%s' is not a valid connection string: %s", masked, err ? err : "?");
        PQfreemem(err);
        return -1;
    }
    const char *host = NULL, *hostaddr = NULL, *p = NULL;
    struct strbuf ci = STRBUF_INIT;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "hostaddr"))
            hostaddr = o->val;
        else if (!strcmp(o->keyword, "port"))
            p = o->val;
        else
            add_kv(&ci, o->keyword, o->val);
    }
    int r = 0;
    if ((host && strchr(host, ',')) || (hostaddr && strchr(hostaddr, ',')) || (p && strchr(p, ','))) {
        r = error("'%s' names several hosts: through ssh, give one", masked);
    } else if (p && (strspn(p, "0123456789") != strlen(p) || strlen(p) > 5 || atoi(p) < 1 || atoi(p) > 65535)) {
        r = error("'%s': the port '%s' is not a number from 1 to 65535", masked, p);
    } else {
        *port = xstrdup(p ? p : "5432");
        const char *h = hostaddr ? hostaddr : host;
        if (!h || !*h || h[0] == '/') {
            const char *dir = h && *h ? h : REMOTE_SOCKET_DIR;
            if (strpbrk(dir, ":[]"))
                r = error("'%s': a socket directory with ':', '[' or ']' cannot be forwarded by ssh", masked);
            else
                *remote = xasprintf("%s/.s.PGSQL.%s", dir, *port);
        } else if (h[0] == '@') {
            r = error("'%s': an abstract socket cannot be forwarded by ssh", masked);
        } else {
            *remote = strchr(h, ':') ? xasprintf("[%s]:%s", h, *port) : xasprintf("%s:%s", h, *port);
        }
    }
    PQconninfoFree(opts);
    if (r) {
        free(*port);
        *port = NULL;
        strbuf_release(&ci);
        return -1;
    }
    *rest = strbuf_detach(&ci, NULL);
    return 0;
}

/*
 * The tunnel BASE/NAME left by a dbtool that was killed (SIGKILL: no cleanup
 * ran): its lock is free while its ssh.pid exists (written only once the
 * lock is held). Its ssh is stopped (when /proc says that pid is still the
 * ssh of that directory) and the directory removed.
 */
static void sweep_one(const char *base, const char *name)
{
    char *dir = path_join(base, name);
    char *lock = path_join(dir, "lock"), *pidf = path_join(dir, "ssh.pid");
    struct stat st;
    int fd = -1;
    struct strbuf sb = STRBUF_INIT, cmd = STRBUF_INIT;
    const char *why = NULL;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid())
        goto out;
    if ((fd = open(lock, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) < 0 || flock(fd, LOCK_EX | LOCK_NB) < 0)
        goto out;
    if (fs_read_regular(pidf, 64, &sb, &why) < 0)
        goto out;
    int pid = atoi(sb.buf);
    char *proc = xasprintf("/proc/%d/cmdline", pid);
    if (pid > 1 && fs_read_regular(proc, 1 << 16, &cmd, &why) == 0) {
        for (size_t i = 0; i < cmd.len; i++)
            if (!cmd.buf[i])
                cmd.buf[i] = ' ';
        if (strstr(cmd.buf, dir) && kill(pid, SIGTERM) == 0)
            info("session: stopped the ssh tunnel (pid %d) a killed dbtool left", pid);
    }
    free(proc);
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
            char *f = path_join(dir, e->d_name);
            unlink(f);
            free(f);
        }
    }
    if (d)
        closedir(d);
    if (rmdir(dir) == 0)
        debug(NS, "removed the stale tunnel directory %s", dir);
out:
    if (fd >= 0)
        close(fd);
    strbuf_release(&sb);
    strbuf_release(&cmd);
    free(lock);
    free(pidf);
    free(dir);
}

static void sweep(const char *base)
{
    DIR *d = opendir(base);
    if (!d)
        return;
    struct strvec names = STRVEC_INIT;
    struct dirent *e;
    while ((e = readdir(d)))
        if (starts_with(e->d_name, "dbtool-tunnel-"))
            strvec_push(&names, e->d_name);
    closedir(d);
    for (size_t i = 0; i < names.nr; i++)
        sweep_one(base, names.v[i]);
    strvec_clear(&names);
}

/*
 * A private directory for the socket: mkdtemp under $TMPDIR (short, no ':'),
 * else /tmp, after sweeping the tunnels killed dbtools left there.
 */
static char *private_dir(void)
{
    const char *tmp = getenv("TMPDIR");
    /* sun_path holds 108 bytes: TMPDIR + "/dbtool-tunnel-XXXXXX/.s.PGSQL.65535" must fit */
    if (!tmp || tmp[0] != '/' || strlen(tmp) > 70 || strpbrk(tmp, ":[]"))
        tmp = "/tmp";
    sweep(tmp);
    char *templ = xasprintf("%s/dbtool-tunnel-XXXXXX", tmp);
    if (!mkdtemp(templ)) {
        error_errno("cannot create a directory in '%s'", tmp);
        free(templ);
        return NULL;
    }
    return templ;
}

int tunnel_open(struct tunnel *t, const char *host, const char *ssh_opts, const char *url)
{
    memset(t, 0, sizeof(*t));
    t->cookie = -1;
    t->lock_fd = -1;
    struct child init = CHILD_INIT;
    t->ch = init;
    char *masked = pg_mask_url(url);
    char *remote = NULL, *port = NULL, *rest = NULL, *ssh = NULL;
    int r = EXIT_ERR;
    int errfd = -1;
    for (const char *c = host; *c; c++) {
        if ((unsigned char)*c < 0x20 || *c == 0x7f) {
            error("the ssh host contains a control character");
            r = EXIT_UNKNOWN;
            goto out;
        }
    }
    if (!*host) {
        error("the ssh host is empty");
        r = EXIT_UNKNOWN;
        goto out;
    }
    t->what = xasprintf("%s via ssh %s", masked, host);
    if (tunnel_target(url, masked, &remote, &port, &rest) < 0)
        goto out;
    if (!(ssh = find_in_path("ssh"))) {
        error("required program 'ssh' not found in PATH");
        r = EXIT_NO_PROGRAM;
        goto out;
    }
    if (!(t->dir = private_dir()))
        goto out;
    t->cookie = cleanup_push(tunnel_handler, t);
    {
        char *lock = path_join(t->dir, "lock");
        t->lock_fd = open(lock, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
        if (t->lock_fd < 0 || flock(t->lock_fd, LOCK_EX | LOCK_NB) < 0) {
            error_errno("cannot lock '%s'", lock);
            free(lock);
            goto out;
        }
        free(lock);
    }
    t->sock = xasprintf("%s/.s.PGSQL.%s", t->dir, port);
    t->errpath = path_join(t->dir, "ssh.err");
    if ((errfd = open(t->errpath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600)) < 0) {
        error_errno("cannot create '%s'", t->errpath);
        goto out;
    }
    strvec_pushl(&t->ch.args, ssh, "-N", "-o", "ExitOnForwardFailure=yes", "-o", "BatchMode=yes", NULL);
    split_words(&t->ch.args, ssh_opts);
    strvec_push(&t->ch.args, "-L");
    strvec_pushf(&t->ch.args, "%s:%s", t->sock, remote);
    strvec_pushl(&t->ch.args, "--", host, NULL);
    t->ch.env_mode = SPAWN_ENV_CLEAN; /* the allow-list (HOME, USER, ssh's agent ...); no secret */
    t->ch.in = SPAWN_DEVNULL;
    t->ch.out = SPAWN_DEVNULL;
    t->ch.err = errfd;
    info("session: opening an ssh tunnel to %s (-L %s)", host, remote);
    if (spawn_start(&t->ch) < 0) {
        r = errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
        goto out;
    }
    t->running = true;
    close(errfd);
    errfd = -1;
    {
        /* now a sweeper may tell a killed dbtool's tunnel: the lock free, this pid */
        char *pidf = path_join(t->dir, "ssh.pid");
        char *pid = xasprintf("%d\n", (int)t->ch.pid);
        if (write_file_atomic(pidf, pid, strlen(pid), 0600) < 0)
            warn("cannot write '%s': %s", pidf, strerror(errno));
        free(pid);
        free(pidf);
    }
    double t0 = now_monotonic();
    for (;;) {
        struct stat st;
        if (stat(t->sock, &st) == 0 && S_ISSOCK(st.st_mode))
            break;
        int rc = spawn_wait(&t->ch, 0.02);
        if (rc != -1) {
            t->running = false;
            char *why = ssh_summary(t->errpath);
            error("ssh to '%s' failed (exit status %d): %s", host, rc, why);
            free(why);
            goto out;
        }
        if (interrupted) {
            error("interrupted while waiting for the ssh tunnel to '%s'", host);
            goto out;
        }
        if (now_monotonic() - t0 > TUNNEL_TIMEOUT) {
            char *why = ssh_summary(t->errpath);
            error("the ssh tunnel to '%s' was not up after %.0f s (%s)", host, TUNNEL_TIMEOUT, why);
            free(why);
            goto out;
        }
    }
    debug(NS, "tunnel up in %.2fs: %s", now_monotonic() - t0, t->sock);
    struct strbuf ci = STRBUF_INIT;
    strbuf_addstr(&ci, rest);
    add_kv(&ci, "host", t->dir);
    add_kv(&ci, "port", port);
    t->conninfo = strbuf_detach(&ci, NULL);
    r = 0;
out:
    if (errfd >= 0)
        close(errfd);
    if (r)
        tunnel_close(t);
    if (rest)
        explicit_bzero(rest, strlen(rest));
    free(rest);
    free(remote);
    free(port);
    free(ssh);
    free(masked);
    return r;
}
