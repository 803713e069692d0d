/*
 * main.c — the applet table and dispatch: by the basename of argv[0]
 * (a link named after the applet) or by the first argument
 * (`dbtool APPLET ...`); --list, --help, --version.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/opt.h"
#include "lib/settings.h"

#include <unistd.h>

/*
 * How an applet wants its settings (git's RUN_SETUP): main resolves them
 * once, before the applet runs, and hands them down read-only.
 */
enum {
    /* an invalid setting (environment or dbtool.yaml) is reported and exits 3,
     * unless the command line asks for help */
    APPLET_STRICT = 1 << 0,
    /* invalid settings are handed over as problems (doctor lists them) */
    APPLET_LENIENT = 1 << 1,
    /* installed as a link name by `make install` */
    APPLET_LINK = 1 << 2,
};

struct applet {
    const char *name;
    int (*fn)(int argc, char **argv, const struct settings *s);
    const char *summary;
    unsigned flags;
};

/* Sorted by name. */
static const struct applet applets[] = {
    {"bundle", cmd_bundle, "the hectic SQL bundle: print, list, write, apply, upgrade", APPLET_STRICT},
    {"config", cmd_config, "show the resolved configuration and where each value came from", APPLET_STRICT},
    {"database", cmd_database, "the development database manager (init, cleanup, log, ...)",
     APPLET_STRICT | APPLET_LINK},
    {"doctor", cmd_doctor, "check programs, versions, the cache and the project; say what to fix",
     APPLET_LENIENT},
    {"migrator", cmd_migrator, "versioned up/down migrations tracked in hectic.migration",
     APPLET_STRICT | APPLET_LINK},
    {"postgres-cleanup", cmd_postgres_cleanup, "stop the local cluster (fast mode); never deletes data",
     APPLET_STRICT | APPLET_LINK},
    {"postgres-init", cmd_postgres_init, "make a local cluster ready and print or export its URL",
     APPLET_STRICT | APPLET_LINK},
    {"schema", cmd_schema, "read a schema from pg_catalog: canonical dump, hash, DDL diff", 0},
    {"sql", cmd_sql, "run SQL scripts like psql -f, in-process (\\i, \\set, COPY, \\if ...)", APPLET_STRICT},
};

static const struct applet *find_applet(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
        if (!strcmp(applets[i].name, name))
            return &applets[i];
    return NULL;
}

static void print_help(FILE *f)
{
    fprintf(f, "usage: dbtool APPLET [ARGS]   (or a link named after the applet)\n"
               "       dbtool --list | --help | --version\n\n"
               "PostgreSQL development clusters, SQL scripts and migrations in one binary.\n\n"
               "applets:\n");
    for (size_t i = 0; i < ARRAY_SIZE(applets); i++)
        fprintf(f, "    %-18s %s\n", applets[i].name, applets[i].summary);
    fprintf(f, "\nRun 'dbtool APPLET --help' for an applet's options.\n");
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
        if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
            print_help(stdout);
            dbtool_exit(EXIT_OK);
        }
        if (!strcmp(cmd, "--version") || !strcmp(cmd, "-V")) {
            printf("dbtool %s\n", DBTOOL_VERSION);
            dbtool_exit(EXIT_OK);
        }
        a = find_applet(cmd);
        if (!a)
            die(EXIT_UNKNOWN, "unknown applet '%s' (try 'dbtool --list')", cmd);
        argc--;
        argv++;
    }
    progname = a->name;
    /* settings resolved once; `--help` works whatever they hold */
    static struct settings settings;
    if (settings_load(&settings) < 0 && (a->flags & APPLET_STRICT) && !args_want_help(argc, argv)) {
        settings_report(&settings);
        dbtool_exit(EXIT_MISSING);
    }
    {
        const char *bad;
        if (log_configure(set_get(&settings, SET_HECTIC_LOG), &bad) < 0 && (a->flags & APPLET_STRICT) &&
            !args_want_help(argc, argv))
            die(EXIT_MISSING, "HECTIC_LOG: invalid level '%s' (levels: trace debug info notice warn "
                              "error off; per namespace: LEVEL;ns=LEVEL)", bad);
    }
    int code = a->fn(argc, argv, &settings);
    settings_release(&settings);
    dbtool_exit(code);
}
