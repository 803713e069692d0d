/*
 * fs.h — filesystem helpers: directories, recursive copy and removal that
 * never follow symlinks, atomic writes.
 */
#ifndef DBTOOL_FS_H
#define DBTOOL_FS_H

#include "lib/common.h"
#include <sys/stat.h>

/* mkdir -p with MODE for created components; 0 or -1 (errno). */
int mkdir_p(const char *path, mode_t mode);
/* rm -rf that does not follow symlinks; a missing PATH is success. */
int rm_rf(const char *path);
/* Whether the open FD is the file DIRFD/NAME names now (not following a symlink there). */
bool fs_fd_is_at(int fd, int dirfd, const char *name);
/*
 * rm_rf, with the entry LAST of PATH removed last, and only when the rest
 * went; in PATH's subdirs whose names start with SUB_PREFIX (NULL: none),
 * their entry SUB_LAST likewise. A removal killed or failing half-way
 * leaves LAST (a marker) with what is left.
 */
int rm_rf_last(const char *path, const char *last, const char *sub_prefix, const char *sub_last);
/*
 * Copy the tree SRC to DST (which must not exist): regular files (reflinked
 * where the filesystem can), dirs, symlinks; modes kept; with CHOWN_TO >= 0
 * every entry is owned by that uid/gid. 0 or -1 with a message.
 */
int copy_tree(const char *src, const char *dst, uid_t chown_uid, gid_t chown_gid, bool do_chown);
/* Write DATA to PATH via a temp file + rename, mode MODE. 0 or -1 (errno). */
int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode);
/* chown -R that does not follow symlinks. */
int chown_tree(const char *path, uid_t uid, gid_t gid);
bool is_dir(const char *path);
bool path_exists(const char *path);
/*
 * Read PATH into SB: only a regular file (a FIFO or a device would block or
 * never end) of at most MAX bytes. 0, or -1 with errno; *WHY (may be NULL)
 * gets a phrase for messages ("not a regular file", "larger than 1 MiB", or
 * strerror).
 */
int fs_read_regular(const char *path, size_t max, struct strbuf *sb, const char **why);
/*
 * write_file_atomic() done by UID/GID when AS_USER (root writing into a
 * directory the server user owns: a link planted there then leads only to
 * the server user's own files). 0 or -1 with errno.
 */
int fs_write_as(const char *path, const char *data, size_t len, mode_t mode, bool as_user,
                uid_t uid, gid_t gid);
/* mkdir PATH (MODE) by UID/GID when AS_USER; an existing directory is fine. 0 or -1 with errno. */
int fs_mkdir_as(const char *path, mode_t mode, bool as_user, uid_t uid, gid_t gid);
/*
 * The first ancestor of PATH (or PATH) that UID/GID cannot traverse (mode
 * bits), as a static string, or NULL when all can be.
 */
const char *fs_untraversable(const char *path, uid_t uid, gid_t gid);
/* chown the directory PATH itself (never through a symlink). 0 or -1 with errno. */
int fs_chown_dir_nofollow(const char *path, uid_t uid, gid_t gid);
/*
 * open(PATH, FLAGS, MODE) for writing a file in a directory someone else may
 * write (logs in the working dir, PG_LOG_PATH, HYDRATE_LOG ...). As root, the
 * file is opened by the owner of its directory when that is not root (in a
 * child that dropped to that uid and passed the descriptor back), so a link
 * or hard link planted there leads only to that user's own files; in a
 * root-owned directory others may write (/tmp) a link is never followed and
 * a file of another user or with several links is refused. Not root: a
 * plain open. The descriptor (O_CLOEXEC), or -1 with errno.
 */
int fs_open_write(const char *path, int flags, mode_t mode);
/* Bytes free for us in DIR's filesystem (0 when it cannot be told). */
uint64_t fs_avail(const char *dir);
/* malloc'd "A/B". */
char *path_join(const char *a, const char *b);
/* Absolute, lexically normalised path of P relative to BASE (or cwd when NULL). */
char *path_absolute(const char *p, const char *base);

#endif
