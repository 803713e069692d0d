/*
 * normalize.c — make a physical backup from another server start here (see
 * normalize.h). tar extracts and repacks, `postgres --single` creates the
 * roles, lib/cluster starts and stops; all spawned with argv arrays.
 */
#include "ops/normalize.h"
#include "ops/backup.h"
#include "ops/ops.h"
#include "ops/project.h"
#include "ops/throwaway.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/scratch.h"
#include "lib/settings.h"
#include "lib/spawn.h"

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS "normalize"

int norm_backup_open(const char *dir, struct norm_backup *b)
{
    memset(b, 0, sizeof(*b));
    b->dir = path_absolute(dir, NULL);
    if (!is_dir(b->dir)) {
        error("no backup at %s: take one with 'database backup', or name a backup directory",
              b->dir);
        return EXIT_MISSING;
    }
    if (!(b->base = backup_find_tar(b->dir, "base"))) {
        error("no backup in %s (no base.tar.gz): take one with 'database backup'", b->dir);
        return EXIT_MISSING;
    }
    b->wal = backup_find_tar(b->dir, "pg_wal");
    if (backup_find_tablespaces(b->dir, &b->tablespaces) < 0)
        return EXIT_ERR;
    b->database = backup_read_database_name(b->dir);
    return 0;
}

void norm_backup_release(struct norm_backup *b)
{
    free(b->dir);
    free(b->base);
    free(b->wal);
    strvec_clear(&b->tablespaces);
    free(b->database);
    memset(b, 0, sizeof(*b));
}

uint64_t norm_backup_need(const struct norm_backup *b)
{
    uint64_t n = SCRATCH_CLUSTER_BYTES + 2 * scratch_unpacked_size(b->base) +
                 (b->wal ? scratch_unpacked_size(b->wal) : 0);
    for (size_t i = 0; i < b->tablespaces.nr; i++)
        n += 2 * scratch_unpacked_size(b->tablespaces.v[i]);
    return n;
}

/*
 * The value of the last `shared_preload_libraries = ...` in the config text
 * CONF appended to OUT (comma-separated, quotes removed).
 */
static void conf_preload(const char *conf, struct strbuf *out)
{
    const char *hit = NULL;
    for (const char *l = conf; l && *l;) {
        const char *p = l + strspn(l, " \t");
        if (starts_with(p, "shared_preload_libraries")) {
            p += strlen("shared_preload_libraries");
            p += strspn(p, " \t");
            if (*p == '=')
                p++;
            hit = p + strspn(p, " \t");
        }
        const char *nl = strchr(l, '\n');
        l = nl ? nl + 1 : NULL;
    }
    if (!hit)
        return;
    size_t n = strcspn(hit, "\n#");
    for (size_t i = 0; i < n; i++)
        if (hit[i] != '\'' && hit[i] != '"')
            strbuf_addch(out, hit[i]);
    strbuf_trim_trailing(out);
}

/* Write DIR/NAME as the server user (the data dir is theirs). */
static int write_owned(struct cluster *c, const char *dir, const char *name, const char *text)
{
    char *p = path_join(dir, name);
    int r = fs_write_as(p, text, strlen(text), 0600, c->switch_user, c->uid, c->gid);
    if (r < 0)
        error_errno("cannot write '%s'", p);
    free(p);
    return r;
}

