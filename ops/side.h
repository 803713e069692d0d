/*
 * side.h — one side of a schema comparison, built where nobody works:
 * `database diff` (a backup plus the migrations, against the sources),
 * `migrator generate` (the migrations against the sources) and `database
 * drift` (a live database against the sources) all need "the sources side"
 * and most of them "the migrations side". This module builds them once for
 * all three.
 *
 * A side lives either in a throwaway cluster (ops/throwaway.h: scratch dir,
 * RAM when it has room, fsync off, removed on every exit path) — the
 * default — or, when the caller names a server (`--server URL`), in a fresh
 * database on that server (CREATE DATABASE ... TEMPLATE template0, dropped
 * afterwards): no cluster to start, for CI jobs and test suites that already
 * run one.
 *
 * Builds run in a child process (lib/job's job_async), so two sides build at
 * once; this process keeps the side's description and removes it (stopping
 * the child first) on every exit path, the child never does.
 *
 *   sources     hydrate (hectic bundle, dotenv secrets, $DATABASE_SOURCE's
 *               entrypoint) then the code directory (side_code_hook) then
 *               `migrator init` (the bundle again, idempotent); in a throwaway
 *               cluster that hydrate is `database deploy -P`'s, so the snapshot
 *               cache serves it when the sources are unchanged
 *   migrations  `migrator init` then `migrate up all` from the migration
 *               folder (only the bundle when there is no folder)
 *
 * Struct sides must have static storage: the cleanup stack points at them.
 */
#ifndef DBTOOL_SIDE_H
#define DBTOOL_SIDE_H

#include "lib/common.h"
#include "ops/throwaway.h"

struct settings;

enum side_build {
    SIDE_EMPTY,      /* nothing: the caller fills it (diff's restored backup) */
    SIDE_SOURCES,
    SIDE_MIGRATIONS,
};

struct side {
    const char *name;      /* "sources", "migrations", "backup": logs subdir, messages */
    const char *purpose;   /* "diff", "generate", "drift": message prefix */
    char *logdir;          /* LOGS/NAME (server log, hydrate.log, migrate.log), NULL: none kept */
    char *url;             /* the side's database, once built (side_finish) */
    /* throwaway mode */
    struct throwaway t;
    struct job_async job;
    bool cluster;
    /* server mode */
    char *server;          /* the server's URL (any database; dbname replaced) */
    char *dbname;          /* the database made for this side */
    int cookie;            /* cleanup stack entry of the DROP, -1 when none */
    /* the build (read by the child) */
    const struct settings *s;
    enum side_build build;
    bool mock;             /* sources: USE_MOCK=1 */
    const char *hydrate_log; /* sources: HYDRATE_LOG override (NULL: LOGDIR/hydrate.log) */
    const char *migration_dir; /* migrations: the folder (NULL: MIGRATION_DIR) */
    bool ignore_migration_fail;
    bool quiet;            /* no step timings on stderr */
    bool no_snapshot;      /* sources: hydrate even when the snapshot cache has them (ops/snapshot.h) */
    bool opened;           /* side_open ran (a zeroed struct is closed) */
};

/*
 * Get SD ready for a build: a throwaway cluster named PURPOSE-NAME-PID with
 * room for NEED bytes (0: a fresh cluster's) and database DATABASE (NULL:
 * PG_DATABASE) when SERVER is NULL, else a new database on SERVER. LOGS is
 * the directory whose NAME subdir gets the logs (NULL: none kept). Nothing
 * is started yet. 0 or an exit code.
 */
int side_open(struct side *sd, const struct settings *s, const char *purpose, const char *name,
              const char *logs, const char *database, uint64_t need, const char *server);

/*
 * Open SD (as side_open) as a throwaway cluster restored from the physical
 * backup B (ops/normalize.h) and start it; *URL gets the URL of the backup's
 * database (the only one, else FALLBACK_DB). Messages start with PURPOSE.
 * 0 or an exit code.
 */
struct norm_backup;
int side_restore_backup(struct side *sd, const struct settings *s, const char *purpose, const char *name,
                        const struct norm_backup *b, const char *logs, const char *fallback_db, char **url);

/* Start building SD (SD->build, SD->mock ... set by the caller) in a child. 0 or an exit code. */
int side_start(struct side *sd);

/* Wait for the build; SD->url is set on success. 0 or the build's exit code. */
int side_finish(struct side *sd);

/* Ask a side's server to stop without waiting (several then stop at once). */
void side_stop_begin(struct side *sd);

/* Remove the side (cluster or database); PASSED: the work succeeded (no hints). Idempotent. */
void side_close(struct side *sd, bool passed);

/*
 * `migrate up all` of DIR (NULL: MIGRATION_DIR) on URL, the bundle applied
 * first, output in LOGDIR/migrate.log (NULL: stderr). No folder: a message,
 * and only the bundle when BUNDLE_ALWAYS. IGNORE turns a failed migration
 * into a warning. PURPOSE prefixes messages. 0 or an exit code (4 a failed
 * migration).
 */
int side_migrate(const struct settings *s, const char *purpose, const char *url, const char *dir,
                 const char *logdir, bool ignore, bool bundle_always);

/*
 * The code directory of the sources side, applied after hydrate. Filled in
 * by the CODE_DIR work (issue: code objects); returns 0 and does nothing
 * while there is none. 0 or an exit code.
 */
int side_code_hook(const struct settings *s, const char *url);

/*
 * CONNINFO (URL or key=value) with the database replaced by DBNAME, as a
 * key=value string (malloc'd), or NULL after a message.
 */
char *side_url_with_db(const char *conninfo, const char *dbname);

#endif
