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

    const char *want[] = {"01-version", "02-secret", "03-migration", "04-inheritance", "05-code"};
    size_t n = 0;
    for (const struct bundle_part *p = bundle_parts; p->name; p++) {
        if (!bundle_is_part(p))
            continue;
        ok(n < ARRAY_SIZE(want) && !strcmp(p->name, want[n]), "part %zu is %s", n + 1, p->name);
        ok(strlen(p->sql) == p->len, "%s is NUL-terminated text of its length", p->name);
        ok(!strstr(p->sql, "\n\\"), "%s has no psql meta-command", p->name);
        n++;
    }
    is_int((long long)n, 5, "five parts");

    ok(bundle_find("inheritance") == bundle_find(BUNDLE_INHERITANCE_PART), "short name 'inheritance'");
    ok(bundle_find("secret") == bundle_find("02-secret"), "short name 'secret'");
    ok(bundle_find("nope") == NULL, "unknown part");

    int upgrades = 0;
    for (const struct bundle_part *p = bundle_parts; p->name; p++) {
        if (!starts_with(p->name, "upgrade-"))
            continue;
        upgrades++;
        ok(!bundle_is_part(p), "%s is not a part", p->name);
        ok(strcmp(p->name + 8, BUNDLE_VERSION) != 0, "%s starts from an older version", p->name);
        ok(strstr(p->sql, "SET version = '" BUNDLE_VERSION "'") != NULL, "%s moves to " BUNDLE_VERSION,
           p->name);
    }
    ok(bundle_find("upgrade-0.1.0") != NULL, "upgrade path from 0.1.0 is embedded");
    is_int((long long)bundle_nparts, (long long)n + upgrades, "nothing else is embedded");
    return done_testing();
}
