/*
 * fs.c — filesystem helpers.
 */
#include "lib/fs.h"
#include "lib/job.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/statfs.h>
#include <unistd.h>

bool is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool path_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

char *path_join(const char *a, const char *b)
{
    size_t la = strlen(a);
    if (la && a[la - 1] == '/')
        return xasprintf("%s%s", a, b);
    return xasprintf("%s/%s", a, b);
}

char *path_absolute(const char *p, const char *base)
{
    struct strbuf sb = STRBUF_INIT;
    if (p[0] != '/') {
        if (base) {
            strbuf_addstr(&sb, base);
        } else {
            char cwd[4096];
            if (!getcwd(cwd, sizeof(cwd)))
                strcpy(cwd, "/");
            strbuf_addstr(&sb, cwd);
        }
        strbuf_addch(&sb, '/');
    }
    strbuf_addstr(&sb, p);
    /* normalise: collapse //, drop /./, resolve /../ lexically */
    char *in = strbuf_detach(&sb, NULL);
    struct strbuf out = STRBUF_INIT;
    const char *s = in;
    while (*s) {
        while (*s == '/')
            s++;
        if (!*s)
            break;
        const char *e = strchrnul(s, '/');
        size_t n = (size_t)(e - s);
        if (n == 1 && s[0] == '.') {
        } else if (n == 2 && s[0] == '.' && s[1] == '.') {
            char *slash = strrchr(out.buf, '/');
            strbuf_setlen(&out, slash ? (size_t)(slash - out.buf) : 0);
        } else {
            strbuf_addch(&out, '/');
            strbuf_add(&out, s, n);
        }
        s = e;
    }
    if (!out.len)
        strbuf_addch(&out, '/');
    free(in);
    return strbuf_detach(&out, NULL);
}

int mkdir_p(const char *path, mode_t mode)
{
    char *p = xstrdup(path);
    size_t len = strlen(p);
    while (len > 1 && p[len - 1] == '/')
        p[--len] = 0;
    for (char *s = p + 1;; s++) {
        if (*s == '/' || *s == 0) {
            char c = *s;
            *s = 0;
            if (mkdir(p, mode) < 0 && errno != EEXIST) {
                int e = errno;
                free(p);
                errno = e;
                return -1;
            }
            *s = c;
            if (!c)
                break;
        }
    }
    free(p);
    if (!is_dir(path)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

/*
 * rm -rf DIRFD/NAME without following a symlink. LAST (NULL: none), an entry
 * of that dir, goes last, and only when everything else went; in its subdirs
 * whose names start with SUB_PREFIX, SUB_LAST does. Errors do not stop the
 * walk. 0 or -1 (errno of the first error).
 */
static int rm_rf_at(int dirfd, const char *name, const char *last, const char *sub_prefix,
                    const char *sub_last)
{
    struct stat st;
    if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISDIR(st.st_mode))
        return unlinkat(dirfd, name, 0) < 0 && errno != ENOENT ? -1 : 0;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -1; /* removed concurrently: fine */
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -1;
    }
    int ret = 0, e = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        if (!strcmp(n, ".") || !strcmp(n, "..") || (last && !strcmp(n, last)))
            continue;
        bool sub = sub_prefix && starts_with(n, sub_prefix);
        if (rm_rf_at(fd, n, sub ? sub_last : NULL, NULL, NULL) < 0 && !e)
            e = errno, ret = -1;
    }
    if (!ret && last && rm_rf_at(fd, last, NULL, NULL, NULL) < 0)
        e = errno, ret = -1;
    closedir(d);
    if (ret < 0) {
        errno = e;
        return -1; /* LAST stays with what is left */
    }
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
        return -1;
    return 0;
}

