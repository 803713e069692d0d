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
 * plus an optional NAME/migration.yaml (MIG_META_FILE):
 *     transaction: false        the whole migration runs outside a transaction
 *     lock_timeout: 5s          SET (LOCAL) lock_timeout for its statements
 *     statement_timeout: 10min  SET (LOCAL) statement_timeout
 *
 * What the scan reports instead of ignoring (each stops `migrate` before it
 * applies anything past it; see mig_blocking()):
 *   - an entry whose name starts with a digit but is not a migration
 *     directory name (20-digit versions, "2024-x", "20240101000000_x.sql"):
 *     a "bad" entry, with the reason;
 *   - a well-named directory without a regular up file (UP.sql, up.sql a
 *     directory or a FIFO, nothing): "incomplete", with the reason.
 * Other entries (dotfiles, README, shared/) are ignored.
 *
 * The hash recorded for a migration is the lower-case hex sha256 of the bytes
 * of its up file (up.sql, or up/entrypoint.sql for the multi-file layout:
 * included files are not part of it), exactly what the shell migrator wrote.
 *
 * Statements that cannot run inside a transaction block (lib/parse says so:
 * CREATE INDEX CONCURRENTLY, VACUUM, ALTER SYSTEM, ...) keep their place in a
 * transactional migration: what comes before one commits, it runs on its
 * own, what follows runs in a new transaction; each committed part is
 * recorded in hectic.migration_step (bundle part 06-migration-steps) so that
 * a failure resumes at the failing statement. See mig_run_step().
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

/* What migration.yaml says (defaults: transaction true, no timeouts). */
struct mig_meta {
    bool transaction;
    char *lock_timeout;      /* a PostgreSQL duration ("5s", "500ms", "250"), NULL: none */
    char *statement_timeout; /* the same */
};

/* One directory of the migration folder with a valid name. */
struct mig {
    char *name;       /* the directory name */
    char *up;         /* path of the up file, NULL when there is none */
    char *down;       /* path of the down file, NULL when there is none */
    bool multi;       /* up/entrypoint.sql layout */
    bool no_tx;       /* migration.yaml says transaction: false */
    bool has_meta;    /* migration.yaml exists */
    /* what is known so far (the scan only reads the directory; files are
     * looked at when needed: see mig_resolve()) */
    bool up_known, down_known, meta_known;
    bool has_up_dir, has_down_dir; /* an up/ or down/ directory (list counts them as present) */
    char *why;        /* no up file: why ("UP.sql is not up.sql: names are case-sensitive") */
    struct mig_meta meta;
    char hash[SHA256_HEX_LEN]; /* of the up file, once read ("" before) */
};

/* An entry that looks like a migration but is not one (see above). */
struct mig_bad {
    char *name;
    char *why;
};

/* A remembered hash of NAME/up.sql with the stat data it was computed for. */
struct mig_cached_hash {
    char *name;
    unsigned long long dev, ino, size, mtime_ns, ctime_ns;
    char hash[SHA256_HEX_LEN];
};

/* The scanned migration folder: every well-named directory, sorted by name. */
struct mig_folder {
    char *dir;
    int dfd; /* the open folder (-1 when released) */
    struct mig *v;
    size_t nr, alloc;
    struct mig_bad *bad; /* sorted by name */
    size_t bad_nr, bad_alloc;
    /* the hash cache (mig_hash_cache_open), sorted by name */
    char *cache_path;
    struct mig_cached_hash *cache;
    size_t cache_nr, cache_alloc;
    bool cache_dirty;
};

/* One row of hectic.migration. */
struct mig_applied {
    char *name;
    char *hash;
    char *applied_at; /* NULL unless read with times */
};

/* One row of hectic.migration_step: a committed part of an unfinished migration. */
struct mig_progress {
    char *name;
    bool down;
    int step;      /* 0: the transactional part; 1..: statements outside it, in order */
    char *hash;    /* sha256 of what ran (step 0: the statements run in the transaction) */
    char *location; /* FILE:LINE */
};

/* hectic.migration as read at one point, sorted by name (byte order). */
struct mig_db {
    struct mig_applied *v;
    size_t nr, alloc;
    bool has_table;      /* false: the bundle is not applied yet (nothing applied) */
    bool has_steps;      /* hectic.migration_step exists */
    struct mig_progress *steps; /* ordered by name, direction, step */
    size_t steps_nr, steps_alloc;
};

