/*
 * t-migrate.c — the pure parts of lib/migfolder.c and lib/migrate.c:
 * migration names and labels, migration.yaml parsing, the history check
 * and the planner.
 */
#include "lib/common.h"
#include "lib/migrate.h"
#include "lib/settings.h"
#include "test/unit/tap.h"

#include <unistd.h>

/* A folder/db from space-separated names; a trailing '!' marks "no up file". */
static void mkfolder(struct mig_folder *f, const char *names)
{
    memset(f, 0, sizeof(*f));
    f->dir = xstrdup("mig");
    f->dfd = -1;
    char *copy = xstrdup(names), *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        size_t n = strlen(t);
        bool noup = t[n - 1] == '!';
        struct mig m = {0};
        m.name = xstrndup(t, noup ? n - 1 : n);
        m.up = noup ? NULL : xasprintf("mig/%s/up.sql", m.name);
        m.down = xasprintf("mig/%s/down.sql", m.name);
        m.up_known = m.down_known = m.meta_known = true;
        m.meta.transaction = true;
        ALLOC_GROW(f->v, f->nr + 1, f->alloc);
        f->v[f->nr++] = m;
    }
    free(copy);
}

static void mkdb(struct mig_db *db, const char *names)
{
    memset(db, 0, sizeof(*db));
    db->has_table = true;
    char *copy = xstrdup(names), *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        ALLOC_GROW(db->v, db->nr + 1, db->alloc);
        db->v[db->nr++] = (struct mig_applied){xstrdup(t), xstrdup("00"), NULL};
    }
    free(copy);
}

/* "+a +b -c": the plan as text. */
static char *plan_str(const struct mig_plan *p)
{
    struct strbuf sb = STRBUF_INIT;
    for (size_t i = 0; i < p->nr; i++)
        strbuf_addf(&sb, "%s%c%s", i ? " " : "", p->v[i].down ? '-' : '+', p->v[i].m->name + 15);
    return strbuf_detach(&sb, NULL);
}

#define A "20240101000000-a"
#define B "20240102000000-b"
#define C "20240103000000-c"
#define D "20240104000000-d"

static void check_plan(const char *folder, const char *applied, enum mig_request_kind kind, long n,
                       const char *name, enum mig_status want_st, const char *want, const char *what)
{
    struct mig_folder f;
    struct mig_db db;
    struct mig_plan p;
    mkfolder(&f, folder);
    mkdb(&db, applied);
    struct mig_request req = {kind, n, name};
    enum mig_status st = mig_plan(&f, &db, &req, &p);
    char *got = plan_str(&p);
    char *w1 = xasprintf("%s: status", what);
    is_int(st, want_st, w1);
    if (want) {
        char *w2 = xasprintf("%s: steps", what);
        is_str(got, want, w2);
        free(w2);
    }
    free(w1);
    free(got);
    mig_plan_release(&p);
    mig_db_release(&db);
    mig_folder_release(&f);
}

static void meta(const char *text, int want_ret, int want_tx, const char *what)
{
    struct mig_meta m;
    int r = mig_meta_parse("m.yaml", text, strlen(text), &m);
    ok(r == want_ret && (r < 0 || m.transaction == want_tx), "%s", what);
    mig_meta_release(&m);
}

