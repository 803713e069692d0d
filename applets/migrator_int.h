/*
 * migrator_int.h — what the front door of `migrator` (migrator.c: options,
 * help texts, the command table, help, cmd_migrator) and its commands
 * (migrator_commands.c) share: the parsed options, the settings, the table's
 * shape and the commands. Not an API.
 */
#ifndef DBTOOL_MIGRATOR_INT_H
#define DBTOOL_MIGRATOR_INT_H

#include "lib/common.h"
#include "lib/opt.h"

struct settings;

enum {
    CMD_ALIAS = 1 << 0,    /* not listed on its own line: another spelling */
    CMD_MIGRATE = 1 << 1,  /* `migrate up` style: unknown options exit 1 */
};

struct command {
    const char *name;
    int (*fn)(int npos, char **pos);
    const char *summary;
    const char *const *usage;
    const struct option *opts;
    unsigned flags;
    const char *canonical; /* aliases: the command they stand for ("migrate up" for "up") */
};

/* The options of the commands, set by parse_options() in cmd_migrator() (see the option tables). */
extern const char *migrator_opt_name, *migrator_opt_format, *migrator_opt_from;
extern struct strvec migrator_opt_vars;
extern int migrator_opt_dry_run, migrator_opt_raw, migrator_opt_force, migrator_opt_accept, migrator_opt_verbose,
    migrator_opt_quiet, migrator_opt_exit_code, migrator_opt_all;
extern int migrator_opt_force_drift, migrator_opt_plain, migrator_opt_blocking, migrator_opt_mock;
extern const char *migrator_opt_allow, *migrator_opt_server;
/* The settings with -u and -d applied (cmd_migrator derives them once; NULL outside a run). */
extern const struct settings *migrator_S;

/* The help text of `migrate` (and up, down, to). */
extern const char *const migrator_usage_migrate[];
/* The row of the command table named NAME, or NULL. */
const struct command *migrator_find_cmd(const char *name);

/*
 * The commands of the table: NPOS words in POS (the command's options
 * parsed, the command word dropped); each returns an exit code or dies.
 */
/* init: apply the hectic bundle (--dry-run: print its SQL). */
int migrator_do_init(int npos, char **pos);
/* migrate up|down|to ...: the same as migrator_migrate_dir(). */
int migrator_do_migrate(int npos, char **pos);
/* create / new: a new migration folder with up.sql and down.sql. */
int migrator_do_create(int npos, char **pos);
/* list: the migration folders, incomplete ones marked. */
int migrator_do_list(int npos, char **pos);
/* status: applied, pending, changed, missing, partial. */
int migrator_do_status(int npos, char **pos);
/* baseline [NAME]: record migrations as applied without running them. */
int migrator_do_baseline(int npos, char **pos);
/* lint [NAME...]: hazards in the pending migrations. */
int migrator_do_lint(int npos, char **pos);
/* import --from TOOL SRC: convert another tool's migrations. */
int migrator_do_import(int npos, char **pos);
/* generate LABEL: the migration from what the migrations build to the sources. */
int migrator_do_generate(int npos, char **pos);
/* A migrate run; POS: the direction and its argument (`migrate` itself dropped). */
int migrator_migrate_dir(int npos, char **pos);

#endif
