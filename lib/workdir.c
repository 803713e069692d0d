/*
 * workdir.c — the ownership rule, the marker and the working dir's lock
 * (see workdir.h and cluster.h).
 */
#include "lib/workdir.h"
#include "lib/fs.h"
#include "lib/spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS "cluster"

/* ---- the ownership rule ---- */

/* Names dbtool puts in a cluster root (and those older versions put there). */
static bool known_entry(const char *n)
{
    static const char *const exact[] = {"data", "sock", "postgres.log", "tablespaces",
                                        CLUSTER_MARKER, CLUSTER_PREVIOUS, ".dbtool-bg.pid"};
    static const char *const prefix[] = {"data.failed-", ".old-data-", ".template-", ".restore-",
                                         ".previous-"};
    for (size_t i = 0; i < ARRAY_SIZE(exact); i++)
        if (!strcmp(n, exact[i]))
            return true;
    for (size_t i = 0; i < ARRAY_SIZE(prefix); i++)
        if (starts_with(n, prefix[i]))
            return true;
    return false;
}

/* Whether PATH and OTHER name the same existing file. */
static bool same_file(const char *path, const char *other)
{
    struct stat a, b;
    return other && stat(path, &a) == 0 && stat(other, &b) == 0 && a.st_dev == b.st_dev &&
           a.st_ino == b.st_ino;
}

/*
 * Root may follow a symlink on the way to a path only when nobody else could
 * have made or changed it: the link is root's and lies in a directory of
 * root's that others cannot write. WHY gets the reason otherwise.
 */
bool wd_root_path_trusted(const char *path, struct strbuf *why)
{
    struct strbuf pre = STRBUF_INIT;
    const char *s = path;
    bool ok = true;
    while (ok && *s) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *e = strchrnul(s, '/');
        char *parent = pre.len ? xstrdup(pre.buf) : xstrdup("/");
        strbuf_addch(&pre, '/');
        strbuf_add(&pre, s, (size_t)(e - s));
        struct stat st, pst;
        if (lstat(pre.buf, &st) == 0 && S_ISLNK(st.st_mode)) {
            if (st.st_uid != 0 || lstat(parent, &pst) < 0 || pst.st_uid != 0 || (pst.st_mode & 022)) {
                strbuf_addf(why, "'%s' is a symbolic link that another user could have made or "
                                 "changed; running as root, dbtool does not follow it (use the "
                                 "real path)", pre.buf);
                ok = false;
            }
        }
        free(parent);
        s = e;
    }
    strbuf_release(&pre);
    return ok;
}

/*
 * The ownership rule for an existing working dir W (see cluster.h). true
 * when dbtool may remove, rename, chmod or chown inside it; *ADOPT when it
 * is a cluster root made before the marker existed (the shell tools', or
 * dbtool 0.2's), or an empty directory.
 */
static bool wd_ours(struct cluster *c, struct strbuf *why, bool *adopt)
{
    const char *wd = c->working_dir;
    struct stat st;
    *adopt = false;
    if (lstat(wd, &st) < 0) {
        strbuf_addf(why, "cannot inspect it: %s", strerror(errno));
        return false;
    }
    if (S_ISLNK(st.st_mode)) {
        strbuf_addstr(why, "it is a symbolic link (give the real path)");
        return false;
    }
    if (!S_ISDIR(st.st_mode)) {
        strbuf_addstr(why, "it is not a directory");
        return false;
    }
    char *home = env_nonempty("HOME") ? xstrdup(getenv("HOME")) : NULL;
    if (!strcmp(wd, "/") || same_file(wd, "/")) {
        strbuf_addstr(why, "it is the root directory");
    } else if (home && same_file(wd, home)) {
        strbuf_addstr(why, "it is $HOME");
    } else if (same_file(wd, c->local_dir)) {
        strbuf_addstr(why, "it is $LOCAL_DIR itself");
    } else if (geteuid() == 0 && st.st_uid != 0 && st.st_uid != c->uid) {
        struct passwd *pw = getpwuid(st.st_uid);
        strbuf_addf(why, "it belongs to another user (%s); running as root, dbtool only touches "
                         "directories of root or of the server user %s",
                    pw ? pw->pw_name : "unknown uid", c->user);
    } else if (st.st_mode & S_IWOTH) {
        strbuf_addstr(why, "other users may write it (mode o+w)");
    }
    free(home);
    if (why->len)
        return false;
    if (geteuid() == 0 && !wd_root_path_trusted(wd, why))
        return false;

    DIR *d = opendir(wd);
    if (!d) {
        strbuf_addf(why, "cannot read it: %s", strerror(errno));
        return false;
    }
    bool marker = false, data = false, empty = true;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, ".."))
            continue;
        empty = false;
        if (!known_entry(n)) {
            strbuf_addf(why, "it contains '%s', which dbtool does not create", n);
            break;
        }
        marker |= !strcmp(n, CLUSTER_MARKER);
        data |= !strcmp(n, "data");
    }
    closedir(d);
    if (why->len)
        return false;
    if (marker) {
        char *m = path_join(wd, CLUSTER_MARKER);
        bool reg = lstat(m, &st) == 0 && S_ISREG(st.st_mode);
        free(m);
        if (!reg) {
            strbuf_addf(why, "its %s is not a regular file", CLUSTER_MARKER);
            return false;
        }
    }
    if (data) {
        char *pgv = path_join(c->data_dir, "PG_VERSION");
        bool ok = lstat(c->data_dir, &st) == 0 && S_ISDIR(st.st_mode) && lstat(pgv, &st) == 0 &&
                  S_ISREG(st.st_mode);
        free(pgv);
        if (!ok) {
            strbuf_addf(why, "'%s' is not a PostgreSQL data directory (no PG_VERSION); move it "
                             "away if it holds anything you need", c->data_dir);
            return false;
        }
    }
    if (!marker) {
        if (!data && !empty) {
            strbuf_addf(why, "it has no data/ and no %s: dbtool did not make it", CLUSTER_MARKER);
            return false;
        }
        *adopt = true;
    }
    return true;
}

