/*
 * project.h — the project workflow of `database` (SPEC section 8): hydrate
 * (bundle, dotenv secrets, the source tree), patch (test-data.sql), test
 * (test/test.sql), deploy (init + hydrate + patch) and check (the whole
 * deploy in a throwaway cluster beside the developer's one).
 *
 * Each step announces itself and its duration on stderr (info level); SQL
 * output (command tags, \echo) goes to HYDRATE_LOG / PATCH_LOG, by default
 * stdout for hydrate and patch alone and stderr inside deploy and check
 * (whose stdout is the URL only); script errors go to stderr with FILE:LINE. Functions return 0 or
 * an exit code of SPEC section 3 after printing the reason.
 */
#ifndef DBTOOL_PROJECT_H
#define DBTOOL_PROJECT_H

#include "lib/common.h"

struct settings;

struct proj_opts {
    bool mock;       /* hydrate: the script variable USE_MOCK=1 */
    bool no_hook;    /* hydrate: skip the hectic bundle */
    bool no_hydrate; /* deploy/check: skip hydrate */
    bool no_patch;   /* deploy/check: skip patch */
    bool reuse;      /* deploy: keep the cluster (implies no_hydrate, no_patch) */
    bool cleanup;    /* deploy: stop the cluster after success */
    bool edit;       /* patch: open $EDITOR on test-data.sql first */
    bool quiet;      /* no SQL command tags (psql -q); step timings follow the log level */
    const char *hydrate_log; /* instead of HYDRATE_LOG (NULL: the setting) */
    const char *patch_log;   /* instead of PATCH_LOG (NULL: the setting) */
    bool baseline;           /* deploy: record MIGRATION_DIR's migrations as applied (the sources have them) */
    FILE *sql_out;           /* SQL output when no log file is set (NULL: stdout) */
    bool no_snapshot; /* deploy/check: replay even when the snapshot cache has the result */
    struct strvec *deps; /* hydrate/patch: record the files read here (lib/sqlscript deps) */
};

/*
 * The database hydrate/patch/test work on: `database -u URL`, DB_URL or
 * PGURL (all resolved by the configuration as CFG_DB_URL), else the URL of
 * this project's cluster (PG_WORKING_DIR). malloc'd, or NULL with a message.
 */
char *proj_url(const struct settings *s);

/*
 * The dotenv file hydrate loads into hectic.secret: HECTIC_DOTENV_FILE, else
 * $LOCAL_DIR/.env.$ENVIRONMENT when readable (both via the configuration).
 * NULL when there is none. An explicitly set file that cannot be read is an
 * error: -1 with a message.
 */
int proj_dotenv_file(const struct settings *s, const char **path);

/*
 * The project must exist: LOCAL_DIR names an existing directory (a typo is
 * refused, never created). 0, or EXIT_MISSING after a message.
 */
int proj_require(const struct settings *s);

/* Where test-data.sql lives: PATCH_SQL, default $PROFILE_DIR (else $LOCAL_DIR)/test-data.sql. malloc'd. */
char *proj_test_data_path(const struct settings *s);

/*
 * hydrate on URL: the hectic bundle (unless o->no_hook), the dotenv secrets,
 * then $DATABASE_SOURCE/$HYDRATE_ENTRYPOINT through the script runner.
 */
int proj_hydrate(const struct settings *s, const char *url, const struct proj_opts *o);
/* patch on URL: test-data.sql (created empty when missing), after $EDITOR with o->edit. */
int proj_patch(const struct settings *s, const char *url, const struct proj_opts *o);
/* test on URL: $DATABASE_DIR/test/test.sql; EXIT_ERR when it fails or is missing. */
int proj_test(const struct settings *s, const char *url, const struct proj_opts *o);
/*
 * deploy: start this project's cluster (fresh, or kept with o->reuse), then
 * hydrate and patch on it; o->cleanup stops it after success. Prints the URL
 * to connect to on stdout when the server is left running.
 */
int proj_deploy(const struct settings *s, const struct proj_opts *o);
/*
 * deploy --baseline: record every migration of MIGRATION_DIR as applied on
 * URL without running it (the sources already have what they do), so that
 * `migrator migrate up` on a deployed database applies only newer ones. No
 * folder: nothing to do. 0 or an exit code.
 */
int proj_baseline(const struct settings *s, const char *url);
/*
 * check: the deploy in a throwaway cluster under $LOCAL_DIR/focus/ with its
 * own working and socket dirs (fsync off), removed on every exit path
 * (failure, die(), Ctrl-C). The developer's cluster is never touched. Then
 * `migrator lint` over MIGRATION_DIR: findings are warnings; an entry that
 * would stop `migrate` (a folder without up.sql, a name that is not
 * YYYYMMDDHHMMSS-label, a bad migration.yaml) fails the check.
 */
int proj_check(const struct settings *s, const struct proj_opts *o);

/* hydrate (unless o->no_hydrate) and patch (unless o->no_patch) on URL, as deploy and check do. */
int proj_replay(const struct settings *s, const char *url, const struct proj_opts *o);

/* "123 ms" / "1.23 s" for a duration in seconds (static buffer). */
const char *proj_duration(double seconds);

#endif
