/*
 * cluster.h — the local PostgreSQL cluster of SPEC section 4: resolve where it
 * lives and who runs it, make it ready (fresh from the template cache, or
 * reused), start it without pg_ctl, stop it in fast mode.
 */
#ifndef DBTOOL_CLUSTER_H
#define DBTOOL_CLUSTER_H

#include "lib/common.h"
#include <sys/types.h>

struct cluster {
    char *working_dir;  /* PG_WORKING_DIR */
    char *data_dir;     /* working_dir/data */
    char *sock_dir;     /* working_dir/sock, or a short private dir (see sock_private) */
    bool sock_private;  /* the socket path would exceed the kernel limit */
    char *log_dir;      /* server log dir (absolute) */
    char *startup_log;  /* stdout/stderr of the postmaster */
    int port;
    char *database;
    char *user;         /* OS user running the server = the role in the URL */
    bool switch_user;   /* we are root: server runs as uid/gid */
    uid_t uid;
    gid_t gid;
    char *bindir;
    const char *bindir_source;
    char *url;
    /* options */
    bool reuse;
    bool fsync;
    const char *conf_file;
    const char *preload;      /* shared_preload_libraries ("" = none) */
    bool disable_logging;
    /* results */
    bool reused;              /* an existing data dir was kept */
    bool was_running;         /* it was already running and left as is */
    bool throwaway;           /* check/diff/normalize: removal lets a template build finish */
    pid_t pid;
};

/*
 * Fill C from the configuration (PG_WORKING_DIR, LOCAL_DIR, ...): paths, the
 * server user, binaries, the socket dir. Validates what can be validated
 * without touching anything. Returns 0, or an exit code (message printed).
 */
int cluster_setup(struct cluster *c);
/*
 * postgres-init: make the cluster ready and running, database created.
 * Returns 0 or an exit code (message printed).
 */
int cluster_init(struct cluster *c);
/*
 * Stop the server of C's data dir in fast mode (SIGINT, then SIGQUIT after
 * TIMEOUT seconds). 0 when stopped or nothing was running; an exit code otherwise.
 */
int cluster_stop(struct cluster *c, double timeout);
/* Ask C's server to shut down (fast mode) without waiting: cluster_stop() then waits. */
void cluster_stop_begin(struct cluster *c);
/* The pid of a live postmaster of DATA_DIR, or 0 (stale or no pidfile). */
pid_t cluster_running_pid(const char *data_dir);
/*
 * Run `postgres --single` on the stopped data dir DIR, database DB, as the
 * server user, with SQL (one command per line) on stdin; output to LOG
 * (NULL: discarded). postgres's exit status, or -1 when it could not start.
 */
int cluster_single_user(struct cluster *c, const char *dir, const char *db, const char *sql,
                        const char *log);
/*
 * Whether the shared library NAME (e.g. "pg_cron") is installed for C's
 * server: in its pkglibdir (bindir/../lib/postgresql, bindir/../lib, or what
 * bindir/pg_config says), never another installation's.
 */
bool cluster_lib_installed(const struct cluster *c, const char *name);
/* Check each preload library of C is installed; prints how to turn it off. 0 / -1. */
int cluster_check_preload(struct cluster *c);
/*
 * The server's major version ("15") from `postgres -V`, cached per binary in
 * the template cache (malloc'd), or NULL when it cannot be told.
 */
char *cluster_server_major(struct cluster *c);
/* The template cache directory (malloc'd), or NULL when none can be derived. */
char *cluster_cache_root(void);
/* Print export lines (shell-quoted) of the result, using PG_URL_VAR. */
void cluster_print_exports(const struct cluster *c, const char *url_var, FILE *out);
void cluster_release(struct cluster *c);

/*
 * Find the PostgreSQL server binaries: $PG_BINDIR, the dir of `postgres` in
 * PATH, `pg_config --bindir`, /usr/lib/postgresql/<highest>/bin. malloc'd path
 * or NULL; *source says which rule matched.
 */
char *pg_find_bindir(const char **source);
/*
 * Path of a PostgreSQL client program (e.g. "pg_dump") in $PG_CLIENT_BINDIR,
 * else in the server's bin dir (never PATH). Dies 127 with what to install
 * when it is missing, or when a PG_CLIENT_BINDIR program is of an older major
 * than the server (pg_dump and pg_basebackup refuse newer servers).
 */
char *pg_program(const char *name);
/* Where client programs come from: $PG_CLIENT_BINDIR, else the server's bin dir (malloc'd or NULL). */
char *pg_client_bindir(const char **source);
/* The major version PROG --version reports ("... (PostgreSQL) 17.6" -> 17), or -1. */
int pg_program_major(const char *prog);

/*
 * `database cleanup`: stop the server and remove the working dir (and a
 * private socket dir). Refuses "/", $HOME, $LOCAL_DIR itself and a directory
 * that does not look like a cluster root. 0 or an exit code.
 */
int cluster_remove(struct cluster *c);
/*
 * Delete PATH (inside c->working_dir, e.g. a data dir set aside) in a detached
 * background job, as fresh inits do with the replaced data dir; `database
 * cleanup` stops such a job before removing the working dir.
 */
void cluster_remove_later(struct cluster *c, const char *path);
/*
 * Stop the server and background job of a throwaway cluster whose owner is
 * gone, and remove WORKING_DIR (no configuration needed). 0 or an exit code.
 */
int cluster_remove_abandoned(const char *working_dir);
#endif
