/*
 * t-migrate.c — the pure parts of lib/migrate.c: migration names and
 * labels, migration.yaml parsing, the history check and the planner.
 */
#include "lib/common.h"
#include "lib/migrate.h"
#include "test/unit/tap.h"

#include <unistd.h>

/* A folder/db from space-separated names; a trailing '!' marks "no up file". */
static void mkfolder(struct mig_folder *f, const char *names)
{
    memset(f, 0, sizeof(*f));
    f->dir = xstrdup("mig");
    char *copy = xstrdup(names), *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        size_t n = strlen(t);
        bool noup = t[n - 1] == '!';
        struct mig m = {0};
        m.name = xstrndup(t, noup ? n - 1 : n);
        m.up = noup ? NULL : xasprintf("mig/%s/up.sql", m.name);
        m.down = xasprintf("mig/%s/down.sql", m.name);
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
        db->v[db->nr++] = (struct mig_applied){xstrdup(t), xstrdup("00")};
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
    bool tx = true;
    int r = mig_meta_parse("m.yaml", text, strlen(text), &tx);
    ok(r == want_ret && (r < 0 || tx == want_tx), "%s", what);
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
        bool tx;
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
