/*
 * database_diff.c — `database diff` (+ `diff log`) and `database
 * normalize-backup`: option tables and help; lib/diff.c and lib/normalize.c
 * do the work and return exit codes.
 */
#include "lib/common.h"
#include "applets/database_diff.h"
#include "ops/diff.h"
#include "ops/normalize.h"
#include "lib/opt.h"

int database_sub_diff(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database diff [--tables a,b] [--ignore-migration-fail] [-m|--mock] [--include-bookkeeping]\n"
        "              [--format text|json | --sql] [--against URL] [--no-snapshot] [BACKUP_PATH]",
        "database diff log [backup|sources] [list|INDEX|NAME]",
        "",
        "Does the backup plus the pending migrations end up where the sources say? Two\n"
        "throwaway clusters: (1) BACKUP_PATH (default $LOCAL_DIR/focus/postgresql-backup; raw\n"
        "pg_basebackup output or normalised, its database_name file names the database)\n"
        "restored, then 'migrate up all' from MIGRATION_DIR; (2) a fresh cluster hydrated from\n"
        "the sources (as 'database hydrate'), then 'migrator init'. Both live in RAM when a\n"
        "tmpfs has room (as 'database check'), and are removed afterwards, also on failure\n"
        "and Ctrl-C; their server logs, the hydrate/migration output and both raw schema\n"
        "dumps (schema.sql) stay in $LOCAL_DIR/focus/diff-logs/ ('database diff log' shows\n"
        "them). The sources side is 'database deploy -P' in a throwaway cluster: when the\n"
        "snapshot cache holds it for these exact sources it starts from there (--no-snapshot:\n"
        "hydrate anyway).",
        "Output: the unified diff (--- backup, +++ sources) of 'pg_dump --schema-only --no-owner\n"
        "--no-privileges --no-tablespaces' of both, normalised (\\restrict lines, version\n"
        "comments, session SET lines and blank-line runs dropped); then, when a hectic schema\n"
        "exists on either side, '--- IMMUTABLE TABLE DATA ---' and per table inheriting\n"
        "hectic.immutable (both sides, sorted) '=== schema.table ===' and a unified diff of its\n"
        "rows in COPY text form, ordered by primary key (else all columns), or\n"
        "'(no differences)'. Columns inherited from hectic.created_at/updated_at are left out\n"
        "unless --include-bookkeeping. Colour and $PAGER only on a terminal. Memory stays flat\n"
        "in the number of rows.",
        "--against URL compares a live database (side 1) instead of a backup: it is only read\n"
        "(catalog queries, pg_dump, COPY TO), in one read-only snapshot for the data.\n"
        "--format json prints {\"schema_changed\":bool,\"tables\":[{\"table\":\"s.t\",\"added\":n,\n"
        "\"removed\":n,\"changed\":n,\"only_on\":null|\"backup\"|\"sources\"}],\"differences\":bool}.\n"
        "--sql prints instead the statements that bring side 1 to the sources: the DDL of\n"
        "'dbtool schema diff' (hazards as comments and on stderr), then the rows of the\n"
        "hectic.immutable tables as INSERT/UPDATE/DELETE in migration mode (what 'migrator\n"
        "generate' writes).",
        "Exit status: 0 no differences ('no differences found'), 1 differences, and never 1\n"
        "for a failure: 4 a migration failed (without --ignore-migration-fail), 3 no backup,\n"
        "5 a --tables name exists on neither side, 127 pg_dump (or another program) missing,\n"
        "130 interrupted, 2 any other failure (the sources do not hydrate, a server does not\n"
        "start, ...), as diff(1)'s 'trouble'.",
        NULL};
    const char *tables = NULL, *format = "text", *against = NULL;
    int ignore = 0, mock = 0, bookkeeping = 0, sql = 0, no_snapshot = 0;
    const struct option opts[] = {
        OPT_BOOL(0, "no-snapshot", &no_snapshot, "hydrate the sources even when a snapshot has them"),
        OPT_STRING(0, "tables", &tables, "a,b", "limit schema and data to these tables"),
        OPT_BOOL(0, "ignore-migration-fail", &ignore, "warn and compare when a migration fails"),
        OPT_BOOL('m', "mock", &mock, "hydrate with the script variable USE_MOCK=1"),
        OPT_BOOL(0, "include-bookkeeping", &bookkeeping, "compare created_at/updated_at columns too"),
        OPT_STRING(0, "format", &format, "text|json", "output format (default text)"),
        OPT_STRING(0, "against", &against, "URL", "compare a live database instead of a backup"),
        OPT_BOOL(0, "sql", &sql, "print the statements that bring side 1 to the sources"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc && !strcmp(argv[0], "log")) {
        const char *side = NULL;
        int i = 1;
        if (i < argc && (!strcmp(argv[i], "backup") || !strcmp(argv[i], "sources")))
            side = argv[i++];
        if (argc - i > 1)
            usage_die(u, "too many arguments for 'diff log'");
        return diff_log(s, side, i < argc ? argv[i] : NULL);
    }
    if (argc > 1)
        usage_die(u, "too many arguments");
    bool json = opt_format_json(u, format);
    if (argc && against)
        usage_die(u, "BACKUP_PATH and --against URL exclude each other");
    if (sql && (tables || strcmp(format, "text")))
        usage_die(u, "--sql excludes --tables and --format json");
    if (tables && !*tables)
        usage_die(u, "--tables needs at least one table name");
    struct diff_opts o = {
        .no_snapshot = no_snapshot,
        .backup = argc ? argv[0] : NULL,
        .against = against,
        .tables = tables,
        .ignore_migration_fail = ignore,
        .mock = mock,
        .include_bookkeeping = bookkeeping,
        .json = json,
        .sql = sql,
    };
    return diff_run(s, &o);
}

int database_sub_normalize_backup(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database normalize-backup [-o|--output PATH] [--role NAME] [--database NAME] [PATH]",
        "",
        "Turn a raw physical backup taken from another server (PATH, default\n"
        "$LOCAL_DIR/focus/postgresql-backup: base.tar.gz, optional pg_wal.tar.gz) into one that\n"
        "'database restore' and 'database diff' start locally. In a temporary cluster under\n"
        "$LOCAL_DIR/focus/: postgresql.conf and pg_hba.conf replaced by local ones (local trust),\n"
        "postgresql.auto.conf emptied, standby.signal/recovery.signal/recovery.conf/\n"
        "postmaster.pid/postmaster.opts dropped, preload libraries not installed here dropped;\n"
        "the login role (the server user, and --role NAME) created as superuser in single-user\n"
        "mode, the server started, the database ensured (--database, else database_name, else\n"
        "the backup's only database), stopped cleanly, and packed as PATH/base.tar.gz +\n"
        "database_name.",
        "Output: -o PATH, default $LOCAL_DIR/focus/postgresql-backup (PATH-normalized when the\n"
        "input is that directory); written beside and renamed into place. The input is only\n"
        "read; the output may not be the input, inside it or contain it (exit 2).",
        NULL};
    const char *output = NULL, *role = NULL, *database = NULL;
    const struct option opts[] = {
        OPT_STRING('o', "output", &output, "PATH", "where the normalised backup goes"),
        OPT_STRING(0, "role", &role, "NAME", "another login role to create"),
        OPT_STRING(0, "database", &database, "NAME", "the database to ensure and record"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "too many arguments");
    struct norm_opts o = {argc ? argv[0] : NULL, output, role, database};
    return norm_normalize(s, &o);
}
