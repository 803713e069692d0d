/*
 * tplcache.c — the initdb template cache (see tplcache.h).
 */
#include "lib/tplcache.h"
#include "lib/tplcache_int.h"
#include "lib/fs.h"
#include "lib/job.h"
#include "lib/pg.h"
#include "lib/postmaster.h"
#include "lib/spawn.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS "cluster"
#define CACHE_UNUSED_DAYS 30
#define CACHE_UNUSED_TEXT "30 days"

bool tpl_cache_usable(const char *dir)
{
    static bool warned;
    if (!dir)
        return false;
    if (mkdir_p(dir, 0700) < 0) {
        debug(NS, "template cache %s not usable: %s", dir, strerror(errno));
        return false;
    }
    struct stat st;
    const char *why = NULL;
    if (lstat(dir, &st) < 0)
        why = strerror(errno);
    else if (!S_ISDIR(st.st_mode))
        why = "not a directory (a symlink?)";
    else if (st.st_uid != geteuid())
        why = "owned by another user";
    else if (st.st_mode & 022)
        why = "writable by other users";
    if (why) {
        if (!warned)
            warn("not using the template cache %s: %s (set DBTOOL_CACHE_DIR to a private directory)",
                 dir, why);
        warned = true;
        return false;
    }
    return true;
}

char *tpl_job_lock_for(const char *cache_dir, const char *working_dir)
{
    if (!tpl_cache_usable(cache_dir))
        return NULL;
    char *jobs = path_join(cache_dir, "jobs");
    if (mkdir(jobs, 0700) < 0 && errno != EEXIST) {
        free(jobs);
        return NULL;
    }
    char *p = xasprintf("%s/wd-%016llx.lock", jobs,
                        (unsigned long long)hash_fnv1a(working_dir, strlen(working_dir)));
    free(jobs);
    return p;
}

char *tpl_job_lock(const struct cluster *c)
{
    return tpl_job_lock_for(c->cache_dir, c->working_dir);
}

void tpl_initdb_args(struct cluster *c, struct strvec *args, const char *initdb, const char *dir)
{
    /* 1 MB WAL segments: pg_wal is a third of a fresh data dir with the default 16 MB,
     * and every fresh init copies it */
    strvec_pushl(args, initdb, "-D", dir, "-U", c->user, "-A", "trust", "-E", "UTF8",
                 "--no-locale", "-N", "--wal-segsize=1", NULL);
}

struct cache {
    char *root;
    char *key;
    char *tpl;      /* root/key */
    char *material; /* what the key hashes (root/key.key) */
    bool same_fs;   /* root and the working dir share a filesystem (spares usable) */
};

/*
 * Key: server binary identity + initdb options + database name + uid.
 * *MATERIAL gets the text it hashes.
 */
static char *template_key(struct cluster *c, char **material)
{
    struct strbuf k = STRBUF_INIT;
    strbuf_addf(&k, "fmt=%s\n", TEMPLATE_FORMAT);
    pgbin_identity(&c->bin, &k);
    struct strvec a = STRVEC_INIT;
    tpl_initdb_args(c, &a, "initdb", "D");
    for (size_t i = 0; i < a.nr; i++)
        strbuf_addf(&k, "%s ", a.v[i]);
    strvec_clear(&a);
    strbuf_addf(&k, "\ndb=%s\nuid=%d\n", c->database, (int)c->uid);
    uint64_t h = hash_fnv1a(k.buf, k.len);
    trace(NS, "template key material:\n%s", k.buf);
    *material = strbuf_detach(&k, NULL);
    return xasprintf("pg-%016llx", (unsigned long long)h);
}

static void cache_release(struct cache *k)
{
    free(k->root);
    free(k->key);
    free(k->tpl);
    free(k->material);
    memset(k, 0, sizeof(*k));
}

static int cache_open(struct cluster *c, struct cache *k)
{
    memset(k, 0, sizeof(*k));
    if (!tpl_cache_usable(c->cache_dir))
        return -1;
    k->root = xstrdup(c->cache_dir);
    k->key = template_key(c, &k->material);
    k->tpl = path_join(k->root, k->key);
    struct stat a, b;
    k->same_fs = stat(k->root, &a) == 0 && stat(c->working_dir, &b) == 0 && a.st_dev == b.st_dev;
    return 0;
}

