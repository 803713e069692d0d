/*
 * cluster.h — the local PostgreSQL cluster of SPEC section 4: where it lives
 * and who runs it (cluster_setup from a cluster_spec), make it ready (fresh
 * from the template cache, or reused), stop it, remove it.
 *
 * The parts: pgbin (binaries), postmaster (start, wait, stop, pidfile),
 * pgconf (the runtime configuration files), tplcache (initdb templates and
 * spares), job (background work); this module is the lifecycle and the
 * ownership rule:
 *
 *   dbtool removes, renames, chmods or chowns a path only when it is a
 *   cluster root that dbtool made — the marker file CLUSTER_MARKER written
 *   at creation, data/PG_VERSION (or no data/ at all), nothing foreign
 *   inside — never "/", $HOME or $LOCAL_DIR, never through a symlink, and
 *   as root never a directory owned by another non-root user (other than
 *   the server user it was handed to). Nothing is ever deleted as a
 *   fallback: a cluster that cannot start is moved aside, a replaced one is
 *   kept for one generation (see cluster_init).
 */
#ifndef DBTOOL_CLUSTER_H
#define DBTOOL_CLUSTER_H

#include "lib/common.h"
#include "lib/pgbin.h"
#include <sys/types.h>

/* The marker a cluster root carries from its creation (contents: who made it, when). */
#define CLUSTER_MARKER ".dbtool-cluster"
/* The previous generation kept by a fresh init (a data dir, with its tablespaces inside). */
#define CLUSTER_PREVIOUS "data.previous"

/* What a lib/cluster call ended with; ops map it to an exit code. */
enum cl_status {
    CL_OK = 0,
    CL_ERR,          /* failed; message printed */
    CL_NO_PROGRAM,   /* initdb/postgres missing */
    CL_CANNOT_START, /* the server exited on its own during start-up */
    CL_TIMEOUT,      /* it did not become ready in time (the server was stopped) */
    CL_INTERRUPTED,  /* SIGINT/SIGTERM/SIGHUP during the work (what was started was stopped) */
    CL_BUSY,         /* another dbtool holds the working dir's lock */
    CL_REFUSED,      /* the ownership rule refused to touch a path */
    CL_CONFIG,       /* an invalid or missing setting (exit 3) */
};

/* Everything cluster_setup() needs, usually from the settings (cluster_spec_from). */
struct cluster_spec {
    const char *working_dir;  /* PG_WORKING_DIR (required) */
    const char *local_dir;    /* LOCAL_DIR: never removed, may be NULL */
    const char *database;     /* PG_DATABASE */
    int port;                 /* PG_PORT */
    bool reuse;               /* PG_REUSE / --reuse */
    bool fsync;               /* PG_FSYNC (throwaway clusters: false) */
    bool disable_logging;     /* PG_DISABLE_LOGGING */
    bool hectic_inheritance;  /* PG_HECTIC_INHERITANCE */
    const char *inheritance_sql; /* HECTIC_INHERITANCE_SQL */
    const char *conf_file;    /* PG_CONF_FILE, NULL: none */
    const char *preload;      /* PG_SHARED_PRELOAD_LIBRARIES ("" = none) */
    const char *log_path;     /* PG_LOG_PATH, NULL: data/log */
    const char *os_user;      /* PG_OS_USER (used as root) */
    const char *bindir;       /* PG_BINDIR, NULL: found */
    const char *client_bindir; /* PG_CLIENT_BINDIR */
    const char *cache_dir;    /* DBTOOL_CACHE_DIR, NULL: no template cache */
    bool sync_cache;          /* DBTOOL_SYNC_CACHE: background work in the foreground */
    double start_timeout;     /* PG_START_TIMEOUT seconds */
    bool throwaway;           /* check/diff/normalize: removal lets a template build finish */
};

struct settings;
/* SP from the settings S (strings point into S). */
void cluster_spec_from(struct cluster_spec *sp, const struct settings *s);

