/*
 * t-bundle.c — the embedded bundle: the versions agree (dbtool, lib/bundle.h,
 * bundle/01-version.sql, the upgrade scripts' target), parts are found by
 * full and short names, in order, and upgrade scripts are not parts.
 */
#include "lib/common.h"
#include "lib/bundle.h"
#include "test/unit/tap.h"

int main(void)
{
    is_str(BUNDLE_VERSION, DBTOOL_VERSION, "bundle version equals the dbtool version");

    const struct bundle_part *v = bundle_find("01-version");
    ok(v != NULL, "01-version is embedded");
    ok(v && strstr(v->sql, "bundle_version constant text := '" BUNDLE_VERSION "';") != NULL,
       "01-version.sql installs version " BUNDLE_VERSION);

    /* the four of 0.1.0 first; later parts (05-..., added by later releases) after them */
    const char *want[] = {"01-version", "02-secret", "03-migration", "04-inheritance"};
    size_t n = 0;
    const char *prev = "";
    for (const struct bundle_part *p = bundle_parts; p->name; p++) {
        if (!bundle_is_part(p))
            continue;
        if (n < ARRAY_SIZE(want))
            ok(!strcmp(p->name, want[n]), "part %zu is %s", n + 1, p->name);
        else
            ok(strcmp(p->name, prev) > 0, "part %zu (%s) comes after %s", n + 1, p->name, prev);
        ok(strlen(p->sql) == p->len, "%s is NUL-terminated text of its length", p->name);
        ok(!strstr(p->sql, "\n\\"), "%s has no psql meta-command", p->name);
        prev = p->name;
        n++;
    }
    ok(n >= 4, "at least the four parts of 0.1.0");

    ok(bundle_find("inheritance") == bundle_find(BUNDLE_INHERITANCE_PART), "short name 'inheritance'");
    ok(bundle_find("secret") == bundle_find("02-secret"), "short name 'secret'");
    ok(bundle_find("nope") == NULL, "unknown part");

    /* upgrade scripts form a chain: each moves the version row one step, the last to BUNDLE_VERSION */
    int upgrades = 0, to_current = 0;
    for (const struct bundle_part *p = bundle_parts; p->name; p++) {
        if (!starts_with(p->name, "upgrade-"))
            continue;
        upgrades++;
        ok(!bundle_is_part(p), "%s is not a part", p->name);
        ok(strcmp(p->name + 8, BUNDLE_VERSION) != 0, "%s starts from an older version", p->name);
        const char *set = strstr(p->sql, "SET version = '");
        ok(set != NULL, "%s moves the version row", p->name);
        if (!set)
            continue;
        char *to = xstrndup(set + 15, strcspn(set + 15, "'"));
        if (!strcmp(to, BUNDLE_VERSION)) {
            to_current++;
        } else {
            char *next = xasprintf("upgrade-%s", to);
            ok(bundle_find(next) != NULL, "%s moves to %s, which has %s", p->name, to, next);
            free(next);
        }
        free(to);
    }
    is_int(to_current, 1, "exactly one upgrade script moves to " BUNDLE_VERSION);
    ok(bundle_find("upgrade-0.1.0") != NULL, "upgrade path from 0.1.0 (the shell tools) is embedded");
    ok(bundle_find("upgrade-0.2.0") != NULL, "upgrade path from 0.2.0 (dbtool 0.2) is embedded");
    is_int((long long)bundle_nparts, (long long)n + upgrades, "nothing else is embedded");
    return done_testing();
}
