/*
 * backup.c — `database backup` / `database restore` (see backup.h).
 *
 * pg_basebackup does the copying (a replication connection over the
 * cluster's socket; pg_hba allows local replication); tar extracts. Both are
 * spawned with argv arrays. As root, pg_basebackup connects as the cluster's
 * role (the URL names it) and the restored files are handed to the server
 * user before the server starts.
 */
#include "ops/backup.h"
#include "ops/ops.h"
#include "ops/project.h"
#include "lib/cluster.h"
#include "lib/fs.h"
#include "lib/pgconf.h"
#include "lib/progress.h"
#include "lib/settings.h"
#include "lib/spawn.h"

#include <fcntl.h>
#include <strings.h>

#include <dirent.h>
#include <limits.h>
#include <poll.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS "backup"

char *backup_default_dir(const struct settings *s)
{
    const char *d = set_get(s, SET_DEFAULT_BACKUP_PATH);
    return d ? xstrdup(d) : NULL;
}

/* Size of PATH for messages ("12.3 MB"), static buffer. */
static const char *file_size(const char *path)
{
    static char buf[32];
    struct stat st;
    if (stat(path, &st) < 0)
        return "?";
    double s = (double)st.st_size;
    if (s < 1024 * 1024)
        snprintf(buf, sizeof(buf), "%.0f kB", s / 1024);
    else
        snprintf(buf, sizeof(buf), "%.1f MB", s / (1024 * 1024));
    return buf;
}

int backup_create(const struct settings *s, const char *dir_arg)
{
    double t0 = now_monotonic();
    char *dir = dir_arg ? path_absolute(dir_arg, NULL) : backup_default_dir(s);
    char *tmp = NULL, *old = NULL, *pgbb = NULL;
    struct cluster c;
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    int r = ops_exit(cluster_setup(&c, &sp));
    if (r)
        goto out;
    if (!dir) {
        error("LOCAL_DIR is not set: export LOCAL_DIR to the project root");
        r = EXIT_MISSING;
        goto out;
    }
    if (!cluster_running_pid(c.data_dir)) {
        error("the project's cluster is not running (%s): start it with 'database init "
              "--reuse' or 'database deploy'", c.data_dir);
        r = EXIT_ERR;
        goto out;
    }
    tmp = xasprintf("%s.new-%d", dir, (int)getpid());
    old = xasprintf("%s.old-%d", dir, (int)getpid());
    char *parent = xstrdup(dir);
    *strrchr(parent, '/') = 0;
    if (mkdir_p(parent, 0755) < 0) {
        error_errno("cannot create '%s'", parent);
        free(parent);
        r = EXIT_ERR;
        goto out;
    }
    free(parent);
    rm_rf(tmp);
    if (!(pgbb = pgbin_client(&c.bin, "pg_basebackup"))) {
        r = EXIT_NO_PROGRAM;
        goto out;
    }
    struct child ch = CHILD_INIT;
    strvec_pushl(&ch.args, pgbb, "-d", c.url, "-D", tmp, "-Ft", "-z", "-X", "stream",
                 "--checkpoint=fast", "--label=dbtool backup", NULL);
    if (isatty(2))
        strvec_push(&ch.args, "--progress");
    strvec_pushl(&ch.env, "PGDATA", "PGHOST", "PGPORT", "PGDATABASE", "PGUSER", NULL);
    info("backup: pg_basebackup of %s into %s (fast checkpoint, WAL streamed)", c.url, dir);
    int st = spawn_run(&ch);
    child_clear(&ch);
    if (st) {
        if (st > 0)
            error("pg_basebackup failed (exit status %d); the previous backup (if any) is untouched", st);
        rm_rf(tmp);
        r = EXIT_ERR;
        goto out;
    }
    {
        char *name = path_join(tmp, "database_name");
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "%s\n", c.database);
        int w = write_file_atomic(name, sb.buf, sb.len, 0644);
        if (w < 0)
            error_errno("cannot write '%s'", name);
        strbuf_release(&sb);
        free(name);
        if (w < 0) {
            rm_rf(tmp);
            r = EXIT_ERR;
            goto out;
        }
    }
    /* swap in the new backup; the old one goes only once the new is in place */
    bool had_old = path_exists(dir);
    if (had_old && rename(dir, old) < 0) {
        error_errno("cannot move the previous backup '%s' aside", dir);
        rm_rf(tmp);
        r = EXIT_ERR;
        goto out;
    }
    if (rename(tmp, dir) < 0) {
        error_errno("cannot rename '%s' to '%s'", tmp, dir);
        if (had_old)
            rename(old, dir);
        r = EXIT_ERR;
        goto out;
    }
    if (had_old)
        rm_rf(old);
    {
        char *base = path_join(dir, "base.tar.gz");
        info("backup: done in %s: %s (%s), database '%s'", proj_duration(now_monotonic() - t0), dir,
             file_size(base), c.database);
        free(base);
    }
