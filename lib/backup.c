/*
 * backup.c — `database backup` / `database restore` (see backup.h).
 *
 * pg_basebackup does the copying (a replication connection over the
 * cluster's socket; pg_hba allows local replication); tar extracts. Both are
 * spawned with argv arrays. As root, pg_basebackup connects as the cluster's
 * role (the URL names it) and the restored files are handed to the server
 * user before the server starts.
 */
#include "lib/backup.h"
#include "lib/cluster.h"
#include "lib/config.h"
#include "lib/fs.h"
#include "lib/project.h"
#include "lib/spawn.h"

#include <dirent.h>
#include <limits.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS "backup"

char *backup_default_dir(void)
{
    const char *local = cfg_get(CFG_LOCAL_DIR);
    return local ? path_join(local, "focus/postgresql-backup") : NULL;
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

int backup_create(const char *dir_arg)
{
    double t0 = now_monotonic();
    char *dir = dir_arg ? path_absolute(dir_arg, NULL) : backup_default_dir();
    char *tmp = NULL, *old = NULL, *pgbb = NULL;
    struct cluster c;
    int r = cluster_setup(&c);
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
    pgbb = pg_program("pg_basebackup");
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

int backup_extract(const char *tar, const char *archive, const char *into)
{
    struct child ch = CHILD_INIT;
    /* GNU tar detects gzip by itself on extraction */
    strvec_pushl(&ch.args, tar, "-xf", archive, "-C", into, "--no-same-owner", NULL);
    int st = spawn_run(&ch);
    child_clear(&ch);
    if (st < 0)
        return errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
    if (st)
        return error("cannot extract '%s' (tar exit status %d)", archive, st), EXIT_ERR;
    return 0;
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

int backup_extract_tablespaces(const char *tar, const struct strvec *tars, const char *data,
                               const char *ts_dir, const char *link_dir)
{
    char *map = path_join(data, "tablespace_map");
    char *tblspc = path_join(data, "pg_tblspc");
    struct strbuf text = STRBUF_INIT;
    struct strvec oids = STRVEC_INIT, paths = STRVEC_INIT;
    bool have_map = false;
    int r = 0;

    /* 1. every tablespace the data dir expects (map or symlink) has its archive */
    if (strbuf_read_file(&text, map) == 0) {
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
    if ((mkdir(ts_dir, 0700) < 0 && errno != EEXIST) ||
        (mkdir(tblspc, 0700) < 0 && errno != EEXIST)) {
        error_errno("cannot create '%s'", errno == EEXIST ? tblspc : ts_dir);
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
        if (mkdir(dir, 0700) < 0) {
            error_errno("cannot create '%s'", dir);
            r = EXIT_ERR;
        } else if ((r = backup_extract(tar, tars->v[i], dir))) {
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
    if (!r && have_map && write_file_atomic(map, text.buf, text.len, 0600) < 0) {
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
    if (strbuf_read_file(&sb, p) == 0) {
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
 * Undo the swap of a failed restore: the restored data dir (when SWAPPED in)
 * and tablespaces (when *TS_INSTALLED) go if there is something to go back
 * to, and what was set aside (ASIDE: the data dir, ASIDE_TS: the tablespaces
 * dir) comes back; each one put back is freed and NULLed. What cannot be put
 * back is named, never deleted.
 */
static void restore_put_back(struct cluster *c, const char *ts_dir, bool swapped,
                             bool *ts_installed, char **aside, char **aside_ts)
{
    if (*ts_installed && (*aside || *aside_ts)) {
        rm_rf(ts_dir);
        *ts_installed = false;
    }
    if (*aside_ts) {
        if (rename(*aside_ts, ts_dir) == 0) {
            free(*aside_ts);
            *aside_ts = NULL;
        } else {
            error_errno("cannot put '%s' back; your previous tablespaces are in '%s'", ts_dir,
                        *aside_ts);
        }
    }
    if (*aside) {
        if (swapped)
            rm_rf(c->data_dir);
        if (rename(*aside, c->data_dir) == 0) {
            free(*aside);
            *aside = NULL;
        } else {
            error_errno("cannot put '%s' back; your previous data is in '%s'", c->data_dir, *aside);
        }
    }
}

int backup_restore(const char *path, const char *archive)
{
    double t0 = now_monotonic();
    char *dir = NULL, *base = NULL, *wal = NULL, *dbname = NULL, *tar = NULL;
    char *fresh = NULL, *aside = NULL, *fresh_ts = NULL, *aside_ts = NULL, *ts_dir = NULL;
    struct strvec tss = STRVEC_INIT;
    bool swapped = false, ts_installed = false;
    struct cluster c;
    memset(&c, 0, sizeof(c));
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
        dir = path ? path_absolute(path, NULL) : backup_default_dir();
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
    if ((dbname = backup_read_database_name(dir)))
        cfg_set(CFG_PG_DATABASE, dbname);
    cfg_set(CFG_PG_REUSE, "1");
    if ((r = cluster_setup(&c)))
        goto out;
    if (!(tar = find_in_path("tar"))) {
        error("required program 'tar' not found in PATH");
        r = EXIT_NO_PROGRAM;
        goto out;
    }
    /* missing ancestors traversable by the server user, the cluster root its own */
    if (mkdir_p(c.working_dir, 0755) < 0 || chmod(c.working_dir, 0700) < 0) {
        error_errno("cannot create '%s'", c.working_dir);
        r = EXIT_ERR;
        goto out;
    }
    if (c.switch_user && chown(c.working_dir, c.uid, c.gid) < 0) {
        error_errno("cannot hand '%s' to %s", c.working_dir, c.user);
        r = EXIT_ERR;
        goto out;
    }

    /*
     * 1. extract beside the live data dir (same filesystem: the swap is a
     * rename). The names are ones `database cleanup` accepts in a cluster
     * root: "data.failed-" (what is left if we die half-way) and ".old-data-".
     * Tablespaces go to their own dir beside data/, linked from pg_tblspc/
     * by the path they will have once swapped in.
     */
    double t = now_monotonic();
    fresh = xasprintf("%s/data.failed-restore-%d", c.working_dir, (int)getpid());
    fresh_ts = xasprintf("%s-tablespaces", fresh);
    ts_dir = path_join(c.working_dir, "tablespaces");
    rm_rf(fresh);
    rm_rf(fresh_ts);
    if (mkdir(fresh, 0700) < 0) {
        error_errno("cannot create '%s'", fresh);
        r = EXIT_ERR;
        goto out;
    }
    if (tss.nr)
        info("restore: extracting %s%s and %zu tablespace%s", base, wal ? ", pg_wal" : "", tss.nr,
             tss.nr == 1 ? "" : "s");
    else
        info("restore: extracting %s%s", base, wal ? " and pg_wal" : "");
    if ((r = backup_extract(tar, base, fresh)))
        goto out;
    if (wal) {
        char *pw = path_join(fresh, "pg_wal");
        mkdir(pw, 0700);
        r = backup_extract(tar, wal, pw);
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
    if ((r = backup_extract_tablespaces(tar, &tss, fresh, fresh_ts, ts_dir)))
        goto out;
    /* a plain start: no archive recovery, no standby, nothing of the old server's runtime */
    static const char *const drop[] = {"recovery.signal", "standby.signal", "postmaster.pid",
                                       "postmaster.opts"};
    for (size_t i = 0; i < ARRAY_SIZE(drop); i++) {
        char *p = path_join(fresh, drop[i]);
        if (unlink(p) == 0)
            debug(NS, "removed %s", p);
        free(p);
    }
    if (c.switch_user && (chown_tree(fresh, c.uid, c.gid) < 0 ||
                          (tss.nr && chown_tree(fresh_ts, c.uid, c.gid) < 0))) {
        error_errno("cannot hand '%s' to %s", fresh, c.user);
        r = EXIT_ERR;
        goto out;
    }
    chmod(fresh, 0700);
    info("restore: extracted in %s", proj_duration(now_monotonic() - t));

    /*
     * 2. stop, swap data/ and tablespaces/ together, start. The previous ones
     * stay aside until the restored cluster runs, and come back otherwise.
     */
    if ((r = cluster_stop(&c, 30)))
        goto out;
    {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", gmtime(&now));
        char *old = xasprintf("%s/.old-data-pre-restore-%s", c.working_dir, stamp);
        if (path_exists(c.data_dir)) {
            if (rename(c.data_dir, old) < 0) {
                error_errno("cannot move '%s' aside", c.data_dir);
                free(old);
                r = EXIT_ERR;
                goto out;
            }
            aside = xstrdup(old);
        }
        if (path_exists(ts_dir)) {
            char *ots = xasprintf("%s-tablespaces", old);
            if (rename(ts_dir, ots) < 0) {
                error_errno("cannot move '%s' aside", ts_dir);
                free(ots);
                r = EXIT_ERR;
            } else {
                aside_ts = ots;
            }
        }
        free(old);
        if (r) {
            restore_put_back(&c, ts_dir, false, &ts_installed, &aside, &aside_ts);
            goto out;
        }
    }
    if (rename(fresh, c.data_dir) < 0) {
        error_errno("cannot rename '%s' to '%s'", fresh, c.data_dir);
        r = EXIT_ERR;
        restore_put_back(&c, ts_dir, false, &ts_installed, &aside, &aside_ts);
        goto out;
    }
    swapped = true;
    if (tss.nr) {
        if (rename(fresh_ts, ts_dir) < 0) {
            error_errno("cannot rename '%s' to '%s'", fresh_ts, ts_dir);
            r = EXIT_ERR;
            if (rename(c.data_dir, fresh) == 0)
                swapped = false;
            restore_put_back(&c, ts_dir, swapped, &ts_installed, &aside, &aside_ts);
            goto out;
        }
        ts_installed = true;
    }
    c.reuse = true;
    r = cluster_init(&c);
    if (!r && !c.reused) {
        error("the restored cluster did not start (cluster_init made a fresh one instead)");
        r = EXIT_ERR;
    }
    if (r) {
        /* put the previous data dir (and tablespaces) back and start it again */
        cluster_stop(&c, 30);
        if (aside) {
            restore_put_back(&c, ts_dir, true, &ts_installed, &aside, &aside_ts);
            if (!aside && !aside_ts) {
                warn("restore failed: the previous data dir is back in place; starting it");
                cluster_init(&c);
            }
        }
        goto out;
    }
    if (aside_ts) {
        /* one background removal for both: the old tablespaces inside the old data dir */
        char *in = aside ? path_join(aside, "dbtool-old-tablespaces") : NULL;
        if (!in || rename(aside_ts, in) < 0)
            rm_rf(aside_ts);
        free(in);
        free(aside_ts);
        aside_ts = NULL;
    }
    if (aside) {
        cluster_remove_later(&c, aside); /* thousands of files: not on the critical path */
        free(aside);
        aside = NULL;
    }
    info("restore: done in %s: database '%s'%s; connect with:", proj_duration(now_monotonic() - t0),
         c.database, tss.nr ? ", tablespaces in the working dir's tablespaces/" : "");
    printf("%s\n", c.url);
out:
    if (fresh && !swapped)
        rm_rf(fresh);
    if (fresh_ts && !ts_installed)
        rm_rf(fresh_ts);
    if (aside)
        warn("the previous data dir is kept in %s", aside);
    if (aside_ts)
        warn("the previous tablespaces are kept in %s", aside_ts);
    cluster_release(&c);
    strvec_clear(&tss);
    free(dir);
    free(base);
    free(wal);
    free(dbname);
    free(tar);
    free(fresh);
    free(aside);
    free(fresh_ts);
    free(aside_ts);
    free(ts_dir);
    return r;
}
