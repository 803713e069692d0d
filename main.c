/*
 * main.c — the applet table and dispatch: by the basename of argv[0]
 * (a link named after the applet) or by the first argument
 * (`dbtool APPLET ...`); --list, --help, --version, `help APPLET`.
 *
 * The table is the one place an applet is declared: its flags say whether
 * main resolves the settings for it and how (git's RUN_SETUP), whether it
 * works on a project (discovered like git finds its repository), and
 * whether `make install` links its name; the man pages and completions are
 * generated from it (`dbtool --dbtool-describe`, read by nix/gen-docs.sh).
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/opt.h"
#include "lib/settings.h"

#include <unistd.h>

/*
 * How an applet wants its settings: main resolves them once, before the
 * applet runs, and hands them down read-only.
 */
enum {
    /* an invalid setting (environment or dbtool.yaml) is reported and exits 3,
     * unless the command line asks for help */
    APPLET_STRICT = 1 << 0,
    /* invalid settings are handed over as problems (doctor lists them) */
    APPLET_LENIENT = 1 << 1,
    /* installed as a link name by `make install`, with its own man page */
    APPLET_LINK = 1 << 2,
    /* works on a project: LOCAL_DIR unset means the nearest dbtool.yaml
     * upwards, else the current directory (settings_load_project) */
    APPLET_PROJECT = 1 << 3,
};

struct applet {
    const char *name;
    int (*fn)(int argc, char **argv, const struct settings *s);
    const char *summary;
    unsigned flags;
    /* for the man pages: examples ("COMMAND\t# what it does" lines), the
     * environment variables read (space separated; "*" all of them), files */
    const char *examples;
    const char *env;
    const char *files;
};

#define ENV_CLUSTER                                                                                \
    "LOCAL_DIR PG_WORKING_DIR PG_DATABASE PG_PORT PG_URL_VAR PG_LOG_PATH PG_CONF_FILE "            \
    "PG_SHARED_PRELOAD_LIBRARIES PG_DISABLE_LOGGING PG_REUSE PG_HECTIC_INHERITANCE "               \
    "HECTIC_INHERITANCE_SQL PG_OS_USER PG_BINDIR PG_FSYNC PG_START_TIMEOUT DBTOOL_CACHE_DIR "      \
    "DBTOOL_SYNC_CACHE NO_TTY HECTIC_LOG DBTOOL_CONFIG"

