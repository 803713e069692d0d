/*
 * fuzz-import.c — libFuzzer target for lib/migimport.c, the readers of other
 * tools' migration formats: the first byte picks what the rest is fed to (a
 * file name of each tool, a dbmate or goose file, a sqitch plan, a Flyway
 * .conf, the BEGIN/COMMIT stripper, the version mapper). Any input is read
 * or refused, never crashes; mapped names are valid, unique and ordered.
 */
#include "lib/common.h"
#include "lib/migimport.h"

#include <ctype.h>

/* dbtool's migration name: 14 digits, '-', a label (mig_name_valid, without linking lib/migrate) */
static bool name_ok(const char *n)
{
    for (int i = 0; i < 14; i++)
        if (!isdigit((unsigned char)n[i]))
            return false;
    return n[14] == '-' && n[15] && !strchr(n, '/');
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        log_configure("off", NULL);
        once = 1;
    }
    if (!size)
        return 0;
    char *s = xstrndup((const char *)data + 1, size - 1);
    switch (data[0] % 8) {
    case 0:
    case 1: {
        char *v, *l, kind, *dialect;
        bool ac;
        for (int t = 0; t < IMP__N; t++)
            if (imp_parse_filename((enum imp_tool)t, s, &v, &l, &kind, &dialect, &ac) == 0) {
                if (!v || !l || !*l || strchr(l, '/'))
                    abort();
                free(v);
                free(l);
                free(dialect);
            }
        break;
    }
    case 2: {
        char *up, *down, *err;
        bool a, b;
        if (imp_dbmate_split(s, &up, &down, &a, &b, &err) == 0) {
            free(up);
            free(down);
        } else {
            free(err);
        }
        break;
    }
    case 3: {
        char *up, *down, *err;
        bool a, b;
        if (imp_goose_split(s, &up, &down, &a, &b, &err) == 0) {
            free(up);
            free(down);
        } else {
            free(err);
        }
        break;
    }
    case 4: {
        struct imp_sqitch_plan plan;
        char *err;
        if (imp_sqitch_parse(s, &plan, &err) == 0)
            imp_sqitch_release(&plan);
        else
            free(err);
        break;
    }
    case 5: {
        char *ph;
        (void)imp_flyway_conf_notx(s);
        if (imp_flyway_placeholders(s, &ph))
            free(ph);
        break;
    }
    case 6: {
        const char *what;
        free(imp_strip_tx(s, &what));
        break;
    }
    default: {
        /* one version per line, mapped in the order given */
        struct imp_set set = {0};
        char *save = NULL;
        for (char *l = strtok_r(s, "\n", &save); l && set.nr < 200; l = strtok_r(NULL, "\n", &save))
            imp_add(&set, l, l, l);
        imp_map_names(&set);
        for (size_t i = 0; i < set.nr; i++) {
            if (!name_ok(set.v[i].name))
                abort();
            /* in order; only names pushed to the last second of year 9999 may meet */
            if (i && strcmp(set.v[i - 1].name, set.v[i].name) > 0)
                abort();
            if (i && strcmp(set.v[i - 1].name, set.v[i].name) == 0 && strncmp(set.v[i].name, "99991231235959", 14))
                abort();
        }
        imp_set_release(&set);
        break;
    }
    }
    free(s);
    return 0;
}
