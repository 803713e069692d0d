/*
 * session.c — `database session` (see session.h).
 */
#include "ops/session.h"
#include "ops/code.h"
#include "ops/generate.h"
#include "ops/normalize.h"
#include "ops/ops.h"
#include "ops/remote_copy.h"
#include "ops/side.h"
#include "ops/throwaway.h"
#include "ops/tunnel.h"
#include "lib/catalog.h"
#include "lib/cluster.h"
#include "lib/fs.h"
#include "lib/migrate.h"
#include "lib/miglint.h"
#include "lib/pg.h"
#include "lib/settings.h"
#include "lib/sqldiff.h"
#include "lib/sqlscript.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define NS "session"
#define STATE_MAGIC "dbtool-session 1"

/* What focus/session/state holds. */
struct sess_state {
    char *database;           /* the session database in the project's cluster */
    char *from;               /* the remote, masked */
    char *started;            /* UTC */
    char hash[SHA256_HEX_LEN]; /* the remote's catalog hash at start (or after the last deploy) */
    struct strvec tables;     /* the tables copied */
    struct strvec migs;       /* "NAME HASH": the remote's applied migrations */
    struct strvec log;        /* "deployed ..." / "deploy-failed ..." lines */
    char *deploying;          /* a deploy started on the remote and not finished: when */
    struct strvec applied;    /* apply: "infra/x.sql" ... files finished on the session database */
};

static void state_release(struct sess_state *st)
{
    free(st->database);
    free(st->from);
    free(st->started);
    free(st->deploying);
    strvec_clear(&st->tables);
    strvec_clear(&st->migs);
    strvec_clear(&st->log);
    strvec_clear(&st->applied);
    memset(st, 0, sizeof(*st));
}

static char *state_dir(const struct settings *s)
{
    return path_join(set_get(s, SET_LOCAL_DIR), "focus/session");
}

static char *state_path(const struct settings *s)
{
    return path_join(set_get(s, SET_LOCAL_DIR), "focus/session/state");
}

static char *utc_now(void)
{
    char buf[32];
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    return xstrdup(buf);
}

/* 0 read, 1 no session, -1 unreadable (message printed). */
static int state_read(const struct settings *s, struct sess_state *st)
{
    memset(st, 0, sizeof(*st));
    char *path = state_path(s);
    struct strbuf sb = STRBUF_INIT;
    const char *why = NULL;
    int r = 0;
    if (fs_read_regular(path, 1 << 24, &sb, &why) < 0) {
        if (errno == ENOENT)
            r = 1;
        else
            r = error("cannot read the session state %s: %s", path, why);
        goto out;
    }
    char *save = NULL;
    char *line = strtok_r(sb.buf, "\n", &save);
    if (!line || strcmp(line, STATE_MAGIC)) {
        r = error("%s is not a session state of this dbtool (remove focus/session to start again)", path);
        goto out;
    }
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *sp = strchr(line, ' ');
        if (!sp)
            continue;
        *sp++ = 0;
        if (!strcmp(line, "database"))
            st->database = xstrdup(sp);
        else if (!strcmp(line, "from"))
            st->from = xstrdup(sp);
        else if (!strcmp(line, "started"))
            st->started = xstrdup(sp);
        else if (!strcmp(line, "fingerprint") && strlen(sp) == SHA256_HEX_LEN - 1)
            memcpy(st->hash, sp, SHA256_HEX_LEN);
        else if (!strcmp(line, "table"))
            strvec_push(&st->tables, sp);
        else if (!strcmp(line, "migration"))
            strvec_push(&st->migs, sp);
        else if (!strcmp(line, "log"))
            strvec_push(&st->log, sp);
        else if (!strcmp(line, "applied"))
            strvec_push(&st->applied, sp);
        else if (!strcmp(line, "deploying"))
            st->deploying = xstrdup(sp);
    }
    if (!st->database || !st->hash[0])
        r = error("%s is incomplete (remove focus/session to start again)", path);
out:
    if (r)
        state_release(st);
    strbuf_release(&sb);
    free(path);
    return r;
}

