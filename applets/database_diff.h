/*
 * database_diff.h — the `database diff` and `database normalize-backup`
 * subcommands (applets/database_diff.c), rows of applets/database.c's table.
 */
#ifndef DBTOOL_DATABASE_DIFF_H
#define DBTOOL_DATABASE_DIFF_H

struct settings;
int database_sub_diff(int argc, char **argv, const struct settings *s);
int database_sub_normalize_backup(int argc, char **argv, const struct settings *s);
/* `database drift` (applets/database_drift.c) */
int database_sub_drift(int argc, char **argv, const struct settings *s);

#endif
