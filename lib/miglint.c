/* miglint.c — see miglint.h (work in progress) */
#include "lib/miglint.h"

int miglint_run(struct mig_folder *f, struct mig *const *list, size_t n, const struct lint_opts *o,
                struct lint_result *out)
{
    memset(out, 0, sizeof(*out));
    return 0;
}

void miglint_print(FILE *out, const struct lint_result *r, bool json)
{
}

void miglint_release(struct lint_result *r)
{
}