static int prepare(struct cluster *c, const char *data)
{
    static const char *const drop[] = {"standby.signal", "recovery.signal", "recovery.conf",
                                       "postmaster.pid", "postmaster.opts"};
    for (size_t i = 0; i < ARRAY_SIZE(drop); i++) {
        char *p = path_join(data, drop[i]);
        if (unlink(p) == 0)
            info("normalize: removed %s from the backup's data dir", drop[i]);
        free(p);
    }
    /* preload libraries: those of the original that are installed here */
    struct strbuf conf = STRBUF_INIT, list = STRBUF_INIT, kept = STRBUF_INIT;
    char *p = path_join(data, "postgresql.conf");
    fs_read_regular(p, 16 << 20, &conf, NULL);
    free(p);
    conf_preload(conf.buf, &list);
    strbuf_reset(&conf);
    p = path_join(data, "postgresql.auto.conf");
    fs_read_regular(p, 16 << 20, &conf, NULL);
    free(p);
    {
        struct strbuf auto_list = STRBUF_INIT;
        conf_preload(conf.buf, &auto_list);
        if (auto_list.len) {
            strbuf_reset(&list);
            strbuf_addstr(&list, auto_list.buf); /* ALTER SYSTEM wins, as in the server */
        }
        strbuf_release(&auto_list);
    }
    char *save = NULL;
    for (char *tok = strtok_r(list.buf, ", \t", &save); tok; tok = strtok_r(NULL, ", \t", &save)) {
        if (pgbin_lib_installed(&c->bin, tok)) {
            strbuf_addf(&kept, "%s%s", kept.len ? "," : "", tok);
        } else {
            warn("normalize: dropping preload library '%s': not installed here", tok);
        }
    }
    struct strbuf text = STRBUF_INIT;
    strbuf_addstr(&text, "# Written by dbtool normalize-backup: local settings replace the\n"
                         "# original server's postgresql.conf (not kept).\n"
                         "listen_addresses = ''\n");
    strbuf_addstr(&text, "shared_preload_libraries = '");
    strbuf_addstr(&text, kept.buf);
    strbuf_addstr(&text, "'\n");
    int r = write_owned(c, data, "postgresql.conf", text.buf);
    if (!r)
        r = write_owned(c, data, "postgresql.auto.conf",
                        "# Do not edit this file manually!\n"
                        "# It will be overwritten by the ALTER SYSTEM command.\n");
    if (!r)
        r = write_owned(c, data, "pg_hba.conf",
                        "# Written by dbtool normalize-backup: a local copy, trust over the socket.\n"
                        "local   all             all                                     trust\n"
                        "local   replication     all                                     trust\n");
    strbuf_release(&text);
    strbuf_release(&conf);
    strbuf_release(&list);
    strbuf_release(&kept);
    return r ? EXIT_ERR : 0;
}

int norm_extract(struct cluster *c, const struct norm_backup *b, const char *data)
{
    char *tar = find_in_path("tar");
    char *ts = NULL;
    int r = 0;
    if (!tar) {
        error("required program 'tar' not found in PATH");
        return EXIT_NO_PROGRAM;
    }
    char *parent = xstrdup(data);
    *strrchr(parent, '/') = 0;
    /* the cluster root (marked, the server user's), then data/ extracted as the server user */
    if ((r = ops_exit(cluster_prepare_root(c))))
        goto out;
    if (mkdir(data, 0700) == 0 || errno != EEXIST) {
        if (backup_mkdir(c, data) < 0) {
            r = EXIT_ERR;
            goto out;
        }
    } else {
        error("'%s' exists already", data);
        r = EXIT_ERR;
        goto out;
    }
    double t = now_monotonic();
    if ((r = backup_extract(c, tar, b->base, data)))
        goto out;
    if (b->wal) {
        char *pw = path_join(data, "pg_wal");
        r = backup_mkdir(c, pw) < 0 ? EXIT_ERR : backup_extract(c, tar, b->wal, pw);
        free(pw);
        if (r)
            goto out;
    }
    debug(NS, "extracted %s in %.3f s", b->base, now_monotonic() - t);
    {
        char *pgv = path_join(data, "PG_VERSION");
        struct strbuf v = STRBUF_INIT;
        if (fs_read_regular(pgv, 64, &v, NULL) < 0) {
            error("'%s' is not a PostgreSQL base backup (no PG_VERSION inside)", b->base);
            r = EXIT_ERR;
        } else {
            strbuf_trim_trailing(&v);
            int mine = cluster_server_major(c);
            if (mine && mine != atoi(v.buf)) {
                error("the backup %s is of PostgreSQL %s, the server here (%s) is %d: use "
                      "PostgreSQL %s binaries (PG_BINDIR)", b->dir, v.buf, c->bin.bindir, mine, v.buf);
                r = EXIT_ERR;
            }
        }
        strbuf_release(&v);
        free(pgv);
        if (r)
            goto out;
    }
    /* the tablespaces beside data/, where the cluster's removal takes them too */
    ts = path_join(parent, "tablespaces");
    if ((r = backup_extract_tablespaces(c, tar, &b->tablespaces, data, ts, ts)))
        goto out;
    if ((r = prepare(c, data)))
        goto out;
    chmod(data, 0700);
out:
    free(ts);
    free(parent);
    free(tar);
    return r;
}

