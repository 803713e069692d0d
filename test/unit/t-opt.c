/*
 * t-opt.c — "did you mean": the edit distance (with swaps) and which
 * candidate opt_suggest() picks, or none.
 */
#include "lib/common.h"
#include "lib/opt.h"
#include "test/unit/tap.h"

int main(void)
{
    is_int((long long)opt_edit_distance("deploy", "deploy"), 0, "same word: 0");
    is_int((long long)opt_edit_distance("deply", "deploy"), 1, "a missing letter: 1");
    is_int((long long)opt_edit_distance("deplyo", "deploy"), 1, "two swapped letters: 1");
    is_int((long long)opt_edit_distance("", "abc"), 3, "from nothing: the length");

    static const char *const subs[] = {"new", "deploy", "init", "hydrate", "patch", "test", "check",
                                       "cleanup", "log", "migrator", "backup", "restore", "diff",
                                       "normalize-backup", "pull_staging"};
    const size_t n = ARRAY_SIZE(subs);
    const char *s;
    s = opt_suggest("deplyo", subs, n);
    is_str(s ? s : "(none)", "deploy", "deplyo -> deploy");
    s = opt_suggest("restor", subs, n);
    is_str(s ? s : "(none)", "restore", "restor -> restore");
    s = opt_suggest("pull-staging", subs, n);
    is_str(s ? s : "(none)", "pull_staging", "pull-staging -> pull_staging");
    s = opt_suggest("norm", subs, n);
    is_str(s ? s : "(none)", "normalize-backup", "a unique prefix");
    s = opt_suggest("xyzzy", subs, n);
    ok(s == NULL, "nonsense: no suggestion");
    s = opt_suggest("c", subs, n);
    ok(s == NULL, "an ambiguous prefix (check, cleanup): no suggestion");
    s = opt_suggest("tst", subs, n);
    is_str(s ? s : "(none)", "test", "tst -> test");
    s = opt_suggest("ab", (const char *const[]){"ab", NULL, "cd"}, 3);
    is_str(s ? s : "(none)", "ab", "NULL candidates are skipped");
    return done_testing();
}
