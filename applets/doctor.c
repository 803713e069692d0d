/*
 * doctor.c — `dbtool doctor`: check programs, versions, the template cache,
 * preload libraries and the current project's settings; say what to fix.
 * The checks live in lib/doctor.c.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/settings.h"
#include "ops/doctor.h"
#include "lib/opt.h"

static const char *const usage[] = {
    "dbtool doctor",
    "",
    "Check this machine and the current project (LOCAL_DIR, dbtool.yaml): PostgreSQL\n"
    "programs and versions, the template cache, pg_cron and other preload libraries,\n"
    "root and PG_OS_USER, the hydrate entrypoint, migrations, the dotenv file.\n"
    "Exit 0 when nothing FAILs, 1 otherwise; warnings do not fail.",
    NULL};

int cmd_doctor(int argc, char **argv, const struct settings *s)
{
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, usage, 0);
    if (argc)
        usage_die(usage, "unexpected argument '%s'", argv[0]);
    return doctor_run(s) ? EXIT_ERR : 0;
}
