/*
 * database_drift.c — `database drift`: the option table and help; ops/drift.c
 * does the work and returns the exit code.
 */
#include "lib/common.h"
#include "applets/database_diff.h"
#include "ops/drift.h"
#include "lib/opt.h"

int database_sub_drift(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database drift [--against URL] [--format text|json] [--sql] [-m|--mock] [--no-cache]\n"
        "               [--server URL]",
        "",
        "Does a live database have the schema the sources build? Its catalog (read in one\n"
        "read-only snapshot; a role with catalog access only is enough: no table is read) is\n"
        "compared with that of the sources side: a throwaway cluster hydrated as 'database\n"
        "hydrate' does (bundle, dotenv, $DATABASE_SOURCE), or a fresh database on --server URL.\n"
        "The live database: --against URL, else -u, DB_URL, PGURL, else the project's cluster.",
        "The sources side's schema is cached in $LOCAL_DIR/focus/schema-cache/, keyed by the\n"
        "content of every file under $DATABASE_SOURCE, HECTIC_INHERITANCE_SQL, the server\n"
        "binary, the dbtool and bundle versions and --mock ('migrator generate' fills it too):\n"
        "when nothing changed only the live catalog is read. A file outside $DATABASE_SOURCE\n"
        "that a script includes is not in the key: --no-cache builds the side again.",
        "Output: one line per object that differs — '+ kind name' only in the sources (the\n"
        "live database lacks it), '- kind name' only in the live database, '~ kind name' in\n"
        "both but different — then 'drift: N objects differ ...', or 'no drift'.\n"
        "--format json: {\"drift\":bool,\"live\":URL,\"live_hash\":..,\"sources_hash\":..,\n"
        "\"cached\":bool,\"objects\":[{\"kind\":..,\"name\":..,\"change\":\"added\"|\"removed\"|\n"
        "\"changed\"}]} (hashes as 'dbtool schema hash'). --sql: the DDL that brings the live\n"
        "database to the sources ('dbtool schema diff' form: hazards as comments and on\n"
        "stderr); it always builds the sources side.",
        "Exit status: 0 no drift, 1 drift, 3 no LOCAL_DIR or no database URL, 4 the comparison\n"
        "could not be made (the sources failed to build, the live database could not be\n"
        "read), 9 bad usage, 127 a program missing, 130 interrupted.",
        NULL};
    const char *format = "text", *against = NULL, *server = NULL;
    int sql = 0, mock = 0, no_cache = 0;
    const struct option opts[] = {
        OPT_STRING(0, "against", &against, "URL", "the live database (default: the project's)"),
        OPT_STRING(0, "format", &format, "text|json", "output format (default text)"),
        OPT_BOOL(0, "sql", &sql, "print the DDL that brings the live database to the sources"),
        OPT_BOOL('m', "mock", &mock, "hydrate with the script variable USE_MOCK=1"),
        OPT_BOOL(0, "no-cache", &no_cache, "build the sources side even when the cache is current"),
        OPT_STRING(0, "server", &server, "URL", "build the sources side as a database on this server"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    bool json = opt_format_json(u, format);
    if (sql && json)
        usage_die(u, "--sql and --format json exclude each other");
    struct drift_opts o = {
        .against = against,
        .server = server,
        .json = json,
        .sql = sql,
        .mock = mock,
        .no_cache = no_cache,
    };
    return drift_run(s, &o);
}
