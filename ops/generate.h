/*
 * generate.h — `migrator generate LABEL` (issue 18): the migration that
 * takes the schema the migrations build to the schema the sources build,
 * written by the differ instead of by hand.
 *
 * Two sides, built at once exactly as `database diff` builds its sources
 * side (ops/side.h: throwaway clusters in RAM, or databases on --server):
 *   migrations  hectic bundle + `migrate up all` of the migration folder
 *   sources     hydrate (bundle, dotenv, $DATABASE_SOURCE) + the code dir
 * Both catalogs are read (lib/catalog.h) and diffed both ways
 * (lib/sqldiff.h): migrations -> sources is up.sql, sources -> migrations
 * down.sql. The rows of the tables inheriting hectic.immutable are diffed
 * too (lib/datadiff.h) and become INSERT/UPDATE/DELETE statements after the
 * DDL, under SET LOCAL hectic.migration_mode = 'on'.
 *
 * Written, under a lock on the folder, as MIGRATION_DIR/<UTC
 * YYYYMMDDHHMMSS>-LABEL/ (the timestamp later than every migration there):
 *   up.sql, down.sql   a comment header (what, when, the baseline, the
 *                      hazard report), then the statements
 *   migration.yaml     `transaction: false` when a statement cannot run in
 *                      a transaction (CREATE INDEX CONCURRENTLY, VALIDATE
 *                      CONSTRAINT after NOT VALID, a new enum value used
 *                      later): the script then holds its own BEGIN/COMMIT
 *                      blocks and the runner runs it statement by statement
 * Nothing differs: "nothing to generate", exit 0, nothing written.
 *
 * Hazards: every up statement carries the differ's classes named with
 * `migrator lint`'s rules (sqldiff.h). A hazard not allowed by
 * --allow-hazards=LIST (classes, rule names, or all) refuses the whole
 * migration: the report is printed, nothing is written, exit 1. down.sql's
 * hazards are reported in its header, never refused (undoing a creation
 * drops it).
 *
 * Baseline: up.sql's header records the catalog hash of the migrations
 * side ("-- dbtool-baseline: sha256=HEX server=MAJOR"), down.sql's that of
 * the sources side. `migrate` checks it before running the step
 * (gen_baseline_hook): a database whose schema hash differs was changed by
 * hand since, and the step is refused unless --force-after-drift.
 */
#ifndef DBTOOL_GENERATE_H
#define DBTOOL_GENERATE_H

#include "lib/common.h"
#include <libpq-fe.h>

struct settings;
struct mig_step;

struct gen_opts {
    const char *label;          /* the name after the timestamp (required) */
    const char *migration_dir;  /* the folder (NULL: MIGRATION_DIR) */
    const char *allow_hazards;  /* "data-loss,drop-column" / "all"; NULL: none */
    const char *server;         /* build the sides as databases on this server, NULL: throwaway clusters */
    bool plain_constraints;     /* FK/CHECK in one statement, SET NOT NULL directly */
    bool blocking_indexes;      /* indexes without CONCURRENTLY */
    bool mock;                  /* hydrate with USE_MOCK=1 */
    bool dry_run;               /* print up.sql to stdout, write nothing */
    /* the "from" schema is this database, as it is (nothing built for it):
     * `database session commit` passes the session's copy of the remote with
     * the pending migrations; NULL: the migrations side */
    const char *base_url;
    const char *base_what;      /* its description in the headers */
};

/*
 * Run `generate`. 0: written (its path on stdout) or nothing to generate;
 * 1 a hazard refused or a build failed; 3 LOCAL_DIR/sources missing; 4 a
 * migration of the folder failed on the migrations side; 9 a bad label or
 * hazard name; 127 a program missing.
 */
int gen_run(const struct settings *s, const struct gen_opts *o);

/*
 * The reference data part: the rows of the hectic.immutable tables of TO
 * that FROM lacks or has otherwise, as INSERT/UPDATE/DELETE statements that
 * take FROM's rows to TO's (DELETEs first, children before parents, then
 * INSERT/UPDATE parents first), appended to OUT one per line, each ending
 * with ";\n". Columns inherited from hectic.created_at/updated_at are left
 * to their defaults. *N gets the number of statements. 0 or -1.
 */
int gen_data_sql(PGconn *from, PGconn *to, struct strbuf *out, size_t *n);

/*
 * The baseline check of one migration folder entry ENTRY (DIR/NAME): when
 * its up file (DOWN: its down file) records a schema hash, the catalog hash
 * of CONN must be that. 0: equal, none recorded, or another server major
 * (warned: hashes of different majors cannot be compared); 1: differs
 * (error printed, or a warning and 0 with FORCE); -1: the file or the
 * catalog could not be read. CONN must be idle (not in a transaction).
 */
int gen_check_baseline(PGconn *conn, const char *entry, bool down, bool force);

/*
 * mig_opts.before_step for `migrate`: gen_check_baseline of the step's
 * migration. ARG points at a bool: --force-after-drift. Non-zero refuses.
 */
int gen_baseline_hook(PGconn *conn, const struct mig_step *step, void *arg);

#endif