out:
    cluster_release(&c);
    free(pgbb);
    free(dir);
    free(tmp);
    free(old);
    return r;
}

/* DIR/NAME.tar.gz or DIR/NAME.tar, whichever exists (malloc'd), else NULL. */
char *backup_find_tar(const char *dir, const char *name)
{
    static const char *const exts[] = {".tar.gz", ".tar"};
    for (size_t i = 0; i < ARRAY_SIZE(exts); i++) {
        char *p = xasprintf("%s/%s%s", dir, name, exts[i]);
        if (access(p, R_OK) == 0)
            return p;
        free(p);
    }
    return NULL;
}

int backup_mkdir(const struct cluster *c, const char *path)
{
    if (mkdir(path, 0700) < 0 && errno != EEXIST)
        return error_errno("cannot create '%s'", path);
    struct stat st;
    if (lstat(path, &st) < 0 || !S_ISDIR(st.st_mode))
        return error("'%s' is not a directory", path);
    if (c && c->switch_user && fs_chown_dir_nofollow(path, c->uid, c->gid) < 0)
        return error_errno("cannot hand '%s' to %s", path, c->user);
    return 0;
}

/* Whether the file open on FD starts with gzip's magic (the offset is kept). */
static bool fd_is_gzip(int fd)
{
    unsigned char m[2];
    return pread(fd, m, 2, 0) == 2 && m[0] == 0x1f && m[1] == 0x8b;
}

/* Print at most a few lines of tar's complaints, and say "disk full" plainly. */
static void tar_report(const char *archive, const char *into, int st, const struct strbuf *err)
{
    bool full = strstr(err->buf, "No space left on device") != NULL;
    if (full)
        error("cannot extract '%s': the disk of %s is full (%llu MiB free)", archive, into,
              (unsigned long long)(fs_avail(into) >> 20));
    else
        error("cannot extract '%s' (tar exit status %d)", archive, st);
    int shown = 0, total = 0;
    for (const char *l = err->buf; *l;) {
        const char *e = strchrnul(l, '\n');
        if (e > l) {
            if (shown < 5) {
                fprintf(stderr, "    %.*s\n", (int)(e - l), l);
                shown++;
            }
            total++;
        }
        l = *e ? e + 1 : e;
    }
    if (total > shown)
        fprintf(stderr, "    (%d more lines)\n", total - shown);
}