static int state_write(const struct settings *s, const struct sess_state *st)
{
    char *dir = state_dir(s);
    char *path = state_path(s);
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "%s\ndatabase %s\nfrom %s\nstarted %s\nfingerprint %s\n", STATE_MAGIC, st->database,
                st->from, st->started, st->hash);
    for (size_t i = 0; i < st->tables.nr; i++)
        strbuf_addf(&sb, "table %s\n", st->tables.v[i]);
    for (size_t i = 0; i < st->migs.nr; i++)
        strbuf_addf(&sb, "migration %s\n", st->migs.v[i]);
    for (size_t i = 0; i < st->log.nr; i++)
        strbuf_addf(&sb, "log %s\n", st->log.v[i]);
    for (size_t i = 0; i < st->applied.nr; i++)
        strbuf_addf(&sb, "applied %s\n", st->applied.v[i]);
    if (st->deploying)
        strbuf_addf(&sb, "deploying %s\n", st->deploying);
    int r = 0;
    if (mkdir_p(dir, 0755) < 0)
        r = error_errno("cannot create '%s'", dir);
    else if (write_file_atomic(path, sb.buf, sb.len, 0644) < 0)
        r = error_errno("cannot write '%s'", path);
    strbuf_release(&sb);
    free(path);
    free(dir);
    return r;
}

/*
 * The project's cluster, locked (the lock serialises session commands and
 * the state changes); STARTED: running as `database init --reuse` leaves it.
 * 0 or an exit code; C is released by the caller.
 */
static int project_cluster(const struct settings *s, struct cluster *c, bool started)
{
    struct cluster_spec sp;
    cluster_spec_from(&sp, s);
    sp.reuse = true;
    enum cl_status st = cluster_setup(c, &sp);
    if (!st)
        st = cluster_lock(c, 60);
    if (!st && started)
        st = cluster_init(c);
    return ops_exit(st);
}

/* The remote's applied migrations into ST->migs ("NAME HASH"). 0 or -1. */
static int read_migrations(PGconn *remote, struct sess_state *st)
{
    struct mig_db db;
    memset(&db, 0, sizeof(db));
    if (mig_db_read(remote, &db, false) < 0)
        return -1;
    strvec_clear(&st->migs);
    for (size_t i = 0; i < db.nr; i++)
        strvec_pushf(&st->migs, "%s %s", db.v[i].name, db.v[i].hash ? db.v[i].hash : "-");
    mig_db_release(&db);
    return 0;
}

static bool remote_has(const struct sess_state *st, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < st->migs.nr; i++)
        if (!strncmp(st->migs.v[i], name, len) && st->migs.v[i][len] == ' ')
            return true;
    return false;
}

static int no_session(void)
{
    error("no session: start one with 'database session start --from URL'");
    return EXIT_MISSING;
}

/*
 * The session's state into ST and the project's cluster into C, locked
 * (STARTED: running). 0, or an exit code (no session: 3, else ERR) with
 * nothing left to release.
 */
static int session_open(const struct settings *s, struct sess_state *st, struct cluster *c, bool started,
                        int err)
{
    memset(c, 0, sizeof(*c));
    int r = state_read(s, st);
    if (r)
        return r > 0 ? no_session() : err;
    if ((r = project_cluster(s, c, started))) {
        cluster_release(c);
        state_release(st);
    }
    return r;
}

/*
 * The remote's conninfo for libpq in *CONN: URL itself, or (SSH set) the
 * tunnel T opened to it through ssh SSH. *WHAT: the masked URL for messages
 * (and " via ssh SSH"). 0 or an exit code.
 */
static int remote_reach(const struct settings *s, const char *url, const char *ssh, struct tunnel *t,
                        const char **conn, char **what)
{
    memset(t, 0, sizeof(*t));
    t->cookie = -1;
    t->lock_fd = -1;
    if (!ssh) {
        *conn = url;
        *what = pg_mask_url(url);
        return 0;
    }
    int r = tunnel_open(t, ssh, set_get(s, SET_STAGING_SSH_OPTS), url);
    if (r)
        return r;
    *conn = t->conninfo;
    *what = xstrdup(t->what);
    return 0;
}

