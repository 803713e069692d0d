/*
 * backup.h — physical backups of the project's cluster (SPEC section 8:
 * `database backup` / `database restore`).
 *
 * A backup is a directory (default $LOCAL_DIR/focus/postgresql-backup) as
 * pg_basebackup -Ft -z -X stream writes it — base.tar.gz, pg_wal.tar.gz,
 * backup_manifest, and one OID.tar.gz per tablespace — plus a file
 * `database_name` holding the database the cluster serves. The same layout
 * the shell tool wrote, so its backups restore here. Functions return 0 or
 * an exit code (message printed).
 *
 * Tablespaces: a restored cluster never uses the source's tablespace paths
 * (on this machine they may be another cluster's, or anything). Each
 * OID.tar[.gz] is extracted into WORKING_DIR/tablespaces/OID beside data/,
 * data/pg_tblspc/OID is made a symlink to it, and data/tablespace_map (which
 * PostgreSQL reads at recovery start to recreate those symlinks) is
 * rewritten to name the same paths. The tablespaces dir is swapped, kept
 * and removed together with data/.
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
 * default), or from the base archive ARCHIVE (a base.tar[.gz]; pg_wal.tar[.gz],
 * the tablespace archives and database_name are looked for beside it) when
 * ARCHIVE is non-NULL. Extracts into a new data dir (and tablespaces dir),
 * stops the server, swaps both (keeping the old ones aside until the restored
 * cluster has started), removes recovery/standby signal files, starts the
 * server the way `database init --reuse` does, with the database named in
 * database_name (else PG_DATABASE). When the restored cluster cannot start,
 * the old data dir and tablespaces are put back.
 * Prints the URL on stdout.
 */
int backup_restore(const char *path, const char *archive);

/* Extract ARCHIVE (tar, gzip detected) into the directory INTO with TAR. 0 or an exit code. */
int backup_extract(const char *tar, const char *archive, const char *into);
/* The database name recorded in DIR/database_name (malloc'd), or NULL. */
char *backup_read_database_name(const char *dir);

/* DIR/NAME.tar.gz or DIR/NAME.tar, whichever exists (malloc'd), else NULL. */
char *backup_find_tar(const char *dir, const char *name);

/*
 * The tablespace archives of the backup directory DIR (OID.tar.gz or OID.tar,
 * the .tar.gz when both exist) appended to TARS, sorted by OID. The number
 * found, or -1 (message printed) when DIR cannot be read.
 */
int backup_find_tablespaces(const char *dir, struct strvec *tars);
/* The OID of a tablespace archive path (".../16384.tar.gz": 16384), 0 when it is not one. */
unsigned long backup_tablespace_oid(const char *archive);

/*
 * Extract the tablespace archives TARS (see backup_find_tablespaces) into
 * TS_DIR/OID (TS_DIR created mode 0700 when there is any) and point the
 * extracted data dir DATA at them: DATA/pg_tblspc/OID becomes a symlink to
 * LINK_DIR/OID (LINK_DIR: where TS_DIR will be once renamed into place, or
 * TS_DIR itself) and DATA/tablespace_map, when present, is rewritten to name
 * the same paths. Refuses (before extracting anything) a data dir whose
 * tablespace_map or pg_tblspc/ names a tablespace with no archive: its
 * relations would be missing, or the source's path would be used. Nothing is
 * chowned. 0 or an exit code.
 */
int backup_extract_tablespaces(const char *tar, const struct strvec *tars, const char *data,
                               const char *ts_dir, const char *link_dir);

#endif
