/*
 * scratch.h — where throwaway clusters (`database check`, the two sides of
 * `database diff`, normalize-backup's temporary server) live.
 *
 * A throwaway data dir is written once and deleted minutes later, and most
 * of its cost on a disk is creating files (a fresh cluster has ~1300, every
 * CREATE TABLE adds a few, a restored backup all of its own): on a RAM
 * filesystem that cost is gone. So the base directory is, in order:
 *   1. $DBTOOL_SCRATCH_DIR when set (any directory: set it to
 *      "$LOCAL_DIR/focus" to keep throwaway clusters on disk);
 *   2. a private dir BASE = RAM/dbtool-UID on the first RAM filesystem (tmpfs)
 *      of $DBTOOL_SCRATCH_RAM (colon-separated; default "$XDG_RUNTIME_DIR:/dev/shm",
 *      without $XDG_RUNTIME_DIR as root: the server user could not reach inside)
 *      that has room for the job: its estimate plus max(256 MiB, 10% of the
 *      filesystem). BASE is 0700 (0711 as root, so the server user reaches its
 *      own 0700 dir inside) and refused when it is not ours or others may write it;
 *   3. $LOCAL_DIR/focus (what the shell tools use).
 *
 * Each throwaway dir BASE/NAME is owned through an exclusive flock on
 * BASE/.NAME.lock, held until scratch_close(); the lock dies with its
 * process, even on SIGKILL. scratch_open() sweeps BASE (and $LOCAL_DIR/focus)
 * for dirs whose lock nobody holds any more: their server is stopped and they
 * are removed, so a killed check or diff does not leave a server running and
 * a RAM filesystem filling up. Dirs without a lock file are never touched.
 */
#ifndef DBTOOL_SCRATCH_H
#define DBTOOL_SCRATCH_H

#include "lib/common.h"

/* Room for a fresh cluster (the template is ~36 MB), before what a job adds. */
#define SCRATCH_CLUSTER_BYTES (64ULL << 20)

struct scratch {
    char *dir;  /* BASE/NAME: the working dir to give the cluster (not created) */
    char *base; /* BASE */
    bool in_ram; /* BASE is on a RAM filesystem */
    int lock_fd;
};

/*
 * Pick the base for a throwaway cluster NAME that will hold about NEED bytes,
 * sweep stale dirs, take the lock of NAME. 0, or -1 after a message.
 */
struct settings;
int scratch_open(struct scratch *s, const struct settings *set, const char *name, uint64_t need);
/* The base directory a job of NEED bytes would use now (created; malloc'd), or NULL after a message. */
char *scratch_base(const struct settings *set, uint64_t need, bool *in_ram);
/* Release the lock and its file (after the cluster is removed); idempotent. */
void scratch_close(struct scratch *s);
/* Bytes free for us in DIR's filesystem (0 when it cannot be told). */
uint64_t scratch_avail(const char *dir);
/* Before removing a failed job's cluster: say how to use disk when the RAM filesystem is full. */
void scratch_hint_if_full(const struct scratch *s);
/* "in RAM (tmpfs)" or "on disk", for messages. */
const char *scratch_where(const struct scratch *s);
/* The size of FILE's contents once uncompressed (gzip: its trailer), 0 when unknown. */
uint64_t scratch_unpacked_size(const char *file);

#endif
