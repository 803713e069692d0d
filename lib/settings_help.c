/*
 * settings_help.c — one line of meaning per setting, for the ENVIRONMENT
 * section of the generated man pages (`dbtool --dbtool-describe`). Kept
 * beside the table in settings.c, indexed by the same keys, so a new
 * setting without a line here simply shows none.
 */
#include "lib/settings.h"

static const char *const help[SET__N] = {
    [SET_LOCAL_DIR] = ("the project root; unset: the nearest directory upwards with a dbtool.yaml, "
                       "else the current directory"),
    [SET_DBTOOL_CONFIG] = "the project file to read instead of $LOCAL_DIR/dbtool.yaml",
    [SET_ENVIRONMENT] = "selects the dotenv file $LOCAL_DIR/.env.$ENVIRONMENT",
    [SET_DB_URL] = "connection string of database and migrator (default $PGURL)",
    [SET_PG_WORKING_DIR] = "the cluster root: data/ and sock/",
    [SET_DATABASE_DIR] = "database files root",
    [SET_MIGRATION_DIR] = "migrations (migrator alone: ./migration)",
    [SET_DATABASE_SOURCE] = "hydrate sources",
    [SET_HYDRATE_ENTRYPOINT] = "the hydrate entry file's name",
    [SET_PROFILE_DIR] = "where test-data.sql lives (default $LOCAL_DIR)",
    [SET_PATCH_SQL] = "the test data file patch runs",
    [SET_PG_DATABASE] = "the database postgres-init creates",
    [SET_PG_PORT] = "port (the socket file name; no TCP by default)",
    [SET_PG_URL_VAR] = "an extra variable that also gets the URL",
    [SET_PG_LOG_PATH] = "server log directory; PATCH_LOG and HYDRATE_LOG default into it",
    [SET_PG_CONF_FILE] = "replaces the generated postgresql.conf on a fresh init",
    [SET_PG_SHARED_PRELOAD_LIBRARIES] = "preload libraries (\"\" for none)",
    [SET_PG_DISABLE_LOGGING] = "1: the logging collector is off",
    [SET_PG_REUSE] = "reuse an existing cluster",
    [SET_PG_HECTIC_INHERITANCE] = "1: postgres-init applies the inheritance part of the bundle",
    [SET_HECTIC_INHERITANCE_SQL] = "a file replacing the embedded inheritance SQL",
    [SET_HECTIC_DOTENV_FILE] = "dotenv file hydrate loads into hectic.secret",
    [SET_PATCH_LOG] = "where the output of patch goes",
    [SET_HYDRATE_LOG] = "where the output of hydrate goes",
    [SET_NO_TTY] = "kept for compatibility: server output never reaches the terminal",
    [SET_HECTIC_LOG] = "log level: LEVEL or LEVEL;namespace=LEVEL;...",
    [SET_PG_OS_USER] = "as root: the OS user that runs the server",
    [SET_PG_BINDIR] = "directory of initdb, postgres, pg_dump",
    [SET_PG_CLIENT_BINDIR] = "directory of pg_dump, pg_basebackup, psql (default: the server's)",
    [SET_PG_FSYNC] = "0: fsync off",
    [SET_PG_START_TIMEOUT] = "seconds to wait for the server to accept connections",
    [SET_DBTOOL_CACHE_DIR] = "the initdb template cache",
    [SET_DBTOOL_SYNC_CACHE] = "1: the cache's background work in the foreground",
    [SET_DBTOOL_SCRATCH_DIR] = "directory for throwaway clusters (check, diff, normalize-backup)",
    [SET_DBTOOL_SCRATCH_RAM] = "RAM filesystems tried for throwaway clusters, in order",
    [SET_DBTOOL_SNAPSHOT_BUDGET] = "most the snapshot cache keeps (500M, 2G; 0: store none)",
    [SET_DEFAULT_BACKUP_PATH] = "where backup writes and restore and diff read",
    [SET_DEFAULT_NORMALIZED_BACKUP_PATH] = "where normalize-backup writes by default",
    [SET_STAGING_SSH_HOST] = "pull_staging: the ssh destination",
    [SET_STAGING_DB_URL] = "pull_staging: the database URL on the staging host",
    [SET_STAGING_DUMP_TABLES] = "pull_staging: the tables (space separated)",
    [SET_STAGING_DUMP_FLAGS] = "pull_staging: extra pg_dump flags",
    [SET_STAGING_SSH_OPTS] = "pull_staging: extra ssh options",
    [SET_STAGING_PG_DUMP] = "pull_staging: pg_dump on the staging host",
    [SET_DIFF_TABLES] = "diff: the immutable tables to compare (comma separated)",
};

const char *set_help(enum set_key k)
{
    return k >= 0 && k < SET__N ? help[k] : NULL;
}
