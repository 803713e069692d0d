/*
 * database_code.h — the `database plan`, `database apply` and `database
 * watch` subcommands (applets/database_code.c), rows of applets/database.c's table.
 */
#ifndef DBTOOL_DATABASE_CODE_H
#define DBTOOL_DATABASE_CODE_H

struct settings;
int database_sub_plan(int argc, char **argv, const struct settings *s);
int database_sub_apply(int argc, char **argv, const struct settings *s);
int database_sub_watch(int argc, char **argv, const struct settings *s);

#endif