bool fs_fd_is_at(int fd, int dirfd, const char *name)
{
    struct stat a, b;
    return fstat(fd, &a) == 0 && fstatat(dirfd, name, &b, AT_SYMLINK_NOFOLLOW) == 0 &&
           a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

int rm_rf(const char *path)
{
    return rm_rf_at(AT_FDCWD, path, NULL, NULL, NULL);
}

int rm_rf_last(const char *path, const char *last, const char *sub_prefix, const char *sub_last)
{
    return rm_rf_at(AT_FDCWD, path, last, sub_prefix, sub_last);
}

static int copy_file_fd(int in, int out, off_t size)
{
#ifdef FICLONE
    if (ioctl(out, FICLONE, in) == 0)
        return 0;
#endif
    off_t left = size;
    while (left > 0) {
        ssize_t n = copy_file_range(in, NULL, out, NULL, (size_t)left, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        left -= n;
    }
    if (left == 0)
        return 0;
    /* fallback: plain read/write from the current offsets */
    char buf[65536];
    for (;;) {
        ssize_t n = read(in, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        if (n == 0)
            return 0;
        for (ssize_t off = 0; off < n;) {
            ssize_t w = write(out, buf + off, (size_t)(n - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0)
                return -1;
            off += w;
        }
    }
}

static int copy_at(int sdir, const char *name, int ddir, const char *dname, const char *spath,
                   uid_t uid, gid_t gid, bool do_chown)
{
    struct stat st;
    if (fstatat(sdir, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
        return error_errno("cannot stat '%s'", spath);
    if (S_ISDIR(st.st_mode)) {
        if (mkdirat(ddir, dname, st.st_mode & 07777) < 0)
            return error_errno("cannot create directory for '%s'", spath);
        int sfd = openat(sdir, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int dfd = openat(ddir, dname, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (sfd < 0 || dfd < 0) {
            if (sfd >= 0)
                close(sfd);
            if (dfd >= 0)
                close(dfd);
            return error_errno("cannot open directory '%s'", spath);
        }
        if (do_chown && fchown(dfd, uid, gid) < 0) {
            close(sfd);
            close(dfd);
            return error_errno("cannot chown copy of '%s'", spath);
        }
        fchmod(dfd, st.st_mode & 07777);
        DIR *d = fdopendir(sfd);
        if (!d) {
            close(sfd);
            close(dfd);
            return error_errno("cannot read directory '%s'", spath);
        }
        int ret = 0;
        struct dirent *de;
        struct strbuf sub = STRBUF_INIT;
        while ((de = readdir(d)) && !ret) {
            if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
                continue;
            strbuf_reset(&sub);
            strbuf_addf(&sub, "%s/%s", spath, de->d_name);
            ret = copy_at(sfd, de->d_name, dfd, de->d_name, sub.buf, uid, gid, do_chown);
        }
        strbuf_release(&sub);
        closedir(d);
        close(dfd);
        return ret;
    }
    if (S_ISLNK(st.st_mode)) {
        char target[4096];
        ssize_t n = readlinkat(sdir, name, target, sizeof(target) - 1);
        if (n < 0)
            return error_errno("cannot read link '%s'", spath);
        target[n] = 0;
        if (symlinkat(target, ddir, dname) < 0)
            return error_errno("cannot copy link '%s'", spath);
        if (do_chown)
            fchownat(ddir, dname, uid, gid, AT_SYMLINK_NOFOLLOW);
        return 0;
    }
    if (!S_ISREG(st.st_mode))
        return 0; /* sockets, fifos: not part of a data directory copy */
    int in = openat(sdir, name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return error_errno("cannot open '%s'", spath);
    int out = openat(ddir, dname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, st.st_mode & 07777);
    if (out < 0) {
        close(in);
        return error_errno("cannot create copy of '%s'", spath);
    }
    int ret = copy_file_fd(in, out, st.st_size);
    if (ret < 0)
        error_errno("cannot copy '%s'", spath);
    else if (do_chown && fchown(out, uid, gid) < 0)
        ret = error_errno("cannot chown copy of '%s'", spath);
    close(in);
    if (close(out) < 0 && !ret)
        ret = error_errno("cannot write copy of '%s'", spath);
    return ret;
}

int copy_tree(const char *src, const char *dst, uid_t uid, gid_t gid, bool do_chown)
{
    char *sdir = xstrdup(src), *ddir = xstrdup(dst);
    char *sbase = strrchr(sdir, '/'), *dbase = strrchr(ddir, '/');
    int sfd = AT_FDCWD, dfd = AT_FDCWD;
    const char *sname = src, *dname = dst;
    int ret;
    /* open the parents so copy_at can work relative to them */
    if (sbase && sbase != sdir) {
        *sbase = 0;
        sname = sbase + 1;
        sfd = open(sdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (dbase && dbase != ddir) {
        *dbase = 0;
        dname = dbase + 1;
        dfd = open(ddir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    }
    if (sfd == -1 || dfd == -1)
        ret = error_errno("cannot open parent of '%s' or '%s'", src, dst);
    else
        ret = copy_at(sfd, sname, dfd, dname, src, uid, gid, do_chown);
    if (sfd >= 0)
        close(sfd);
    if (dfd >= 0)
        close(dfd);
    free(sdir);
    free(ddir);
    return ret;
}

int chown_tree(const char *path, uid_t uid, gid_t gid)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return -1;
    if (lchown(path, uid, gid) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode))
        return 0;
    DIR *d = opendir(path);
    if (!d)
        return -1;
    int ret = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        char *sub = path_join(path, de->d_name);
        if (chown_tree(sub, uid, gid) < 0)
            ret = -1;
        free(sub);
    }
    closedir(d);
    return ret;
}

int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    char *tmp = xasprintf("%s.tmp.%d", path, (int)getpid());
    /* O_EXCL: a temporary name planted beforehand (a link) is never written through */
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST && unlink(tmp) == 0)
        fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0) {
        free(tmp);
        return -1;
    }
    size_t off = 0;
    while (off < len) {
        ssize_t w = write(fd, data + off, len - off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            int e = errno;
            close(fd);
            unlink(tmp);
            free(tmp);
            errno = e;
            return -1;
        }
        off += (size_t)w;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int e = errno;
        unlink(tmp);
        free(tmp);
        errno = e;
        return -1;
    }
    free(tmp);
    return 0;
}

int fs_read_regular(const char *path, size_t max, struct strbuf *sb, const char **why)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
    if (fd < 0) {
        if (why)
            *why = strerror(errno);
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) < 0) {
        int e = errno;
        close(fd);
        if (why)
            *why = strerror(e);
        errno = e;
        return -1;
    }
    if (!S_ISREG(st.st_mode)) {
        close(fd);
        if (why)
            *why = S_ISDIR(st.st_mode) ? "a directory, not a file" : "not a regular file";
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        return -1;
    }
    if ((uint64_t)st.st_size > max) {
        close(fd);
        if (why)
            *why = "too large";
        errno = EFBIG;
        return -1;
    }
    /* a regular file may still grow while we read: stop at MAX */
    strbuf_grow(sb, (size_t)st.st_size + 1);
    for (;;) {
        char buf[65536];
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            if (why)
                *why = strerror(e);
            errno = e;
            return -1;
        }
        if (n == 0)
            break;
        strbuf_add(sb, buf, (size_t)n);
        if (sb->len > max) {
            close(fd);
            if (why)
                *why = "too large";
            errno = EFBIG;
            return -1;
        }
    }
    close(fd);
    return 0;
}

struct write_args {
    const char *path;
    const char *data;
    size_t len;
    mode_t mode;
};

static int write_fn(void *arg)
{
    struct write_args *a = arg;
    return write_file_atomic(a->path, a->data, a->len, a->mode);
}

int fs_write_as(const char *path, const char *data, size_t len, mode_t mode, bool as_user,
                uid_t uid, gid_t gid)
{
    struct write_args a = {path, data, len, mode};
    return job_call_as(as_user, uid, gid, write_fn, &a);
}

struct mkdir_args {
    const char *path;
    mode_t mode;
};

static int mkdir_fn(void *arg)
{
    struct mkdir_args *a = arg;
    if (mkdir(a->path, a->mode) < 0 && errno != EEXIST)
        return -1;
    struct stat st;
    if (lstat(a->path, &st) < 0)
        return -1;
    if (!S_ISDIR(st.st_mode)) {
        errno = ENOTDIR;
        return -1;
    }
    return 0;
}

int fs_mkdir_as(const char *path, mode_t mode, bool as_user, uid_t uid, gid_t gid)
{
    struct mkdir_args a = {path, mode};
    return job_call_as(as_user, uid, gid, mkdir_fn, &a);
}

const char *fs_untraversable(const char *path, uid_t uid, gid_t gid)
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

int fs_chown_dir_nofollow(const char *path, uid_t uid, gid_t gid)
{
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int r = fchown(fd, uid, gid);
    int e = errno;
    close(fd);
    errno = e;
    return r;
}

/* Send FD over the unix socket SOCK (SCM_RIGHTS); -1 when it cannot. */
static int send_fd(int sock, int fd, int err)
{
    struct msghdr msg = {0};
    char cbuf[CMSG_SPACE(sizeof(int))];
    struct iovec iov = {&err, sizeof(err)};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    if (fd >= 0) {
        memset(cbuf, 0, sizeof(cbuf));
        msg.msg_control = cbuf;
        msg.msg_controllen = sizeof(cbuf);
        struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
        cm->cmsg_level = SOL_SOCKET;
        cm->cmsg_type = SCM_RIGHTS;
        cm->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(cm), &fd, sizeof(int));
    }
    return sendmsg(sock, &msg, 0) < 0 ? -1 : 0;
}

/* Receive a descriptor (or the errno of a failed open) from SOCK. */
static int recv_fd(int sock)
{
    struct msghdr msg = {0};
    char cbuf[CMSG_SPACE(sizeof(int))];
    int err = EIO;
    struct iovec iov = {&err, sizeof(err)};
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf;
    msg.msg_controllen = sizeof(cbuf);
    ssize_t n;
    do
        n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n != (ssize_t)sizeof(err)) {
        errno = EIO;
        return -1;
    }
    struct cmsghdr *cm = CMSG_FIRSTHDR(&msg);
    if (!err && cm && cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
        int fd;
        memcpy(&fd, CMSG_DATA(cm), sizeof(int));
        return fd;
    }
    errno = err ? err : EIO;
    return -1;
}

struct open_args {
    const char *path;
    int flags;
    mode_t mode;
    int sock;
};

/* In the child that became the file's user: open, and send the descriptor back. */
static int open_send(void *arg)
{
    struct open_args *a = arg;
    int fd = open(a->path, a->flags | O_CLOEXEC, a->mode);
    if (fd < 0)
        return -1;
    return send_fd(a->sock, fd, 0);
}

/* Open PATH as UID/GID in a child and take the descriptor back. */
static int open_as(const char *path, int flags, mode_t mode, uid_t uid, gid_t gid)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        return -1;
    struct open_args a = {path, flags, mode, sv[1]};
    int fd = job_call_as(true, uid, gid, open_send, &a) < 0 ? -1 : recv_fd(sv[0]);
    int e = errno;
    close(sv[0]);
    close(sv[1]);
    errno = e;
    return fd;
}

int fs_open_write(const char *path, int flags, mode_t mode)
{
    if (geteuid() != 0)
        return open(path, flags | O_CLOEXEC, mode);
    char *dir = xstrdup(path);
    char *slash = strrchr(dir, '/');
    if (slash)
        *(slash == dir ? slash + 1 : slash) = 0;
    else
        strcpy(dir, ".");
    struct stat ds;
    int r = stat(dir, &ds);
    free(dir);
    if (r < 0)
        return -1;
    if (ds.st_uid != 0)
        return open_as(path, flags, mode, ds.st_uid, ds.st_gid);
    if (!(ds.st_mode & 022))
        return open(path, flags | O_CLOEXEC, mode);
    /* root's directory that others may write (/tmp): no link, nobody else's file */
    int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -1;
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_uid != 0 || st.st_nlink > 1) {
        close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

uint64_t fs_avail(const char *dir)
{
    struct statfs sf;
    return statfs(dir, &sf) < 0 ? 0 : (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize;
}
