/*
 * fuzz-url.c — libFuzzer target for URL handling: password masking (must never
 * leave the password of a URL in its output), scheme check, URL building.
 */
#include "lib/common.h"
#include "lib/pg.h"

#include <assert.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = xstrndup((const char *)data, size);
    char *m = pg_mask_url(s);
    (void)pg_url_supported(s);
    /* postgresql://user:SECRET@host/... : SECRET must not survive masking */
    if (starts_with(s, "postgresql://")) {
        const char *auth = s + 13;
        const char *at = NULL;
        for (const char *p = auth; *p && *p != '/' && *p != '?'; p++)
            if (*p == '@')
                at = p;
        const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
        if (colon && at - colon > 8) {
            char *secret = xstrndup(colon + 1, (size_t)(at - colon - 1));
            if (!strchr(secret, '@') && strstr(m, secret) != NULL && strstr(s, secret) == colon + 1 &&
                !strstr(colon + 1 + strlen(secret), secret))
                abort(); /* the password is still in the masked URL */
            free(secret);
        }
    }
    char *half = xstrndup(s, strlen(s) / 2);
    char *u = pg_build_url(half, s + strlen(half), s, 5432);
    free(u);
    free(half);
    free(m);
    free(s);
    return 0;
}