/* Sorted by name. */
static const struct applet applets[] = {
    {"bundle", cmd_bundle, "the hectic SQL bundle: print, list, write, apply, upgrade", APPLET_STRICT,
     "dbtool bundle upgrade -u \"$DB_URL\"\t# carry a 0.1.0/0.2.0 database to this bundle\n"
     "dbtool bundle write share/hectic\t# the SQL files, for psql -f users",
     "DB_URL PGURL HECTIC_INHERITANCE_SQL HECTIC_LOG"},
    {"config", cmd_config, "show the resolved configuration and where each value came from",
     APPLET_STRICT | APPLET_PROJECT, "dbtool config PG_WORKING_DIR\t# one value", "*"},
    {"database", cmd_database, "the development database manager (new, deploy, test, check, ...)",
     APPLET_STRICT | APPLET_LINK | APPLET_PROJECT,
     "database new myapp && cd myapp\t# a project skeleton\n"
     "url=$(database deploy)\t# fresh cluster, sources, test data; stdout is the URL\n"
     "database test\t# db/test/test.sql\n"
     "database check\t# the whole deploy in a throwaway cluster\n"
     "database migrator migrate up all\t# pending migrations of db/migration\n"
     "database backup && database diff\t# backup + migrations vs sources",
     "*",
     "$LOCAL_DIR/dbtool.yaml\tproject file (nearest one upwards when LOCAL_DIR is unset)\n"
     "$LOCAL_DIR/db/src/entrypoint.sql\thydrate sources\n"
     "$LOCAL_DIR/db/migration/\tmigrations\n"
     "$LOCAL_DIR/db/test/test.sql\ttests\n"
     "$LOCAL_DIR/test-data.sql\ttest data (patch)\n"
     "$LOCAL_DIR/focus/postgresql/\tthe cluster: data/, sock/\n"
     "$LOCAL_DIR/focus/postgresql-backup/\tbackup"},
    {"doctor", cmd_doctor, "check programs, versions, the cache and the project; say what to fix",
     APPLET_LENIENT | APPLET_PROJECT, "dbtool doctor\t# what is missing or wrong, and how to fix it", "*"},
    {"migrator", cmd_migrator, "versioned up/down migrations tracked in hectic.migration",
     APPLET_STRICT | APPLET_LINK,
     "migrator -u \"$PGURL\" init\t# the hectic bundle\n"
     "migrator create --name add_users\t# migration/<UTC stamp>-add_users/{up,down}.sql\n"
     "migrator migrate up all\t# every pending migration\n"
     "migrator migrate down 1\t# roll the last one back\n"
     "migrator status\t# applied, pending, changed, missing",
     "DB_URL PGURL MIGRATION_DIR HECTIC_INHERITANCE_SQL HECTIC_LOG DBTOOL_CONFIG",
     "./migration/\tmigrations (default; MIGRATION_DIR or -d elsewhere)\n"
     "DIR/YYYYMMDDHHMMSS-NAME/up.sql, down.sql\tone migration (or up/entrypoint.sql, down/entrypoint.sql)\n"
     "DIR/YYYYMMDDHHMMSS-NAME/migration.yaml\ttransaction: false"},
    {"postgres-cleanup", cmd_postgres_cleanup, "stop the local cluster (fast mode); never deletes data",
     APPLET_STRICT | APPLET_LINK, "postgres-cleanup\t# stop the cluster of $LOCAL_DIR",
     "LOCAL_DIR PG_WORKING_DIR HECTIC_LOG", "$PG_WORKING_DIR/data/postmaster.pid\tthe server to stop"},
    {"postgres-init", cmd_postgres_init, "make a local cluster ready and print or export its URL",
     APPLET_STRICT | APPLET_LINK,
     ". postgres-init\t# in a shellHook: PGURL etc. exported into this shell\n"
     "eval \"$(dbtool postgres-init --env)\"\t# the same anywhere\n"
     "PG_REUSE=1 postgres-init\t# keep the existing cluster and its data",
     ENV_CLUSTER,
     "$PG_WORKING_DIR/data/\tPGDATA\n"
     "$PG_WORKING_DIR/sock/\tthe socket directory\n"
     "$PG_WORKING_DIR/postgres.log\tserver output before its logging collector starts\n"
     "$DBTOOL_CACHE_DIR/pg-KEY\tthe initdb template cache"},
    {"schema", cmd_schema, "read a schema from pg_catalog: canonical dump, hash, DDL diff", 0,
     "dbtool schema diff \"$A_URL\" \"$B_URL\"\t# the DDL that turns one schema into the other"},
    {"sql", cmd_sql, "run SQL scripts like psql -f, in-process (\\i, \\set, COPY, \\if ...)", APPLET_STRICT,
     "dbtool sql -u \"$PGURL\" -f seed.sql\t# as psql -v ON_ERROR_STOP=1 -f", "DB_URL PGURL HECTIC_LOG"},
};

/* EXIT STATUS of every man page: SPEC section 3 (lib/common.h enum exit_code). */
static const struct {
    int code;
    const char *meaning;
} exit_codes[] = {
    {EXIT_OK, "success"},
    {EXIT_ERR, "generic error"},
    {EXIT_AMBIGUOUS, "ambiguous arguments or state (e.g. migration history mismatch)"},
    {EXIT_MISSING, "missing required argument or environment variable; invalid configuration"},
    {EXIT_MIGRATION, "a migration failed (rolled back)"},
    {EXIT_NO_TABLE, "a named table does not exist"},
    {EXIT_UNKNOWN, "unknown argument or command"},
    {EXIT_BUG, "program bug or unexpected system/database state"},
    {EXIT_NO_PROGRAM, "a required program is missing"},
    {EXIT_INTERRUPTED, "interrupted (SIGINT; 143 after SIGTERM): what was started was stopped"},
};

static const struct applet *find_applet(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
        if (!strcmp(applets[i].name, name))
            return &applets[i];
    return NULL;
}

static NORETURN void unknown_applet(const char *name)
{
    const char *cands[ARRAY_SIZE(applets)];
    for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
        cands[i] = applets[i].name;
    const char *near = opt_suggest(name, cands, ARRAY_SIZE(applets));
    if (near)
        die(EXIT_UNKNOWN, "unknown applet '%s' (did you mean '%s'? try 'dbtool --list')", name, near);
    die(EXIT_UNKNOWN, "unknown applet '%s' (try 'dbtool --list')", name);
}

static void print_help(FILE *f)
{
    fprintf(f, "usage: dbtool APPLET [ARGS]   (or a link named after the applet)\n"
               "       dbtool --list | --help | --version | help APPLET\n\n"
               "PostgreSQL development clusters, SQL scripts and migrations in one binary.\n\n"
               "applets:\n");
    for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
        fprintf(f, "    %-18s %s\n", applets[i].name, applets[i].summary);
    fprintf(f, "\nRun 'dbtool APPLET --help' (or 'dbtool help APPLET') for an applet's options.\n"
               "New here? 'database new DIR' makes a project; README.md has a Quick start.\n");
}