int backup_extract(const struct cluster *c, const char *tar, const char *archive, const char *into)
{
    /* the archive is read by us (root may read what the server user may not), the files
     * are written by tar running as the server user: nothing to chown afterwards */
    int in = open(archive, O_RDONLY | O_CLOEXEC);
    if (in < 0)
        return error_errno("cannot open '%s'", archive), EXIT_ERR;
    struct child ch = CHILD_INIT;
    strvec_pushl(&ch.args, tar, fd_is_gzip(in) ? "-xzf" : "-xf", "-", "-C", into,
                 "--no-same-owner", "--no-same-permissions", NULL);
    ch.in = in;
    if (c && c->switch_user) {
        ch.as_user = true;
        ch.uid = c->uid;
        ch.gid = c->gid;
    }
    int ep[2];
    if (pipe2(ep, O_CLOEXEC) < 0) {
        close(in);
        child_clear(&ch);
        return error_errno("pipe"), EXIT_ERR;
    }
    ch.err = ep[1];
    int st = spawn_start(&ch) < 0 ? -1 : 0;
    close(ep[1]);
    struct strbuf err = STRBUF_INIT;
    if (!st) {
        /* tar reads the archive through our descriptor's file offset: how far it got
         * is a progress line on a terminal (nothing when piped) */
        struct stat sb;
        const char *base = strrchr(archive, '/');
        char *title = xasprintf("extracting %s", base ? base + 1 : archive);
        struct progress *p =
            progress_start(title, fstat(in, &sb) == 0 ? (uint64_t)sb.st_size : 0, PROGRESS_BYTES);
        free(title);
        for (;;) {
            struct pollfd pfd = {ep[0], POLLIN, 0};
            int n = poll(&pfd, 1, p ? 100 : -1);
            if (n < 0 && errno == EINTR)
                continue;
            if (n > 0) {
                char buf[4096];
                ssize_t got = read(ep[0], buf, sizeof(buf));
                if (got < 0 && errno == EINTR)
                    continue;
                if (got <= 0)
                    break;
                strbuf_add(&err, buf, (size_t)got);
            }
            off_t at = lseek(in, 0, SEEK_CUR);
            if (at >= 0)
                progress_update(p, (uint64_t)at);
        }
        progress_stop(&p);
        st = spawn_wait(&ch, -1);
    }
    close(in);
    close(ep[0]);
    child_clear(&ch);
    int r = 0;
    if (st < 0)
        r = errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
    else if (st)
        tar_report(archive, into, st, &err), r = EXIT_ERR;
    strbuf_release(&err);
    return r;
}

/* ---- tablespaces ---- */

/* The OID of a file name "16384.tar.gz" / "16384.tar", else 0. */
static unsigned long tblspc_name_oid(const char *name)
{
    size_t n = strspn(name, "0123456789");
    if (!n || n > 10 || name[0] == '0' || (strcmp(name + n, ".tar.gz") && strcmp(name + n, ".tar")))
        return 0;
    unsigned long oid = strtoul(name, NULL, 10);
    return oid <= 0xffffffffUL ? oid : 0;
}

unsigned long backup_tablespace_oid(const char *archive)
{
    const char *slash = strrchr(archive, '/');
    return tblspc_name_oid(slash ? slash + 1 : archive);
}

struct tblspc_tar {
    unsigned long oid;
    bool gz;
    char *path;
};

static int tblspc_tar_cmp(const void *a, const void *b)
{
    const struct tblspc_tar *x = a, *y = b;
    if (x->oid != y->oid)
        return x->oid < y->oid ? -1 : 1;
    return (int)y->gz - (int)x->gz; /* .tar.gz first, as backup_find_tar() */
}

int backup_find_tablespaces(const char *dir, struct strvec *tars)
{
    DIR *d = opendir(dir);
    if (!d)
        return error_errno("cannot read the backup directory '%s'", dir);
    struct tblspc_tar *v = NULL;
    size_t nr = 0, alloc = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        unsigned long oid = tblspc_name_oid(de->d_name);
        if (!oid)
            continue;
        char *p = path_join(dir, de->d_name);
        if (access(p, R_OK) < 0) {
            free(p);
            continue;
        }
        ALLOC_GROW(v, nr + 1, alloc);
        v[nr].oid = oid;
        v[nr].gz = ends_with(de->d_name, ".gz");
        v[nr++].path = p;
    }
    closedir(d);
    if (nr)
        qsort(v, nr, sizeof(*v), tblspc_tar_cmp);
    int found = 0;
    for (size_t i = 0; i < nr; i++) {
        if (!i || v[i].oid != v[i - 1].oid) {
            strvec_push(tars, v[i].path);
            found++;
        }
        free(v[i].path);
    }
    free(v);
    return found;
}

