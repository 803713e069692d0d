/*
 * scratch.c — the base directory of throwaway clusters (RAM filesystem when
 * it has room), their ownership locks, and the sweep of abandoned ones.
 */
#include "lib/scratch.h"
#include "lib/cluster.h"
#include "lib/settings.h"
#include <pwd.h>
#include "lib/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define NS "scratch"
#define MIB (1024ULL * 1024)

/* DIR is on a tmpfs with NEED bytes free beyond the reserve; *WHY says why not. */
static bool ram_with_room(const char *dir, uint64_t need, struct strbuf *why)
{
    struct statfs sf;
    if (statfs(dir, &sf) < 0) {
        strbuf_addf(why, "%s: %s", dir, strerror(errno));
        return false;
    }
    if (sf.f_type != TMPFS_MAGIC) {
        strbuf_addf(why, "%s is not a tmpfs", dir);
        return false;
    }
    uint64_t bsize = (uint64_t)sf.f_bsize;
    uint64_t avail = (uint64_t)sf.f_bavail * bsize, total = (uint64_t)sf.f_blocks * bsize;
    uint64_t reserve = total / 10 > 256 * MIB ? total / 10 : 256 * MIB;
    if (avail < need + reserve) {
        strbuf_addf(why, "%s has %llu MiB free, %llu MiB wanted", dir,
                    (unsigned long long)(avail / MIB), (unsigned long long)((need + reserve) / MIB));
        return false;
    }
    return true;
}

/*
 * Make DIR our private base: created with MODE when missing; refused (false)
 * when it is a symlink, not ours, or writable by others.
 */
static bool private_dir(const char *dir, mode_t mode, struct strbuf *why)
{
    if (mkdir(dir, mode) < 0 && errno != EEXIST) {
        strbuf_addf(why, "cannot create %s: %s", dir, strerror(errno));
        return false;
    }
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode) || st.st_uid != geteuid() ||
        (st.st_mode & 022)) {
        strbuf_addf(why, "%s is not a directory of uid %d writable only by it", dir, (int)geteuid());
        return false;
    }
    if ((st.st_mode & 07777) != mode && chmod(dir, mode) < 0) {
        strbuf_addf(why, "cannot chmod %s: %s", dir, strerror(errno));
        return false;
    }
    return true;
}

/* The base for NEED bytes (malloc'd) or NULL after a message; *IN_RAM set. */
char *scratch_base(const struct settings *set, uint64_t need, bool *in_ram)
{
    *in_ram = false;
    const char *x = set_get(set, SET_DBTOOL_SCRATCH_DIR);
    if (x) {
        char *b = path_absolute(x, NULL);
        /* the clusters inside are 0700; the server user must traverse to them */
        if (mkdir_p(b, 0755) < 0) {
            error_errno("DBTOOL_SCRATCH_DIR: cannot create '%s'", b);
            free(b);
            return NULL;
        }
        struct statfs sf;
        *in_ram = statfs(b, &sf) == 0 && sf.f_type == TMPFS_MAGIC;
        return b;
    }
    bool root = geteuid() == 0;
    struct strbuf why = STRBUF_INIT;
    char *b = NULL;
    /* root's $XDG_RUNTIME_DIR is 0700: the server user could not reach inside */
    const char *run = root ? NULL : env_nonempty("XDG_RUNTIME_DIR");
    char *list = set_get(set, SET_DBTOOL_SCRATCH_RAM) ? xstrdup(set_get(set, SET_DBTOOL_SCRATCH_RAM))
                 : run ? xasprintf("%s:/dev/shm", run) : xstrdup("/dev/shm");
    char *save = NULL;
    for (char *dir = strtok_r(list, ":", &save); dir && !b; dir = strtok_r(NULL, ":", &save)) {
        if (why.len)
            strbuf_addstr(&why, "; ");
        if (!ram_with_room(dir, need, &why))
            continue;
        b = xasprintf("%s/dbtool-%d", dir, (int)geteuid());
        /* as root the server user must traverse it to its own 0700 dir */
        if (!private_dir(b, root ? 0711 : 0700, &why))
            free(b), b = NULL;
    }
    free(list);
    if (b) {
        *in_ram = true;
    } else {
        const char *local = set_get(set, SET_LOCAL_DIR);
        if (!local) {
            error("LOCAL_DIR is not set: export LOCAL_DIR to the project root");
        } else {
            debug(NS, "no RAM filesystem for throwaway clusters (%s): using %s/focus", why.buf,
                  local);
            b = path_join(local, "focus");
            if (mkdir_p(b, 0755) < 0) {
                error_errno("cannot create '%s'", b);
                free(b), b = NULL;
            }
        }
    }
    strbuf_release(&why);
    return b;
}

/* BASE/.NAME.lock */
static char *lock_path(const char *base, const char *name)
{
    return xasprintf("%s/.%s.lock", base, name);
}

/*
 * Whether DIR could be a throwaway cluster of ours: a real directory of ours
 * (as root: of the server user, or root's) with dbtool's marker. Anything
 * else in a shared base is somebody else's and never touched (not even
 * reported: it is none of our business).
 */