/* FROM names a physical backup (`database backup`'s directory) rather than a database */
static bool is_backup_dir(const char *from)
{
    struct stat st;
    return !strstr(from, "://") && !strchr(from, '=') && stat(from, &st) == 0 && S_ISDIR(st.st_mode);
}

static struct side backup_side; /* reachable from the cleanup stack */

/*
 * Restore the backup in DIR into a throwaway cluster (started) as the
 * session's source: *CONN gets its URL, *WHAT how messages name it.
 */
static int backup_reach(const struct settings *s, const char *dir, char **conn, char **what)
{
    struct norm_backup b;
    int r = norm_backup_open(dir, &b);
    if (r)
        return r;
    const char *local = set_get(s, SET_LOCAL_DIR);
    char *logs = local ? path_join(local, "focus/session") : NULL;
    r = side_restore_backup(&backup_side, s, "session", "backup", &b, logs, set_get(s, SET_PG_DATABASE), conn);
    free(logs);
    norm_backup_release(&b);
    if (!r)
        *what = xasprintf("the backup %s", dir);
    return r;
}

int session_start(const struct settings *s, const char *from, const char *ssh)
{
    struct sess_state st;
    int r = state_read(s, &st);
    if (r == 0) {
        error("a session exists already (started %s from %s): 'database session abort' ends it",
              st.started ? st.started : "?", st.from ? st.from : "?");
        state_release(&st);
        return SESSION_EXIT_EXISTS;
    }
    if (r < 0)
        return EXIT_ERR;
    memset(&st, 0, sizeof(st));
    char *masked = NULL;
    struct cluster c;
    memset(&c, 0, sizeof(c));
    static struct tunnel tun;
    const char *conn = NULL;
    PGconn *remote = NULL;
    struct catalog *rcat = NULL;
    char *url = NULL;
    bool created = false;
    char *backup_url = NULL;
    memset(&tun, 0, sizeof(tun));
    tun.cookie = -1;
    tun.lock_fd = -1;
    if (is_backup_dir(from)) {
        if (ssh) {
            error("session start: --ssh reaches a database URL; '%s' is a backup directory here", from);
            r = EXIT_UNKNOWN;
            goto out;
        }
        if ((r = backup_reach(s, from, &backup_url, &masked)))
            goto out;
        conn = backup_url;
    } else if ((r = remote_reach(s, from, ssh, &tun, &conn, &masked)))
        goto out;
    if ((r = project_cluster(s, &c, true)))
        goto out;
    r = EXIT_ERR;
    info("session: reading %s (read-only)", masked);
    if (!(remote = rcopy_connect(conn)))
        goto out;
    if (rcopy_catalog(remote, masked, &rcat, st.hash) < 0 || read_migrations(remote, &st) < 0)
        goto out;
    const char *db = set_get(s, SET_PG_DATABASE);
    st.database = xasprintf("%s_session", db && *db ? db : "postgres");
    if (rcopy_create_database(c.url, st.database, NULL) < 0)
        goto out;
    created = true;
    if (!(url = side_url_with_db(c.url, st.database)))
        goto out;
    if (rcopy_load(remote, rcat, url, set_get(s, SET_STAGING_DUMP_TABLES), &st.tables) < 0)
        goto out;
    st.from = xstrdup(masked);
    st.started = utc_now();
    if (state_write(s, &st) < 0)
        goto out;
    info("session: started; the remote has %zu migration(s), schema fingerprint %.12s", st.migs.nr, st.hash);
    char *pub = pg_build_url(c.user, st.database, c.sock_dir, c.port);
    printf("%s\n", pub);
    free(pub);
    r = 0;
out:
    if (r && created && rcopy_drop_database(c.url, st.database) < 0)
        warn("session: could not drop the database %s; drop it by hand", st.database);
    if (rcat)
        catalog_free(rcat);
    if (remote)
        PQfinish(remote);
    tunnel_close(&tun);
    if (backup_side.opened)
        side_close(&backup_side, r == 0);
    free(backup_url);
    free(url);
    free(masked);
    state_release(&st);
    cluster_release(&c);
    return r;
}