/* Refuse (with the reason) when W exists and is not ours; write the marker when adopted. */
enum cl_status wd_check(struct cluster *c, const char *doing)
{
    struct strbuf why = STRBUF_INIT;
    bool adopt;
    if (!wd_ours(c, &why, &adopt)) {
        error("refusing to %s PG_WORKING_DIR '%s': %s", doing, c->working_dir, why.buf);
        strbuf_release(&why);
        return CL_REFUSED;
    }
    strbuf_release(&why);
    if (adopt) {
        char *m = path_join(c->working_dir, CLUSTER_MARKER);
        char *text = xasprintf("a PostgreSQL cluster root made by dbtool (adopted by dbtool %s)\n",
                               DBTOOL_VERSION);
        if (write_file_atomic(m, text, strlen(text), 0644) < 0)
            debug(NS, "cannot write %s: %s", m, strerror(errno));
        free(text);
        free(m);
    }
    return CL_OK;
}

/*
 * Create the working dir W (missing) as a cluster root: parents 0755, W 0700
 * with the marker, handed to the server user (by descriptor: never a path
 * someone could swap for a link).
 */
static enum cl_status wd_create(struct cluster *c)
{
    const char *wd = c->working_dir;
    if (geteuid() == 0) {
        struct strbuf why = STRBUF_INIT;
        if (!wd_root_path_trusted(wd, &why)) {
            error("refusing to create PG_WORKING_DIR '%s': %s", wd, why.buf);
            strbuf_release(&why);
            return CL_REFUSED;
        }
        strbuf_release(&why);
    }
    char *parent = xstrdup(wd);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (mkdir_p(parent, 0755) < 0) {
            error_errno("cannot create directory '%s'", parent);
            free(parent);
            return CL_ERR;
        }
    }
    free(parent);
    if (mkdir(wd, 0700) < 0) {
        if (errno == EEXIST)
            return wd_check(c, "use");
        error_errno("cannot create directory '%s'", wd);
        return CL_ERR;
    }
    int fd = open(wd, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
        error_errno("cannot open '%s'", wd);
        return CL_ERR;
    }
    char *text = xasprintf("a PostgreSQL cluster root made by dbtool %s\n", DBTOOL_VERSION);
    int mfd = openat(fd, CLUSTER_MARKER, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
    bool ok = mfd >= 0 && write(mfd, text, strlen(text)) == (ssize_t)strlen(text);
    if (mfd >= 0)
        close(mfd);
    free(text);
    if (ok && c->switch_user && fchown(fd, c->uid, c->gid) < 0)
        ok = false;
    if (!ok)
        error_errno("cannot prepare the cluster root '%s'", wd);
    close(fd);
    if (ok && c->switch_user) {
        const char *bad = fs_untraversable(wd, c->uid, c->gid);
        if (bad) {
            error("the server user '%s' cannot reach '%s' (a parent directory denies it): put "
                  "PG_WORKING_DIR where '%s' can traverse, or grant it (chmod o+x '%s')",
                  c->user, wd, c->user, bad);
            return CL_ERR;
        }
    }
    return ok ? CL_OK : CL_ERR;
}