static bool tars_have(const struct strvec *tars, unsigned long oid)
{
    for (size_t i = 0; i < tars->nr; i++)
        if (backup_tablespace_oid(tars->v[i]) == oid)
            return true;
    return false;
}

/*
 * The "OID PATH" lines of a tablespace_map TEXT into OIDS and PATHS. PATH
 * has a backslash before each '\\', '\n' and '\r' (PostgreSQL's
 * do_pg_backup_start() writes it so, read_tablespace_map() reads it so).
 * -1 when a line is not of that form.
 */
static int tblspc_map_parse(const char *text, size_t len, struct strvec *oids, struct strvec *paths)
{
    struct strbuf line = STRBUF_INIT;
    bool esc = false;
    int r = 0;
    for (size_t i = 0; i <= len && !r; i++) {
        char ch = i < len ? text[i] : '\n';
        if (!esc && ch == '\\') {
            esc = true;
            continue;
        }
        if (esc || (ch != '\n' && ch != '\r')) {
            strbuf_addch(&line, ch);
            esc = false;
            continue;
        }
        if (!line.len)
            continue; /* the \n of \r\n */
        size_t n = strspn(line.buf, "0123456789");
        if (!n || line.buf[n] != ' ' || !line.buf[n + 1]) {
            r = -1;
        } else {
            strvec_push(paths, line.buf + n + 1);
            line.buf[n] = 0;
            strvec_push(oids, line.buf);
        }
        strbuf_reset(&line);
    }
    strbuf_release(&line);
    return r;
}

static void tblspc_map_escape(struct strbuf *sb, const char *path)
{
    for (const char *s = path; *s; s++) {
        if (*s == '\\' || *s == '\n' || *s == '\r')
            strbuf_addch(sb, '\\');
        strbuf_addch(sb, *s);
    }
}

