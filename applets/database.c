/*
 * database.c — `database`: the development database manager's front door.
 * Parses the global options and the subcommand, then calls lib/ modules:
 * cluster (init, cleanup), project (deploy, hydrate, patch, test, check),
 * serverlog (log), backup (backup, restore), staging (pull_staging); and
 * hands `migrator` to the migrator applet with this project's settings.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "applets/database_code.h"
#include "applets/database_diff.h"
#include "ops/backup.h"
#include "lib/cluster.h"
#include "ops/ops.h"
#include "lib/settings.h"
#include "lib/fs.h"
#include "lib/opt.h"
#include "ops/project.h"
#include "ops/scaffold.h"
#include "lib/serverlog.h"
#include "ops/staging.h"

static int sub_new(int argc, char **argv, const struct settings *s);
static int sub_deploy(int argc, char **argv, const struct settings *s);
static int sub_init(int argc, char **argv, const struct settings *s);
static int sub_hydrate(int argc, char **argv, const struct settings *s);
static int sub_patch(int argc, char **argv, const struct settings *s);
static int sub_test(int argc, char **argv, const struct settings *s);
static int sub_check(int argc, char **argv, const struct settings *s);
static int sub_cleanup(int argc, char **argv, const struct settings *s);
static int sub_log(int argc, char **argv, const struct settings *s);
static int sub_backup(int argc, char **argv, const struct settings *s);
static int sub_restore(int argc, char **argv, const struct settings *s);
static int sub_migrator(int argc, char **argv, const struct settings *s);
static int sub_pull_staging(int argc, char **argv, const struct settings *s);
int database_sub_clone(int argc, char **argv, const struct settings *s); /* database_clone.c */
int database_sub_session(int argc, char **argv, const struct settings *s); /* database_session.c */

/* In the order of a developer's day; `database --help` prints them so. */
static const struct subcommand subcommands[] = {
    {"new", sub_new, "make a project skeleton in DIR (default: the current directory)"},
    {"deploy", sub_deploy, "init + hydrate + patch; ends with the URL to connect to", SUB_NEED_PROJECT},
    {"init", sub_init, "postgres-init for this project (fresh, or --reuse)", SUB_NEED_PROJECT},
    {"hydrate", sub_hydrate, "hectic bundle + dotenv secrets, then $DATABASE_SOURCE/entrypoint.sql",
     SUB_NEED_PROJECT},
    {"patch", sub_patch, "run test-data.sql (PATCH_SQL; --edit opens $EDITOR)", SUB_NEED_PROJECT},
    {"test", sub_test, "run $DATABASE_DIR/test/test.sql", SUB_NEED_PROJECT},
    {"check", sub_check, "the whole deploy in a throwaway cluster, removed afterwards", SUB_NEED_PROJECT},
    {"clone", database_sub_clone, "new databases from the deployed snapshot, for tests (URLs on stdout)",
     SUB_NEED_PROJECT},
    {"cleanup", sub_cleanup, "stop the cluster and remove PG_WORKING_DIR", SUB_NEED_PROJECT},
    {"log", sub_log, "show server logs: list, by index or name, or all", SUB_NEED_PROJECT},
    {"migrator", sub_migrator, "the migrator with this project's MIGRATION_DIR and URL", SUB_NEED_PROJECT},
    {"plan", database_sub_plan, "what apply would do: migrations, code objects, the SQL (read-only)",
     SUB_NEED_PROJECT},
    {"apply", database_sub_apply, "pending migrations + the code directory, in one transaction",
     SUB_NEED_PROJECT},
    {"watch", database_sub_watch, "apply the code directory on every save", SUB_NEED_PROJECT},
    {"backup", sub_backup, "pg_basebackup of the cluster into DEFAULT_BACKUP_PATH", SUB_NEED_PROJECT},
    {"restore", sub_restore, "restore the cluster from a backup (or --archive FILE)", SUB_NEED_PROJECT},
    {"normalize-backup", database_sub_normalize_backup, "make a backup from another server start here",
     SUB_NEED_PROJECT},
    {"diff", database_sub_diff, "schema + immutable-data drift: backup+migrations vs sources",
     SUB_NEED_PROJECT},
    {"drift", database_sub_drift, "a live database's schema against the sources (exit 1: drift)",
     SUB_NEED_PROJECT},
    {"session", database_sub_session, "a remote's copy here, the plan, a rehearsed deploy (start|plan|deploy|...)",
     SUB_NEED_PROJECT},
    /* checks its own contract (STAGING_*) first, then the project */
    {"pull_staging", sub_pull_staging, "staging data into test-data.sql (pg_dump over ssh)"},
};