/* The working dir exists as a cluster root of ours (made or checked). */
enum cl_status wd_ready(struct cluster *c, const char *doing)
{
    struct stat st;
    if (lstat(c->working_dir, &st) < 0 && errno == ENOENT)
        return wd_create(c);
    return wd_check(c, doing);
}

int wd_remove_tree(const char *dir)
{
    /* a data dir (data, data.previous, data.failed-*) keeps its PG_VERSION to the end */
    return rm_rf_last(dir, CLUSTER_MARKER, "data", "PG_VERSION");
}

/* ---- the working dir's lock ---- */

char *wd_lock_path(const struct cluster *c)
{
    char *dir = xstrdup(c->working_dir);
    char *slash = strrchr(dir, '/');
    char *p;
    if (!slash || slash == dir)
        p = xasprintf("/.%s.dbtool-lock", slash ? slash + 1 : dir);
    else {
        *slash = 0;
        p = xasprintf("%s/.%s.dbtool-lock", dir, slash + 1);
    }
    free(dir);
    return p;
}

enum cl_status cluster_lock(struct cluster *c, double timeout)
{
    if (c->lock_fd >= 0)
        return CL_OK;
    char *path = wd_lock_path(c);
    char *parent = xstrdup(path);
    *strrchr(parent, '/') = 0;
    if (geteuid() == 0) {
        /* the lock file is the first thing created beside the working dir */
        struct strbuf why = STRBUF_INIT;
        if (!wd_root_path_trusted(path, &why)) {
            error("refusing to use PG_WORKING_DIR '%s': %s", c->working_dir, why.buf);
            strbuf_release(&why);
            free(parent);
            free(path);
            return CL_REFUSED;
        }
        strbuf_release(&why);
    }
    if (*parent && mkdir_p(parent, 0755) < 0) {
        error_errno("cannot create directory '%s'", parent);
        free(parent);
        free(path);
        return CL_ERR;
    }
    free(parent);
    double deadline = now_monotonic() + timeout;
    bool said = false;
    int fd = -1;
    for (;;) {
        /* read-only is enough for flock: a lock file another user made still works */
        fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && (errno == EACCES || errno == EPERM))
            fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0) {
            error_errno("cannot open the working dir's lock '%s'", path);
            free(path);
            return CL_ERR;
        }
        for (;;) {
            if (flock(fd, LOCK_EX | LOCK_NB) == 0)
                break;
            if (errno != EWOULDBLOCK && errno != EINTR) {
                error_errno("cannot lock '%s'", path);
                close(fd);
                free(path);
                return CL_ERR;
            }
            if (!said) {
                char buf[32] = {0};
                ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
                int pid = n > 0 ? atoi(buf) : 0;
                char holder[48] = "";
                if (pid > 0)
                    snprintf(holder, sizeof(holder), " (pid %d)", pid);
                info("another dbtool%s is using %s; waiting up to %.0f s", holder, c->working_dir,
                     timeout);
                said = true;
            }
            if (interrupted || now_monotonic() >= deadline) {
                error("another dbtool is using %s (lock %s)%s", c->working_dir, path,
                      interrupted ? "; interrupted while waiting" : "; try again when it is done");
                close(fd);
                free(path);
                return interrupted ? CL_INTERRUPTED : CL_BUSY;
            }
            sleep_seconds(0.05);
        }
        /*
         * Still the file at PATH? A removal unlinks the lock it holds
         * (remove_locked); whoever waited on that file holds a lock nobody
         * else will ever see, while a newcomer locks a new file at PATH:
         * take the lock again on the file that is there now.
         */
        if (fs_fd_is_at(fd, AT_FDCWD, path))
            break;
        debug(NS, "the lock %s was removed while we waited: locking it again", path);
        close(fd);
        if (interrupted || now_monotonic() >= deadline) {
            error("another dbtool is using %s (lock %s keeps changing)", c->working_dir, path);
            free(path);
            return interrupted ? CL_INTERRUPTED : CL_BUSY;
        }
    }
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%d\n", (int)getpid());
    if (ftruncate(fd, 0) == 0 && pwrite(fd, buf, (size_t)n, 0) != n) {
    }
    free(path);
    c->lock_fd = fd;
    return CL_OK;
}

void cluster_unlock(struct cluster *c)
{
    if (c->lock_fd >= 0) {
        if (ftruncate(c->lock_fd, 0) < 0) {
        }
        close(c->lock_fd);
    }
    c->lock_fd = -1;
}

