/*
 * diff.h — `database diff` (SPEC section 8): does the backup (plus the
 * pending migrations) end up where the sources say, schema and frozen data?
 *
 * Side 1 ("backup"): a throwaway cluster restored from a physical backup
 * (raw or normalised, see normalize.h), then `migrate up all`; or, with
 * `against`, a live database that is only read (catalog queries, pg_dump,
 * COPY TO). Side 2 ("sources"): a throwaway cluster hydrated from the sources,
 * then `migrator init`. Throwaway clusters live in $LOCAL_DIR/focus/diff-*-PID
 * and are removed on every exit path; their server logs (and the hydrate and
 * migration output) are kept in $LOCAL_DIR/focus/diff-logs/{backup,sources}
 * for `database diff log`.
 *
 * Output (stdout; through $PAGER and coloured only on a terminal): the
 * unified diff of the normalised `pg_dump --schema-only --no-owner
 * --no-privileges` of both sides; then, when a hectic schema exists on
 * either side, "--- IMMUTABLE TABLE DATA ---" and the sections of
 * lib/datadiff.h; "no differences found" when nothing differs. JSON instead:
 * {"schema_changed":bool,"tables":[{"table":"s.t","added":n,"removed":n,
 * "changed":n,"only_on":null|"backup"|"sources"}],"differences":bool}.
 * --sql instead: the statements that bring side 1 to the sources
 * (lib/sqldiff.h from the two catalogs, then the reference rows as
 * INSERT/UPDATE/DELETE in migration mode, as `migrator generate` writes
 * them), hazards on stderr.
 */
#ifndef DBTOOL_DIFF_H
#define DBTOOL_DIFF_H

#include "lib/common.h"

struct settings;

struct diff_opts {
    const char *backup;          /* backup dir, NULL: $LOCAL_DIR/focus/postgresql-backup */
    const char *against;         /* live database URL instead of a backup */
    const char *tables;          /* "a,b": limit schema and data to these tables */
    bool ignore_migration_fail;  /* a failing migration warns instead of failing */
    bool mock;                   /* hydrate with USE_MOCK=1 */
    bool include_bookkeeping;    /* compare created_at/updated_at too */
    bool json;                   /* the JSON summary instead of the diff */
    bool sql;                    /* the DDL + reference data DML from side 1 to the sources instead */
    bool no_snapshot;            /* hydrate the sources even when a snapshot has them */
};

/*
 * Run the diff. Returns 0 when schema and data are the same, 1 when either
 * differs, or the exit code of a failure (3 missing backup, 5 a named table
 * exists on neither side, 127 missing program, 1 a failed migration ...).
 */
int diff_run(const struct settings *s, const struct diff_opts *o);

/* $LOCAL_DIR/focus/diff-logs (malloc'd), NULL without LOCAL_DIR. */
char *diff_logs_dir(const struct settings *s);

/*
 * `database diff log [backup|sources] [list|INDEX|NAME]`: the logs of the
 * last diff's clusters. SIDE NULL: both. 0 or an exit code.
 */
int diff_log(const struct settings *s, const char *side, const char *sel);

/*
 * Normalise a pg_dump --schema-only text for comparison (appended to OUT):
 * drops \restrict / \unrestrict lines (random keys), the "Dumped from/by"
 * version comments, and the session SET lines and search_path set_config()
 * call of the preamble before the first statement (they depend on the
 * pg_dump and server versions, not the schema); collapses runs of blank lines
 * and trims blank lines at both ends.
 */
void diff_schema_normalize(const char *dump, size_t len, struct strbuf *out);

#endif
