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
/* malloc'd "A/B". */
char *path_join(const char *a, const char *b);
/* Absolute, lexically normalised path of P relative to BASE (or cwd when NULL). */
char *path_absolute(const char *p, const char *base);

#endif