static const char *const usage[] = {
    "database [-u|--url URL] [-q|--quiet] SUBCOMMAND [OPTIONS]",
    "",
    "Manage the project's development database. The project is LOCAL_DIR; unset, it is the\n"
    "nearest directory upwards with a dbtool.yaml, else the current directory. Logs and step\n"
    "timings go to stderr, data (the URL, lists) to stdout: url=$(database deploy) works.\n"
    "Run 'database help SUBCOMMAND' or 'database SUBCOMMAND --help' for its options;\n"
    "'database new DIR' starts a project.",
    NULL};

/* -q before the subcommand: only problems on stderr, no SQL command tags */
static int front_quiet;

static int sub_new(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database new [DIR]",
        "",
        "Make a project skeleton in DIR (created; default: the current directory) that deploys,\n"
        "tests, checks, backs up and diffs as it is:\n"
        "  dbtool.yaml              commented settings (all optional)\n"
        "  .gitignore               focus/ (clusters, backups, logs)\n"
        "  db/src/entrypoint.sql    hydrate sources: schema app, a table, reference data\n"
        "  db/migration/            migrations ('database migrator create --name NAME')\n"
        "  db/test/test.sql         'database test'\n"
        "  test-data.sql            'database patch' (and deploy)\n"
        "Existing files are kept, never overwritten. Every table must inherit\n"
        "hectic.created_at: CREATE TABLE app.x (...) INHERITS (hectic.created_at).",
        NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "too many arguments");
    return scaffold_new(s, argc ? argv[0] : ".");
}

