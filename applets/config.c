/*
 * config.c — `dbtool config`: print every setting as resolved (flag > env >
 * dbtool.yaml > default) with where it came from. Validates the project file.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/settings.h"
#include "lib/opt.h"
#include "lib/pg.h"

static const char *const usage[] = {
    "dbtool config [NAME]",
    "",
    "Print the resolved configuration, one NAME=value line each with its source\n"
    "(flag, env, file, default); with NAME print only that value. Passwords in URLs are masked.",
    NULL};

int cmd_config(int argc, char **argv, const struct settings *s)
{
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, usage, 0);
    if (argc > 1)
        usage_die(usage, "too many arguments");
    if (argc == 1) {
        int k = set_lookup(argv[0]);
        if (k >= 0) {
            const char *v = set_get(s, k);
            if (!v)
                return EXIT_ERR;
            /* a password inside a URL is never printed */
            char *m = set_is_url(k) ? pg_mask_url(v) : xstrdup(v);
            printf("%s\n", m);
            free(m);
            return 0;
        }
        die(EXIT_UNKNOWN, "unknown setting '%s' (see 'dbtool config')", argv[0]);
    }
    struct strbuf sb = STRBUF_INIT;
    settings_dump(s, &sb);
    fwrite(sb.buf, 1, sb.len, stdout);
    strbuf_release(&sb);
    return 0;
}
