/*
 * postmaster.h — one PostgreSQL server process, the way pg_ctl handles it:
 * spawn `postgres`, poll postmaster.pid for "ready" (watching for an early
 * exit), stop with SIGINT (fast) then SIGQUIT, tell a live postmaster from a
 * stale pidfile. The server runs in its own session with no descriptor of
 * ours, as the server user when we are root.
 */
#ifndef DBTOOL_POSTMASTER_H
#define DBTOOL_POSTMASTER_H

#include "lib/common.h"
#include "lib/cluster.h"

/*
 * Start the postmaster of C and wait until it is ready (c->start_timeout).
 * CL_CANNOT_START only when the server exited on its own; on a timeout or an
 * interruption the server that was started is stopped (and waited for)
 * before CL_TIMEOUT / CL_INTERRUPTED is returned. c->pid on success.
 */
enum cl_status pm_start(struct cluster *c);
/*
 * Wait until the already running postmaster PID of C is ready (crash
 * recovery). CL_OK, CL_CANNOT_START (it exited), CL_TIMEOUT, CL_INTERRUPTED.
 */
enum cl_status pm_wait_running(struct cluster *c, pid_t pid);
/* The pid of a live postmaster of DATA_DIR, or 0 (stale or no pidfile). */
pid_t pm_running_pid(const char *data_dir);
/* Whether DATA_DIR's postmaster.pid says the server is ready for connections. */
bool pm_ready(const char *data_dir);
/*
 * Stop the postmaster PID of DATA_DIR: SIGINT, after TIMEOUT s SIGQUIT. 0 or
 * -1 (message printed).
 */
int pm_stop_pid(pid_t pid, const char *data_dir, double timeout);
/* Stop whatever postmaster DATA_DIR's pidfile names (nothing: 0). 0 or -1. */
int pm_stop(const char *data_dir, double timeout);
/* Send the fast-shutdown signal to DATA_DIR's postmaster without waiting. */
void pm_stop_begin(const char *data_dir);
/*
 * A postmaster.pid whose postmaster is dead: wait for backends it left, then
 * remove the stale file (and its socket lock) so the server can start.
 */
void pm_clear_stale(struct cluster *c);
/* Whether something accepts connections on the unix socket PATH. */
bool pm_socket_in_use(const char *path);
/* Is PID a live process (a zombie is not)? */
bool pm_pid_alive(pid_t pid);
/* The last N lines of PATH to stderr, indented, after a "last lines of" line. */
void pm_show_tail(const char *path, int n);
/*
 * Run `postgres --single` on the stopped data dir DIR (database DB) as the
 * server user with SQL on stdin; output to LOG (NULL: discarded). The exit
 * status, or -1 when it could not start (errno ENOENT: no program).
 */
int pm_single_user(struct cluster *c, const char *dir, const char *db, const char *sql,
                   const char *log);

#endif