/* One "KEY\tVALUE" line with VALUE's newlines escaped as \n (nix/gen-docs.sh reads them). */
static void describe_line(const char *key, const char *name, const char *value)
{
    printf("%s\t%s\t", key, name);
    for (const char *p = value ? value : ""; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stdout);
        else
            putchar(*p);
    }
    putchar('\n');
}

/*
 * `dbtool --dbtool-describe`: the applet table, the exit codes and the
 * settings, for the man pages and completions (nix/gen-docs.sh).
 */
static void describe(void)
{
    printf("version\t%s\n", DBTOOL_VERSION);
    for (size_t i = 0; i < ARRAY_SIZE(applets); i++) {
        const struct applet *a = &applets[i];
        printf("applet\t%s\t%s\t%s\n", a->name, a->flags & APPLET_LINK ? "link" : "-", a->summary);
        describe_line("examples", a->name, a->examples);
        describe_line("env", a->name, a->env);
        describe_line("files", a->name, a->files);
    }
    for (size_t i = 0; i < ARRAY_SIZE(exit_codes); i++)
        printf("exit\t%d\t%s\n", exit_codes[i].code, exit_codes[i].meaning);
    for (int k = 0; k < SET__N; k++) {
        const char *y = set_yaml_key(k), *h = set_help(k);
        printf("setting\t%s\t%s\t%s\n", set_name(k), y ? y : "-", h ? h : "");
    }
}

int main(int argc, char **argv)
{
    const char *base = strrchr(argv[0], '/');
    base = base ? base + 1 : argv[0];
    progname = "dbtool";
    signals_install();
    {
        const char *bad;
        if (log_configure(getenv("HECTIC_LOG"), &bad) < 0) {
            log_configure("info", NULL);
            warn("HECTIC_LOG: ignoring invalid level '%s' (levels: trace debug info notice warn error)", bad);
        }
    }

    const struct applet *a = find_applet(base);
    if (!a) {
        if (strcmp(base, "dbtool") && !starts_with(base, "dbtool"))
            die(EXIT_UNKNOWN, "unknown applet name '%s' (try 'dbtool --list')", base);
        if (argc < 2) {
            print_help(stderr);
            dbtool_exit(EXIT_ERR);
        }
        const char *cmd = argv[1];
        if (!strcmp(cmd, "--list")) {
            for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
                printf("%s\n", applets[i].name);
            dbtool_exit(EXIT_OK);
        }
        /* the names `make install` links (postgres-init becomes the sourceable shim) */
        if (!strcmp(cmd, "--list-links")) {
            for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
                if (applets[i].flags & APPLET_LINK)
                    printf("%s\n", applets[i].name);
            dbtool_exit(EXIT_OK);
        }
        if (!strcmp(cmd, OPT_DESCRIBE)) {
            describe();
            dbtool_exit(EXIT_OK);
        }
        if (!strcmp(cmd, "help") && argc > 2) {
            /* git's `help X`: X --help */
            a = find_applet(argv[2]);
            if (!a)
                unknown_applet(argv[2]);
            static char help_opt[] = "--help";
            argv[2] = help_opt;
            argc = 3;
        } else if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
            print_help(stdout);
            dbtool_exit(EXIT_OK);
        } else if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
            printf("dbtool %s\n", DBTOOL_VERSION);
            dbtool_exit(EXIT_OK);
        } else if (!(a = find_applet(cmd))) {
            unknown_applet(cmd);
        }
        argc--;
        argv++;
    }
    progname = a->name;
    /* settings resolved once; `--help` works whatever they hold */
    static struct settings settings;
    bool help = args_want_help(argc, argv);
    int lr = a->flags & APPLET_PROJECT ? settings_load_project(&settings) : settings_load(&settings);
    if (lr < 0 && (a->flags & APPLET_STRICT) && !help) {
        settings_report(&settings);
        dbtool_exit(EXIT_MISSING);
    }
    /* doctor lists them as findings */
    if (!help && !(a->flags & APPLET_LENIENT))
        for (size_t i = 0; i < settings.warnings.nr; i++)
            warn("%s", settings.warnings.v[i]);
    {
        const char *bad;
        if (log_configure(set_get(&settings, SET_HECTIC_LOG), &bad) < 0 && (a->flags & APPLET_STRICT) &&
            !help)
            die(EXIT_MISSING, "HECTIC_LOG: invalid level '%s' (levels: trace debug info notice warn "
                              "error off; per namespace: LEVEL;ns=LEVEL)", bad);
    }
    int code = a->fn(argc, argv, &settings);
    settings_release(&settings);
    dbtool_exit(code);
}
