/*
 * code.h — schema as code: `database plan`, `database apply`, `database
 * watch`, and the same work for `migrator migrate` and hydrate (issue 17).
 *
 * The code directory (CODE_DIR, default $DATABASE_DIR/code) holds .sql files
 * defining views, functions, types ... (lib/codeobj.h). hectic.code_object
 * (bundle part 05-code) records what was created from which text. A plan
 * compares the files with it and with the pending migrations:
 *
 *   new       an object not recorded: created (an object of that name that
 *             already exists, made by hand or by an old migration, is
 *             dropped and created from its file: "adopted")
 *   changed   its statements changed: dropped and created again
 *   moved     same statements, another file or line: only recorded
 *   removed   its file or statement is gone: dropped
 *   re-created  an object of the code directory that depends (pg_depend) on
 *             something dropped above, or on a relation, type or routine a
 *             pending migration drops, renames, moves or changes a column of
 *             (DROP/RENAME/SET SCHEMA, ALTER COLUMN ... TYPE, DROP COLUMN):
 *             dropped before and created again after; what a migration drops
 *             or renames itself (and what depends on it) is left to it, then
 *             dropped if still there and created again
 *   missing   recorded, but no longer in the catalog (dropped by hand): created
 *
 * and applies it in ONE transaction: NOTIFY start; BEGIN; drop (dependents
 * first); the pending migrations (SET LOCAL hectic.migration_mode = 'on',
 * each with its hectic.migration row); create (dependencies first); record;
 * NOTIFY success; COMMIT. Any failure rolls all of it back, names the object
 * and FILE:LINE, and sends NOTIFY failure. A migration that cannot run in a
 * transaction (migration.yaml `transaction: false`, or BEGIN/COMMIT in it)
 * splits the work: drops commit first (their rows deleted, so a failure
 * later leaves them "new" for the next apply), then the migrations as the
 * migrator runs them, then the creates.
 *
 * Notifications: channel CODE_NOTIFY_CHANNEL, payload JSON
 * {"event":"start"|"success"|"failure", "pid":N, ...}: start before the
 * transaction, success delivered at its commit, failure after the rollback;
 * only when there is something to do.
 *
 * An object that depends on something outside the code directory which
 * would have to be dropped with it (a table's column default calling a
 * changed function) is an error before anything runs: change it with a
 * migration.
 */
#ifndef DBTOOL_CODE_H
#define DBTOOL_CODE_H

#include "lib/common.h"
#include "lib/migrate.h"
#include <libpq-fe.h>

struct settings;

#define CODE_NOTIFY_CHANNEL "hectic_code"

/* Exit codes of `database plan` besides 0 (nothing to do) and 1 (something to do). */
#define CODE_PLAN_EXIT_ERROR 2

/* `database plan [--format json]` on URL. 0 nothing to do, 1 something, 2 an error (3 config). */
int code_plan_cmd(const struct settings *s, const char *url, bool json);

/*
 * `database apply` on URL: applies the hectic bundle first when the
 * database lacks it, then the plan. 0 (done, or nothing to do), 2 invalid
 * code directory or migration history, 4 a migration or an object failed
 * (rolled back), 1 other errors.
 */
int code_apply_cmd(const struct settings *s, const char *url, const struct strvec *vars);

/*
 * `database watch` on URL: apply the code directory (not migrations), then
 * again ~100 ms after each change under it (inotify), one line per object
 * on stdout; an error is printed and watching goes on. Returns 130 after
 * Ctrl-C (the last good state stays), or an exit code when it cannot start.
 */
int code_watch_cmd(const struct settings *s, const char *url);

/*
 * `migrator migrate` with a code directory: mig_migrate()'s checks (lock,
 * INIT, history, changed migrations), then the steps of REQ and the code
 * directory CODE_DIR applied together as above. The same statuses as
 * mig_migrate(); MIG_FAILED also when a code object failed; MIG_MISMATCH
 * also for an invalid code directory (a cycle, an unknown reference).
 */
enum mig_status code_migrate(PGconn *conn, const char *code_dir, const struct mig_folder *f,
                             const struct mig_request *req, const struct mig_opts *opts,
                             int (*init)(PGconn *conn, void *arg), void *init_arg);

/*
 * hydrate: the code directory CODE_DIR on CONN after the sources. With
 * STATELESS (no hectic bundle: hydrate -H) every object is created and
 * nothing recorded. Quiet but for errors and a summary line. 0 or -1.
 */
int code_hydrate(PGconn *conn, const char *code_dir, bool stateless);

#endif
