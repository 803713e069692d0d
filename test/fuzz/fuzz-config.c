/*
 * fuzz-config.c — libFuzzer target for the dbtool.yaml loader: any input must
 * load or be refused with an error, never crash, leak or hang.
 */
#include "lib/common.h"
#include "lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static int once;
    if (!once) {
        log_configure("off", NULL); /* errors are expected; keep the run quiet */
        once = 1;
    }
    cfg_reset();
    cfg_load_yaml_string("fuzz.yaml", (const char *)data, size, "/base");
    /* exercise the readers on whatever got loaded */
    for (int k = 0; k < CFG__N; k++) {
        (void)cfg_get(k);
        (void)cfg_bool(k);
        (void)cfg_int(k);
    }
    cfg_reset();
    return 0;
}