/* Whether NAME is a migration name: 14 digits, '-', at least one more byte. */
bool mig_name_valid(const char *name);
/*
 * Why NAME (which starts with a digit) is not a migration name, malloc'd, or
 * NULL when it is one ("the version has 20 digits; dbtool's has 14 ...").
 */
char *mig_name_problem(const char *name);
/*
 * Whether LABEL can follow the timestamp in `create --name`: not empty, no
 * '/', no control characters, not "." or "..". On false *why says what is wrong.
 */
bool mig_label_valid(const char *label, const char **why);
/*
 * Make DIR/<stamp>-LABEL (DIR made when missing): the stamp, UTC
 * YYYYMMDDHHMMSS, later than now and than every migration in DIR, chosen
 * under an flock on DIR that *LOCK_FD keeps (the caller writes the folder's
 * files, then closes it). *PATH (malloc'd) gets the folder. 0, or -1 after
 * saying why (nothing kept).
 */
int mig_create_folder(const char *dir, const char *label, char **path, int *lock_fd);
/* A random pronounceable label ("bekatu-rosimo"), malloc'd. */
char *mig_random_label(void);

/*
 * Scan DIR into F (sorted by name): one readdir, no file is opened; bad
 * entries go to F->bad. 0, or -1 with a message (a missing DIR included).
 */
int mig_scan(const char *dir, struct mig_folder *f);
void mig_folder_release(struct mig_folder *f);
/* The entry named NAME, or NULL. */
const struct mig *mig_find(const struct mig_folder *f, const char *name);
/*
 * Look at M's files: up and down (fstatat), migration.yaml (read strictly:
 * unknown keys, wrong types and syntax errors are errors naming
 * file:line:col). Idempotent. 0, or -1 (a bad migration.yaml).
 */
int mig_resolve(struct mig_folder *f, struct mig *m);
/* mig_resolve() on every entry. 0, or -1 when any migration.yaml is bad. */
int mig_resolve_all(struct mig_folder *f);
/* Read M's up file once into M->hash (also finds the up file). 0, or -1 when it cannot be read. */
int mig_hash(struct mig_folder *f, struct mig *m);

/*
 * The hash cache, as git's index caches stat data: the sha256 of each
 * NAME/up.sql is remembered in the file PATH with the file's device, inode,
 * size, mtime and ctime; while those are unchanged the file is not read
 * again, so a no-op over thousands of applied migrations is one stat per
 * migration. Files changed less than 2 s before the cache is written are not
 * remembered (a change within the same clock tick would go unseen). A
 * missing or unreadable cache is an empty one; PATH NULL: no cache.
 */
void mig_hash_cache_open(struct mig_folder *f, const char *path);
/* Write the cache back when it changed (atomically; errors only at debug level). */
void mig_hash_cache_save(struct mig_folder *f);
/* The cache file for the folder DIR under CACHE_DIR (malloc'd), NULL when CACHE_DIR is NULL. */
char *mig_hash_cache_path(const char *cache_dir, const char *dir);

/* Parse a migration.yaml file into META (defaults first). 0, or -1 with "file:line:col: ...". */
int mig_meta_load(const char *path, struct mig_meta *meta);
/* The same for YAML text (tests, fuzzing); NAME is used in messages. */
int mig_meta_parse(const char *name, const char *text, size_t len, struct mig_meta *meta);
void mig_meta_release(struct mig_meta *meta);

/*
 * Read hectic.migration (one query; WITH_TIMES adds applied_at) and the
 * unfinished steps of hectic.migration_step. A missing table is not an
 * error: has_table = false and nothing applied. 0 or -1.
 */
int mig_db_read(PGconn *conn, struct mig_db *db, bool with_times);
void mig_db_release(struct mig_db *db);
/*
 * The migrator lock, the bundle version and mig_db_read() in one round trip
 * (a no-op run needs no other). 1: locked, VERSION holds hectic.version's
 * value and DB is read; 2: locked, but there is no hectic.version table
 * (DB empty, not read); 0: another migrator holds the lock (nothing read:
 * wait with mig_lock()); -1 with a message.
 */
int mig_lock_and_read(PGconn *conn, struct mig_db *db, struct strbuf *version);
/* The applied row named NAME, or NULL. */
const struct mig_applied *mig_db_find(const struct mig_db *db, const char *name);
/* The committed steps of NAME in direction DOWN: *n of them, ordered by step. */
const struct mig_progress *mig_db_progress(const struct mig_db *db, const char *name, bool down, size_t *n);