/* ROOT/KEY.key: the key material; its mtime is the last use. */
static void cache_mark_used(struct cache *k)
{
    char *side = xasprintf("%s.key", k->tpl);
    if (utimensat(AT_FDCWD, side, NULL, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT)
        write_file_atomic(side, k->material, strlen(k->material), 0600);
    free(side);
}

/* Rename a spare of K into DST. 0 when claimed. */
static int spare_claim(struct cache *k, const char *dst)
{
    if (!k->same_fs)
        return -1;
    DIR *d = opendir(k->root);
    if (!d)
        return -1;
    char *prefix = xasprintf("spare-%s-", k->key);
    int ret = -1;
    struct dirent *de;
    while (ret && (de = readdir(d))) {
        if (!starts_with(de->d_name, prefix))
            continue;
        char *src = path_join(k->root, de->d_name);
        if (rename(src, dst) == 0)
            ret = 0;
        free(src);
    }
    closedir(d);
    free(prefix);
    return ret;
}

static int count_spares(struct cache *k)
{
    DIR *d = opendir(k->root);
    if (!d)
        return 0;
    char *prefix = xasprintf("spare-%s-", k->key);
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        n += starts_with(de->d_name, prefix);
    closedir(d);
    free(prefix);
    return n;
}

/* Take ROOT/.NAME-KEY.lock without waiting; the fd, or -1 when another job holds it. */
static int try_lock(struct cache *k, const char *name)
{
    char *path = xasprintf("%s/.%s-%s.lock", k->root, name, k->key);
    int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    free(path);
    if (fd < 0)
        return -1;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Run CH as the server user with output to LOG (NULL: discarded). */
enum cl_status tpl_run_logged(struct cluster *c, struct child *ch, const char *what, const char *log)
{
    if (c->switch_user) {
        ch->as_user = true;
        ch->uid = c->uid;
        ch->gid = c->gid;
    }
    if (log)
        ch->out_path = log;
    else
        ch->out = ch->err = SPAWN_DEVNULL;
    ch->in = SPAWN_DEVNULL;
    int st = spawn_run(ch);
    if (st == -1)
        return errno == ENOENT ? CL_NO_PROGRAM : CL_ERR;
    if (st != 0) {
        if (interrupted)
            return CL_INTERRUPTED;
        error("%s failed (exit %d)", what, st);
        if (log)
            pm_show_tail(log, 15);
        return CL_ERR;
    }
    return CL_OK;
}

/* Create the database inside the stopped data dir DIR with single-user mode. */
static enum cl_status single_user_createdb(struct cluster *c, const char *dir, const char *log)
{
    char *ident = pg_quote_ident(c->database);
    struct strbuf sql = STRBUF_INIT;
    if (strcmp(c->database, "postgres") && strcmp(c->database, "template1") &&
        strcmp(c->database, "template0"))
        strbuf_addf(&sql, "CREATE DATABASE %s;\n", ident);
    free(ident);
    int st = pm_single_user(c, dir, "postgres", sql.buf, log);
    strbuf_release(&sql);
    if (st < 0)
        return errno == ENOENT ? CL_NO_PROGRAM : CL_ERR;
    if (st != 0) {
        if (interrupted)
            return CL_INTERRUPTED;
        error("creating database '%s' in single-user mode failed (exit %d)", c->database, st);
        if (log)
            pm_show_tail(log, 15);
        return CL_ERR;
    }
    return CL_OK;
}

/* Remove files a template must not carry (runtime leftovers). */
void tpl_scrub_data_dir(const char *dir)
{
    static const char *const junk[] = {"postmaster.opts", "postmaster.pid", "log", "dbtool.conf"};
    for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
        char *p = path_join(dir, junk[i]);
        rm_rf(p);
        free(p);
    }
}


/* initdb + the database into DIR (absent, or an empty dir the server user owns). */
static enum cl_status build_data_dir(struct cluster *c, const char *dir, const char *log)
{
    /* no initdb when dbtool was installed with a template of this server, or the cache has one */
    char *gen = tplg_installed(c);
    if (!gen)
        gen = tplg_cached(c);
    /*
     * the background job's initdb (the cold init ran one in place) is the
     * generic template of this server: later inits of any database name or
     * user on this machine fit a copy of it, none runs initdb again
     */
    if (!gen && log == NULL && tpl_cache_usable(c->cache_dir) &&
        tpl_build_generic(c, c->cache_dir) == CL_OK)
        gen = tplg_cached(c);
    if (gen) {
        rmdir(dir);
        enum cl_status g = tplg_from(c, gen, dir, log, false);
        free(gen);
        return g;
    }
    struct child ch = CHILD_INIT;
    char *initdb = pgbin_server(&c->bin, "initdb");
    tpl_initdb_args(c, &ch.args, initdb, dir);
    /* PostgreSQL 13's initdb has no --no-instructions (it only prints them) */
    if (cluster_server_major(c) >= 14)
        strvec_push(&ch.args, "--no-instructions");
    free(initdb);
    enum cl_status r = tpl_run_logged(c, &ch, "initdb", log);
    child_clear(&ch);
    if (!r)
        r = single_user_createdb(c, dir, log);
    if (!r)
        tpl_scrub_data_dir(dir);
    return r;
}

/* Does MATERIAL (a KEY.key) name a server binary that is still the same file? */
static bool material_current(const char *material)
{
    const char *b = strstr(material, "\nbin=");
    if (!b)
        return true; /* no binary recorded: only age tells */
    b += 5;
    char *bin = xstrndup(b, strchrnul(b, '\n') - b);
    struct stat st;
    bool same = false;
    if (stat(bin, &st) == 0) {
        char *want = xasprintf("bin=%s\nsize=%lld\nmtime=%lld.%09ld\nino=%llu\n", bin,
                               (long long)st.st_size, (long long)st.st_mtim.tv_sec,
                               st.st_mtim.tv_nsec, (unsigned long long)st.st_ino);
        same = strstr(material, want) != NULL;
        free(want);
    }
    free(bin);
    return same;
}

/* Move ROOT/NAME out of reach (one rename, as a claim is) and delete it. */
static void cache_delete(const char *root, const char *name)
{
    char *src = path_join(root, name);
    char *dst = xasprintf("%s/tmp-prune-%d-%s", root, (int)getpid(), name);
    if (rename(src, dst) == 0)
        rm_rf(dst);
    free(src);
    free(dst);
}

/*
 * At most once a day: delete the templates (with their spares) that can never
 * be used again, because the server binary of their key is gone or changed
 * (a package upgrade, a Nix garbage collection), or that nobody used for
 * CACHE_UNUSED_DAYS days, copies left by killed jobs, and job lock files
 * unused as long. KEEP is in use now.
 */
static void cache_prune(struct cache *keep)
{
    const char *root = keep->root;
    char *stamp = path_join(root, ".pruned");
    time_t now = time(NULL);
    struct stat st;
    bool due = stat(stamp, &st) < 0 || now - st.st_mtime >= 86400 || now < st.st_mtime;
    if (due && write_file_atomic(stamp, "", 0, 0600) < 0)
        due = false;
    free(stamp);
    if (!due)
        return;
    DIR *d = opendir(root);
    if (!d)
        return;
    struct strvec stale = STRVEC_INIT, junk = STRVEC_INIT;
    struct dirent *de;
    while ((de = readdir(d))) {
        const char *n = de->d_name;
        char *path = path_join(root, n);
        if (starts_with(n, "tmp-")) {
            /* a copy a killed job left: nobody writes one for an hour */
            if (lstat(path, &st) == 0 && now - st.st_mtime > 3600)
                strvec_push(&junk, n);
        } else if (starts_with(n, "pg-") && !strchr(n, '.') && strcmp(n, keep->key) &&
                   lstat(path, &st) == 0 && S_ISDIR(st.st_mode)) {
            char *side = xasprintf("%s.key", path);
            struct strbuf m = STRBUF_INIT;
            struct stat ss;
            const char *why = NULL;
            if (fs_read_regular(side, 64 << 10, &m, NULL) == 0 && stat(side, &ss) == 0) {
                if (!material_current(m.buf))
                    why = "its server binary is gone or changed";
                else if (now - ss.st_mtime > CACHE_UNUSED_DAYS * 86400)
                    why = "unused for " CACHE_UNUSED_TEXT;
            } else if (now - st.st_mtime > CACHE_UNUSED_DAYS * 86400) {
                why = "unused for " CACHE_UNUSED_TEXT " (no use recorded)";
            }
            if (why) {
                debug(NS, "pruning template %s: %s", n, why);
                strvec_push(&stale, n);
            }
            strbuf_release(&m);
            free(side);
        }
        free(path);
    }
    closedir(d);
    /* the lock files of jobs of working dirs and snapshots long gone */
    char *jobs = path_join(root, "jobs");
    job_prune_locks(jobs, CACHE_UNUSED_DAYS);
    free(jobs);
    for (size_t i = 0; i < junk.nr; i++) {
        char *p = path_join(root, junk.v[i]);
        rm_rf(p);
        free(p);
    }
    for (size_t i = 0; i < stale.nr; i++) {
        const char *key = stale.v[i];
        char *lp = xasprintf("%s/.build-%s.lock", root, key);
        int fd = open(lp, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
        if (fd >= 0 && flock(fd, LOCK_EX | LOCK_NB) == 0) {
            char *prefix = xasprintf("spare-%s-", key);
            if ((d = opendir(root))) {
                struct strvec spares = STRVEC_INIT;
                while ((de = readdir(d)))
                    if (starts_with(de->d_name, prefix))
                        strvec_push(&spares, de->d_name);
                closedir(d);
                for (size_t j = 0; j < spares.nr; j++)
                    cache_delete(root, spares.v[j]);
                strvec_clear(&spares);
            }
            free(prefix);
            cache_delete(root, key);
            char *side = xasprintf("%s/%s.key", root, key);
            char *rl = xasprintf("%s/.refill-%s.lock", root, key);
            unlink(side);
            unlink(rl);
            unlink(lp);
            free(side);
            free(rl);
        }
        if (fd >= 0)
            close(fd);
        free(lp);
    }
    strvec_clear(&stale);
    strvec_clear(&junk);
}

/*
 * Where the server user can build a template: a fresh empty dir it owns,
 * inside the cache when it can reach it, else a private temporary dir.
 * malloc'd path, or NULL.
 */
static char *build_dir(struct cluster *c, struct cache *k)
{
    char *dir = NULL;
    if (!c->switch_user || !fs_untraversable(k->root, c->uid, c->gid)) {
        dir = xasprintf("%s/tmp-build-%d", k->root, (int)getpid());
        rm_rf(dir);
        if (mkdir(dir, 0700) < 0) {
            free(dir);
            return NULL;
        }
    } else {
        const char *tmp = getenv("TMPDIR");
        if (!tmp || !*tmp || strlen(tmp) > 200)
            tmp = "/tmp";
        dir = xasprintf("%s/dbtool-build-XXXXXX", tmp);
        if (!mkdtemp(dir)) {
            free(dir);
            return NULL;
        }
    }
    if (c->switch_user && fs_chown_dir_nofollow(dir, c->uid, c->gid) < 0) {
        rm_rf(dir);
        free(dir);
        return NULL;
    }
    return dir;
}

struct bgjob {
    struct cluster *c;
    struct cache *k;
    const char *trash;
    pid_t parent; /* the command whose cluster this is */
};

/*
 * A template to build (the first start on this machine or server): the
 * cluster's own start comes first. The build (a 40 MB copy and a single-user
 * session, or initdb) beside it would slow exactly the start the user waits
 * for; it waits until the server is ready and fitted (tpl_fit_live), the
 * command has ended, or 30 s.
 * Not for a throwaway cluster (its removal waits for this job) nor in the
 * command itself (DBTOOL_SYNC_CACHE: nothing has started yet).
 */
static void wait_first_start(struct bgjob *j)
{
    if (j->c->throwaway || j->parent == getpid())
        return;
    double t0 = now_monotonic(), deadline = t0 + 30;
    char *mark = path_join(j->c->data_dir, FIT_MARKER);
    while (now_monotonic() < deadline && !interrupted && pm_pid_alive(j->parent) &&
           (!pm_ready(j->c->data_dir) || path_exists(mark)) && is_dir(j->c->working_dir))
        sleep_seconds(0.01);
    free(mark);
    debug(NS, "the template build waited %.0f ms for the cluster's start", (now_monotonic() - t0) * 1000);
}

/* Background job: delete TRASH, build a missing template, refill a spare, prune. */
static void bg_work(void *arg)
{
    struct bgjob *j = arg;
    struct cluster *c = j->c;
    struct cache *k = j->k;
    if (j->trash)
        rm_rf(j->trash);
    if (!k->root)
        return;
    int lk = -1;
    bool built = false;
    char *tmp = NULL;
    if (!is_dir(k->tpl))
        wait_first_start(j);
    if (!is_dir(k->tpl) && (lk = try_lock(k, "build")) >= 0 && (tmp = build_dir(c, k))) {
        built = true;
        if (build_data_dir(c, tmp, NULL) == CL_OK) {
            if (rename(tmp, k->tpl) < 0 && errno == EXDEV) {
                char *t2 = xasprintf("%s/tmp-%d", k->root, (int)getpid());
                if (copy_tree(tmp, t2, 0, 0, false) == 0 && rename(t2, k->tpl) == 0)
                    debug(NS, "stored template %s", k->tpl);
                rm_rf(t2);
                free(t2);
            } else if (is_dir(k->tpl)) {
                debug(NS, "stored template %s", k->tpl);
            }
            cache_mark_used(k);
        }
        rm_rf(tmp);
        free(tmp);
    }
    if (lk >= 0)
        close(lk);
    lk = -1;
    if (c->throwaway && !built && k->same_fs && !c->sync_cache) {
        /*
         * A throwaway cluster's refill waits for its removal: copying 1300
         * files beside its hydrate (or a backup's extraction) slows both on
         * a disk. Removal leaves this job running (tpl_leave_to_cache). A
         * throwaway kept (--keep, a failure) ends the wait with its command.
         */
        double deadline = now_monotonic() + 600;
        while (is_dir(c->working_dir) && pm_pid_alive(j->parent) && now_monotonic() < deadline &&
               !interrupted)
            sleep_seconds(0.05);
    }
    if (k->same_fs && is_dir(k->tpl) && count_spares(k) < 1 && (lk = try_lock(k, "refill")) >= 0 &&
        count_spares(k) < 1) {
        char *t = xasprintf("%s/tmp-spare-%d", k->root, (int)getpid());
        char *dst = xasprintf("%s/spare-%s-%d-%ld", k->root, k->key, (int)getpid(), (long)time(NULL));
        rm_rf(t);
        if (copy_tree(k->tpl, t, c->uid, c->gid, geteuid() == 0) == 0 && rename(t, dst) == 0)
            debug(NS, "refilled spare %s", dst);
        rm_rf(t);
        free(t);
        free(dst);
    }
    if (lk >= 0)
        close(lk);
    cache_prune(k);
}

/* Start C's background job for K (root NULL: only TRASH). */
static void bg_start(struct cluster *c, struct cache *k, const char *trash)
{
    struct bgjob j = {c, k, trash, getpid()};
    char *lock = tpl_job_lock(c);
    if (job_start(lock, bg_work, &j, c->sync_cache || !lock) < 0) {
        /* the previous job of this working dir is still busy: it does the cache work */
        if (trash)
            rm_rf(trash);
    }
    free(lock);
}

enum cl_status tpl_fresh_data_dir(struct cluster *c, const char *dir, const char *trash)
{
    struct cache k;
    bool have_cache = cache_open(c, &k) == 0;
    enum cl_status r = CL_OK;
    double t0 = now_monotonic();
    errno = 0;
    if (have_cache && spare_claim(&k, dir) == 0) {
        debug(NS, "claimed a spare copy of the template in %.1f ms", (now_monotonic() - t0) * 1000);
        cache_mark_used(&k);
    } else if (have_cache && is_dir(k.tpl) &&
               copy_tree(k.tpl, dir, c->uid, c->gid, geteuid() == 0) == 0) {
        debug(NS, "copied template %s in %.0f ms", k.tpl, (now_monotonic() - t0) * 1000);
        cache_mark_used(&k);
    } else if (errno == ENOSPC || errno == EDQUOT) {
        /* initdb would need the same space: say so instead of trying; the partial copy is ours */
        int e = errno;
        rm_rf(dir);
        errno = e;
        error_errno("not enough space in %s for a data dir (about 40 MB)", c->working_dir);
        r = CL_ERR;
    } else {
        rm_rf(dir); /* a partial copy of ours, if any */
        char *gen = tplg_installed(c);
        if (gen) {
            info("initialising a new cluster in %s from the template installed with dbtool", dir);
            r = tplg_from(c, gen, dir, c->startup_log, true);
            free(gen);
        } else if (have_cache && (gen = tplg_cached(c))) {
            /* this server's generic template (another user's or database's first init made it) */
            info("initialising a new cluster in %s from this server's generic template", dir);
            r = tplg_from(c, gen, dir, c->startup_log, true);
            free(gen);
        } else {
            info("initialising a new cluster in %s (initdb; later inits reuse a cached template)", dir);
            r = build_data_dir(c, dir, c->startup_log);
        }
    }
    if (!r && (trash || have_cache)) {
        if (!have_cache)
            cache_release(&k);
        bg_start(c, &k, trash);
    }
    cache_release(&k);
    return r;
}


void tpl_wait_build(struct cluster *c, double timeout)
{
    struct cache k;
    if (cache_open(c, &k) < 0)
        return;
    char *lock = tpl_job_lock(c);
    if (lock && !is_dir(k.tpl) && job_running(lock)) {
        double t0 = now_monotonic();
        debug(NS, "waiting for the background job to store the template");
        job_wait(lock, timeout, true);
        debug(NS, "waited %.0f ms", (now_monotonic() - t0) * 1000);
    }
    free(lock);
    cache_release(&k);
}
