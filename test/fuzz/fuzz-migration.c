/*
 * fuzz-migration.c — libFuzzer target for per-migration migration.yaml (its
 * timeouts are durations, never anything else) and
 * migration names/labels: any input parses or is refused, never crashes; a
 * valid label never contains '/' or a newline (it always follows a timestamp,
 * so "." and ".." cannot name a parent directory).
 */
#include "lib/common.h"
#include "lib/migrate.h"
#include "lib/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        log_configure("off", NULL);
        once = 1;
    }
    struct mig_meta meta;
    if (mig_meta_parse("migration.yaml", (const char *)data, size, &meta) == 0) {
        if ((meta.lock_timeout && !set_duration_valid(meta.lock_timeout)) ||
            (meta.statement_timeout && !set_duration_valid(meta.statement_timeout)))
            abort(); /* a value that could carry SQL into SET LOCAL */
        mig_meta_release(&meta);
    }
    char *s = xstrndup((const char *)data, size);
    (void)mig_name_valid(s);
    const char *why = NULL;
    if (mig_label_valid(s, &why)) {
        if (strchr(s, '/') || strchr(s, '\n'))
            abort(); /* a label that could escape the migration dir */
    }
    free(s);
    return 0;
}
