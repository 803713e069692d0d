/*
 * throwaway.h — the throwaway cluster recipe, once: `database check`, both
 * sides of `database diff` and normalize-backup's temporary server.
 *
 * A throwaway cluster lives in a scratch dir (lib/scratch: RAM when it has
 * room, owned through a lock for the run's life), has its own working and
 * socket dirs, fsync off, is never the developer's cluster, and is stopped
 * and removed on every exit path (the cleanup stack covers die() and
 * Ctrl-C; a SIGKILLed run's is swept by the next one).
 */
#ifndef DBTOOL_THROWAWAY_H
#define DBTOOL_THROWAWAY_H

#include "lib/common.h"
#include "lib/cluster.h"
#include "lib/job.h"
#include "lib/scratch.h"

struct settings;

struct throwaway_opts {
    const char *log_path; /* server logs (PG_LOG_PATH), NULL: inside the data dir */
    const char *database; /* NULL: PG_DATABASE */
    bool keep_conf_file;  /* keep PG_CONF_FILE (check does; a backup brings its own) */
};

struct throwaway {
    const char *purpose;  /* "check", "diff", "normalize-backup": message prefix */
    struct scratch scratch;
    struct cluster c;
    int cookie;           /* cleanup stack entry, -1 when not registered */
    bool passed;          /* the work succeeded: no hint about a full RAM fs */
    bool open;
    struct job_async *job; /* a child working on the cluster: stopped before removal */
};

/*
 * Pick the scratch dir NAME for about NEED bytes, set up T->c from S with
 * the throwaway changes, and register the removal on the cleanup stack.
 * T must stay at its address until throwaway_close() (static storage). The
 * cluster is not started. 0 or an exit code.
 */
int throwaway_open(struct throwaway *t, const struct settings *s, const char *purpose,
                   const char *name, uint64_t need, const struct throwaway_opts *o);
/* Stop and remove the cluster, release the scratch dir; idempotent. */
void throwaway_close(struct throwaway *t);
/* Ask the server to stop without waiting (so that several stop at once). */
void throwaway_stop_begin(struct throwaway *t);

#endif