static size_t pending_migrations(const struct settings *s, const struct sess_state *st, struct mig_folder *f,
                                 struct mig **list)
{
    size_t n = 0;
    for (size_t i = 0; i < f->nr; i++) {
        struct mig *m = &f->v[i];
        if (mig_resolve(f, m) < 0 || !m->up || remote_has(st, m->name))
            continue;
        if (list)
            list[n] = m;
        n++;
    }
    (void)s;
    return n;
}

static bool scan_folder(const struct settings *s, struct mig_folder *f)
{
    memset(f, 0, sizeof(*f));
    f->dfd = -1;
    const char *dir = set_get(s, SET_MIGRATION_DIR);
    return dir && is_dir(dir) && mig_scan(dir, f) == 0;
}

static void json_strvec(struct strbuf *sb, const char *key, const struct strvec *v)
{
    strbuf_addf(sb, ",\"%s\":[", key);
    for (size_t i = 0; i < v->nr; i++) {
        if (i)
            strbuf_addch(sb, ',');
        strbuf_add_json_str(sb, v->v[i]);
    }
    strbuf_addch(sb, ']');
}

int session_status(const struct settings *s, bool json)
{
    struct sess_state st;
    int r = state_read(s, &st);
    if (r) {
        if (r > 0)
            printf(json ? "null\n" : "no session\n");
        return r > 0 ? EXIT_MISSING : EXIT_ERR;
    }
    struct mig_folder f;
    bool have = scan_folder(s, &f);
    size_t pending = have ? pending_migrations(s, &st, &f, NULL) : 0;
    if (json) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addstr(&sb, "{\"started\":");
        strbuf_add_json_str(&sb, st.started);
        strbuf_addstr(&sb, ",\"from\":");
        strbuf_add_json_str(&sb, st.from);
        strbuf_addstr(&sb, ",\"database\":");
        strbuf_add_json_str(&sb, st.database);
        strbuf_addstr(&sb, ",\"fingerprint\":");
        strbuf_add_json_str(&sb, st.hash);
        strbuf_addf(&sb, ",\"remote_migrations\":%zu,\"pending_here\":%zu", st.migs.nr, pending);
        json_strvec(&sb, "tables", &st.tables);
        json_strvec(&sb, "applied", &st.applied);
        json_strvec(&sb, "log", &st.log);
        strbuf_addstr(&sb, ",\"deploying\":");
        if (st.deploying)
            strbuf_add_json_str(&sb, st.deploying);
        else
            strbuf_addstr(&sb, "null");
        strbuf_addstr(&sb, "}\n");
        fwrite(sb.buf, 1, sb.len, stdout);
        strbuf_release(&sb);
    } else {
        printf("session: started %s from %s\n", st.started, st.from);
        printf("database: %s (the project's cluster)\n", st.database);
        printf("fingerprint: %s\n", st.hash);
        printf("remote migrations: %zu applied, %zu pending here\n", st.migs.nr, pending);
        printf("tables copied: %zu\n", st.tables.nr);
        for (size_t i = 0; i < st.tables.nr; i++)
            printf("  %s\n", st.tables.v[i]);
        for (size_t i = 0; i < st.log.nr; i++)
            printf("%s\n", st.log.v[i]);
        if (st.deploying)
            printf("deploy started %s did not finish: 'database session deploy' again resumes it\n",
                   st.deploying);
    }
    if (have)
        mig_folder_release(&f);
    state_release(&st);
    return 0;
}

int session_abort(const struct settings *s)
{
    struct sess_state st;
    struct cluster c;
    int r = session_open(s, &st, &c, true, EXIT_ERR);
    if (r)
        return r;
    if (rcopy_drop_database(c.url, st.database) < 0) {
        r = EXIT_ERR;
        goto out;
    }
    char *path = state_path(s);
    char *dir = state_dir(s);
    if (unlink(path) < 0 && errno != ENOENT)
        r = (error_errno("cannot remove '%s'", path), EXIT_ERR);
    else if (rmdir(dir) < 0 && errno != ENOENT)
        warn("cannot remove '%s': %s", dir, strerror(errno));
    if (!r)
        info("session: aborted (database %s dropped; the remote was not touched)", st.database);
    free(path);
    free(dir);
out:
    cluster_release(&c);
    state_release(&st);
    return r;
}

