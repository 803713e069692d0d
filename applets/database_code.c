/*
 * database_code.c — `database plan`, `database apply`, `database watch`:
 * the code directory (CODE_DIR) with the pending migrations. Option tables
 * and help; ops/code.c does the work and returns exit codes.
 */
#include "lib/common.h"
#include "applets/database_code.h"
#include "lib/opt.h"
#include "ops/code.h"
#include "ops/project.h"

#define CODE_HELP_WHAT                                                                             \
    "The code directory (CODE_DIR, default $DATABASE_DIR/code; dbtool.yaml paths.code_dir)\n"     \
    "holds .sql files defining views, materialized views, functions, procedures, aggregates,\n"  \
    "types, domains, triggers, policies and indexes on materialized views (plus COMMENT,\n"      \
    "GRANT and ALTER ... OWNER on them), in any files and order. Tables, sequences, schemas\n"   \
    "and data belong in migrations. What was created from which text is recorded in\n"           \
    "hectic.code_object: an unchanged object is never created again."

int database_sub_plan(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database plan [--format text|json]",
        "",
        "What 'database apply' would do, without changing anything: the pending migrations\n"
        "(and what each one drops, renames or changes the type of), the code objects that are\n"
        "new, changed, moved or removed, those created again because something they depend on\n"
        "(pg_depend) is dropped or changed, and the exact SQL in the order it runs.",
        CODE_HELP_WHAT,
        "--format json prints {\"changes\":bool,\"one_transaction\":bool,\"code_dir\":..,\n"
        "\"migrations\":[{\"name\",\"direction\",\"file\",\"alters\":[..]}],\"objects\":[{\"identity\",\n"
        "\"kind\",\"file\",\"line\",\"status\",\"reason\"}],\"steps\":[{\"action\":\"drop\"|\"migrate\"|\n"
        "\"create\",..,\"sql\"}],\"notes\":[..]}.",
        "The database: -u URL, DB_URL, PGURL, else this project's cluster.\n"
        "Exit status: 0 nothing to do, 1 something to do, 2 an error (a cycle, an unknown\n"
        "reference, a statement that does not belong in the code directory, a migration history\n"
        "mismatch, no connection ...), 3 missing configuration.",
        NULL};
    const char *format = "text";
    const struct option opts[] = {
        OPT_STRING(0, "format", &format, "text|json", "output format (default text)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    bool json = opt_format_json(u, format);
    char *url = proj_url(s);
    if (!url)
        return EXIT_MISSING;
    int r = code_plan_cmd(s, url, json);
    free(url);
    return r;
}

int database_sub_apply(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database apply [-v|--set NAME=VALUE]...",
        "",
        "Apply the pending migrations and the code directory in ONE transaction: drop the code\n"
        "objects that must go (dependents first), run the pending migrations (each with its\n"
        "hectic.migration row, SET LOCAL hectic.migration_mode = 'on'), create the new and\n"
        "changed objects and those dropped on the way (dependencies first), record them. Any\n"
        "failure rolls all of it back and names the object or migration and FILE:LINE. A\n"
        "migration that cannot run in a transaction (migration.yaml 'transaction: false', or\n"
        "BEGIN/COMMIT in it) splits the work in three (see 'database plan'). The hectic bundle\n"
        "is applied first when the database lacks it. Holds the migrator's lock.",
        CODE_HELP_WHAT,
        "Notifications (for applications to drop their prepared statements): NOTIFY on the\n"
        "channel " CODE_NOTIFY_CHANNEL " with a JSON payload {\"event\":\"start\"|\"success\"|\n"
        "\"failure\",\"pid\":N,...}: start before the transaction, success at its commit,\n"
        "failure after the rollback; only when something changes.",
        "The database: -u URL, DB_URL, PGURL, else this project's cluster.\n"
        "Exit status: 0 done (or nothing to do), 2 invalid code directory or migration history\n"
        "(nothing changed), 4 a migration or a code object failed (rolled back), 1 other errors.",
        NULL};
    struct strvec vars = STRVEC_INIT;
    const struct option opts[] = {
        OPT_LIST('v', "set", &vars, "NAME=VALUE", "script variable for the migrations (repeatable)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    char *url = proj_url(s);
    if (!url) {
        strvec_clear(&vars);
        return EXIT_MISSING;
    }
    int r = code_apply_cmd(s, url, &vars);
    free(url);
    strvec_clear(&vars);
    return r;
}

int database_sub_watch(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database watch",
        "",
        "Apply the code directory to the database now and again after each save under it\n"
        "(inotify; changes within 100 ms are applied together), each time in one transaction:\n"
        "one line per object created or dropped, with the time of the commit, on stdout. An\n"
        "error (a syntax error, a failing object) prints FILE:LINE, leaves the database as it\n"
        "was and watching goes on. Pending migrations are not applied: 'database apply' does.\n"
        "Ctrl-C stops it (exit 130); the database keeps the last good state.",
        CODE_HELP_WHAT,
        "The database: -u URL, DB_URL, PGURL, else this project's cluster.",
        NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    char *url = proj_url(s);
    if (!url)
        return EXIT_MISSING;
    int r = code_watch_cmd(s, url);
    free(url);
    return r;
}