int backup_extract_tablespaces(const struct cluster *c, const char *tar, const struct strvec *tars,
                               const char *data, const char *ts_dir, const char *link_dir)
{
    char *map = path_join(data, "tablespace_map");
    char *tblspc = path_join(data, "pg_tblspc");
    struct strbuf text = STRBUF_INIT;
    struct strvec oids = STRVEC_INIT, paths = STRVEC_INIT;
    bool have_map = false;
    int r = 0;

    /* 1. every tablespace the data dir expects (map or symlink) has its archive */
    if (fs_read_regular(map, 1 << 20, &text, NULL) == 0) {
        have_map = true;
        if (tblspc_map_parse(text.buf, text.len, &oids, &paths) < 0) {
            error("the backup's tablespace_map is not one (expected 'OID PATH' lines)");
            r = EXIT_ERR;
            goto out;
        }
    } else if (errno != ENOENT) {
        error_errno("cannot read '%s'", map);
        r = EXIT_ERR;
        goto out;
    }
    DIR *d = opendir(tblspc);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d))) {
            char *p = path_join(tblspc, de->d_name);
            char target[PATH_MAX];
            /* symlinks only: an in-place tablespace (a directory) is inside base.tar already */
            ssize_t n = readlink(p, target, sizeof(target) - 1);
            if (n >= 0) {
                target[n] = 0;
                strvec_push(&oids, de->d_name);
                strvec_push(&paths, target);
            }
            free(p);
        }
        closedir(d);
    }
    for (size_t i = 0; i < oids.nr; i++) {
        char *end;
        unsigned long oid = strtoul(oids.v[i], &end, 10);
        if (*end || !tars_have(tars, oid)) {
            error("the backup's data dir uses tablespace %s (at '%s' on the server it was taken "
                  "from) but there is no %s.tar.gz beside its base archive: copy the whole backup "
                  "directory (pg_basebackup -Ft writes one archive per tablespace)",
                  oids.v[i], paths.v[i], oids.v[i]);
            r = EXIT_ERR;
            goto out;
        }
    }
    if (!tars->nr)
        goto out;

    /* 2. each archive into TS_DIR/OID, pg_tblspc/OID pointing there */
    if (backup_mkdir(c, ts_dir) < 0 || backup_mkdir(c, tblspc) < 0) {
        r = EXIT_ERR;
        goto out;
    }
    strbuf_reset(&text);
    for (size_t i = 0; i < tars->nr && !r; i++) {
        unsigned long oid = backup_tablespace_oid(tars->v[i]);
        char *dir = xasprintf("%s/%lu", ts_dir, oid);
        char *link = xasprintf("%s/%lu", tblspc, oid);
        char *target = xasprintf("%s/%lu", link_dir, oid);
        struct stat st;
        if (backup_mkdir(c, dir) < 0) {
            r = EXIT_ERR;
        } else if ((r = backup_extract(c, tar, tars->v[i], dir))) {
            ;
        } else if (lstat(link, &st) == 0 &&
                   (S_ISDIR(st.st_mode) ? rmdir(link) : unlink(link)) < 0) {
            error_errno("cannot replace '%s' by a symlink to tablespace %lu of the backup", link,
                        oid);
            r = EXIT_ERR;
        } else if (symlink(target, link) < 0) {
            error_errno("cannot create the symlink '%s'", link);
            r = EXIT_ERR;
        } else {
            if (c && c->switch_user)
                lchown(link, c->uid, c->gid);
            debug(NS, "tablespace %lu: %s -> %s", oid, link, target);
            strbuf_addf(&text, "%lu ", oid);
            tblspc_map_escape(&text, target);
            strbuf_addch(&text, '\n');
        }
        free(dir);
        free(link);
        free(target);
    }
    /* 3. PostgreSQL recreates pg_tblspc/ from tablespace_map at recovery start: the same paths */
    if (!r && have_map &&
        fs_write_as(map, text.buf, text.len, 0600, c && c->switch_user, c ? c->uid : 0, c ? c->gid : 0) < 0) {
        error_errno("cannot write '%s'", map);
        r = EXIT_ERR;
    }
out:
    strbuf_release(&text);
    strvec_clear(&oids);
    strvec_clear(&paths);
    free(map);
    free(tblspc);
    return r;
}

/* The database name recorded beside the backup, or NULL. */
char *backup_read_database_name(const char *dir)
{
    char *p = path_join(dir, "database_name");
    struct strbuf sb = STRBUF_INIT;
    char *r = NULL;
    if (fs_read_regular(p, 4096, &sb, NULL) == 0) {
        strbuf_trim_trailing(&sb);
        if (sb.len && !strchr(sb.buf, '\n'))
            r = strbuf_detach(&sb, NULL);
        else
            warn("ignoring '%s': expected one database name", p);
    }
    strbuf_release(&sb);
    free(p);
    return r;
}


/*
 * A copy of another server must never act as that server: no archiving into
 * its WAL archive, no restore_command, no replication connection (they may
 * carry passwords). Those settings are dropped from postgresql.auto.conf
 * (read last, so it wins) and archive_mode is turned off there.
 */
static const char *const foreign_keys[] = {
    "archive_mode", "archive_command", "archive_library", "restore_command",
    "archive_cleanup_command", "recovery_end_command", "primary_conninfo", "primary_slot_name",
    "recovery_target", "recovery_target_name", "recovery_target_time", "recovery_target_xid",
    "recovery_target_lsn", "recovery_target_inclusive", "recovery_target_timeline",
    "recovery_target_action", "synchronous_standby_names", NULL};

