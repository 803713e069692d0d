/*
 * scaffold.h — `database new [DIR]`: a project skeleton that deploys, tests,
 * checks, backs up and diffs as it is (cargo new, for a database).
 *
 *     DIR/dbtool.yaml                  commented project file
 *     DIR/.gitignore                   focus/ (clusters, backups, diff logs)
 *     DIR/db/src/entrypoint.sql        hydrate sources: a schema, a table, reference data
 *     DIR/db/migration/.gitkeep        migrations go here (`database migrator create`)
 *     DIR/db/test/test.sql             tests (`database test`)
 *     DIR/test-data.sql                local test data (`database patch`)
 *
 * Existing files are never overwritten: each one is kept and named.
 */
#ifndef DBTOOL_SCAFFOLD_H
#define DBTOOL_SCAFFOLD_H

#include "lib/common.h"

struct settings;

/*
 * Write the skeleton into DIR (created with its parents). The schema is
 * named after DIR's last component (lower-cased, [a-z0-9_]); when pg_cron
 * is not installed for the PostgreSQL that dbtool finds, dbtool.yaml turns
 * the preload off (and says how to get it back), so the first deploy works.
 * Prints what it wrote on stderr and the next steps. 0 or an exit code.
 */
int scaffold_new(const struct settings *s, const char *dir);

#endif
