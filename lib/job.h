/*
 * job.h — running a C function in another process (git's start_async):
 *
 *   - job_start(): detached background work that outlives dbtool (the
 *     template cache's refill, deleting a replaced data dir). The job runs
 *     in its own session and process group, with no descriptor of ours or of
 *     the caller's (a CI step or $(...) must return), SIGTERM ending it, at
 *     nice 10. It holds an flock on its lock file for its whole life and
 *     writes its pid there; the lock file lives in a directory only the
 *     invoking user can write (the cache), so a pid is signalled only while
 *     the lock proves the job is alive — never a pid read from a file
 *     someone else could have written.
 *   - job_call_as(): run a function as another user (root handing work on
 *     the server user's files to the server user) and wait for it.
 *   - job_async_*(): run a function in a child while the parent goes on
 *     (the two sides of `database diff`), then collect its exit code.
 */
#ifndef DBTOOL_JOB_H
#define DBTOOL_JOB_H

#include "lib/common.h"
#include <sys/types.h>

/*
 * Start FN(ARG) detached, holding LOCKPATH. When SYNC, or when the job
 * cannot be started, FN runs here instead. 0 when started (or run), -1 when
 * another job holds LOCKPATH already (FN not run).
 */
int job_start(const char *lockpath, void (*fn)(void *), void *arg, bool sync);
/* The pid of the live job holding LOCKPATH, or 0 (none: its lock is free). */
pid_t job_running(const char *lockpath);
/*
 * Wait up to TIMEOUT s for the job of LOCKPATH to end (STOP_ON_SIGNAL: give
 * up on SIGINT/SIGTERM too). true when no job holds it any more.
 */
bool job_wait(const char *lockpath, double timeout, bool stop_on_signal);
/* Stop the job of LOCKPATH (SIGTERM to its process group) and wait up to TIMEOUT s. */
void job_stop(const char *lockpath, double timeout);
/*
 * Delete the lock files (*.lock) in DIR no job holds and none used for DAYS
 * days (job_start touches its lock file; one pruned between another
 * starter's open and flock is noticed there, which locks the new file).
 */
void job_prune_locks(const char *dir, int days);

/*
 * Run FN(ARG) in a child that switched to UID/GID (no supplementary
 * groups), and wait. FN's result (0 or -1) with its errno carried back; -1
 * with errno when the child could not run. Without AS_USER, FN runs here.
 */
int job_call_as(bool as_user, uid_t uid, gid_t gid, int (*fn)(void *), void *arg);

struct job_async {
    pid_t pid;
};
/*
 * Run FN(ARG) in a child process (not detached: it dies with us and is ours
 * to wait for); its return value becomes the child's exit status. 0 or -1.
 */
int job_async_start(struct job_async *j, int (*fn)(void *), void *arg);
/* Wait for the child: its exit status (128+signal when killed). */
int job_async_finish(struct job_async *j);
/* Ask the child to stop (SIGTERM) without waiting. */
void job_async_kill(struct job_async *j);

#endif