/* The sources side's catalog (a throwaway cluster, as drift builds it). 0 or -1. */
static int sources_catalog(const struct settings *s, struct catalog **cat)
{
    static struct side src;
    int r = side_open(&src, s, "session", "sources", NULL, NULL, 0, NULL);
    if (!r) {
        src.build = SIDE_SOURCES;
        src.quiet = true;
        r = side_start(&src);
    }
    if (!r)
        r = side_finish(&src);
    struct catalog_options co = {0};
    if (!r && catalog_read_url(src.url, &co, cat) < 0)
        r = -1;
    side_close(&src, !r);
    return r ? -1 : 0;
}

/*
 * The pending migrations (and the code directory) rehearsed on a copy of the
 * session database, PG_DATABASE_session_plan (*DB, *URL: dropped by the
 * caller when *URL is set). 0 or -1.
 */
static int rehearsed_copy(const struct settings *s, struct cluster *c, const struct sess_state *st, char **db,
                          char **url)
{
    *db = xasprintf("%s_plan", st->database);
    if (rcopy_create_database(c->url, *db, st->database) < 0 || !(*url = side_url_with_db(c->url, *db)))
        return -1;
    return side_migrate(s, "session", *url, NULL, NULL, false, true) ? -1 : 0;
}

int session_plan(const struct settings *s, bool json)
{
    struct sess_state st;
    struct cluster c;
    int r = session_open(s, &st, &c, true, CODE_PLAN_EXIT_ERROR);
    if (r)
        return r;
    struct mig_folder f;
    bool have = false;
    struct mig **list = NULL;
    char *tmpdb = NULL, *tmpurl = NULL, *surl = NULL;
    struct catalog *rehearsed = NULL, *sources = NULL;
    struct sqldiff d;
    memset(&d, 0, sizeof(d));
    struct strbuf js = STRBUF_INIT; /* the JSON object, printed when whole */
    bool something = false;
    r = CODE_PLAN_EXIT_ERROR;
    have = scan_folder(s, &f);
    size_t n = have ? pending_migrations(s, &st, &f, NULL) : 0;
    list = xcalloc(n + 1, sizeof(*list));
    if (have)
        pending_migrations(s, &st, &f, list);
    if (json) {
        strbuf_addstr(&js, "{\"pending\":[");
        for (size_t i = 0; i < n; i++) {
            strbuf_addstr(&js, i ? "," : "");
            strbuf_add_json_str(&js, list[i]->name);
        }
        strbuf_addstr(&js, "],\n\"hazards\":");
    } else {
        printf("pending migrations: %zu\n", n);
        for (size_t i = 0; i < n; i++)
            printf("  %s\n", list[i]->name);
    }
    something = n > 0;
    if (n) {
        struct lint_result lr;
        memset(&lr, 0, sizeof(lr));
        struct lint_opts lo = {.lock_timeout = set_get(s, SET_MIGRATION_LOCK_TIMEOUT)};
        if (miglint_run(&f, list, n, &lo, &lr) < 0)
            goto out;
        if (json) {
            char *buf = NULL;
            size_t len = 0;
            FILE *mem = open_memstream(&buf, &len);
            if (!mem)
                die(EXIT_BUG, "out of memory");
            miglint_print(mem, &lr, true);
            fclose(mem);
            strbuf_add(&js, buf, len);
            strbuf_trim_trailing(&js);
            free(buf);
        } else {
            printf("hazards: %zu\n", lr.nr);
            miglint_print(stdout, &lr, false);
        }
        miglint_release(&lr);
    } else if (json) {
        strbuf_addstr(&js, "null");
    }
    if (rehearsed_copy(s, &c, &st, &tmpdb, &tmpurl) < 0)
        goto out;
    strbuf_addstr(&js, ",\n\"changes\":");
    const char *src = set_get(s, SET_DATABASE_SOURCE);
    if (!src || !is_dir(src)) {
        if (json)
            strbuf_addstr(&js, "null");
        else
            printf("changes the sources need after the migrations: no sources (%s)\n",
                   src ? src : "DATABASE_SOURCE unset");
    } else {
        struct catalog_options co = {0};
        if (catalog_read_url(tmpurl, &co, &rehearsed) < 0 || sources_catalog(s, &sources) < 0)
            goto out;
        sqldiff_compute(rehearsed, sources, NULL, &d);
        something = something || d.nr;
        if (json) {
            sqldiff_format_json(&d, &js);
            strbuf_trim_trailing(&js);
        } else {
            printf("changes the sources need after the migrations: %zu statement(s)\n", d.nr);
            if (d.nr) {
                struct strbuf sb = STRBUF_INIT;
                sqldiff_format_sql(&d, &sb);
                fwrite(sb.buf, 1, sb.len, stdout);
                strbuf_release(&sb);
                printf("('database session commit LABEL' writes them as one migration)\n");
            }
        }
    }
    strbuf_addstr(&js, ",\n\"code\":");
    const char *cdir = set_get(s, SET_CODE_DIR);
    if (cdir && is_dir(cdir)) {
        if (!json)
            printf("code objects:\n");
        fflush(stdout);
        if (!(surl = side_url_with_db(c.url, st.database)))
            goto out;
        if (json) {
            /* database plan's own object, as it prints it */
            fputs(js.buf, stdout);
            strbuf_reset(&js);
        }
        int cr = code_plan_cmd(s, surl, json);
        if (cr != 0 && cr != 1)
            goto out;
        something = something || cr == 1;
    } else {
        strbuf_addstr(&js, "null");
    }
    if (json) {
        strbuf_addf(&js, ",\n\"work\":%s}\n", something ? "true" : "false");
        fputs(js.buf, stdout);
        fflush(stdout);
    }
    r = something ? 1 : 0;
out:
    strbuf_release(&js);
    if (tmpdb && tmpurl && rcopy_drop_database(c.url, tmpdb) < 0)
        warn("session: could not drop the database %s; drop it by hand", tmpdb);
    sqldiff_release(&d);
    if (rehearsed)
        catalog_free(rehearsed);
    if (sources)
        catalog_free(sources);
    free(tmpdb);
    free(tmpurl);
    free(surl);
    free(list);
    if (have)
        mig_folder_release(&f);
    cluster_release(&c);
    state_release(&st);
    return r;
}