static bool line_sets(const char *line, size_t len, const char *key)
{
    while (len && (*line == ' ' || *line == '\t'))
        line++, len--;
    size_t k = strlen(key);
    if (len < k || strncasecmp(line, key, k))
        return false;
    line += k, len -= k;
    while (len && (*line == ' ' || *line == '\t'))
        line++, len--;
    return len && *line == '=';
}

int backup_neutralize(const struct cluster *c, const char *data)
{
    static const char *const drop[] = {"recovery.signal", "standby.signal", "recovery.conf",
                                       "postmaster.pid", "postmaster.opts"};
    for (size_t i = 0; i < ARRAY_SIZE(drop); i++) {
        char *p = path_join(data, drop[i]);
        if (unlink(p) == 0)
            debug(NS, "removed %s", p);
        free(p);
    }
    char *auto_conf = path_join(data, "postgresql.auto.conf");
    struct strbuf in = STRBUF_INIT, out = STRBUF_INIT;
    if (fs_read_regular(auto_conf, 1 << 20, &in, NULL) < 0 && errno != ENOENT) {
        int r = error_errno("cannot read '%s'", auto_conf);
        free(auto_conf);
        strbuf_release(&in);
        return r;
    }
    int dropped = 0;
    for (const char *l = in.buf; *l;) {
        const char *e = strchrnul(l, '\n');
        bool skip = false;
        for (int i = 0; foreign_keys[i] && !skip; i++)
            skip = line_sets(l, (size_t)(e - l), foreign_keys[i]);
        if (skip)
            dropped++;
        else
            strbuf_add(&out, l, (size_t)(e - l + (*e ? 1 : 0)));
        l = *e ? e + 1 : e;
    }
    if (out.len && out.buf[out.len - 1] != '\n')
        strbuf_addch(&out, '\n');
    strbuf_addstr(&out, "# dbtool restore: a local copy never archives WAL or follows a primary\n"
                        "archive_mode = 'off'\n");
    int r = fs_write_as(auto_conf, out.buf, out.len, 0600, c->switch_user, c->uid, c->gid);
    if (r < 0)
        error_errno("cannot write '%s'", auto_conf);
    else if (dropped)
        info("restore: dropped %d archive/recovery/replication setting%s of the source server",
             dropped, dropped == 1 ? "" : "s");
    strbuf_release(&in);
    strbuf_release(&out);
    free(auto_conf);
    return r;
}

/* Remove extraction dirs of restores that died (we hold the working dir's lock: none is live). */
static void sweep_dead_restores(struct cluster *c)
{
    DIR *d = opendir(c->working_dir);
    if (!d)
        return;
    struct strvec dead = STRVEC_INIT;
    struct dirent *de;
    while ((de = readdir(d)))
        if (starts_with(de->d_name, ".restore-") || starts_with(de->d_name, "data.failed-restore-"))
            strvec_push(&dead, de->d_name);
    closedir(d);
    for (size_t i = 0; i < dead.nr; i++) {
        char *p = path_join(c->working_dir, dead.v[i]);
        info("restore: removing %s, left by a restore that was killed", p);
        rm_rf(p);
        free(p);
    }
    strvec_clear(&dead);
}

/* rename A to B when A exists; 0, 1 when A did not exist, -1 after a message. */
static int move_if(const char *a, const char *b)
{
    struct stat st;
    if (lstat(a, &st) < 0)
        return errno == ENOENT ? 1 : error_errno("cannot inspect '%s'", a);
    if (rename(a, b) < 0)
        return error_errno("cannot rename '%s' to '%s'", a, b);
    return 0;
}