/*
 * The history check: the applied names must be the first db->nr migrations
 * of F (those with an up file), in order. Returns -1 when they are, else the
 * 0-based position of the first difference (a missing entry on either side
 * reads as NULL in *applied / *folder).
 */
long mig_history_check(struct mig_folder *f, const struct mig_db *db, const char **applied,
                       const char **folder);
/*
 * Print the history mismatch at POS to OUT, as the shell migrator did:
 *     Migration history mismatch detected!
 *     Position: Migration #N
 *     Database has: NAME
 *     Filesystem has: NAME
 *     Full filesystem migrations (in order):
 *       1. NAME ...
 *     Full database migrations (in order):
 *       1. NAME ...
 *     Use --force to ...
 */
void mig_history_report(FILE *out, struct mig_folder *f, const struct mig_db *db, long pos);

/*
 * Applied migrations whose up file no longer hashes to the recorded value
 * (case-insensitive compare); their names go to CHANGED (may be NULL) and,
 * when HASHES is non-NULL, the current hashes to HASHES, in the same order.
 * Applied migrations without a folder are not counted here ("missing").
 * Returns the number, or -1 when a file cannot be read.
 */
int mig_changed(struct mig_folder *f, const struct mig_db *db, struct strvec *changed,
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

/*
 * Preparing the database (the applet's `init`): called with APPLY false
 * before anything is read (refuse another bundle version: -1), and with
 * APPLY true before the first step runs (apply the bundle). -1 stops the run.
 */
typedef int (*mig_init_fn)(PGconn *conn, bool apply, void *arg);

struct mig_opts {
    const struct strvec *vars;  /* "NAME=VALUE" script variables, may be NULL */
    bool force;                 /* go on past a history mismatch */
    bool accept_changed;        /* record the new hash of changed applied migrations */
    bool verbose;               /* print command tags of the scripts */
    bool dry_run;               /* print the SQL a run would send; change nothing */
    bool progress;              /* an updating counter line on a terminal (lib/progress) */
    FILE *out;                  /* script output (\echo, tags) and the dry run; NULL: stdout */
    /* defaults for migrations whose migration.yaml does not set them (dbtool.yaml
     * migration.lock_timeout / statement_timeout); NULL: none */
    const char *lock_timeout;
    const char *statement_timeout;
    int lock_retries;           /* a statement that fails on lock_timeout is retried this often */
    double retry_delay;         /* seconds before the first retry; doubled each time */
    mig_init_fn init;           /* may be NULL */
    void *init_arg;
    /* the bundle version the database must have: when it has it, init(conn,
     * false) is not needed (NULL: always call it) */
    const char *bundle_version;
    /* the caller closes the connection right after: the session ends the
     * lock, no unlock round trip */
    bool close_after;
    /*
     * Called before each step runs, on the idle connection (NULL: none); a
     * non-zero return refuses the step: nothing more runs, MIG_MISMATCH
     * (the applet's `migrate` checks a generated migration's baseline here).
     */
    int (*before_step)(PGconn *conn, const struct mig_step *step, void *arg);
    void *before_arg;
    /*
     * Whether before_step would pass STEP without looking at the database
     * (NULL: it may always look). Such steps need no call, and the COMMIT of
     * the step before may open their transaction (one round trip less).
     */
    bool (*before_step_idle)(const struct mig_step *step, void *arg);
};

/* What mig_migrate() did; the applet turns it into an exit code. */
enum mig_status {
    MIG_OK,            /* the requested migrations were applied / reverted */
    MIG_AT_TARGET,     /* nothing to do (message printed) */
    MIG_NOT_ENOUGH,    /* up N / down N asked for more than there is; nothing done */
    MIG_NO_SUCH,       /* to NAME: no such migration in the folder */
    MIG_NONE,          /* up: the folder has no migration at all ("no migrations found") */
    MIG_MISMATCH,      /* the history check failed (no --force); nothing done */
    MIG_CHANGED,       /* an applied migration changed (no accept); nothing done */
    MIG_BLOCKED,       /* a bad or incomplete entry lies in the way; nothing done */
    MIG_CONFIG,        /* a migration.yaml of the plan is invalid; nothing done */
    MIG_FAILED,        /* a migration failed; it was rolled back (or stopped at a recorded
                          step); earlier ones stay */
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
 * MIG_NOT_ENOUGH (up N / down N: fewer than N), MIG_NONE (up of a folder
 * without migrations) or MIG_NO_SUCH; the message for the last four is
 * printed. A down step of a migration that has no folder or no down file is
 * planned too and fails when run (its name is in the error).
 */
enum mig_status mig_plan(struct mig_folder *f, const struct mig_db *db, const struct mig_request *req,
                         struct mig_plan *plan);
void mig_plan_release(struct mig_plan *plan);

/*
 * The bad and incomplete entries an up plan would pass: those sorting before
 * the last up step of PLAN, or all of them when ALL (up all, to latest).
 * Each is printed ("NAME: why"); returns their number.
 */
size_t mig_blocking(struct mig_folder *f, const struct mig_plan *plan, bool all);

/*
 * Run one step on CONN (idle, not in a transaction). See lib/migrun.c:
 *   transactional migrations: BEGIN; SET LOCAL hectic.migration_mode = 'on';
 *     the timeouts; the script, watched statement by statement (transaction
 *     control is refused before it runs, and a transaction status that
 *     changes anyway stops the script and says what was committed); the
 *     bookkeeping row; COMMIT. A statement that cannot run in a transaction
 *     ends the transaction before it (with a hectic.migration_step row), runs
 *     on its own (its row) and the rest runs in a new transaction.
 *   migration.yaml `transaction: false`: statement by statement in
 *     autocommit, each recorded as a step, then the bookkeeping row.
 * A failure on lock_timeout (SQLSTATE 55P03) is retried with backoff.
 * DB (may be NULL) holds the steps committed by an earlier, failed run: they
 * are skipped when unchanged. 0, or -1 after the runner's FILE:LINE message
 * and a summary.
 */
int mig_run_step(PGconn *conn, const struct mig_step *step, const struct mig_db *db,
                 const struct mig_opts *opts);

/*
 * The whole `migrate` command on CONN (idle, connected): take the lock
 * (waiting as mig_lock does), check the bundle version (opts->init), read
 * hectic.migration, check the history (MIG_MISMATCH unless opts->force,
 * which warns loudly and goes on), refuse changed applied migrations
 * (MIG_CHANGED unless opts->accept_changed, which records their new
 * hashes), plan, refuse bad or incomplete entries in the way (MIG_BLOCKED),
 * apply the bundle (opts->init) when there is something to run, run the
 * steps in order and stop at the first failure (MIG_FAILED). With
 * opts->dry_run: print the SQL instead, change nothing. Releases the lock.
 */
enum mig_status mig_migrate(PGconn *conn, struct mig_folder *f, const struct mig_request *req,
                            const struct mig_opts *opts);

/*
 * Record the folder's migrations up to UPTO (NULL: all) as applied without
 * running them, with their hashes (`migrator baseline`, `database deploy
 * --baseline`). Under the lock; the applied ones must be a prefix of the
 * folder and no bad or incomplete entry may lie in the range. *N gets the
 * number recorded. MIG_OK, MIG_AT_TARGET (nothing to record), MIG_NO_SUCH,
 * MIG_MISMATCH, MIG_BLOCKED or MIG_ERROR.
 */
enum mig_status mig_baseline(PGconn *conn, struct mig_folder *f, const char *upto, size_t *n);

/* One line of `status`. */
enum mig_state {
    MIG_ST_APPLIED,
    MIG_ST_CHANGED,    /* applied, the up file changed since */
    MIG_ST_MISSING,    /* applied, no folder or no up file */
    MIG_ST_PENDING,
    MIG_ST_PARTIAL,    /* parts committed by a failed run (hectic.migration_step) */
    MIG_ST_INCOMPLETE, /* a folder without an up file */
    MIG_ST_BAD,        /* an entry that is not a migration name */
};
/* "applied", "changed", ... (static) */
const char *mig_state_name(enum mig_state st);

struct mig_status_counts {
    size_t n[MIG_ST_BAD + 1];
};

/*
 * Print `status` to OUT: one line per migration in name order,
 * "STATE  NAME[  (why)]", then a summary line; JSON: one object (see the
 * migrator help). COUNTS (may be NULL) gets the numbers. 0, or -1 on error.
 */
int mig_status_print(FILE *out, struct mig_folder *f, const struct mig_db *db, bool json,
                     struct mig_status_counts *counts);


#endif
