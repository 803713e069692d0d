/*
 * applets.h — the entry point of every applet (one file each in applets/).
 */
#ifndef DBTOOL_APPLETS_H
#define DBTOOL_APPLETS_H

struct settings;

int cmd_bundle(int argc, char **argv, const struct settings *s);
int cmd_config(int argc, char **argv, const struct settings *s);
int cmd_database(int argc, char **argv, const struct settings *s);
int cmd_doctor(int argc, char **argv, const struct settings *s);
int cmd_migrator(int argc, char **argv, const struct settings *s);
int cmd_postgres_cleanup(int argc, char **argv, const struct settings *s);
int cmd_postgres_init(int argc, char **argv, const struct settings *s);
int cmd_schema(int argc, char **argv, const struct settings *s);
int cmd_sql(int argc, char **argv, const struct settings *s);

#endif