int norm_ensure_roles(struct cluster *c, const char *data, const struct strvec *roles,
                      const char *log)
{
    struct strbuf sql = STRBUF_INIT;
    for (size_t i = 0; i < roles->nr; i++) {
        char *lit = pg_quote_literal(roles->v[i]), *id = pg_quote_ident(roles->v[i]);
        /* single-user mode: one command per line */
        strbuf_addf(&sql,
                    "DO $dbtool$BEGIN IF EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = %s) "
                    "THEN ALTER ROLE %s SUPERUSER LOGIN; ELSE CREATE ROLE %s SUPERUSER LOGIN; "
                    "RAISE NOTICE 'dbtool: created role %%', %s; END IF; END$dbtool$;\n",
                    lit, id, id, lit);
        free(lit);
        free(id);
    }
    int r = 0;
    int st = cluster_single_user(c, data, "template1", sql.buf, log);
    if (st < 0) {
        r = errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
    } else if (st) {
        error("creating the login role%s in single-user mode failed (exit %d); see %s",
              roles->nr == 1 ? "" : "s", st, log);
        r = EXIT_ERR;
    }
    strbuf_release(&sql);
    return r;
}

char *norm_pick_database(const char *admin_url)
{
    PGconn *conn = pg_connect(admin_url);
    if (!conn)
        return NULL;
    PGresult *res = PQexec(conn, "SELECT datname FROM pg_catalog.pg_database WHERE datname NOT IN "
                                 "('postgres', 'template0', 'template1') ORDER BY 1");
    char *r = NULL;
    if (PQresultStatus(res) != PGRES_TUPLES_OK) {
        pg_print_result_error(res, "cannot list the databases of the backup");
    } else if (PQntuples(res) == 1) {
        r = xstrdup(PQgetvalue(res, 0, 0));
        info("normalize: the backup has one database: '%s'", r);
    } else {
        struct strbuf names = STRBUF_INIT;
        for (int i = 0; i < PQntuples(res); i++)
            strbuf_addf(&names, "%s%s", i ? ", " : "", PQgetvalue(res, i, 0));
        error("the backup names no database (no database_name file) and has %d: %s; pick one "
              "with --database NAME", PQntuples(res), names.len ? names.buf : "(none)");
        strbuf_release(&names);
    }
    PQclear(res);
    PQfinish(conn);
    return r;
}

/* ---- normalize-backup ---- */

static struct throwaway norm_tmp; /* reachable from the cleanup stack */

/* Whether the absolute path P is Q or below it. */
static bool path_within(const char *p, const char *q)
{
    size_t n = strlen(q);
    return !strncmp(p, q, n) && (p[n] == 0 || p[n] == '/' || (n == 1 && q[0] == '/'));
}

/* realpath of P, or of its deepest existing ancestor with the rest appended. */
static char *resolve(const char *p)
{
    char *abs = path_absolute(p, NULL);
    char *r = realpath(abs, NULL);
    if (r) {
        free(abs);
        return r;
    }
    char *slash = strrchr(abs, '/');
    if (!slash || slash == abs)
        return abs;
    *slash = 0;
    char *parent = resolve(abs);
    char *res = xasprintf("%s/%s", strcmp(parent, "/") ? parent : "", slash + 1);
    free(parent);
    free(abs);
    return res;
}