/* The rehearsal: a fresh copy of the remote in a throwaway cluster, migrated as the remote will be. */
static int rehearse(const struct settings *s, PGconn *remote, const struct catalog *rcat,
                    int (*migrate)(const struct settings *s, const char *url))
{
    static struct throwaway t;
    char *name = xasprintf("session-rehearsal-%d", (int)getpid());
    struct throwaway_opts to = {0};
    int r = throwaway_open(&t, s, "session", name, 0, &to);
    free(name);
    if (!r)
        r = ops_exit(cluster_init(&t.c));
    if (!r) {
        struct strvec done = STRVEC_INIT;
        info("session: rehearsal: copying the remote into a throwaway cluster");
        if (rcopy_load(remote, rcat, t.c.url, set_get(s, SET_STAGING_DUMP_TABLES), &done) < 0)
            r = EXIT_ERR;
        strvec_clear(&done);
    }
    if (!r) {
        info("session: rehearsal: migrate up all");
        r = migrate(s, t.c.url);
        if (r)
            error("session: the rehearsal failed (exit %d): the remote was not changed", r);
    }
    t.passed = !r;
    throwaway_close(&t);
    return r;
}

int session_deploy(const struct settings *s, const char *to, const char *ssh, bool dry_run, bool force,
                   int (*migrate)(const struct settings *s, const char *url))
{
    struct sess_state st;
    struct cluster c;
    int r = session_open(s, &st, &c, false, EXIT_ERR);
    if (r)
        return r;
    static struct tunnel tun;
    char *masked = NULL;
    const char *url = NULL;
    PGconn *remote = NULL;
    struct catalog *rcat = NULL;
    char hex[SHA256_HEX_LEN];
    if ((r = remote_reach(s, to, ssh, &tun, &url, &masked)))
        goto out;
    r = EXIT_ERR;
    info("session: reading %s (read-only)", masked);
    if (!(remote = rcopy_connect(url)) || rcopy_catalog(remote, masked, &rcat, hex) < 0)
        goto out;
    if (st.deploying && !strcmp(hex, st.hash))
        info("session: the deploy started %s did not finish: resuming it", st.deploying);
    if (strcmp(hex, st.hash)) {
        if (st.deploying) {
            info("session: the remote's schema differs from the fingerprint: the deploy started %s is "
                 "resumed", st.deploying);
        } else if (!force) {
            error("session: the remote's schema changed since the session started (fingerprint %.12s, "
                  "now %.12s): someone changed it meanwhile. Look ('dbtool schema diff'), start a new "
                  "session, or deploy anyway with --force",
                  st.hash, hex);
            r = SESSION_EXIT_CHANGED;
            goto out;
        } else {
            warn("session: the remote's schema changed since the session started (fingerprint %.12s, "
                 "now %.12s); deploying anyway (--force)",
                 st.hash, hex);
        }
    }
    if ((r = rehearse(s, remote, rcat, migrate)))
        goto out;
    PQfinish(remote);
    remote = NULL;
    if (dry_run) {
        info("session: dry run: the rehearsal passed; the remote was not changed");
        goto out;
    }
    char *when = utc_now();
    free(st.deploying);
    st.deploying = xstrdup(when);
    if ((r = state_write(s, &st) < 0 ? EXIT_ERR : 0)) {
        free(when);
        goto out;
    }
    info("session: deploying to %s (migrate up all)", masked);
    r = migrate(s, url);
    if (r) {
        strvec_pushf(&st.log, "deploy-failed %s exit %d to %s", when, r, masked);
        /* nothing changed on the remote: the next deploy checks the fingerprint again */
        struct catalog *now = NULL;
        char nhex[SHA256_HEX_LEN];
        if ((remote = rcopy_connect(url)) && rcopy_catalog(remote, masked, &now, nhex) == 0 &&
            !strcmp(nhex, hex)) {
            free(st.deploying);
            st.deploying = NULL;
        }
        if (now)
            catalog_free(now);
        error("session: the deploy to %s failed (exit %d); 'database session deploy' again resumes it",
              masked, r);
        state_write(s, &st);
        free(when);
        goto out;
    }
    /* the remote's new schema and migrations become the session's reference */
    catalog_free(rcat);
    rcat = NULL;
    if (!(remote = rcopy_connect(url)) || rcopy_catalog(remote, masked, &rcat, st.hash) < 0 ||
        read_migrations(remote, &st) < 0) {
        r = EXIT_ERR;
        free(when);
        goto out;
    }
    free(st.deploying);
    st.deploying = NULL;
    strvec_pushf(&st.log, "deployed %s to %s: the remote has %zu migration(s)", when, masked, st.migs.nr);
    free(when);
    r = state_write(s, &st) < 0 ? EXIT_ERR : 0;
    if (!r)
        info("session: deployed; the remote has %zu migration(s), fingerprint %.12s", st.migs.nr, st.hash);
    /* the session database follows: the same migrations (a no-op after 'session apply') */
    char *surl = NULL;
    if (!r && (ops_exit(cluster_init(&c)) || !(surl = side_url_with_db(c.url, st.database)) ||
               side_migrate(s, "session", surl, NULL, NULL, false, true)))
        warn("session: the session database %s did not take the deployed migrations; 'database session "
             "apply' applies them", st.database);
    free(surl);
out:
    if (rcat)
        catalog_free(rcat);
    if (remote)
        PQfinish(remote);
    tunnel_close(&tun);
    free(masked);
    cluster_release(&c);
    state_release(&st);
    return r;
}

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * The .sql files of $DATABASE_DIR/SUB in name order, each in its own
 * transaction on URL; those ST lists as finished are skipped, each one that
 * finishes is recorded (the state written at once). 0 or an exit code.
 */