int main(void)
{
    /* names */
    ok(mig_name_valid("20240101000000-init"), "a migration name");
    ok(mig_name_valid("20240101000000-x"), "one character label");
    ok(!mig_name_valid("20240101000000-"), "empty label");
    ok(!mig_name_valid("20240101000000_init"), "underscore instead of dash");
    ok(!mig_name_valid("2024010100000-init"), "13 digits");
    ok(!mig_name_valid("2024010100000a-init"), "a letter among the digits");
    ok(!mig_name_valid("README.md"), "a readme");
    ok(!mig_name_valid(""), "empty");
    ok(mig_name_valid("20240101000000-init.sql"), "anything after the dash");

    const char *why = NULL;
    ok(mig_label_valid("add-users", &why) && !why, "label add-users");
    ok(mig_label_valid("with space", NULL), "label with a space");
    ok(!mig_label_valid("a/b", &why) && why && strstr(why, "/"), "label with '/' refused, says why");
    ok(!mig_label_valid("", &why), "empty label refused");
    ok(!mig_label_valid("a\nb", &why), "label with a newline refused");
    for (int i = 0; i < 20; i++) {
        char *l = mig_random_label();
        char *n = xasprintf("20240101000000-%s", l);
        bool good = mig_label_valid(l, NULL) && mig_name_valid(n) && strlen(l) == 13 && l[6] == '-';
        if (i == 0 || !good)
            ok(good, "random label '%s' is valid and pronounceable-shaped", l);
        free(l);
        free(n);
    }

    /* migration.yaml */
    meta("transaction: false\n", 0, false, "transaction: false");
    meta("transaction: true\n", 0, true, "transaction: true");
    meta("", 0, true, "empty file: defaults");
    meta("---\ntransaction: no\n", 0, false, "document marker, yes/no words");
    meta("transaction: maybe\n", -1, 0, "a non-boolean is an error");
    meta("transactions: false\n", -1, 0, "an unknown key is an error");
    meta("transaction: false\ntransaction: true\n", -1, 0, "a duplicate key is an error");
    meta("transaction: [false]\n", -1, 0, "a list value is an error");
    meta("- transaction\n", -1, 0, "a top-level list is an error");
    meta("transaction: 'false\n", -1, 0, "a syntax error is an error");
    {
        /* the location of an unknown key: file:line:col on stderr */
        fflush(stderr);
        char path[] = "/tmp/t-migrate.XXXXXX";
        int fd = mkstemp(path);
        int saved = dup(2);
        dup2(fd, 2);
        struct mig_meta tx;
        const char *text = "transaction: false\n  # comment\nfoo: 1\n";
        int r = mig_meta_parse("m.yaml", text, strlen(text), &tx);
        fflush(stderr);
        dup2(saved, 2);
        close(saved);
        struct strbuf sb = STRBUF_INIT;
        strbuf_read_file(&sb, path);
        close(fd);
        unlink(path);
        ok(r < 0 && strstr(sb.buf, "m.yaml:3:1: unknown key 'foo'"), "unknown key reported at m.yaml:3:1");
        if (!strstr(sb.buf, "m.yaml:3:1:"))
            printf("# got: %s", sb.buf);
        strbuf_release(&sb);
    }

    meta("lock_timeout: 5s\nstatement_timeout: 10min\n", 0, true, "timeouts");
    meta("lock_timeout: 1500\n", 0, true, "a timeout in milliseconds");
    meta("lock_timeout: soon\n", -1, 0, "a timeout that is no duration is an error");
    meta("lock_timeout: [1]\n", -1, 0, "a list timeout is an error");
    {
        struct mig_meta m;
        const char *t = "transaction: false\nlock_timeout: 250ms\nstatement_timeout: '2.5s'\n";
        ok(mig_meta_parse("m.yaml", t, strlen(t), &m) == 0 && !m.transaction && m.lock_timeout &&
               !strcmp(m.lock_timeout, "250ms") && m.statement_timeout && !strcmp(m.statement_timeout, "2.5s"),
           "all three keys read");
        mig_meta_release(&m);
    }
    ok(set_duration_valid("5s") && set_duration_valid("100") && set_duration_valid("1.5 min") &&
           set_duration_valid("2h") && !set_duration_valid("") && !set_duration_valid("5 sec") &&
           !set_duration_valid("-1s") && !set_duration_valid("5s; DROP TABLE x"),
       "durations");

    /* names that are not migrations say why */
    {
        char *w = mig_name_problem("20200519101057000000_create_identities");
        ok(w && strstr(w, "20 digits"), "a 20-digit version is reported: %s", w ? w : "(null)");
        free(w);
        w = mig_name_problem("20240101000000_init");
        ok(w && strstr(w, "'_'"), "an underscore after the version is reported");
        free(w);
        w = mig_name_problem("20240101000000");
        ok(w && strstr(w, "no '-label'"), "a bare version is reported");
        free(w);
        ok(mig_name_problem("20240101000000-ok") == NULL, "a good name has no problem");
    }

    /* history */
    {
        struct mig_folder f;
        struct mig_db db;
        const char *a, *b;
        mkfolder(&f, A " " B " " C);
        mkdb(&db, A " " B);
        is_int(mig_history_check(&f, &db, &a, &b), -1, "applied a prefix of the folder");
        mig_db_release(&db);
        mkdb(&db, A " " C);
        is_int(mig_history_check(&f, &db, &a, &b), 1, "a folder migration older than an applied one");
        is_str(a, C, "...applied name at the position");
        is_str(b, B, "...folder name at the position");
        mig_db_release(&db);
        mkdb(&db, A " " B " " C " " D);
        is_int(mig_history_check(&f, &db, &a, &b), 3, "an applied migration that vanished at the end");
        ok(b == NULL, "...no folder name there");
        mig_db_release(&db);
        mig_folder_release(&f);
        mkfolder(&f, A " " B "! " C);
        mkdb(&db, A " " C);
        is_int(mig_history_check(&f, &db, &a, &b), -1, "an incomplete folder entry is not part of the history");
        mig_db_release(&db);
        mig_folder_release(&f);
    }

    /* plans */
    const char *all = A " " B " " C " " D;
    check_plan(all, "", MIG_REQ_UP, 1, NULL, MIG_OK, "+a", "up 1 from nothing");
    check_plan(all, A, MIG_REQ_UP, 2, NULL, MIG_OK, "+b +c", "up 2");
    check_plan(all, A, MIG_REQ_UP, 0, NULL, MIG_OK, "+b +c +d", "up all");
    check_plan(all, all, MIG_REQ_UP, 0, NULL, MIG_AT_TARGET, "", "up all when everything is applied");
    check_plan(all, all, MIG_REQ_UP, 1, NULL, MIG_NOT_ENOUGH, "", "up (1) when everything is applied");
    check_plan("", "", MIG_REQ_UP, 0, NULL, MIG_NONE, "", "up all of an empty folder: no migrations found");
    check_plan("", "", MIG_REQ_UP, 2, NULL, MIG_NOT_ENOUGH, "", "up 2 of an empty folder");
    check_plan(all, A " " B " " C, MIG_REQ_UP, 2, NULL, MIG_NOT_ENOUGH, "", "up 2 with 1 pending");
    check_plan(all, all, MIG_REQ_DOWN, 1, NULL, MIG_OK, "-d", "down 1");
    check_plan(all, all, MIG_REQ_DOWN, 3, NULL, MIG_OK, "-d -c -b", "down 3, newest first");
    check_plan(all, A " " B, MIG_REQ_DOWN, 0, NULL, MIG_OK, "-b -a", "down all");
    check_plan(all, A, MIG_REQ_DOWN, 2, NULL, MIG_NOT_ENOUGH, "", "down 2 with 1 applied");
    check_plan(all, "", MIG_REQ_DOWN, 1, NULL, MIG_AT_TARGET, "", "down with nothing applied");
    check_plan(all, A, MIG_REQ_TO, 0, C, MIG_OK, "+b +c", "to c forward");
    check_plan(all, all, MIG_REQ_TO, 0, B, MIG_OK, "-d -c", "to b backward");
    check_plan(all, A, MIG_REQ_TO, 0, NULL, MIG_OK, "+b +c +d", "to latest");
    check_plan(all, A " " B, MIG_REQ_TO, 0, B, MIG_AT_TARGET, "", "to the current one");
    check_plan(all, A, MIG_REQ_TO, 0, "20240109000000-nope", MIG_NO_SUCH, NULL, "to an unknown name");
    check_plan(A " " B "! " C, A, MIG_REQ_UP, 0, NULL, MIG_OK, "+c", "incomplete entries are skipped");
    /* --force semantics with a mismatched history */
    check_plan(all, A " " C, MIG_REQ_UP, 0, NULL, MIG_OK, "+b +d", "forced up applies the older gap too");
    check_plan(A " " B, A " " B " " D, MIG_REQ_DOWN, 1, NULL, MIG_OK, "-d", "forced down plans a vanished one (fails when run)");
    check_plan(all, A " " C, MIG_REQ_TO, 0, B, MIG_OK, "-c +b", "forced to: down the newer, up the missing");
    return done_testing();
}