int norm_normalize(const struct settings *s, const struct norm_opts *o)
{
    double t0 = now_monotonic();
    struct norm_backup b;
    memset(&b, 0, sizeof(b));
    char *defdir = backup_default_dir(s);
    char *in = NULL, *out = NULL, *tmp = NULL, *old = NULL, *wd = NULL, *lp = NULL, *tar = NULL;
    char *dbname = NULL;
    int r;
    struct strvec roles = STRVEC_INIT;

    if (!o->input && !defdir) {
        error("LOCAL_DIR is not set: export LOCAL_DIR to the project root, or name the backup");
        r = EXIT_MISSING;
        goto out;
    }
    if ((r = norm_backup_open(o->input ? o->input : defdir, &b)))
        goto out;
    in = resolve(b.dir);
    if (o->output) {
        out = resolve(o->output);
    } else {
        const char *nd = set_get(s, SET_DEFAULT_NORMALIZED_BACKUP_PATH);
        char *rdef = resolve(defdir);
        out = strcmp(rdef, in) ? xstrdup(rdef) : nd ? resolve(nd) : xasprintf("%s-normalized", in);
        free(rdef);
    }
    if (path_within(out, in) || path_within(in, out)) {
        error("the output %s may not be the input backup %s, inside it or contain it: pass "
              "another -o PATH", out, in);
        r = EXIT_AMBIGUOUS;
        goto out;
    }
    if (!(tar = find_in_path("tar"))) {
        error("required program 'tar' not found in PATH");
        r = EXIT_NO_PROGRAM;
        goto out;
    }
    /* a temporary cluster of our own beside the developer's (lib/scratch: in RAM when it fits) */
    const char *want_db = o->database ? o->database : b.database;
    {
        char *name = xasprintf("normalize-%d", (int)getpid());
        struct throwaway_opts to = {.database = want_db ? want_db : "template1"};
        r = throwaway_open(&norm_tmp, s, "normalize-backup", name, norm_backup_need(&b), &to);
        free(name);
        if (r)
            goto out;
    }
    struct cluster *c = &norm_tmp.c;
    wd = xstrdup(c->working_dir);
    lp = xasprintf("%s/log", wd);
    info("normalize: extracting %s into a temporary cluster %s: %s", b.dir,
         scratch_where(&norm_tmp.scratch), wd);
    if ((r = norm_extract(c, &b, c->data_dir)))
        goto out;
    strvec_push(&roles, c->user);
    if (o->role && strcmp(o->role, c->user))
        strvec_push(&roles, o->role);
    {
        char *log = xasprintf("%s/postgres.log", wd); /* a name cluster_remove() accepts */
        r = norm_ensure_roles(c, c->data_dir, &roles, log);
        free(log);
        if (r)
            goto out;
    }
    /* start it with the preload libraries it kept */
    {
        struct strbuf conf = STRBUF_INIT, pre = STRBUF_INIT;
        char *p = path_join(c->data_dir, "postgresql.conf");
        fs_read_regular(p, 16 << 20, &conf, NULL);
        free(p);
        conf_preload(conf.buf, &pre);
        free(c->preload);
        c->preload = strbuf_detach(&pre, NULL);
        strbuf_release(&conf);
    }
    if ((r = ops_exit(cluster_start_existing(c)))) {
        error("the backup's data dir did not start here (see %s)", c->startup_log);
        goto out;
    }
    if (!want_db) {
        if (!(dbname = norm_pick_database(c->url))) {
            r = EXIT_MISSING;
            goto out;
        }
    } else {
        dbname = xstrdup(want_db);
    }
    if (!want_db) {
        /* connect once to the chosen database: cluster_init created the one it was given */
        char *u = pg_build_url(c->user, dbname, c->sock_dir, c->port);
        PGconn *conn = pg_connect(u);
        free(u);
        if (!conn) {
            r = EXIT_ERR;
            goto out;
        }
        PQfinish(conn);
    }
    info("normalize: login role%s %s, database '%s' ready; stopping cleanly", roles.nr > 1 ? "s" : "",
         roles.v[roles.nr - 1], dbname);
    if ((r = ops_exit(cluster_stop(c, 60))))
        goto out;
    /* runtime leftovers the next start rewrites anyway; the maps name this temporary cluster */
    {
        static const char *const junk[] = {"postmaster.opts", "postmaster.pid", "backup_label.old",
                                           "tablespace_map", "tablespace_map.old"};
        for (size_t i = 0; i < ARRAY_SIZE(junk); i++) {
            char *p = path_join(c->data_dir, junk[i]);
            unlink(p);
            free(p);
        }
    }
    /*
     * pg_tblspc/OID points into this temporary cluster: make it name where a
     * restore puts the tablespace, relative to the data dir (the restore
     * re-points it; that it is there tells the archive is needed).
     */
    for (size_t i = 0; i < b.tablespaces.nr; i++) {
        unsigned long oid = backup_tablespace_oid(b.tablespaces.v[i]);
        char *link = xasprintf("%s/pg_tblspc/%lu", c->data_dir, oid);
        char *target = xasprintf("../../tablespaces/%lu", oid);
        int e = unlink(link) < 0 && errno != ENOENT ? -1 : symlink(target, link);
        if (!e && c->switch_user)
            e = lchown(link, c->uid, c->gid);
        if (e < 0)
            error_errno("cannot replace the symlink '%s'", link);
        free(link);
        free(target);
        if (e < 0) {
            r = EXIT_ERR;
            goto out;
        }
    }

    /* repack beside the output, then swap it in */
    tmp = xasprintf("%s.new-%d", out, (int)getpid());
    old = xasprintf("%s.old-%d", out, (int)getpid());
    rm_rf(tmp);
    if (mkdir_p(tmp, 0755) < 0) {
        error_errno("cannot create '%s'", tmp);
        r = EXIT_ERR;
        goto out;
    }
    /* base.tar.gz, then each tablespace's contents as OID.tar.gz (pg_basebackup -Ft's layout) */
    for (size_t i = 0; i <= b.tablespaces.nr; i++) {
        char *archive, *from;
        if (i == 0) {
            archive = path_join(tmp, "base.tar.gz");
            from = xstrdup(c->data_dir);
        } else {
            unsigned long oid = backup_tablespace_oid(b.tablespaces.v[i - 1]);
            archive = xasprintf("%s/%lu.tar.gz", tmp, oid);
            from = xasprintf("%s/tablespaces/%lu", c->working_dir, oid);
        }
        struct child ch = CHILD_INIT;
        strvec_pushl(&ch.args, tar, "-czf", archive, "-C", from, ".", NULL);
        int st = spawn_run(&ch);
        int e = errno;
        child_clear(&ch);
        if (st)
            error("cannot pack the normalised %s (tar exit status %d)", i ? from : "data dir", st);
        free(archive);
        free(from);
        if (st) {
            r = st < 0 && e == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
            goto out;
        }
    }
    {
        char *name = path_join(tmp, "database_name");
        char *text = xasprintf("%s\n", dbname);
        int w = write_file_atomic(name, text, strlen(text), 0644);
        if (w < 0)
            error_errno("cannot write '%s'", name);
        free(text);
        free(name);
        if (w < 0) {
            r = EXIT_ERR;
            goto out;
        }
    }
    bool had_old = path_exists(out);
    if (had_old && rename(out, old) < 0) {
        error_errno("cannot move '%s' aside", out);
        r = EXIT_ERR;
        goto out;
    }
    if (rename(tmp, out) < 0) {
        error_errno("cannot rename '%s' to '%s'", tmp, out);
        if (had_old)
            rename(old, out);
        r = EXIT_ERR;
        goto out;
    }
    free(tmp);
    tmp = NULL;
    if (had_old)
        rm_rf(old);
    if (b.tablespaces.nr)
        info("normalize: done in %s: %s (database '%s', %zu tablespace archive%s beside "
             "base.tar.gz)", proj_duration(now_monotonic() - t0), out, dbname, b.tablespaces.nr,
             b.tablespaces.nr == 1 ? "" : "s");
    else
        info("normalize: done in %s: %s (database '%s')", proj_duration(now_monotonic() - t0), out,
             dbname);
out:
    if (tmp)
        rm_rf(tmp);
    norm_tmp.passed = r == 0;
    throwaway_close(&norm_tmp);
    strvec_clear(&roles);
    norm_backup_release(&b);
    free(defdir);
    free(in);
    free(out);
    free(tmp);
    free(old);
    free(wd);
    free(lp);
    free(tar);
    free(dbname);
    return r;
}
