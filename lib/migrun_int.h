/*
 * migrun_int.h — what running one migration's script (migscript.c: the
 * bookkeeping SQL, the hooks that watch the migrator's transaction, the
 * held-back statements) and running a step and the whole `migrate`
 * (migrun.c: the transactional and `transaction: false` strategies, their
 * retries and resume, the hectic.migration row, chaining) share: the state
 * of a run and the helpers both call. Not an API.
 */
#ifndef DBTOOL_MIGRUN_INT_H
#define DBTOOL_MIGRUN_INT_H

#include "lib/migrate.h"

/* What the hooks are doing for the current run of a script. */
enum phase {
    PH_TX,   /* transactional: segments in transactions, held-back statements between them */
    PH_NOTX, /* transaction: false: every statement is a recorded step */
};

struct done {
    int step;
    char hash[SHA256_HEX_LEN];
};

struct run {
    PGconn *conn; /* the migrator's connection: bookkeeping always goes here */
    const struct mig *m;
    bool down;
    const char *path;
    const struct mig_opts *o;
    FILE *out;
    enum phase phase;
    bool dry;          /* print the SQL instead of sending it */
    char hash[SHA256_HEX_LEN]; /* of the up file (the hectic.migration row) */
    /* where the walk is */
    int unit;          /* the current unit */
    bool seg_open;     /* the current transactional segment has statements */
    bool in_tx;        /* a transaction of ours is open */
    char *seg_loc;     /* FILE:LINE of the segment's first statement */
    struct sha256_ctx seg;
    unsigned long nstmt; /* statements seen (transaction: false: the step number) */
    /* the statements run in the open transaction, for "what was committed" */
    char *first_loc, *last_loc;
    unsigned long ran;
    bool recorded;     /* the hectic.migration row was written */
    int wrote;         /* units committed by this run */
    struct done *done; /* units committed (by an earlier run or this one) */
    size_t done_nr, done_alloc;
    bool stopped;      /* a hook stopped the script and said why */
    const char *lock_timeout, *statement_timeout;
    /* chaining: the next migration's transaction is opened with this one's COMMIT
     * (one round trip less per migration) */
    bool begun;        /* this migration's transaction was opened that way */
    const char *next_begin; /* "BEGIN; SET LOCAL ..." of the next one, or NULL */
    bool *next_begun;  /* set when next_begin was sent and succeeded */
};

/* "down" or "up". */
const char *migrun_dir_word(bool down);
/* Note STEP (its HASH) as committed in R's done list. */
void migrun_add_done(struct run *r, int step, const char *hash);

/* INSERT (up) or DELETE (down) of the hectic.migration row (malloc'd SQL). */
char *migrun_book_row(const struct run *r);
/* The DELETE of the hectic.migration_step rows of R's migration and direction (malloc'd). */
char *migrun_book_clear(const struct run *r);
/* "; SET [LOCAL] lock_timeout = '5s'; ..." for the run's timeouts (may be ""; malloc'd). */
char *migrun_timeouts_sql(const struct run *r, bool local);
/* Run SQL on CONN: 0, or -1 after the server's error (WHAT, may be NULL, says what failed). */
int migrun_exec_sql(PGconn *conn, const char *sql, const char *what);
/* ROLLBACK, when CONN is not idle. */
void migrun_rollback(PGconn *conn);

/* Push the oid and the name of every INVALID index on OIDS and NAMES: 0 or -1. */
int migrun_invalid_indexes(PGconn *conn, struct strvec *oids, struct strvec *names);
/* Name every INVALID index whose oid is not in BEFORE, with how to drop it. */
void migrun_report_new_invalid(PGconn *conn, const struct strvec *before);
/* After a failure with SQLSTATE STATE on attempt ATTEMPT (0-based): wait and say so, or false. */
bool migrun_retry_lock(const struct run *r, const char *state, int attempt, const char *what);

/*
 * The transactional segment that just ended: a done one is checked, a run
 * one committed with its step row. 0 or -1 (message printed).
 */
int migrun_seg_end(struct run *r);
/*
 * Run R->path through a fresh runner session with the hooks, in phase PH.
 * STATE (may be NULL) gets the SQLSTATE of the error. 0 or -1.
 */
int migrun_run_script(struct run *r, enum phase ph, char state[6]);

#endif
