/*
 * migrate.h — versioned up/down migrations tracked in hectic.migration
 * (SPEC section 7), compatible with the rows the shell migrator wrote.
 *
 * A migration folder DIR holds one directory per migration, named
 * YYYYMMDDHHMMSS-label (^[0-9]{14}-.+$), applied in byte order of the names.
 * Two layouts:
 *     NAME/up.sql + NAME/down.sql
 *     NAME/up/entrypoint.sql + NAME/down/entrypoint.sql   (multi-file: \ir
 *                                                           resolves beside the entrypoint)
 * plus an optional NAME/migration.yaml (MIG_META_FILE) with one key,
 * `transaction: false`, for migrations that cannot run in a transaction
 * (CREATE INDEX CONCURRENTLY). Entries with other names are ignored; a
 * well-named directory without an up file is "incomplete" and ignored by
 * migrate (list shows it).
 *
 * The hash recorded for a migration is the lower-case hex sha256 of the bytes
 * of its up file (up.sql, or up/entrypoint.sql for the multi-file layout:
 * included files are not part of it), exactly what the shell migrator wrote.
 *
 * Every function prints its own error message and returns -1 (or a
 * mig_status); none exits. The applet chooses exit codes.
 */
#ifndef DBTOOL_MIGRATE_H
#define DBTOOL_MIGRATE_H

#include "lib/common.h"
#include "lib/sha256.h"
#include <libpq-fe.h>

/*
 * The session advisory lock a migrate run holds from before `init` until it
 * ends: pg_try_advisory_lock(7522528104227761511), the bytes of "hecticmg"
 * read as a big-endian bigint (in pg_locks: classid 1751475060, objid
 * 1768123751, objsubid 1).
 */
#define MIG_LOCK_KEY 7522528104227761511LL
#define MIG_LOCK_KEY_STR "7522528104227761511"

/* The optional per-migration settings file. */
#define MIG_META_FILE "migration.yaml"

/* One directory of the migration folder with a valid name. */
struct mig {
    char *name;       /* the directory name */
    char *up;         /* path of the up file, NULL when there is none */
    char *down;       /* path of the down file, NULL when there is none */
    bool multi;       /* up/entrypoint.sql layout */
    bool no_tx;       /* migration.yaml says transaction: false */
    bool has_meta;    /* migration.yaml exists */
};

/* The scanned migration folder: every well-named directory, sorted by name. */
struct mig_folder {
    char *dir;
    struct mig *v;
    size_t nr, alloc;
};

/* One row of hectic.migration. */
struct mig_applied {
    char *name;
    char *hash;
};

/* hectic.migration as read at one point, sorted by name (byte order). */
struct mig_db {
    struct mig_applied *v;
    size_t nr, alloc;
    bool has_table; /* false: the bundle is not applied yet (nothing applied) */
};

/* Whether NAME is a migration name: 14 digits, '-', at least one more byte. */
bool mig_name_valid(const char *name);
/*
 * Whether LABEL can follow the timestamp in `create --name`: not empty, no
 * '/', no control characters, not "." or "..". On false *why says what is wrong.
 */
bool mig_label_valid(const char *label, const char **why);
/* A random pronounceable label ("bekatu-rosimo"), malloc'd. */
char *mig_random_label(void);

/*
 * Scan DIR into F (sorted by name). Reads every MIG_META_FILE strictly:
 * unknown keys, wrong types and syntax errors are errors naming
 * file:line:col. 0, or -1 with a message (a missing DIR included).
 */
int mig_scan(const char *dir, struct mig_folder *f);
void mig_folder_release(struct mig_folder *f);
/* The entry named NAME, or NULL. */
const struct mig *mig_find(const struct mig_folder *f, const char *name);

/*
 * Parse a migration.yaml file: `transaction: BOOL` (default true) is the
 * only key. *transaction gets the value. 0, or -1 with "file:line:col: ...".
 */
int mig_meta_load(const char *path, bool *transaction);
/* The same for YAML text (tests); NAME is used in messages. */
int mig_meta_parse(const char *name, const char *text, size_t len, bool *transaction);

/*
 * Read hectic.migration (one query). A missing table is not an error:
 * has_table = false and nothing applied. 0 or -1.
 */
int mig_db_read(PGconn *conn, struct mig_db *db);
void mig_db_release(struct mig_db *db);
/* The applied row named NAME, or NULL. */
const struct mig_applied *mig_db_find(const struct mig_db *db, const char *name);

/*
 * The history check: the applied names must be the first db->nr migrations
 * of F (those with an up file), in order. Returns -1 when they are, else the
 * 0-based position of the first difference (a missing entry on either side
 * reads as NULL in *applied / *folder).
 */
long mig_history_check(const struct mig_folder *f, const struct mig_db *db, const char **applied,
                       const char **folder);
/* Print the history mismatch at POS (position, both names, both lists) to OUT. */
void mig_history_report(FILE *out, const struct mig_folder *f, const struct mig_db *db, long pos);

/*
 * Applied migrations whose up file no longer hashes to the recorded value
 * (case-insensitive compare); their names go to CHANGED (may be NULL) and,
 * when HASHES is non-NULL, the current hashes to HASHES, in the same order.
 * Applied migrations without a folder are not counted here ("missing").
 * Returns the number, or -1 when a file cannot be read.
 */
int mig_changed(const struct mig_folder *f, const struct mig_db *db, struct strvec *changed,
                struct strvec *hashes);

