/*
 * session.h — `database session` (issue 20): from a remote database to a
 * deployed change, one session at a time per project.
 *
 *   --ssh HOST        (start, deploy) the remote is reached through an ssh
 *                     tunnel to HOST (ops/tunnel.h): URL is as HOST sees it,
 *                     only a port forward is opened, nothing runs there; the
 *                     rehearsal's copy and the remote's migrate go through it.
 *   start --from URL  the remote is read in read-only sessions
 *                     (default_transaction_read_only=on): its catalog
 *                     (lib/catalog.h), its migration table (hectic.migration,
 *                     absent: none applied) and the rows of the tables
 *                     STAGING_DUMP_TABLES lists (pg_dump table patterns, the
 *                     pull_staging contract) plus the migration tables. The
 *                     schema is created (lib/sqldiff.h: DDL from an empty
 *                     database to the remote's catalog) in the database
 *                     PG_DATABASE_session of the project's cluster (started
 *                     as `database init --reuse` does), the rows copied with
 *                     COPY between the two connections (no file, no argv)
 *                     and the owned sequences set. The state (focus/session/
 *                     state, written atomically under the cluster's lock)
 *                     records the masked URL, the remote's catalog hash (as
 *                     `dbtool schema hash` computes it) and its applied
 *                     migrations.
 *   plan              pending migrations (the folder against what the remote
 *                     has), hazards (lib/miglint.h) in them, and the changes
 *                     the sources still need after them: the pending
 *                     migrations (and the code directory) are rehearsed on a
 *                     copy of the session database (CREATE DATABASE ...
 *                     TEMPLATE) whose catalog is diffed against the sources
 *                     side (ops/side.h). Exit 0 nothing to do, 1 something,
 *                     2 an error.
 *   deploy --to URL   refuses (exit 2) when the remote's catalog hash is not
 *                     the one start recorded (unless --force); loads a fresh
 *                     copy of the remote into a throwaway cluster
 *                     (ops/throwaway.h) and runs `migrator migrate up all`
 *                     there, then — unless --dry-run — the same command on
 *                     the remote (lib/migrate: advisory lock, hashes,
 *                     transaction rules, lock_timeout). A killed deploy run
 *                     again resumes: the migration table says what is done.
 *                     After it the remote's new hash and migrations are the
 *                     session's, and the session database gets the same
 *                     migrations.
 *   status, abort     abort drops the session database and removes
 *                     focus/session/; the remote is never touched.
 *
 * Exit codes: 0 ok; 1 an error (the remote unreachable or unreadable);
 * 2 deploy refused (the remote changed since start); 3 no session / a
 * missing --from or --to; 4 a migration failed (rehearsal or remote);
 * 2 also: a session exists already (start); 9 usage.
 */
#ifndef DBTOOL_SESSION_H
#define DBTOOL_SESSION_H

#include "lib/common.h"

struct settings;

/* start: a session exists already */
#define SESSION_EXIT_EXISTS EXIT_AMBIGUOUS
/* deploy: the remote changed since start */
#define SESSION_EXIT_CHANGED EXIT_AMBIGUOUS

/*
 * SSH (NULL: FROM/TO is reached directly): the remote is reached through an
 * ssh tunnel to that host (ops/tunnel.h; FROM/TO as seen from it), opened
 * for the command and closed on every exit path.
 */
int session_start(const struct settings *s, const char *from, const char *ssh);
int session_status(const struct settings *s, bool json);
int session_abort(const struct settings *s);
/*
 * apply: on the session database, the .sql files of $DATABASE_DIR/infra
 * (roles, schemas, extensions) in name order, then `migrate up all` of
 * MIGRATION_DIR with the code directory, then $DATABASE_DIR/grants and
 * $DATABASE_DIR/seeds. Each file runs in its own transaction and is recorded
 * in the state when it commits: after a failure (exit 4) the next apply goes
 * on from the failed file.
 */
int session_apply(const struct settings *s);
/*
 * commit LABEL: `migrator generate LABEL` (ops/generate.h) from the session
 * database with the pending migrations (a copy, as plan rehearses them) to
 * the sources: what the sources need beyond the migrations, as one
 * migration folder in MIGRATION_DIR (its baseline: that copy's catalog
 * hash), recorded in the state. gen_run's exit codes.
 */
int session_commit(const struct settings *s, const char *label, const char *allow_hazards);
/*
 * 0 nothing to do, 1 something to do, 2 an error, 3 no session. JSON: one
 * object {"pending":[names],"hazards":<migrator lint's object>|null,
 * "changes":<the sqldiff object>|null,"code":<database plan's object>|null,
 * "work":bool} on stdout (null: that part has nothing to look at).
 */
int session_plan(const struct settings *s, bool json);
/*
 * MIGRATE runs `migrator migrate up all` on URL with S (the applet's own
 * code path, so the rehearsal and the remote get exactly what `migrator`
 * does) and returns its exit code.
 */
int session_deploy(const struct settings *s, const char *to, const char *ssh, bool dry_run, bool force,
                   int (*migrate)(const struct settings *s, const char *url));

#endif
