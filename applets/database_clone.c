/*
 * database_clone.c — `database clone`: databases made from the deployed
 * snapshot inside the running development cluster, for test runners (one
 * database per test file). Options and help here; ops/snapshot.c does the work.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "ops/snapshot.h"
#include "lib/opt.h"

/* called from applets/database.c's subcommand table */
int database_sub_clone(int argc, char **argv, const struct settings *s);

int database_sub_clone(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database clone [--count N] [NAME]",
        "database clone --drop NAME | --all",
        "",
        "Create a database from the snapshot of the deployed database inside the running\n"
        "development cluster (CREATE DATABASE ... TEMPLATE " SNAP_TEMPLATE_DB ", with STRATEGY\n"
        "FILE_COPY on PostgreSQL 15+ and file_copy_method = clone on 18+) and print its URL on\n"
        "stdout. NAME defaults to PG_DATABASE_clone_K (the first free K); --count N makes N at\n"
        "once (NAME_1 ... NAME_N), one URL a line, e.g. a pool for a parallel test runner.",
        "The template " SNAP_TEMPLATE_DB " comes with a cluster that 'database deploy' served\n"
        "from the snapshot cache (a copy of the database as deployed, never connected to).\n"
        "After a deploy that replayed the SQL, the first clone makes it from PG_DATABASE as it\n"
        "is then (and says so).",
        "A warm pool of DBTOOL_CLONE_POOL databases (default 4, 0: none) made ahead from the\n"
        "template serves a clone by a rename in milliseconds ('clone: from the pool'); a\n"
        "background job refills it. Pool databases made from another template (a new deploy)\n"
        "are never served. --count N takes what the pool has and makes the rest.",
        "--drop NAME drops a clone (WITH (FORCE): its sessions are ended), --all every clone\n"
        "and the pool; databases not made by 'database clone' are never dropped.",
        NULL};
    int count = 0, all = 0;
    const char *drop = NULL;
    const struct option opts[] = {
        OPT_INT(0, "count", &count, "N", "make N clones (NAME_1 ... NAME_N)"),
        OPT_STRING(0, "drop", &drop, "NAME", "drop the clone NAME"),
        OPT_BOOL(0, "all", &all, "with --drop (or alone): drop every clone and the pool"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "too many arguments");
    if (count < 0 || count > 1000)
        usage_die(u, "--count must be between 1 and 1000");
    if ((drop || all) && (argc || count))
        usage_die(u, "--drop/--all take no NAME or --count");
    if (drop && all)
        usage_die(u, "--drop NAME and --all exclude each other");
    struct clone_opts o = {argc ? argv[0] : NULL, count, drop, all != 0};
    return psnap_clone(s, &o);
}
