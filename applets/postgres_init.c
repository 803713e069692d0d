/*
 * postgres_init.c — `postgres-init`: make the local cluster ready and print
 * its URL (or export lines with --env, which the sourceable shim evals).
 * All the work is in lib/cluster.c.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/cluster.h"
#include "lib/config.h"
#include "lib/opt.h"

static const char *const usage[] = {
    "postgres-init [--env] [--reuse]",
    ". postgres-init          (sourced: exports the variables into the calling shell)",
    "",
    "Start a local PostgreSQL cluster in $PG_WORKING_DIR (default $LOCAL_DIR/focus/postgresql):\n"
    "a fresh one (copied from a cached initdb template) unless PG_REUSE is set and a cluster\n"
    "exists, and make sure $PG_DATABASE exists. Prints the URL, or with --env the lines\n"
    "  export POSTGRESQL_HOST=... POSTGRESQL_PORT=... POSTGRESQL_USER=... POSTGRESQL_DATABASE=...\n"
    "  export PGURL=postgresql://USER@/DB?host=SOCKDIR&port=PORT (and $PG_URL_VAR)\n"
    "so that eval \"$(dbtool postgres-init --env)\" sets them. The server runs in its own\n"
    "session and keeps none of the caller's descriptors. As root it runs as $PG_OS_USER.",
    NULL};

int cmd_postgres_init(int argc, char **argv)
{
    int env_mode = 0, reuse = 0;
    const struct option opts[] = {
        OPT_BOOL(0, "env", &env_mode, "print shell export lines (for eval or the sourced shim)"),
        OPT_BOOL(0, "reuse", &reuse, "reuse an existing cluster (same as PG_REUSE=1)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, usage, 0);
    if (argc > 0)
        usage_die(usage, "unexpected argument '%s'", argv[0]);
    cfg_load_or_die();
    if (reuse)
        cfg_set(CFG_PG_REUSE, "1");

    struct cluster c;
    int r = cluster_setup(&c);
    if (!r)
        r = cluster_init(&c);
    if (!r) {
        if (env_mode)
            cluster_print_exports(&c, cfg_get(CFG_PG_URL_VAR), stdout);
        else
            printf("%s\n", c.url);
    }
    cluster_release(&c);
    return r;
}
