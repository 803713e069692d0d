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

int backup_restore(const char *path, const char *archive)
{
    double t0 = now_monotonic();
    char *dir = NULL, *base = NULL, *wal = NULL, *dbname = NULL, *tar = NULL;
    char *fresh = NULL, *aside = NULL;
    bool swapped = false;
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
     */
    double t = now_monotonic();
    fresh = xasprintf("%s/data.failed-restore-%d", c.working_dir, (int)getpid());
    rm_rf(fresh);
    if (mkdir(fresh, 0700) < 0) {
        error_errno("cannot create '%s'", fresh);
        r = EXIT_ERR;
        goto out;
    }
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
    /* a plain start: no archive recovery, no standby, nothing of the old server's runtime */
    static const char *const drop[] = {"recovery.signal", "standby.signal", "postmaster.pid",
                                       "postmaster.opts"};
    for (size_t i = 0; i < ARRAY_SIZE(drop); i++) {
        char *p = path_join(fresh, drop[i]);
        if (unlink(p) == 0)
            debug(NS, "removed %s", p);
        free(p);
    }
    if (c.switch_user && chown_tree(fresh, c.uid, c.gid) < 0) {
        error_errno("cannot hand '%s' to %s", fresh, c.user);
        r = EXIT_ERR;
        goto out;
    }
    chmod(fresh, 0700);
    info("restore: extracted in %s", proj_duration(now_monotonic() - t));

    /* 2. stop, swap, start */
    if ((r = cluster_stop(&c, 30)))
        goto out;
    if (path_exists(c.data_dir)) {
        char stamp[32];
        time_t now = time(NULL);
        strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", gmtime(&now));
        aside = xasprintf("%s/.old-data-pre-restore-%s", c.working_dir, stamp);
        if (rename(c.data_dir, aside) < 0) {
            error_errno("cannot move '%s' aside", c.data_dir);
            free(aside);
            aside = NULL;
            r = EXIT_ERR;
            goto out;
        }
    }
    if (rename(fresh, c.data_dir) < 0) {
        error_errno("cannot rename '%s' to '%s'", fresh, c.data_dir);
        if (aside && rename(aside, c.data_dir) == 0) {
            free(aside);
            aside = NULL;
        }
        r = EXIT_ERR;
        goto out;
    }
    swapped = true;
    c.reuse = true;
    r = cluster_init(&c);
    if (!r && !c.reused) {
        error("the restored cluster did not start (cluster_init made a fresh one instead)");
        r = EXIT_ERR;
    }
    if (r) {
        /* put the previous data dir back and start it again */
        cluster_stop(&c, 30);
        if (aside) {
            rm_rf(c.data_dir);
            if (rename(aside, c.data_dir) == 0) {
                free(aside);
                aside = NULL;
                warn("restore failed: the previous data dir is back in place; starting it");
                cluster_init(&c);
            } else {
                error_errno("cannot put '%s' back; your previous data is in '%s'", c.data_dir, aside);
            }
        }
        goto out;
    }
    if (aside) {
        cluster_remove_later(&c, aside); /* thousands of files: not on the critical path */
        free(aside);
        aside = NULL;
    }
    info("restore: done in %s: database '%s'; connect with:", proj_duration(now_monotonic() - t0),
         c.database);
    printf("%s\n", c.url);
out:
    if (fresh && !swapped)
        rm_rf(fresh);
    if (aside)
        warn("the previous data dir is kept in %s", aside);
    cluster_release(&c);
    free(dir);
    free(base);
    free(wal);
    free(dbname);
    free(tar);
    free(fresh);
    free(aside);
    return r;
}