static int sub_init(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {"database init [--reuse | --previous]", "",
                                    "Start this project's cluster (see 'postgres-init --help').", NULL};
    int reuse = 0, previous = 0;
    const struct option opts[] = {
        OPT_BOOL(0, "reuse", &reuse, "reuse the existing cluster"),
        OPT_BOOL(0, "previous", &previous, "go back to the cluster the last fresh init replaced"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    if (reuse && previous)
        usage_die(u, "--reuse and --previous exclude each other");
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    if (reuse)
        sp.reuse = true;
    struct cluster c;
    enum cl_status st = cluster_setup(&c, &sp);
    if (!st)
        st = previous ? cluster_use_previous(&c) : cluster_init(&c);
    if (!st)
        printf("%s\n", c.url);
    cluster_release(&c);
    return ops_exit(st);
}

static int sub_deploy(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database deploy [--reuse] [-P|--no-patch] [-H|--no-hydrate] [-m|--mock] [-c|--cleanup]\n"
        "                [--baseline] [--no-snapshot]",
        "",
        "Start this project's cluster (fresh: data/ is replaced), hydrate it and patch it, each\n"
        "step timed on stderr; then print the URL to connect to on stdout. Hydrate and patch\n"
        "work on the cluster deploy starts, whatever DB_URL/PGURL say. On failure the cluster\n"
        "is left running for inspection.\n"
        "When the snapshot cache holds a deploy of exactly these inputs (the same files, dotenv,\n"
        "server and settings), its data dir is claimed instead ('deploy: from snapshot ...');\n"
        "otherwise the deploy is replayed and its snapshot stored in the background.",
        "--baseline records every migration of MIGRATION_DIR as applied (with its hash, as\n"
        "'migrator baseline' does): the sources already have what they do, so a later\n"
        "'database migrator migrate up' applies only migrations written after this deploy.",
        NULL};
    int reuse = 0, no_patch = 0, no_hydrate = 0, mock = 0, cleanup = 0, baseline = 0, no_snapshot = 0;
    const struct option opts[] = {
        OPT_BOOL(0, "reuse", &reuse, "keep the existing cluster and its data (implies -P -H)"),
        OPT_BOOL(0, "no-snapshot", &no_snapshot, "replay the SQL even when a snapshot has the result"),
        OPT_BOOL('P', "no-patch", &no_patch, "skip patch (test-data.sql)"),
        OPT_BOOL('H', "no-hydrate", &no_hydrate, "skip hydrate"),
        OPT_BOOL('m', "mock", &mock, "hydrate with the script variable USE_MOCK=1"),
        OPT_BOOL('c', "cleanup", &cleanup, "stop the cluster after success (data kept)"),
        OPT_BOOL(0, "baseline", &baseline, "record the migrations as applied (the sources have them)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    struct proj_opts o = {.mock = mock, .no_hydrate = no_hydrate, .no_patch = no_patch,
                          .reuse = reuse, .cleanup = cleanup, .quiet = front_quiet, .baseline = baseline,
                          .no_snapshot = no_snapshot};
    return proj_deploy(s, &o);
}

/* hydrate/patch/test: -u, DB_URL, PGURL, else the project cluster. */
static int with_url(const struct settings *s,
                    int (*fn)(const struct settings *s, const char *url, const struct proj_opts *o),
                    const struct proj_opts *o)
{
    char *url = proj_url(s);
    if (!url)
        return EXIT_MISSING;
    int r = fn(s, url, o);
    free(url);
    return r;
}

static int sub_hydrate(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database hydrate [-H|--no-hook] [-m|--mock]",
        "",
        "Apply the hectic bundle, load the dotenv file into hectic.secret (HECTIC_DOTENV_FILE,\n"
        "else $LOCAL_DIR/.env.$ENVIRONMENT when readable), then run\n"
        "$DATABASE_SOURCE/entrypoint.sql (HYDRATE_ENTRYPOINT renames it) like psql -f would.\n"
        "Output goes to HYDRATE_LOG (default stdout), errors to stderr with FILE:LINE.\n"
        "The database: -u URL, DB_URL, PGURL, else this project's cluster.",
        NULL};
    int no_hook = 0, mock = 0;
    const struct option opts[] = {
        OPT_BOOL('H', "no-hook", &no_hook, "do not apply the hectic bundle"),
        OPT_BOOL('m', "mock", &mock, "set the script variable USE_MOCK=1"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    struct proj_opts o = {.mock = mock, .no_hook = no_hook, .quiet = front_quiet};
    return with_url(s, proj_hydrate, &o);
}

static int sub_patch(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database patch [-e|--edit]",
        "",
        "Run test-data.sql ($PROFILE_DIR/test-data.sql, else $LOCAL_DIR/test-data.sql; created\n"
        "empty when missing). Output goes to PATCH_LOG (default stdout). --edit opens $EDITOR\n"
        "on it first (split on blanks, run without a shell); a failing editor applies nothing.",
        NULL};
    int edit = 0;
    const struct option opts[] = {
        OPT_BOOL('e', "edit", &edit, "edit test-data.sql with $EDITOR first"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    struct proj_opts o = {.edit = edit, .quiet = front_quiet};
    return with_url(s, proj_patch, &o);
}

static int test_fn(const struct settings *s, const char *url, const struct proj_opts *o)
{
    return proj_test(s, url, o);
}

static int sub_test(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database test", "",
        "Run $DATABASE_DIR/test/test.sql; exit 1 when it fails or does not exist.", NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    struct proj_opts o = {.quiet = front_quiet};
    return with_url(s, test_fn, &o);
}

static int sub_check(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database check [-P|--no-patch] [-H|--no-hydrate] [-m|--mock] [--no-snapshot]",
        "",
        "Run the whole deploy in a throwaway cluster check-PID (own socket dir, fsync off),\n"
        "then remove it, also on failure and Ctrl-C. The developer's cluster is neither\n"
        "stopped nor read. The cluster lives in RAM when a tmpfs has room ($XDG_RUNTIME_DIR,\n"
        "/dev/shm; list in DBTOOL_SCRATCH_RAM), else in $LOCAL_DIR/focus;\n"
        "DBTOOL_SCRATCH_DIR=DIR puts it in DIR. A check killed outright (SIGKILL) leaves it\n"
        "behind: the next check, diff or normalize-backup stops and removes it.\n"
        "When the snapshot cache holds a deploy of exactly these inputs, the throwaway cluster\n"
        "starts from it instead of replaying ('check: from snapshot ...').",
        NULL};
    int no_patch = 0, no_hydrate = 0, mock = 0, no_snapshot = 0;
    const struct option opts[] = {
        OPT_BOOL(0, "no-snapshot", &no_snapshot, "replay the SQL even when a snapshot has the result"),
        OPT_BOOL('P', "no-patch", &no_patch, "skip patch (test-data.sql)"),
        OPT_BOOL('H', "no-hydrate", &no_hydrate, "skip hydrate"),
        OPT_BOOL('m', "mock", &mock, "hydrate with the script variable USE_MOCK=1"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    struct proj_opts o = {.mock = mock, .no_hydrate = no_hydrate, .no_patch = no_patch,
                          .quiet = front_quiet, .no_snapshot = no_snapshot};
    return proj_check(s, &o);
}

static int sub_cleanup(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {"database cleanup", "",
                                    "Stop the cluster and remove PG_WORKING_DIR. Refuses '/', $HOME,\n"
                                    "$LOCAL_DIR itself and directories that do not look like a cluster root.",
                                    NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    struct cluster c;
    enum cl_status st = cluster_setup(&c, &sp);
    if (!st)
        st = cluster_remove(&c);
    cluster_release(&c);
    return ops_exit(st);
}

static int sub_log(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {"database log [list|INDEX|NAME]", "",
                                    "Server logs under $PG_WORKING_DIR/data/log (or $PG_LOG_PATH): 'list'\n"
                                    "numbers them (1 = oldest); INDEX or a unique part of a NAME shows one;\n"
                                    "no argument shows all (through $PAGER on a terminal).",
                                    NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "too many arguments");
    const char *lp = set_get(s, SET_PG_LOG_PATH);
    char *dir = lp ? xstrdup(lp) : xasprintf("%s/data/log", set_get(s, SET_PG_WORKING_DIR));
    int r = serverlog_show(dir, argc ? argv[0] : NULL);
    free(dir);
    return r;
}

static int sub_backup(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database backup [DIR]",
        "",
        "Physical backup of the running project cluster with pg_basebackup --checkpoint=fast\n"
        "(tar, gzip, WAL streamed) into DIR (default $LOCAL_DIR/focus/postgresql-backup):\n"
        "base.tar.gz, pg_wal.tar.gz, backup_manifest and database_name. Progress is shown on a\n"
        "terminal. The previous backup is replaced only once the new one is complete.",
        NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "too many arguments");
    return backup_create(s, argc ? argv[0] : NULL);
}

static int sub_restore(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database restore [--archive FILE] [PATH]",
        "",
        "Replace the project cluster's data with a backup: the directory PATH (default\n"
        "$LOCAL_DIR/focus/postgresql-backup, as 'database backup' writes it), or with\n"
        "--archive the base archive FILE (base.tar.gz; pg_wal.tar.gz and database_name are\n"
        "looked for beside it). The server is stopped, data/ swapped (the old one kept until\n"
        "the restored one has started, and put back if it cannot), recovery signal files\n"
        "removed, and the server started on the database named in database_name.",
        NULL};
    const char *archive = NULL;
    const struct option opts[] = {
        OPT_STRING(0, "archive", &archive, "FILE", "restore from this base archive"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1 || (argc && archive))
        usage_die(u, "too many arguments");
    return backup_restore(s, argc ? argv[0] : NULL, archive);
}

static int sub_migrator(int argc, char **argv, const struct settings *s)
{
    /* migrator parses its own options (-u, -d, --help); we only supply the defaults */
    if (args_want_help(argc, argv) || (argc > 1 && !strcmp(argv[1], "help")))
        return cmd_migrator(argc, argv, s);
    char *url = proj_url(s);
    const struct set_override ov[] = {
        {SET_MIGRATION_DIR, set_get(s, SET_MIGRATION_DIR)},
        {SET_DB_URL, url},
    };
    struct settings mine;
    settings_derive(&mine, s, ov, url ? 2 : 1);
    free(url);
    int r = cmd_migrator(argc, argv, &mine);
    settings_release(&mine);
    return r;
}

static int sub_pull_staging(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database pull_staging",
        "",
        "Run pg_dump --data-only on the staging host over ssh and write test-data.sql\n"
        "($PROFILE_DIR or $LOCAL_DIR) with a header (host, UTC time) and, per table, a reset\n"
        "of its id sequence to max(id). The file is replaced only when the dump succeeds.",
        "Needs STAGING_SSH_HOST (ssh destination; ~/.ssh/config applies), STAGING_DB_URL (as\n"
        "seen from the staging host), STAGING_DUMP_TABLES (space-separated table patterns),\n"
        "STAGING_DUMP_FLAGS (extra pg_dump flags, e.g. --column-inserts): each missing one is\n"
        "named on stderr and the exit status is 3. Optional: STAGING_SSH_OPTS (extra ssh\n"
        "options, e.g. \"-p 2222 -i ~/.ssh/staging\") and STAGING_PG_DUMP (pg_dump on the\n"
        "staging host, default pg_dump). Every word of the remote command is quoted for the\n"
        "remote shell: table names and the URL reach pg_dump as data.",
        NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    /* the shell tool's contract: the STAGING_* variables first, in order, before anything else */
    int r = staging_check_env(s);
    if (!r)
        r = proj_require(s);
    return r ? r : staging_pull(s);
}

int cmd_database(int argc, char **argv, const struct settings *s)
{
    const char *url = NULL;
    const struct option opts[] = {
        OPT_STRING('u', "url", &url, "URL", "database URL (default $DB_URL, else $PGURL)"),
        OPT_BOOL('q', "quiet", &front_quiet, "only problems on stderr: no step timings, no SQL command tags"),
        OPT_END(),
    };
    const struct subcommand *sub =
        parse_subcommand(&argc, &argv, opts, usage, subcommands, ARRAY_SIZE(subcommands));
    if (front_quiet)
        log_configure("warn", NULL);
    /* a subcommand's --help works anywhere: no project needed */
    if ((sub->flags & SUB_NEED_PROJECT) && !args_want_help(argc, argv)) {
        int r = proj_require(s);
        if (r)
            return r;
    }
    if (!url)
        return sub->fn(argc, argv, s);
    const struct set_override ov[] = {{SET_DB_URL, url}};
    struct settings mine;
    settings_derive(&mine, s, ov, 1);
    int r = sub->fn(argc, argv, &mine);
    settings_release(&mine);
    return r;
}
