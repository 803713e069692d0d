/*
 * staging.h — `database pull_staging`: data from the staging database into
 * test-data.sql, through pg_dump run on the staging host over ssh.
 *
 * Settings (SPEC section 2, env or dbtool.yaml `staging:`): STAGING_SSH_HOST
 * (an ssh destination; ~/.ssh/config applies), STAGING_DB_URL (the URL as
 * seen from the staging host), STAGING_DUMP_TABLES (space separated pg_dump
 * table patterns), STAGING_DUMP_FLAGS (extra pg_dump flags, split on
 * blanks). Environment only: STAGING_SSH_OPTS (extra ssh options, split on
 * blanks, e.g. "-p 2222 -i KEY") and STAGING_PG_DUMP (the pg_dump to run on
 * the staging host, default "pg_dump").
 *
 * The remote command is one string built from words each quoted for a POSIX
 * shell, so table names, flags and the URL reach pg_dump as data whatever
 * they contain; the host is passed after "--" so it is never an ssh option.
 */
#ifndef DBTOOL_STAGING_H
#define DBTOOL_STAGING_H

#include "lib/common.h"

struct settings;

/*
 * The contract of the shell tool: STAGING_SSH_HOST, STAGING_DB_URL,
 * STAGING_DUMP_TABLES, STAGING_DUMP_FLAGS checked in that order, each missing
 * one named on stderr. 0, or EXIT_MISSING.
 */
int staging_check_env(const struct settings *s);

/*
 * Append to OUT the remote command: PG_DUMP --data-only FLAGS...
 * --table=T... --dbname=URL, every word shell-quoted. TABLES and FLAGS are
 * blank-separated lists.
 */
void staging_remote_command(struct strbuf *out, const char *pg_dump, const char *flags,
                            const char *tables, const char *url);

/*
 * Dump the tables on the staging host and write test-data.sql (see
 * proj_test_data_path()): a header (host, UTC time, tables), the dump, and per
 * table a reset of its id sequence to max(id) (tables without an id column
 * or sequence are skipped by the generated SQL). The file is replaced only
 * when ssh and pg_dump succeed. 0 or an exit code.
 */
int staging_pull(const struct settings *s);

#endif