static bool sweepable(const char *dir, uid_t server_uid)
{
    struct stat st;
    if (lstat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return false;
    if (st.st_uid != geteuid() && !(geteuid() == 0 && st.st_uid == server_uid))
        return false;
    char *m = path_join(dir, CLUSTER_MARKER);
    bool ok = lstat(m, &st) == 0 && S_ISREG(st.st_mode);
    free(m);
    return ok;
}

/* Remove the dirs of BASE whose lock file nobody holds. */
static void sweep(const struct settings *set, const char *base)
{
    uid_t server_uid = (uid_t)-1;
    if (geteuid() == 0) {
        struct passwd *pw = getpwnam(set_get(set, SET_PG_OS_USER));
        if (pw)
            server_uid = pw->pw_uid;
    }
    DIR *d = opendir(base);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        char *dir = path_join(base, de->d_name);
        char *lp = lock_path(base, de->d_name);
        struct stat st;
        int fd = -1;
        if (lstat(dir, &st) == 0 && S_ISDIR(st.st_mode) && sweepable(dir, server_uid) &&
            (fd = open(lp, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
            info("removing the throwaway cluster %s left by a process that is gone", dir);
            if (cluster_remove_abandoned(dir, set_get(set, SET_DBTOOL_CACHE_DIR)) == 0)
                unlink(lp);
        }
        if (fd >= 0)
            close(fd);
        free(lp);
        free(dir);
    }
    closedir(d);
}

int scratch_open(struct scratch *s, const struct settings *set, const char *name, uint64_t need)
{
    memset(s, 0, sizeof(*s));
    s->lock_fd = -1;
    s->base = scratch_base(set, need, &s->in_ram);
    if (!s->base)
        return -1;
    sweep(set, s->base);
    const char *local = set_get(set, SET_LOCAL_DIR);
    if (local) {
        char *focus = path_join(local, "focus");
        char *a = realpath(focus, NULL), *b = realpath(s->base, NULL);
        if (a && b && strcmp(a, b))
            sweep(set, focus);
        free(a);
        free(b);
        free(focus);
    }
    s->dir = path_join(s->base, name);
    char *lp = lock_path(s->base, name);
    s->lock_fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (s->lock_fd < 0 || flock(s->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        error_errno("cannot lock '%s'", lp);
        free(lp);
        scratch_close(s);
        return -1;
    }
    free(lp);
    /* NAME is unique among live processes: what is there is an earlier owner's */
    if (path_exists(s->dir)) {
        info("removing the throwaway cluster %s left by a process that is gone", s->dir);
        if (cluster_remove_abandoned(s->dir, set_get(set, SET_DBTOOL_CACHE_DIR))) {
            scratch_close(s);
            return -1;
        }
    }
    debug(NS, "throwaway cluster dir %s (%s)", s->dir, scratch_where(s));
    return 0;
}

void scratch_close(struct scratch *s)
{
    if (s->lock_fd >= 0) {
        /* a dir that could not be removed keeps its lock file: the next sweep retries */
        char *name = s->dir && !path_exists(s->dir) ? strrchr(s->dir, '/') : NULL;
        if (name) {
            char *lp = lock_path(s->base, name + 1);
            unlink(lp);
            free(lp);
        }
        close(s->lock_fd);
        s->lock_fd = -1;
    }
    free(s->dir), s->dir = NULL;
    free(s->base), s->base = NULL;
}

uint64_t scratch_avail(const char *dir)
{
    struct statfs sf;
    return statfs(dir, &sf) < 0 ? 0 : (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize;
}

void scratch_hint_if_full(const struct scratch *s)
{
    if (!s->in_ram || !s->base)
        return;
    uint64_t avail = scratch_avail(s->base);
    if (avail < 64 * MIB)
        warn("the RAM filesystem of %s is full (%llu MiB free): run it on disk with "
             "DBTOOL_SCRATCH_DIR=\"$LOCAL_DIR/focus\"",
             s->base, (unsigned long long)(avail / MIB));
}

const char *scratch_where(const struct scratch *s)
{
    return s->in_ram ? "in RAM (tmpfs)" : "on disk";
}

uint64_t scratch_unpacked_size(const char *file)
{
    struct stat st;
    if (stat(file, &st) < 0)
        return 0;
    size_t n = strlen(file);
    if (n < 3 || strcmp(file + n - 3, ".gz"))
        return (uint64_t)st.st_size;
    /* gzip's trailer: the size mod 2^32; past 4 GiB of input it says nothing */
    if (st.st_size >= (off_t)4 << 30)
        return (uint64_t)st.st_size * 8;
    int fd = open(file, O_RDONLY | O_CLOEXEC);
    unsigned char b[4];
    uint64_t size = 0;
    if (fd >= 0 && st.st_size >= 18 && pread(fd, b, 4, st.st_size - 4) == 4)
        size = (uint64_t)b[0] | (uint64_t)b[1] << 8 | (uint64_t)b[2] << 16 | (uint64_t)b[3] << 24;
    if (fd >= 0)
        close(fd);
    /* a multi-member gzip names only its last member */
    return size > (uint64_t)st.st_size ? size : (uint64_t)st.st_size * 8;
}