int backup_restore(const struct settings *s, const char *path, const char *archive)
{
    double t0 = now_monotonic();
    char *dir = NULL, *base = NULL, *wal = NULL, *dbname = NULL, *tar = NULL;
    char *fresh = NULL, *fresh_ts = NULL, *ts_dir = NULL, *prev = NULL, *prev_ts = NULL;
    char *older = NULL, *cur_ts_in = NULL;
    struct strvec tss = STRVEC_INIT;
    bool swapped = false, had_data = false, had_older = false;
    struct cluster c;
    memset(&c, 0, sizeof(c));
    c.lock_fd = -1;
    int r = 0;

    if (archive) {
        base = path_absolute(archive, NULL);
        if (access(base, R_OK) < 0) {
            error_errno("backup archive not readable: %s", base);
            r = EXIT_ERR;
            goto out;
        }
        dir = xstrdup(base);
        *strrchr(dir, '/') = 0;
        if (!*dir)
            strcpy(dir, "/");
    } else {
        dir = path ? path_absolute(path, NULL) : backup_default_dir(s);
        if (!dir) {
            error("LOCAL_DIR is not set: export LOCAL_DIR to the project root");
            r = EXIT_MISSING;
            goto out;
        }
        if (!(base = backup_find_tar(dir, "base"))) {
            error("no backup in %s (no base.tar.gz): take one with 'database backup', or name "
                  "an archive with --archive FILE", dir);
            r = EXIT_ERR;
            goto out;
        }
    }
    wal = backup_find_tar(dir, "pg_wal");
    if (backup_find_tablespaces(dir, &tss) < 0) {
        r = EXIT_ERR;
        goto out;
    }
    dbname = backup_read_database_name(dir);
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    if (dbname)
        sp.database = dbname;
    sp.reuse = true;
    if ((r = ops_exit(cluster_setup(&c, &sp))))
        goto out;
    if (!(tar = find_in_path("tar"))) {
        error("required program 'tar' not found in PATH");
        r = EXIT_NO_PROGRAM;
        goto out;
    }
    /* one restore, init or cleanup at a time on this working dir */
    if ((r = ops_exit(cluster_lock(&c, 60))) || (r = ops_exit(cluster_prepare_root(&c))))
        goto out;
    sweep_dead_restores(&c);

    /*
     * 1. extract beside the live data dir (same filesystem: the swap is a
     * rename), as the server user. Tablespaces go to their own dir, linked
     * from pg_tblspc/ by the path they will have once swapped in.
     */
    double t = now_monotonic();
    fresh = xasprintf("%s/.restore-%d", c.working_dir, (int)getpid());
    fresh_ts = xasprintf("%s-tablespaces", fresh);
    ts_dir = path_join(c.working_dir, "tablespaces");
    if (backup_mkdir(&c, fresh) < 0) {
        r = EXIT_ERR;
        goto out;
    }
    if (tss.nr)
        info("restore: extracting %s%s and %zu tablespace%s", base, wal ? ", pg_wal" : "", tss.nr,
             tss.nr == 1 ? "" : "s");
    else
        info("restore: extracting %s%s", base, wal ? " and pg_wal" : "");
    if ((r = backup_extract(&c, tar, base, fresh)))
        goto out;
    if (wal) {
        char *pw = path_join(fresh, "pg_wal");
        r = backup_mkdir(&c, pw) < 0 ? EXIT_ERR : backup_extract(&c, tar, wal, pw);
        free(pw);
        if (r)
            goto out;
    }
    {
        char *pgv = path_join(fresh, "PG_VERSION");
        bool ok = access(pgv, F_OK) == 0;
        free(pgv);
        if (!ok) {
            error("'%s' is not a PostgreSQL base backup (no PG_VERSION inside)", base);
            r = EXIT_ERR;
            goto out;
        }
    }
    if ((r = backup_extract_tablespaces(&c, tar, &tss, fresh, fresh_ts, ts_dir)))
        goto out;
    if (backup_neutralize(&c, fresh) < 0) {
        r = EXIT_ERR;
        goto out;
    }
    chmod(fresh, 0700);
    info("restore: extracted in %s", proj_duration(now_monotonic() - t));
    if (interrupted) {
        error("restore interrupted: nothing was changed");
        r = EXIT_ERR;
        goto out;
    }

    /*
     * 2. stop, swap: the current data dir (with its tablespaces inside)
     * becomes data.previous; the older previous waits aside until the
     * restored cluster runs, and everything comes back otherwise.
     */
    if ((r = ops_exit(cluster_stop(&c, 30))))
        goto out;
    prev = path_join(c.working_dir, CLUSTER_PREVIOUS);
    older = xasprintf("%s/.previous-%d", c.working_dir, (int)getpid());
    cur_ts_in = path_join(c.data_dir, "dbtool-old-tablespaces");
    int m = move_if(prev, older);
    if (m < 0) {
        r = EXIT_ERR;
        goto out;
    }
    had_older = m == 0;
    if (path_exists(c.data_dir)) {
        if (move_if(ts_dir, cur_ts_in) < 0 || move_if(c.data_dir, prev) < 0) {
            r = EXIT_ERR;
            goto undo;
        }
        had_data = true;
    } else if (path_exists(ts_dir)) {
        /* tablespaces without a data dir: a broken earlier state; kept with the older generation */
        prev_ts = xasprintf("%s-tablespaces", older);
        if (move_if(ts_dir, prev_ts) < 0) {
            r = EXIT_ERR;
            goto undo;
        }
    }
    if (rename(fresh, c.data_dir) < 0) {
        error_errno("cannot rename '%s' to '%s'", fresh, c.data_dir);
        r = EXIT_ERR;
        goto undo;
    }
    swapped = true;
    if (tss.nr && rename(fresh_ts, ts_dir) < 0) {
        error_errno("cannot rename '%s' to '%s'", fresh_ts, ts_dir);
        r = EXIT_ERR;
        goto undo;
    }
    r = ops_exit(cluster_start_existing(&c));
    if (r)
        goto undo;
    if (had_older) {
        cluster_remove_later(&c, older); /* thousands of files: not on the critical path */
        had_older = false;
    }
    info("restore: done in %s: database '%s'%s%s; connect with:", proj_duration(now_monotonic() - t0),
         c.database, tss.nr ? ", tablespaces in the working dir's tablespaces/" : "",
         had_data ? "; the replaced cluster is kept as data.previous" : "");
    printf("%s\n", c.url);
    goto out;

undo:
    /* the restored copy goes (the backup is still there), the previous cluster comes back */
    cluster_stop(&c, 30);
    if (swapped) {
        char *failed = xasprintf("%s.failed", fresh);
        if (rename(c.data_dir, failed) == 0)
            rm_rf(failed);
        free(failed);
        if (tss.nr)
            rm_rf(ts_dir);
        swapped = false;
    }
    if (had_data) {
        if (move_if(prev, c.data_dir) < 0 || move_if(cur_ts_in, ts_dir) < 0)
            error("could not put the previous cluster back: it is in %s", prev);
        else
            had_data = false;
    }
    if (had_older && move_if(older, prev) == 0)
        had_older = false;
    if (!had_data && path_exists(c.data_dir)) {
        warn("restore failed: the previous cluster is back in place; starting it");
        cluster_start_existing(&c);
    }
out:
    if (fresh && !swapped && path_exists(fresh))
        rm_rf(fresh);
    if (fresh_ts && path_exists(fresh_ts))
        rm_rf(fresh_ts);
    if (had_older)
        warn("the cluster before the previous one is kept in %s", older);
    cluster_release(&c);
    strvec_clear(&tss);
    free(dir);
    free(base);
    free(wal);
    free(dbname);
    free(tar);
    free(fresh);
    free(fresh_ts);
    free(ts_dir);
    free(prev);
    free(prev_ts);
    free(older);
    free(cur_ts_in);
    return r;
}
