/*
 * database.c — `database`: the development database manager's front door.
 * Parses the global options and the subcommand, then calls lib/ modules:
 * cluster (init, cleanup), serverlog (log).
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/cluster.h"
#include "lib/config.h"
#include "lib/fs.h"
#include "lib/opt.h"
#include "lib/serverlog.h"

struct subcommand {
    const char *name;
    int (*fn)(int argc, char **argv);
    const char *summary;
};

static int sub_init(int argc, char **argv);
static int sub_cleanup(int argc, char **argv);
static int sub_log(int argc, char **argv);

static const struct subcommand subcommands[] = {
    {"cleanup", sub_cleanup, "stop the cluster and remove PG_WORKING_DIR"},
    {"init", sub_init, "postgres-init for this project (fresh, or --reuse)"},
    {"log", sub_log, "show server logs: list, by index or name, or all"},
};

static const char *const usage[] = {
    "database [-u|--url URL] SUBCOMMAND [OPTIONS]",
    "",
    "Manage the project's development database. Needs LOCAL_DIR (the project root).\n"
    "Run 'database SUBCOMMAND --help' for a subcommand's options.",
    NULL};

static void print_subcommands(struct strbuf *sb)
{
    strbuf_addstr(sb, "\nsubcommands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
        strbuf_addf(sb, "    %-18s %s\n", subcommands[i].name, subcommands[i].summary);
}

static int sub_init(int argc, char **argv)
{
    static const char *const u[] = {"database init [--reuse]", "",
                                    "Start this project's cluster (see 'postgres-init --help').", NULL};
    int reuse = 0;
    const struct option opts[] = {
        OPT_BOOL(0, "reuse", &reuse, "reuse the existing cluster"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    if (reuse)
        cfg_set(CFG_PG_REUSE, "1");
    struct cluster c;
    int r = cluster_setup(&c);
    if (!r)
        r = cluster_init(&c);
    if (!r)
        printf("%s\n", c.url);
    cluster_release(&c);
    return r;
}

static int sub_cleanup(int argc, char **argv)
{
    static const char *const u[] = {"database cleanup", "",
                                    "Stop the cluster and remove PG_WORKING_DIR. Refuses '/', $HOME,\n"
                                    "$LOCAL_DIR itself and directories that do not look like a cluster root.",
                                    NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    struct cluster c;
    int r = cluster_setup(&c);
    if (!r)
        r = cluster_remove(&c);
    cluster_release(&c);
    return r;
}

static int sub_log(int argc, char **argv)
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
    const char *lp = cfg_get(CFG_PG_LOG_PATH);
    char *dir = lp ? xstrdup(lp) : xasprintf("%s/data/log", cfg_get(CFG_PG_WORKING_DIR));
    int r = serverlog_show(dir, argc ? argv[0] : NULL);
    free(dir);
    return r;
}

int cmd_database(int argc, char **argv)
{
    const char *url = NULL;
    const struct option opts[] = {
        OPT_STRING('u', "url", &url, "URL", "database URL (default $DB_URL, else $PGURL)"),
        OPT_END(),
    };
    /* --help lists the subcommands too */
    for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            struct strbuf sb = STRBUF_INIT;
            usage_format(&sb, usage, opts);
            print_subcommands(&sb);
            pager_write(sb.buf, sb.len);
            strbuf_release(&sb);
            return 0;
        }
        if ((!strcmp(argv[i], "-u") || !strcmp(argv[i], "--url")) && i + 1 < argc)
            i++;
    }
    argc = parse_options(argc, argv, opts, usage, PARSE_OPT_STOP_AT_NON_OPTION);
    if (argc == 0) {
        struct strbuf sb = STRBUF_INIT;
        usage_format(&sb, usage, opts);
        print_subcommands(&sb);
        fputs(sb.buf, stderr);
        strbuf_release(&sb);
        return EXIT_ERR;
    }
    const struct subcommand *sub = NULL;
    for (size_t i = 0; i < ARRAY_SIZE(subcommands); i++)
        if (!strcmp(subcommands[i].name, argv[0]))
            sub = &subcommands[i];
    if (!sub)
        die(EXIT_UNKNOWN, "unknown subcommand '%s' (see 'database --help')", argv[0]);
    cfg_load_or_die();
    if (!cfg_get(CFG_LOCAL_DIR))
        die(EXIT_MISSING, "LOCAL_DIR is not set: export LOCAL_DIR to the project root");
    if (url)
        cfg_set(CFG_DB_URL, url);
    /* parse_options drops argv[0]: give the subcommand its name back */
    return sub->fn(argc, argv);
}
