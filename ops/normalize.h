/*
 * normalize.h — physical backups taken elsewhere, made to start here:
 * `database normalize-backup` (SPEC section 8) and the backup side of
 * `database diff`, which accepts both raw and normalised backups.
 *
 * A raw backup (pg_basebackup -Ft [-z] of some server: base.tar[.gz] and
 * maybe pg_wal.tar[.gz]) rarely starts as-is: its pg_hba.conf and
 * postgresql.conf are the production server's, it may carry standby or
 * recovery signal files, preload libraries not installed here, and no role
 * named like the local server user. Preparing an extracted data dir:
 *   - postgresql.conf replaced by a local one (listen_addresses = '', the
 *     preload libraries of the original that are installed here); the
 *     production file is not kept (it may hold connection strings);
 *   - postgresql.auto.conf emptied (ALTER SYSTEM settings of that server);
 *   - pg_hba.conf: local trust over the socket only;
 *   - standby.signal, recovery.signal, recovery.conf, postmaster.pid,
 *     postmaster.opts removed;
 *   - the login roles created (or made SUPERUSER LOGIN) in single-user mode,
 *     which also replays the WAL the backup needs.
 * Functions print their errors and return 0 or an exit code of SPEC 3.
 */
#ifndef DBTOOL_NORMALIZE_H
#define DBTOOL_NORMALIZE_H

#include "lib/common.h"
#include "lib/cluster.h"

/* A backup directory as found on disk. */
struct norm_backup {
    char *dir;                  /* absolute */
    char *base;                 /* base.tar.gz or base.tar */
    char *wal;                  /* pg_wal.tar.gz or pg_wal.tar, NULL when absent */
    struct strvec tablespaces;  /* OID.tar.gz or OID.tar, by OID (backup_find_tablespaces) */
    char *database;             /* contents of database_name, NULL when absent */
};

/*
 * Look at the backup directory DIR. EXIT_MISSING (message printed) when it
 * does not exist or holds no base archive.
 */
int norm_backup_open(const char *dir, struct norm_backup *b);
void norm_backup_release(struct norm_backup *b);
/* Bytes a throwaway cluster of B needs: its files unpacked, twice (WAL replay, migrations). */
uint64_t norm_backup_need(const struct norm_backup *b);

/*
 * Extract B into DATA_DIR (created, mode 0700; pg_wal.tar into pg_wal/, each
 * tablespace archive into tablespaces/OID beside DATA_DIR, linked from
 * pg_tblspc/ as backup.h describes) with tar, check it is a data dir of this
 * server's major version, prepare it as described above and hand it (and the
 * tablespaces) to the server user of C.
 */
int norm_extract(struct cluster *c, const struct norm_backup *b, const char *data_dir);

/*
 * Create (or ALTER to SUPERUSER LOGIN) each role of ROLES in the stopped
 * data dir DATA_DIR with `postgres --single` as C's server user. LOG gets
 * the output. Also replays any WAL the backup still needs.
 */
int norm_ensure_roles(struct cluster *c, const char *data_dir, const struct strvec *roles,
                      const char *log);

/*
 * The database to use in a started cluster whose backup did not name one:
 * the only database other than postgres/template0/template1. Connects with
 * ADMIN_URL. malloc'd name, or NULL with a message asking for --database.
 */
char *norm_pick_database(const char *admin_url);

struct norm_opts {
    const char *input;    /* backup dir, NULL: $LOCAL_DIR/focus/postgresql-backup */
    const char *output;   /* NULL: see norm_normalize() */
    const char *role;     /* extra login role to ensure (the server user always is) */
    const char *database; /* database to ensure and record, NULL: database_name or the only one */
};

/*
 * `database normalize-backup`: extract INPUT into a temporary cluster under
 * $LOCAL_DIR/focus/, prepare it, start it, ensure the roles and the
 * database, stop it cleanly and write OUTPUT/base.tar.gz + database_name
 * (written beside OUTPUT and renamed into place), and per tablespace
 * OUTPUT/OID.tar.gz (its directory's contents, as pg_basebackup -Ft writes
 * them); in that base.tar.gz pg_tblspc/OID is the relative symlink
 * ../../tablespaces/OID (where a restore puts it; restore and diff re-point
 * it anyway, and refuse a base whose tablespace archive is missing) and there
 * is no tablespace_map. OUTPUT defaults to the
 * default backup dir, or INPUT-normalized when INPUT is that dir; it may not
 * be INPUT, inside it, or contain it. INPUT is only read.
 */
struct settings;
int norm_normalize(const struct settings *s, const struct norm_opts *o);

#endif
