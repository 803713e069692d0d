/*
 * job.c — functions in other processes (see job.h).
 */
#include "lib/job.h"
#include "lib/fs.h"
#include "lib/spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NS "job"

/* In any child of ours: no cleanup of the parent's, default signal dispositions. */
static void child_reset(void)
{
    cleanup_forget_all();
    signal(SIGTERM, SIG_DFL);
    signal(SIGINT, SIG_DFL);
    signal(SIGHUP, SIG_DFL);
}

int job_start(const char *lockpath, void (*fn)(void *), void *arg, bool sync)
{
    if (sync || !lockpath) {
        fn(arg);
        return 0;
    }
    int lk;
    for (int tries = 0;; tries++) {
        lk = open(lockpath, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (lk < 0) {
            debug(NS, "cannot open %s (%s): running the job here", lockpath, strerror(errno));
            fn(arg);
            return 0;
        }
        if (flock(lk, LOCK_EX | LOCK_NB) < 0) {
            close(lk);
            debug(NS, "a job already holds %s", lockpath);
            return -1;
        }
        /* a lock file pruned (job_prune_locks) between our open and flock: lock the new one */
        if (tries >= 3 || fs_fd_is_at(lk, AT_FDCWD, lockpath))
            break;
        close(lk);
    }
    /* its mtime is its last use: job_prune_locks keeps what is used */
    futimens(lk, NULL);
    fflush(stdout);
    fflush(stderr);
    int go[2];
    if (pipe2(go, O_CLOEXEC) < 0) {
        close(lk);
        fn(arg);
        return 0;
    }
    pid_t p = fork();
    if (p < 0) {
        close(go[0]);
        close(go[1]);
        close(lk);
        fn(arg);
        return 0;
    }
    if (p == 0) {
        setsid();
        pid_t q = fork();
        if (q != 0)
            _exit(q < 0);
        /* the job: its own process group, so a stop reaches initdb and postgres too */
        setpgid(0, 0);
        child_reset();
        char buf[32];
        int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
        if (ftruncate(lk, 0) < 0 || pwrite(lk, buf, (size_t)n, 0) != n) {
        }
        /* the lock travels with the descriptor: keep it as fd 3, close everything else */
        if (dup2(lk, 3) < 0)
            _exit(1);
        int fd = open("/dev/null", O_RDWR);
        if (fd >= 0) {
            dup2(fd, 0);
            dup2(fd, 1);
            dup2(fd, 2);
        }
        char c = 1;
        if (write(go[1], &c, 1) < 0) {
        }
        close_fds_from(4);
        if (nice(10) < 0) {
        }
        fn(arg);
        _exit(0); /* never the parent's cleanup stack */
    }
    close(go[1]);
    int st;
    waitpid(p, &st, 0);
    char c;
    ssize_t r;
    do
        r = read(go[0], &c, 1);
    while (r < 0 && errno == EINTR);
    close(go[0]);
    close(lk);
    if (r != 1) {
        debug(NS, "the job did not start: running it here");
        fn(arg);
    }
    return 0;
}

pid_t job_running(const char *lockpath)
{
    int fd = open(lockpath, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return 0;
    pid_t pid = 0;
    if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
        flock(fd, LOCK_UN);
    } else {
        char buf[32] = {0};
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
        pid = n > 0 ? (pid_t)atol(buf) : 0;
        if (pid <= 1)
            pid = -1; /* held, pid not written yet */
    }
    close(fd);
    return pid;
}

bool job_wait(const char *lockpath, double timeout, bool stop_on_signal)
{
    double deadline = now_monotonic() + timeout;
    while (job_running(lockpath)) {
        if (now_monotonic() >= deadline || (stop_on_signal && interrupted))
            return false;
        struct timespec ts = {0, 10 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return true;
}

void job_stop(const char *lockpath, double timeout)
{
    pid_t pid = job_running(lockpath);
    if (!pid)
        return;
    if (pid < 0) {
        job_wait(lockpath, 0.5, false); /* its pid is being written */
        pid = job_running(lockpath);
    }
    if (pid > 1) {
        debug(NS, "stopping the background job (pid %d)", (int)pid);
        kill(-pid, SIGTERM);
    }
    if (!job_wait(lockpath, timeout, false))
        warn("the background job (pid %d) did not stop within %.0f s", (int)pid, timeout);
}

int job_call_as(bool as_user, uid_t uid, gid_t gid, int (*fn)(void *), void *arg)
{
    if (!as_user)
        return fn(arg);
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0)
        return -1;
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(ep[0]);
        close(ep[1]);
        errno = e;
        return -1;
    }
    if (pid == 0) {
        close(ep[0]);
        child_reset();
        gid_t groups[1] = {gid};
        int r = -1;
        if (setgroups(1, groups) == 0 && setgid(gid) == 0 && setuid(uid) == 0)
            r = fn(arg);
        int e = r ? errno : 0;
        if (write(ep[1], &e, sizeof(e)) < 0) {
        }
        fflush(stdout);
        fflush(stderr);
        _exit(r ? 1 : 0);
    }
    close(ep[1]);
    int e = 0, st = 0;
    ssize_t n;
    do
        n = read(ep[0], &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    close(ep[0]);
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
        ;
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    errno = n == sizeof(e) && e ? e : EIO;
    return -1;
}

int job_async_start(struct job_async *j, int (*fn)(void *), void *arg)
{
    fflush(stdout);
    fflush(stderr);
    j->pid = fork();
    if (j->pid < 0) {
        j->pid = 0;
        return error_errno("fork");
    }
    if (j->pid == 0) {
        /* keep our signal handlers: the work polls `interrupted` and stops cleanly */
        cleanup_forget_all();
        int r = fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(r & 0xff);
    }
    return 0;
}

int job_async_finish(struct job_async *j)
{
    if (j->pid <= 0)
        return 0;
    int st;
    pid_t r;
    bool passed = false;
    do {
        r = waitpid(j->pid, &st, 0);
        if (r < 0 && errno == EINTR && interrupted && !passed) {
            kill(j->pid, SIGTERM); /* a signal meant for us: the child stops too */
            passed = true;
        }
    } while (r < 0 && errno == EINTR);
    j->pid = 0;
    if (r < 0)
        return EXIT_BUG;
    if (WIFEXITED(st))
        return WEXITSTATUS(st);
    return 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

void job_async_kill(struct job_async *j)
{
    if (j->pid > 0)
        kill(j->pid, SIGTERM);
}

void job_prune_locks(const char *dir, int days)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    time_t now = time(NULL);
    struct dirent *de;
    while ((de = readdir(d))) {
        size_t n = strlen(de->d_name);
        if (n < 6 || strcmp(de->d_name + n - 5, ".lock"))
            continue;
        int fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
        if (fd < 0)
            continue;
        struct stat a;
        /* free (no job holds it), still the file at the path, unused for DAYS */
        if (fstat(fd, &a) == 0 && S_ISREG(a.st_mode) && now - a.st_mtime > (time_t)days * 86400 &&
            flock(fd, LOCK_EX | LOCK_NB) == 0 && fs_fd_is_at(fd, dirfd(d), de->d_name)) {
            if (unlinkat(dirfd(d), de->d_name, 0) == 0)
                debug(NS, "pruned the lock file %s/%s: unused for %d days", dir, de->d_name, days);
        }
        close(fd);
    }
    closedir(d);
}
