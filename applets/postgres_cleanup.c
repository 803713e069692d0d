/*
 * postgres_cleanup.c — `postgres-cleanup`: stop the local cluster in fast
 * mode. Forgiving (exit 0 when there is nothing to stop) and never deletes
 * data; `database cleanup` is the one that removes the working dir.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/fs.h"
#include "lib/postmaster.h"
#include "lib/settings.h"
#include "lib/opt.h"

static const char *const usage[] = {
    "postgres-cleanup",
    "",
    "Stop the server of $PG_WORKING_DIR/data (fast shutdown; immediate after a timeout).\n"
    "Exits 0 when no working dir can be resolved, when there is no postmaster.pid, and when\n"
    "the pid in it is stale. Never deletes anything.",
    NULL};

int cmd_postgres_cleanup(int argc, char **argv, const struct settings *s)
{
    int timeout = 30;
    const struct option opts[] = {
        OPT_INT('t', "timeout", &timeout, "SECONDS", "fast-shutdown wait before SIGQUIT (default 30)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, usage, 0);
    if (argc > 0)
        usage_die(usage, "unexpected argument '%s'", argv[0]);
    const char *wd = set_get(s, SET_PG_WORKING_DIR);
    if (!wd) {
        info("no PG_WORKING_DIR or LOCAL_DIR: nothing to stop");
        return 0;
    }
    char *data = path_join(wd, "data");
    int r = pm_stop(data, timeout) < 0 ? EXIT_ERR : 0;
    free(data);
    return r;
}