static int apply_dir(const struct settings *s, struct sess_state *st, const char *url, const char *sub)
{
    const char *base = set_get(s, SET_DATABASE_DIR);
    char *dir = base ? path_join(base, sub) : NULL;
    DIR *d = dir ? opendir(dir) : NULL;
    if (!d) {
        debug(NS, "apply: no %s directory", sub);
        free(dir);
        return 0;
    }
    struct strvec files = STRVEC_INIT;
    struct dirent *e;
    while ((e = readdir(d)))
        if (e->d_name[0] != '.' && ends_with(e->d_name, ".sql"))
            strvec_push(&files, e->d_name);
    closedir(d);
    if (files.nr)
        qsort(files.v, files.nr, sizeof(*files.v), cmp_str);
    PGconn *conn = files.nr ? pg_connect(url) : NULL;
    int r = files.nr && !conn ? EXIT_ERR : 0;
    for (size_t i = 0; i < files.nr && !r; i++) {
        char *key = xasprintf("%s/%s", sub, files.v[i]);
        char *path = path_join(dir, files.v[i]);
        if (rcopy_has(&st->applied, key)) {
            debug(NS, "apply: %s done before", key);
        } else {
            struct sql_opts so = {.quiet = true};
            struct sql_session *ss = sql_session_new(conn, &so);
            bool ok = pg_exec(conn, "BEGIN") == 0 && sql_session_run_file(ss, path) == 0 &&
                      pg_exec(conn, "COMMIT") == 0;
            sql_session_free(ss);
            if (!ok) {
                pg_exec(conn, "ROLLBACK");
                error("session apply: %s failed (rolled back); fix it and run 'database session apply' again: "
                      "it goes on from there", key);
                r = EXIT_MIGRATION;
            } else {
                info("session apply: %s", key);
                strvec_push(&st->applied, key);
                if (state_write(s, st) < 0)
                    r = EXIT_ERR;
            }
        }
        free(path);
        free(key);
    }
    if (conn)
        PQfinish(conn);
    strvec_clear(&files);
    free(dir);
    return r;
}