struct cluster {
    char *working_dir;  /* PG_WORKING_DIR */
    char *data_dir;     /* working_dir/data */
    char *sock_dir;     /* working_dir/sock, or a short private dir (see sock_private) */
    bool sock_private;  /* the socket path would exceed the kernel limit */
    char *log_dir;      /* server log dir (absolute) */
    bool log_dir_set;   /* PG_LOG_PATH given: create it */
    char *startup_log;  /* stdout/stderr of the postmaster */
    int port;
    char *database;
    char *user;         /* OS user running the server = the role in the URL */
    bool switch_user;   /* we are root: server runs as uid/gid */
    uid_t uid;
    gid_t gid;
    struct pgbin bin;
    char *url;
    char *local_dir;
    /* options */
    bool reuse;
    bool fsync;
    char *conf_file;
    char *preload;      /* shared_preload_libraries ("" = none) */
    bool disable_logging;
    bool hectic_inheritance;
    char *inheritance_sql;
    char *cache_dir;
    bool sync_cache;
    double start_timeout;
    bool throwaway;
    /*
     * A fresh init fills the (absent) data dir DIR with this instead of the
     * template cache (tpl_fresh_data_dir, which it may fall back to; TRASH as
     * there): lib/snapshot's claim. Set by the caller after cluster_setup().
     */
    enum cl_status (*fresh_fill)(struct cluster *c, const char *dir, const char *trash, void *arg);
    void *fresh_arg;
    /* results */
    bool reused;        /* an existing data dir was kept */
    bool was_running;   /* it was already running and left as is */
    pid_t pid;
    int lock_fd;        /* the working dir's lock while held, else -1 */
};

/*
 * Fill C from SP: paths, the server user, binaries, the socket dir.
 * Validates what can be validated without touching anything.
 */
enum cl_status cluster_setup(struct cluster *c, const struct cluster_spec *sp);
/*
 * postgres-init: make the cluster ready and running, database created.
 */
enum cl_status cluster_init(struct cluster *c);
/*
 * Start the existing cluster (reuse, no fresh fallback): a server that
 * cannot start gives CL_CANNOT_START and nothing is moved (restore, diff and
 * normalize-backup put their own data dir there).
 */
enum cl_status cluster_start_existing(struct cluster *c);
/* Make sure the working dir exists as a cluster root of ours (created with the marker, or checked). */
enum cl_status cluster_prepare_root(struct cluster *c);
/*
 * `postgres-init --previous`: stop the server, swap data/ and data.previous
 * (the one a fresh init kept), start the previous one.
 */
enum cl_status cluster_use_previous(struct cluster *c);
/*
 * Stop the server of C's data dir in fast mode (SIGINT, then SIGQUIT after
 * TIMEOUT seconds). CL_OK when stopped or nothing was running.
 */
enum cl_status cluster_stop(struct cluster *c, double timeout);
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
 * Connect to URL of a cluster just started (or recovering), retrying for up
 * to 60 s while the server says it is starting. NULL with *MSG (malloc'd:
 * libpq's message) when it cannot.
 */
struct pg_conn *cluster_connect_waiting(const char *url, char **msg); /* a PGconn */
/* Check each preload library of C is installed; prints how to turn it off. 0 / -1. */
int cluster_check_preload(struct cluster *c);
/* The server's major version (13 ... 18), 0 when it cannot be told. */
int cluster_server_major(struct cluster *c);
/* Print export lines (shell-quoted) of the result, using URL_VAR. */
void cluster_print_exports(const struct cluster *c, const char *url_var, FILE *out);
void cluster_release(struct cluster *c);

/*
 * `database cleanup`: stop the server and remove the working dir (and a
 * private socket dir), under the ownership rule.
 */
enum cl_status cluster_remove(struct cluster *c);
/*
 * Delete PATH (inside c->working_dir, e.g. a data dir set aside) in a
 * detached background job; `database cleanup` stops such a job before
 * removing the working dir.
 */
void cluster_remove_later(struct cluster *c, const char *path);
/*
 * Stop the server and background job of a throwaway cluster whose owner is
 * gone, and remove WORKING_DIR (no configuration needed).
 */
enum cl_status cluster_remove_abandoned(const char *working_dir, const char *cache_dir);
/*
 * Take the working dir's lock (an flock on a file beside it), waiting up
 * to TIMEOUT seconds and saying so; CL_BUSY when another dbtool keeps it.
 * Released by cluster_unlock() or cluster_release().
 */
enum cl_status cluster_lock(struct cluster *c, double timeout);
void cluster_unlock(struct cluster *c);
/* A word for a status ("interrupted", "timed out", ...) for messages. */
const char *cl_status_word(enum cl_status st);

#endif
