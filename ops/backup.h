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

struct settings;
struct cluster;

/* DEFAULT_BACKUP_PATH ($LOCAL_DIR/focus/postgresql-backup) (malloc'd), NULL without LOCAL_DIR. */
char *backup_default_dir(const struct settings *s);

/*
 * Back up the running project cluster into DIR (NULL: the default) with
 * pg_basebackup --checkpoint=fast (tar, gzip, WAL streamed; progress shown
 * when stderr is a terminal). The new backup is written beside DIR and
 * renamed into place, so a failed run leaves the previous backup as it was.
 */
int backup_create(const struct settings *s, const char *dir);

/*
 * Restore the project cluster from the backup directory PATH (NULL: the
 * default), or from the base archive ARCHIVE (a base.tar[.gz]; pg_wal.tar[.gz],
 * the tablespace archives and database_name are looked for beside it) when
 * ARCHIVE is non-NULL. Holds the working dir's lock throughout. Extracts (as
 * the server user) into a new data dir (and tablespaces dir), drops the
 * source server's recovery, archive and replication settings (a local copy
 * never pushes WAL into production's archive), stops the server and swaps:
 * the current data dir becomes data.previous (the older previous one is
 * deleted only once the restored cluster runs). When the restored cluster
 * cannot start it is removed (the backup is still there) and the previous
 * cluster comes back. Leftovers of a killed restore are removed by the
 * next one. Prints the URL on stdout.
 */
int backup_restore(const struct settings *s, const char *path, const char *archive);
/* Make DIR (0700) for C's server user (NULL: ourselves). 0 or -1 after a message. */
int backup_mkdir(const struct cluster *c, const char *path);
/*
 * Make the extracted data dir DATA safe to start here: signal files and
 * runtime leftovers removed, archive/recovery/replication settings dropped
 * from postgresql.auto.conf and archive_mode off. 0 or -1.
 */
int backup_neutralize(const struct cluster *c, const char *data);

/*
 * Extract ARCHIVE (tar, gzip detected) into the directory INTO with TAR,
 * running as C's server user (C NULL: as ourselves) and reading the archive
 * through a descriptor we opened. A failure shows a few of tar's lines and
 * says "disk full" when it is. 0 or an exit code.
 */
int backup_extract(const struct cluster *c, const char *tar, const char *archive, const char *into);
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
int backup_extract_tablespaces(const struct cluster *c, const char *tar, const struct strvec *tars,
                               const char *data, const char *ts_dir, const char *link_dir);

#endif