/*
 * Acquire the migrator's session advisory lock on CONN (outside any
 * transaction): polls pg_try_advisory_lock so that the waiting side never
 * holds a snapshot a CREATE INDEX CONCURRENTLY of the running side would
 * wait for. Prints "waiting for another migrator ..." once when it has to
 * wait. TIMEOUT seconds (< 0: forever). 0, or -1 (timeout, interrupted, error).
 */
int mig_lock(PGconn *conn, double timeout);
/* Release it (errors ignored: the session ends soon anyway). */
void mig_unlock(PGconn *conn);

enum mig_request_kind {
    MIG_REQ_UP,     /* n migrations forward (n == 0: all pending) */
    MIG_REQ_DOWN,   /* n migrations back (n == 0: all applied) */
    MIG_REQ_TO,     /* to the migration named name (NULL: the newest in the folder) */
};

struct mig_request {
    enum mig_request_kind kind;
    long n;
    const char *name;
};

struct mig_step;

struct mig_opts {
    const struct strvec *vars;  /* "NAME=VALUE" script variables, may be NULL */
    bool force;                 /* go on past a history mismatch */
    bool accept_changed;        /* record the new hash of changed applied migrations */
    bool verbose;               /* print command tags of the scripts */
    FILE *out;                  /* script output (\echo, tags); NULL: stdout */
    /*
     * Called before each step runs, on the idle connection (NULL: none); a
     * non-zero return refuses the step: nothing more runs, MIG_MISMATCH
     * (the applet's `migrate` checks a generated migration's baseline here).
     */
    int (*before_step)(PGconn *conn, const struct mig_step *step, void *arg);
    void *before_arg;
};

/* What mig_migrate() did; the applet turns it into an exit code. */
enum mig_status {
    MIG_OK,            /* the requested migrations were applied / reverted */
    MIG_AT_TARGET,     /* nothing to do (message printed) */
    MIG_NOT_ENOUGH,    /* up N / down N asked for more than there is; nothing done */
    MIG_NO_SUCH,       /* to NAME: no such migration in the folder */
    MIG_MISMATCH,      /* the history check failed (no --force); nothing done */
    MIG_CHANGED,       /* an applied migration changed (no accept); nothing done */
    MIG_FAILED,        /* a migration failed and was rolled back; earlier ones stay */
    MIG_ERROR,         /* anything else (connection, files, bookkeeping) */
};

/* One step of a plan. */
struct mig_step {
    const struct mig *m; /* an entry of the folder, or a placeholder (name only) */
    bool down;
    bool owned;          /* M is a placeholder the plan frees */
};

struct mig_plan {
    struct mig_step *v;
    size_t nr, alloc;
};

/*
 * Plan REQ against F and DB. Semantics (also with --force, where applied
 * and folder lists may disagree):
 *   up N     the first N folder migrations (with an up file) not applied, in name order
 *   down N   the N applied migrations with the highest names, newest first (0: all)
 *   to NAME  down every applied migration named > NAME, newest first, then
 *            up every folder migration named <= NAME that is not applied
 * Returns MIG_OK (PLAN filled), MIG_AT_TARGET (nothing pending / applied),
 * MIG_NOT_ENOUGH (0 < available < N) or MIG_NO_SUCH; the message for the
 * last three is printed. A down step of a migration that has no folder or no
 * down file is planned too and fails when run (its name is in the error).
 */
enum mig_status mig_plan(const struct mig_folder *f, const struct mig_db *db,
                         const struct mig_request *req, struct mig_plan *plan);
void mig_plan_release(struct mig_plan *plan);

/*
 * Run one step on CONN (idle, not in a transaction). Transactional
 * migrations: BEGIN; SET LOCAL hectic.migration_mode = 'on'; the script;
 * INSERT (or DELETE) of the bookkeeping row; COMMIT — or ROLLBACK of all of
 * it when anything fails. migration.yaml `transaction: false`: the script
 * runs statement by statement in autocommit with the session setting
 * hectic.migration_mode = 'on' (reset after), then the bookkeeping commits
 * in its own transaction; on failure what ran stays, nothing is recorded,
 * and INVALID indexes the script left behind are dropped (each one named).
 * 0, or -1 after the runner's FILE:LINE message and a summary.
 */
int mig_run_step(PGconn *conn, const struct mig_step *step, const struct mig_opts *opts);

/*
 * The whole `migrate` command on CONN (idle, connected; the bundle is the
 * caller's business and must be applied first — see the applet): take the
 * lock (waiting as mig_lock does), read hectic.migration, check the history
 * (MIG_MISMATCH unless opts->force, which warns loudly and goes on), refuse
 * changed applied migrations (MIG_CHANGED unless opts->accept_changed, which
 * records their new hashes), plan, run the steps in order and stop at the
 * first failure (MIG_FAILED). Releases the lock. INIT, when non-NULL, runs
 * after the lock is taken and before anything is read; -1 from it is MIG_ERROR.
 */
enum mig_status mig_migrate(PGconn *conn, const struct mig_folder *f, const struct mig_request *req,
                            const struct mig_opts *opts, int (*init)(PGconn *conn, void *arg),
                            void *init_arg);

/*
 * Print `status` to OUT: one line per migration in name order,
 * "STATE  NAME[  (why)]" with STATE applied, changed, missing (applied, no
 * folder), pending or incomplete (no up file), then a summary line. Returns
 * the number of changed + missing migrations, or -1 on error.
 */
int mig_status_print(FILE *out, const struct mig_folder *f, const struct mig_db *db);

#endif
