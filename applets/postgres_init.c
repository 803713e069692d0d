/*
 * postgres_init.c — `postgres-init`: make the local cluster ready and print
 * its URL (or export lines with --env, which the sourceable shim evals).
 * All the work is in lib/cluster.c.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/cluster.h"
#include "ops/ops.h"
#include "lib/settings.h"
#include "lib/opt.h"
#include "lib/fs.h"
#include "lib/tplcache.h"

static const char *const usage[] = {
    "postgres-init [--env] [--reuse | --previous]",
    "postgres-init --build-template DIR",
    ". postgres-init          (sourced: exports the variables into the calling shell)",
    "",
    "Start a local PostgreSQL cluster in $PG_WORKING_DIR (default $LOCAL_DIR/focus/postgresql):\n"
    "a fresh one (copied from a cached initdb template) unless PG_REUSE is set and a cluster\n"
    "exists, and make sure $PG_DATABASE exists. Prints the URL, or with --env the lines\n"
    "  export POSTGRESQL_HOST=... POSTGRESQL_PORT=... POSTGRESQL_USER=... POSTGRESQL_DATABASE=...\n"
    "  export PGURL=postgresql://USER@/DB?host=SOCKDIR&port=PORT (and $PG_URL_VAR)\n"
    "so that eval \"$(dbtool postgres-init --env)\" sets them. The server runs in its own\n"
    "session and keeps none of the caller's descriptors. As root it runs as $PG_OS_USER.",
    "A fresh init keeps the cluster it replaces as $PG_WORKING_DIR/data.previous (one\n"
    "generation); --previous stops the server, swaps the two and starts the previous one.\n"
    "A reused cluster that cannot start is moved to data.failed-STAMP, never deleted;\n"
    "an interrupted or timed-out start stops the server it started and changes nothing.\n"
    "dbtool only removes, renames or chowns inside a working dir it made (the marker file\n"
    ".dbtool-cluster); one postgres-init, cleanup or restore at a time per working dir.",
    "--build-template DIR makes the generic template of this server in DIR (`make install`\n"
    "puts one in PREFIX/share/dbtool/templates): a first init on a machine with an empty\n"
    "cache copies it and renames its role instead of running initdb.",
    NULL};

int cmd_postgres_init(int argc, char **argv, const struct settings *s)
{
    int env_mode = 0, reuse = 0, previous = 0;
    const char *build = NULL;
    const struct option opts[] = {
        OPT_STRING(0, "build-template", &build, "DIR", "build the generic template of this server in DIR"),
        OPT_BOOL(0, "env", &env_mode, "print shell export lines (for eval or the sourced shim)"),
        OPT_BOOL(0, "reuse", &reuse, "reuse an existing cluster (same as PG_REUSE=1)"),
        OPT_BOOL(0, "previous", &previous, "go back to the cluster the last fresh init replaced"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, usage, 0);
    if (argc > 0)
        usage_die(usage, "unexpected argument '%s'", argv[0]);
    if (reuse && previous)
        usage_die(usage, "--reuse and --previous exclude each other");
    /* a mistyped LOCAL_DIR is refused, not created (PG_WORKING_DIR set explicitly is used as it is) */
    struct strbuf why = STRBUF_INIT;
    if (set_source(s, SET_PG_WORKING_DIR) == SET_SRC_DEFAULT && !settings_local_dir_ok(s, &why)) {
        error("%s", why.buf);
        strbuf_release(&why);
        return EXIT_MISSING;
    }
    strbuf_release(&why);
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    if (reuse)
        sp.reuse = true;
    char *abs = build ? path_absolute(build, NULL) : NULL;
    if (build && !sp.working_dir)
        sp.working_dir = abs; /* no cluster is made: only its server and user matter */
    struct cluster c;
    enum cl_status st = cluster_setup(&c, &sp);
    if (build) {
        if (!st)
            st = tpl_build_generic(&c, abs);
        if (!st)
            info("the generic template of %s is in %s", c.bin.bindir, abs);
        cluster_release(&c);
        free(abs);
        return ops_exit(st);
    }
    if (!st)
        st = previous ? cluster_use_previous(&c) : cluster_init(&c);
    if (!st) {
        if (env_mode)
            cluster_print_exports(&c, set_get(s, SET_PG_URL_VAR), stdout);
        else
            printf("%s\n", c.url);
    }
    cluster_release(&c);
    return ops_exit(st);
}
