/*
 * fuzz-config.c — libFuzzer target for the dbtool.yaml loader: any input must
 * load or be refused with an error, never crash, leak or hang.
 */
#include "lib/common.h"
#include "lib/settings.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        log_configure("off", NULL); /* errors are expected; keep the run quiet */
        once = 1;
    }
    struct settings s;
    settings_load_yaml_string(&s, "fuzz.yaml", (const char *)data, size, "/base");
    /* exercise the readers on whatever got loaded */
    for (int k = 0; k < SET__N; k++) {
        (void)set_get(&s, k);
        (void)set_bool(&s, k);
        (void)set_int(&s, k);
        (void)set_double(&s, k);
    }
    struct strbuf sb = STRBUF_INIT;
    settings_dump(&s, &sb);
    strbuf_release(&sb);
    settings_release(&s);
    return 0;
}