int session_apply(const struct settings *s)
{
    struct sess_state st;
    struct cluster c;
    int r = session_open(s, &st, &c, true, EXIT_ERR);
    if (r)
        return r;
    char *url = NULL;
    r = EXIT_ERR;
    if (!(url = side_url_with_db(c.url, st.database)))
        goto out;
    /* infra (roles, schemas, extensions), then the migrations and code, then grants and seeds */
    if ((r = apply_dir(s, &st, url, "infra")))
        goto out;
    if ((r = side_migrate(s, "session apply", url, NULL, NULL, false, true)))
        goto out;
    if ((r = apply_dir(s, &st, url, "grants")) || (r = apply_dir(s, &st, url, "seeds")))
        goto out;
    info("session apply: done");
out:
    free(url);
    cluster_release(&c);
    state_release(&st);
    return r;
}

int session_commit(const struct settings *s, const char *label, const char *allow_hazards)
{
    struct sess_state st;
    struct cluster c;
    int r = session_open(s, &st, &c, true, EXIT_ERR);
    if (r)
        return r;
    char *tmpdb = NULL, *tmpurl = NULL;
    r = EXIT_ERR;
    if (rehearsed_copy(s, &c, &st, &tmpdb, &tmpurl) < 0)
        goto out;
    char *what = xasprintf("the session's copy of %s with the pending migrations", st.from);
    struct gen_opts go = {.label = label, .allow_hazards = allow_hazards, .base_url = tmpurl, .base_what = what};
    r = gen_run(s, &go);
    free(what);
    if (!r) {
        char *when = utc_now();
        strvec_pushf(&st.log, "committed %s %s", when, label);
        free(when);
        if (state_write(s, &st) < 0)
            r = EXIT_ERR;
    }
out:
    if (tmpdb && tmpurl && rcopy_drop_database(c.url, tmpdb) < 0)
        warn("session: could not drop the database %s; drop it by hand", tmpdb);
    free(tmpdb);
    free(tmpurl);
    cluster_release(&c);
    state_release(&st);
    return r;
}
