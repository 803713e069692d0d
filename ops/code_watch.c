/*
 * code_watch.c — `database watch`: apply the code directory whenever a file
 * under it is saved (see code.h). inotify on every directory of the tree;
 * a burst of events (an editor's write, rename and chmod) is applied once,
 * DEBOUNCE after its first event. Migrations are left to `database apply`.
 */
#include "ops/code.h"
#include "ops/code_int.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/settings.h"

#include <dirent.h>
#include <poll.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS "watch"
#define DEBOUNCE 0.1 /* seconds */

#define WATCH_MASK                                                                                 \
    (IN_CLOSE_WRITE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_CREATE | IN_DELETE_SELF |      \
     IN_MOVE_SELF)

/* Watch DIR and every directory below it (names starting with '.' skipped). */
static int watch_tree(int fd, const char *dir, int depth)
{
    if (inotify_add_watch(fd, dir, WATCH_MASK) < 0)
        return error_errno("cannot watch '%s'", dir);
    if (depth > 64)
        return 0;
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* gone meanwhile: the next event says so */
    for (struct dirent *de; (de = readdir(d));) {
        if (de->d_name[0] == '.')
            continue;
        char *p = path_join(dir, de->d_name);
        struct stat st;
        if (stat(p, &st) == 0 && S_ISDIR(st.st_mode))
            watch_tree(fd, p, depth + 1);
        free(p);
    }
    closedir(d);
    return 0;
}

/*
 * Read the pending events; whether one concerns a .sql file or a directory
 * (*NEWDIR: a directory appeared, watch it too).
 */
static bool read_events(int fd, bool *newdir)
{
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool relevant = false;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof(buf));
        if (n <= 0)
            break;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            if (ev->mask & IN_ISDIR) {
                relevant = true;
                if (ev->mask & (IN_CREATE | IN_MOVED_TO))
                    *newdir = true;
            } else if (ev->len && ends_with(ev->name, ".sql") && ev->name[0] != '.') {
                relevant = true;
            } else if (ev->mask & (IN_DELETE_SELF | IN_MOVE_SELF | IN_Q_OVERFLOW)) {
                relevant = true;
                *newdir = true;
            }
            p += sizeof(*ev) + ev->len;
        }
    }
    return relevant;
}

/* One round: plan the code directory against the database and apply it. */
static void apply_round(PGconn **connp, const char *url, const struct code_run_opts *o)
{
    PGconn *conn = *connp;
    if (PQstatus(conn) != CONNECTION_OK) {
        PQreset(conn);
        if (PQstatus(conn) != CONNECTION_OK) {
            error("watch: lost the connection to the database (%s); will try again on the next save",
                  PQerrorMessage(conn));
            return;
        }
    }
    (void)url;
    struct code_plan p;
    int ce = 0;
    double t0 = now_monotonic();
    if (mig_lock(conn, -1) < 0)
        return;
    code_plan_build(conn, &p, o, &ce);
    double t1 = now_monotonic();
    if (ce > 0)
        error("watch: not applied (%d problem%s above); the database keeps the last good state, "
              "watching on", ce, ce == 1 ? "" : "s");
    else if (ce == 0) {
        code_print_notes(&p);
        if (code_plan_run(conn, &p) != CODE_RUN_OK && !interrupted)
            error("watch: not applied; the database keeps the last good state, watching on");
    }
    debug(NS, "round: plan %.1f ms, run %.1f ms", (t1 - t0) * 1000, (now_monotonic() - t1) * 1000);
    code_plan_release(&p);
    mig_unlock(conn);
}

int code_watch_cmd(const struct settings *s, const char *url)
{
    const char *dir = set_get(s, SET_CODE_DIR);
    if (!dir || !is_dir(dir)) {
        error("watch: no code directory at %s (set CODE_DIR or create it)", dir ? dir : "(unset)");
        return EXIT_MISSING;
    }
    PGconn *conn = pg_connect(url);
    if (!conn)
        return EXIT_ERR;
    struct strvec said = STRVEC_INIT;
    struct code_hash_cache hashes = {NULL, 0, 0};
    int rc = EXIT_ERR;
    int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (fd < 0) {
        error_errno("watch: inotify");
        goto out;
    }
    if (mig_lock(conn, -1) < 0)
        goto out;
    int b = code_ensure_bundle(conn, set_get(s, SET_HECTIC_INHERITANCE_SQL));
    mig_unlock(conn);
    if (b < 0)
        goto out;
    {
        /* pending migrations are apply's: say so once */
        const char *mdir = set_get(s, SET_MIGRATION_DIR);
        struct mig_folder f;
        struct mig_db db;
        if (mdir && is_dir(mdir) && mig_scan(mdir, &f) == 0) {
            if (mig_db_read(conn, &db) == 0) {
                size_t pending = 0;
                for (size_t i = 0; i < f.nr; i++)
                    pending += f.v[i].up && !mig_db_find(&db, f.v[i].name);
                if (pending)
                    warn("watch: %zu pending migration%s not applied by watch: run 'database apply'",
                         pending, pending == 1 ? " is" : "s are");
                mig_db_release(&db);
            }
            mig_folder_release(&f);
        }
    }
    if (watch_tree(fd, dir, 0) < 0)
        goto out;
    struct code_run_opts o = {.code_dir = dir, .watch = true, .label = "watch", .said = &said,
                              .hash_cache = &hashes};
    info("watch: watching %s (Ctrl-C stops)", dir);
    apply_round(&conn, url, &o);
    while (!interrupted) {
        struct pollfd pfd = {fd, POLLIN, 0};
        int n = poll(&pfd, 1, 1000);
        if (n < 0 && errno != EINTR) {
            error_errno("watch: poll");
            goto out;
        }
        if (n <= 0 || interrupted)
            continue;
        bool newdir = false;
        if (!read_events(fd, &newdir))
            continue;
        /* the rest of the burst */
        double until = now_monotonic() + DEBOUNCE;
        for (double left; !interrupted && (left = until - now_monotonic()) > 0;) {
            pfd.revents = 0;
            if (poll(&pfd, 1, (int)(left * 1000) + 1) > 0)
                read_events(fd, &newdir);
        }
        if (interrupted)
            break;
        if (newdir)
            watch_tree(fd, dir, 0);
        debug(NS, "change under %s: applying", dir);
        apply_round(&conn, url, &o);
    }
    info("watch: stopped");
    rc = EXIT_INTERRUPTED;
out:
    strvec_clear(&said);
    code_hash_cache_release(&hashes);
    if (fd >= 0)
        close(fd);
    PQfinish(conn);
    return rc;
}
