/*
 * fuzz-migration.c — libFuzzer target for per-migration migration.yaml and
 * migration names/labels: any input parses or is refused, never crashes; a
 * valid label never contains '/' or a newline (it always follows a timestamp,
 * so "." and ".." cannot name a parent directory).
 */
#include "lib/common.h"
#include "lib/migrate.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        log_configure("off", NULL);
        once = 1;
    }
    bool tx = true;
    mig_meta_parse("migration.yaml", (const char *)data, size, &tx);
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
