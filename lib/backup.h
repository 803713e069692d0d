/*
 * backup.h — physical backups of the project's cluster (SPEC section 8:
 * `database backup` / `database restore`).
 *
 * A backup is a directory (default $LOCAL_DIR/focus/postgresql-backup) as
 * pg_basebackup -Ft -z -X stream writes it — base.tar.gz, pg_wal.tar.gz,
 * backup_manifest — plus a file `database_name` holding the database the
 * cluster serves. The same layout the shell tool wrote, so its backups
 * restore here. Functions return 0 or an exit code (message printed).
 */
#ifndef DBTOOL_BACKUP_H
#define DBTOOL_BACKUP_H

#include "lib/common.h"

/* $LOCAL_DIR/focus/postgresql-backup (malloc'd), NULL without LOCAL_DIR. */
char *backup_default_dir(void);

/*
 * Back up the running project cluster into DIR (NULL: the default) with
 * pg_basebackup --checkpoint=fast (tar, gzip, WAL streamed; progress shown
 * when stderr is a terminal). The new backup is written beside DIR and
 * renamed into place, so a failed run leaves the previous backup as it was.
 */
int backup_create(const char *dir);

/*
 * Restore the project cluster from the backup directory PATH (NULL: the
 * default), or from the base archive ARCHIVE (a base.tar[.gz]; pg_wal.tar[.gz]
 * and database_name are looked for beside it) when ARCHIVE is non-NULL.
 * Extracts into a new data dir, stops the server, swaps the data dirs
 * (keeping the old one aside until the restored one has started), removes
 * recovery/standby signal files, starts the server the way `database init
 * --reuse` does, with the database named in database_name (else PG_DATABASE).
 * When the restored cluster cannot start, the old data dir is put back.
 * Prints the URL on stdout.
 */
int backup_restore(const char *path, const char *archive);

/* Extract ARCHIVE (tar, gzip detected) into the directory INTO with TAR. 0 or an exit code. */
int backup_extract(const char *tar, const char *archive, const char *into);
/* The database name recorded in DIR/database_name (malloc'd), or NULL. */
char *backup_read_database_name(const char *dir);

/* DIR/NAME.tar.gz or DIR/NAME.tar, whichever exists (malloc'd), else NULL. */
char *backup_find_tar(const char *dir, const char *name);

#endif
