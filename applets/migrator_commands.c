/*
 * migrator_commands.c — what the commands of `migrator` do (init, migrate,
 * create, list, status, baseline, lint, import, generate), and the helpers
 * they share: the folder, the URL and connection, the bundle check, the
 * mig_opts of a run and the status-to-exit-code switch. Their options, help
 * texts and table, the help and the front door (cmd_migrator) are
 * applets/migrator.c.
 */
#include "lib/common.h"
#include "applets/migrator_int.h"
#include "lib/bundle.h"
#include "lib/settings.h"
#include "lib/fs.h"
#include "lib/migrate.h"
#include "lib/miglint.h"
#include "lib/opt.h"
#include "lib/pg.h"
#include "ops/code.h"
#include "ops/generate.h"
#include "ops/migimport.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---- settings, URL, folder ---- */

static const char *migration_dir(void)
{
    enum set_source src = set_source(migrator_S, SET_MIGRATION_DIR);
    if (src == SET_SRC_ENV || src == SET_SRC_FILE || src == SET_SRC_FLAG)
        return set_get(migrator_S, SET_MIGRATION_DIR);
    return "migration";
}

static const char *url_or_die(void)
{
    const char *url = set_get(migrator_S, SET_DB_URL);
    if (!url || !*url)
        die(EXIT_MISSING, "no database URL: pass -u URL or set DB_URL (or PGURL)");
    if (!pg_url_supported(url)) {
        char *m = pg_mask_url(url);
        die(EXIT_MISSING, "unsupported database URL '%s': expected postgresql://... or key=value "
                          "(SQLite is not supported)", m);
    }
    return url;
}

static PGconn *connect_or_die(void)
{
    PGconn *conn = pg_connect(url_or_die());
    if (!conn)
        dbtool_exit(EXIT_ERR);
    return conn;
}

static void scan_or_die(const char *dir, struct mig_folder *f)
{
    if (!is_dir(dir))
        die(EXIT_MISSING, "the migration folder '%s' does not exist (pass -d DIR or set MIGRATION_DIR; "
                          "'migrator create' makes it)", dir);
    if (mig_scan(dir, f) < 0)
        dbtool_exit(EXIT_MISSING);
}

static bool want_json(const struct command *c)
{
    if (!migrator_opt_format || !strcmp(migrator_opt_format, "text"))
        return false;
    if (!strcmp(migrator_opt_format, "json"))
        return true;
    usage_die(c->usage, "--format expects text or json, not '%s'", migrator_opt_format);
}

/* The bundle for mig_migrate(): APPLY false checks the version, true applies it. */
static int init_bundle(PGconn *conn, bool apply, void *arg)
{
    (void)arg;
    if (apply) {
        int r = bundle_apply(conn, NULL, set_get(migrator_S, SET_HECTIC_INHERITANCE_SQL));
        if (r == 0)
            debug("migrator", "hectic bundle %s applied", BUNDLE_VERSION);
        return r;
    }
    /* bundle_db_version() in one round trip: no table (42P01/3F000) is no bundle */
    struct strbuf v = STRBUF_INIT;
    int r = 0;
    PGresult *res = PQexec(conn, "SELECT coalesce(version, '') FROM hectic.version WHERE name = 'hectic'");
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        if (PQntuples(res) == 1) {
            strbuf_addstr(&v, PQgetvalue(res, 0, 0));
            r = 1;
        }
    } else {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (!state || (strcmp(state, "42P01") && strcmp(state, "3F000"))) {
            pg_print_result_error(res, "cannot read hectic.version");
            r = -1;
        }
    }
    PQclear(res);
    if (r == 1 && strcmp(v.buf, BUNDLE_VERSION)) {
        char *up = xasprintf("upgrade-%s", v.buf);
        bool upgradable = bundle_find(up) != NULL;
        free(up);
        if (upgradable)
            error("the database has hectic bundle %s (made by the shell tools or an older dbtool); "
                  "migrator needs %s: run 'dbtool bundle upgrade -u URL' once (it keeps hectic.migration, "
                  "so nothing is re-applied), then migrate again; nothing was changed",
                  v.buf, BUNDLE_VERSION);
        else
            error("the database has hectic bundle %s, this migrator brings %s and cannot upgrade from it; "
                  "nothing was changed (use a matching dbtool)", v.buf, BUNDLE_VERSION);
        r = -1;
    }
    strbuf_release(&v);
    return r < 0 ? -1 : 0;
}

/*
 * Whether gen_baseline_hook() passes STEP without reading the database: its
 * file's leading comment block has no "-- dbtool-baseline: " line (the header
 * ops/generate.h documents). Reads the first 4 KB.
 */
static bool no_baseline(const struct mig_step *step, void *arg)
{
    (void)arg;
    const struct mig *m = step->m;
    const char *file = step->down ? m->down : m->up;
    if (step->owned || !file || m->multi)
        return true;
    FILE *f = fopen(file, "re");
    if (!f)
        return false; /* let the hook say why */
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    for (const char *p = buf; p && p[0] == '-' && p[1] == '-';) {
        if (starts_with(p, "-- dbtool-baseline: "))
            return false;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return true;
}

/* init_bundle() as ops/code's callbacks take it: check, then apply. */
static int init_bundle_both(PGconn *conn, void *arg)
{
    return init_bundle(conn, false, arg) < 0 || init_bundle(conn, true, arg) < 0 ? -1 : 0;
}

static struct mig_opts mig_options(void)
{
    struct mig_opts o = {
        .vars = &migrator_opt_vars,
        .force = migrator_opt_force != 0,
        .accept_changed = migrator_opt_accept != 0,
        .verbose = migrator_opt_verbose != 0,
        .dry_run = migrator_opt_dry_run != 0,
        .progress = !migrator_opt_quiet,
        .out = stdout,
        .lock_timeout = set_get(migrator_S, SET_MIGRATION_LOCK_TIMEOUT),
        .statement_timeout = set_get(migrator_S, SET_MIGRATION_STATEMENT_TIMEOUT),
        .lock_retries = set_int(migrator_S, SET_MIGRATION_LOCK_RETRIES),
        .retry_delay = 0.5,
        .init = init_bundle,
        .bundle_version = BUNDLE_VERSION,
    };
    return o;
}

static int status_exit(enum mig_status st)
{
    switch (st) {
    case MIG_OK:
    case MIG_AT_TARGET:
        return EXIT_OK;
    case MIG_NOT_ENOUGH:
    case MIG_NO_SUCH:
    case MIG_NONE:
        return EXIT_ERR;
    case MIG_MISMATCH:
    case MIG_CHANGED:
    case MIG_BLOCKED:
        return EXIT_AMBIGUOUS;
    case MIG_CONFIG:
        return EXIT_MISSING;
    case MIG_FAILED:
        return EXIT_MIGRATION;
    case MIG_ERROR:
        return EXIT_ERR;
    }
    BUG("mig status %d", (int)st);
}

/* ---- init ---- */

int migrator_do_init(int npos, char **pos)
{
    (void)pos;
    if (npos)
        die(EXIT_UNKNOWN, "init argument '%s' does not exists", pos[0]);
    if (migrator_opt_dry_run) {
        const char *inh = set_get(migrator_S, SET_HECTIC_INHERITANCE_SQL);
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "-- migrator init --dry-run: the SQL 'init' runs (hectic bundle %s); nothing was changed\n",
                    BUNDLE_VERSION);
        for (const struct bundle_part *p = bundle_parts; p->name; p++) {
            if (!bundle_is_part(p))
                continue;
            strbuf_addf(&sb, "\n-- part %s\nBEGIN;\n", p->name);
            if (bundle_part_sql(p, inh, &sb) < 0) {
                strbuf_release(&sb);
                return EXIT_ERR;
            }
            if (sb.len && sb.buf[sb.len - 1] != '\n')
                strbuf_addch(&sb, '\n');
            strbuf_addstr(&sb, "COMMIT;\n");
        }
        fwrite(sb.buf, 1, sb.len, stdout);
        strbuf_release(&sb);
        return 0;
    }
    PGconn *conn = connect_or_die();
    int rc = EXIT_OK;
    if (mig_lock(conn, -1) < 0 || init_bundle(conn, false, NULL) < 0 || init_bundle(conn, true, NULL) < 0)
        rc = EXIT_ERR;
    else
        info("hectic bundle %s applied", BUNDLE_VERSION);
    mig_unlock(conn);
    PQfinish(conn);
    return rc;
}

/* ---- migrate ---- */

static long parse_count(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (!*s || *end || errno || n <= 0)
        return -1;
    return n;
}

/* POS: the direction and its argument (`migrate` itself dropped). */
int migrator_migrate_dir(int npos, char **pos)
{
    if (npos < 1)
        die(EXIT_MISSING, "migrate needs a direction: 'migrate up [N]', 'migrate down [N]' or 'migrate to NAME'");
    const char *dir = pos[0];
    struct mig_request req = {MIG_REQ_UP, 1, NULL};
    if (!strcmp(dir, "up")) {
        if (npos > 1) {
            const char *a = pos[1];
            if (!strcmp(a, "all") || !strcmp(a, "latest") || !strcmp(a, "head"))
                req.n = 0;
            else if ((req.n = parse_count(a)) < 0)
                usage_die(migrator_usage_migrate, "'migrate up' expects a positive number, all, latest or head, not '%s'", a);
        }
    } else if (!strcmp(dir, "down")) {
        req.kind = MIG_REQ_DOWN;
        if (npos > 1 && !strcmp(pos[1], "all"))
            req.n = 0;
        else if (npos > 1 && (req.n = parse_count(pos[1])) < 0)
            usage_die(migrator_usage_migrate, "'migrate down' expects a positive number or all, not '%s'", pos[1]);
    } else if (!strcmp(dir, "to")) {
        req.kind = MIG_REQ_TO;
        if (npos < 2)
            die(EXIT_MISSING, "'migrate to' needs a target: a migration name, latest, head or last");
        const char *a = pos[1];
        req.name = !strcmp(a, "latest") || !strcmp(a, "head") || !strcmp(a, "last") ? NULL : a;
    } else {
        static const char *const dirs[] = {"up", "down", "to"};
        const char *near = opt_suggest(dir, dirs, ARRAY_SIZE(dirs));
        if (near)
            die(EXIT_UNKNOWN, "unknown migrate direction '%s' (did you mean '%s'? up, down or to)", dir, near);
        die(EXIT_UNKNOWN, "unknown migrate direction '%s' (up, down or to)", dir);
    }
    if (npos > 2)
        die(EXIT_UNKNOWN, "`migrate %s` argument %s does not exists", dir, pos[2]);

    const char *mdir = migration_dir();
    url_or_die();
    struct mig_folder f;
    double t0 = now_monotonic();
    scan_or_die(mdir, &f);
    double t1 = now_monotonic();
    PGconn *conn = connect_or_die();
    debug("migrate", "scan of %zu entries %.1f ms, connect %.1f ms", f.nr, (t1 - t0) * 1000,
          (now_monotonic() - t1) * 1000);
    char *cache = mig_hash_cache_path(set_get(migrator_S, SET_DBTOOL_CACHE_DIR), mdir);
    mig_hash_cache_open(&f, cache);
    free(cache);
    struct mig_opts o = mig_options();
    o.close_after = true;
    /* a generated migration's header holds the schema it was generated against (ops/generate) */
    bool force_drift = migrator_opt_force_drift != 0;
    o.before_step = gen_baseline_hook;
    o.before_arg = &force_drift;
    o.before_step_idle = no_baseline;
    /* with a code directory, its objects are dropped and created around the steps (issue 17) */
    const char *cdir = set_get(migrator_S, SET_CODE_DIR);
    enum mig_status st;
    if (cdir && is_dir(cdir) && !migrator_opt_dry_run) {
        mig_resolve_all(&f);
        st = code_migrate(conn, cdir, &f, &req, &o, init_bundle_both, NULL);
    } else {
        st = mig_migrate(conn, &f, &req, &o);
    }
    mig_hash_cache_save(&f);
    PQfinish(conn);
    mig_folder_release(&f);
    return status_exit(st);
}

int migrator_do_migrate(int npos, char **pos)
{
    return migrator_migrate_dir(npos, pos);
}

/* ---- create ---- */

static int write_stub(const char *path, const char *text)
{
    if (write_file_atomic(path, text, strlen(text), 0644) < 0)
        return error_errno("cannot write '%s'", path);
    return 0;
}

int migrator_do_create(int npos, char **pos)
{
    if (npos > 1)
        die(EXIT_UNKNOWN, "create argument '%s' does not exists", pos[1]);
    if (npos && migrator_opt_name && strcmp(migrator_opt_name, pos[0]))
        die(EXIT_UNKNOWN, "create argument '%s' does not exists (the name is already --name %s)", pos[0], migrator_opt_name);
    const char *name = npos ? pos[0] : migrator_opt_name;
    const char *why;
    if (name && !mig_label_valid(name, &why))
        die(EXIT_UNKNOWN, "invalid migration name '%s': %s", name, why);
    const char *dir = migration_dir();
    char *label = name ? xstrdup(name) : mig_random_label();
    char *path;
    int dfd;
    if (mig_create_folder(dir, label, &path, &dfd) < 0)
        dbtool_exit(EXIT_ERR);
    const char *mname = strrchr(path, '/') + 1;
    char *up = path_join(path, "up.sql"), *down = path_join(path, "down.sql");
    char *up_text = xasprintf("-- %s: up (runs in one transaction with its hectic.migration row)\n", mname);
    char *down_text = xasprintf("-- %s: down (reverts up.sql)\n", mname);
    int rc = write_stub(up, up_text) < 0 || write_stub(down, down_text) < 0 ? EXIT_ERR : EXIT_OK;
    close(dfd);
    if (!rc) {
        printf("%s\n", path);
        info("created migration %s", mname);
    }
    free(up);
    free(down);
    free(up_text);
    free(down_text);
    free(path);
    free(label);
    return rc;
}

/* ---- list ---- */

int migrator_do_list(int npos, char **pos)
{
    if (npos)
        die(EXIT_UNKNOWN, "list argument '%s' does not exists", pos[0]);
    bool json = want_json(migrator_find_cmd("list"));
    struct mig_folder f;
    scan_or_die(migration_dir(), &f);
    int rc = EXIT_OK;
    struct strbuf sb = STRBUF_INIT;
    if (json)
        strbuf_addch(&sb, '[');
    size_t b = 0;
    bool first = true;
    for (size_t i = 0; i <= f.nr; i++) {
        /* bad entries in name order among the migrations */
        while (!migrator_opt_raw && b < f.bad_nr && (i == f.nr || strcmp(f.bad[b].name, f.v[i].name) < 0)) {
            const struct mig_bad *x = &f.bad[b++];
            bool notdir = starts_with(x->why, "not a directory") || starts_with(x->why, "a dangling");
            if (json) {
                strbuf_addstr(&sb, first ? "\n  {\"name\": " : ",\n  {\"name\": ");
                strbuf_add_json_str(&sb, x->name);
                strbuf_addstr(&sb, ", \"valid\": false, \"reason\": ");
                strbuf_add_json_str(&sb, x->why);
                strbuf_addch(&sb, '}');
            } else {
                strbuf_addf(&sb, "%s: %s\n", x->name, notdir ? "not a directory" : "not a migration name");
            }
            first = false;
        }
        if (i == f.nr)
            break;
        struct mig *m = &f.v[i];
        if (migrator_opt_raw) {
            strbuf_addf(&sb, "%s\n", m->name);
            continue;
        }
        if (mig_resolve(&f, m) < 0) {
            rc = EXIT_MISSING;
            continue;
        }
        bool up = m->up || m->has_up_dir, down = m->down || m->has_down_dir;
        if (json) {
            strbuf_addstr(&sb, first ? "\n  {\"name\": " : ",\n  {\"name\": ");
            strbuf_add_json_str(&sb, m->name);
            strbuf_addf(&sb, ", \"valid\": true, \"up\": %s, \"down\": %s, \"multi_file\": %s, \"transaction\": %s",
                        m->up ? "true" : "false", m->down ? "true" : "false", m->multi ? "true" : "false",
                        m->no_tx ? "false" : "true");
            if (!m->up) {
                strbuf_addstr(&sb, ", \"reason\": ");
                strbuf_add_json_str(&sb, m->why ? m->why : "no up file");
            }
            strbuf_addch(&sb, '}');
        } else if (up && down) {
            strbuf_addf(&sb, "%s\n", m->name);
        } else {
            strbuf_addf(&sb, "%s: missing%s%s\n", m->name, up ? "" : " up.sql", down ? "" : " down.sql");
        }
        first = false;
    }
    if (json)
        strbuf_addstr(&sb, first ? "]\n" : "\n]\n");
    if (rc == EXIT_OK)
        fwrite(sb.buf, 1, sb.len, stdout);
    strbuf_release(&sb);
    mig_folder_release(&f);
    return rc;
}

/* ---- status ---- */

int migrator_do_status(int npos, char **pos)
{
    if (npos)
        die(EXIT_UNKNOWN, "status argument '%s' does not exists", pos[0]);
    bool json = want_json(migrator_find_cmd("status"));
    const char *dir = migration_dir();
    url_or_die();
    struct mig_folder f;
    scan_or_die(dir, &f);
    if (mig_resolve_all(&f) < 0) {
        mig_folder_release(&f);
        return EXIT_MISSING;
    }
    PGconn *conn = connect_or_die();
    struct mig_db db;
    struct mig_status_counts c;
    int rc = EXIT_OK;
    if (mig_db_read(conn, &db, true) < 0) {
        rc = EXIT_ERR;
    } else {
        if (!db.has_table)
            warn("no hectic.migration table yet: nothing is applied (run 'migrator init' or 'migrate')");
        if (mig_status_print(stdout, &f, &db, json, &c) < 0)
            rc = EXIT_ERR;
        else if (migrator_opt_exit_code) {
            if (c.n[MIG_ST_CHANGED] || c.n[MIG_ST_MISSING] || c.n[MIG_ST_PARTIAL] || c.n[MIG_ST_INCOMPLETE] ||
                c.n[MIG_ST_BAD])
                rc = EXIT_AMBIGUOUS;
            else if (c.n[MIG_ST_PENDING])
                rc = EXIT_ERR;
        }
        mig_db_release(&db);
    }
    PQfinish(conn);
    mig_folder_release(&f);
    return rc;
}

/* ---- baseline ---- */

int migrator_do_baseline(int npos, char **pos)
{
    if (npos > 1)
        die(EXIT_UNKNOWN, "baseline argument '%s' does not exists", pos[1]);
    const char *upto = npos ? pos[0] : NULL;
    if (upto && (!strcmp(upto, "latest") || !strcmp(upto, "head") || !strcmp(upto, "last")))
        upto = NULL;
    const char *dir = migration_dir();
    url_or_die();
    struct mig_folder f;
    scan_or_die(dir, &f);
    PGconn *conn = connect_or_die();
    int rc;
    if (init_bundle(conn, false, NULL) < 0 || init_bundle(conn, true, NULL) < 0) {
        rc = EXIT_ERR;
    } else {
        size_t n = 0;
        enum mig_status st = mig_baseline(conn, &f, upto, &n);
        rc = status_exit(st);
        if (st == MIG_OK)
            info("baseline: recorded %zu migration%s as applied without running %s (up to %s)", n,
                 n == 1 ? "" : "s", n == 1 ? "it" : "them", upto ? upto : "the newest");
    }
    PQfinish(conn);
    mig_folder_release(&f);
    return rc;
}

/* ---- lint ---- */

int migrator_do_lint(int npos, char **pos)
{
    bool json = want_json(migrator_find_cmd("lint"));
    const char *dir = migration_dir();
    struct mig_folder f;
    scan_or_die(dir, &f);
    struct mig **list = xcalloc(f.nr ? f.nr : 1, sizeof(*list));
    size_t n = 0;
    int rc = EXIT_OK;
    const char *url = set_get(migrator_S, SET_DB_URL);
    if (npos) {
        for (int i = 0; i < npos; i++) {
            struct mig *m = (struct mig *)mig_find(&f, pos[i]);
            if (!m) {
                /* a path to the folder is fine too */
                const char *base = strrchr(pos[i], '/');
                m = (struct mig *)mig_find(&f, base && base[1] ? base + 1 : pos[i]);
            }
            if (!m)
                die(EXIT_ERR, "no migration named '%s' in '%s'", pos[i], dir);
            list[n++] = m;
        }
    } else if (migrator_opt_all || !url || !*url) {
        if (!migrator_opt_all)
            info("lint: no database URL: linting every migration of %s (--all)", dir);
        for (size_t i = 0; i < f.nr; i++)
            list[n++] = &f.v[i];
    } else {
        PGconn *conn = connect_or_die();
        struct mig_db db;
        if (mig_db_read(conn, &db, false) < 0) {
            PQfinish(conn);
            free(list);
            mig_folder_release(&f);
            return EXIT_ERR;
        }
        for (size_t i = 0; i < f.nr; i++)
            if (!mig_db_find(&db, f.v[i].name))
                list[n++] = &f.v[i];
        mig_db_release(&db);
        PQfinish(conn);
    }
    struct lint_opts lo = {&migrator_opt_vars, set_get(migrator_S, SET_MIGRATION_LOCK_TIMEOUT)};
    struct lint_result res;
    if (miglint_run(&f, list, n, &lo, &res) < 0) {
        rc = EXIT_ERR;
    } else {
        miglint_print(stdout, &res, json);
        if (!json || !migrator_opt_quiet)
            info("lint: %zu finding%s in %zu migration%s%s", res.nr, res.nr == 1 ? "" : "s", res.migrations,
                 res.migrations == 1 ? "" : "s",
                 res.nr ? "; '-- dbtool:allow RULE' before a statement accepts a finding" : "");
        if (res.nr)
            rc = EXIT_ERR;
        if (res.config_error)
            rc = EXIT_MISSING;
    }
    miglint_release(&res);
    free(list);
    mig_folder_release(&f);
    return rc;
}

/* ---- import ---- */

int migrator_do_import(int npos, char **pos)
{
    if (!migrator_opt_from)
        die(EXIT_MISSING, "import needs --from TOOL (dbmate, golang-migrate, goose, flyway or sqitch)");
    if (npos != 1)
        die(EXIT_MISSING, "import needs the folder to read: migrator import --from %s DIR", migrator_opt_from);
    return migimport_run(migrator_opt_from, pos[0], migration_dir(), migrator_opt_dry_run != 0);
}

/* ---- generate ---- */

int migrator_do_generate(int npos, char **pos)
{
    if (npos < 1)
        die(EXIT_MISSING, "generate needs a LABEL (the name after the timestamp)");
    if (npos > 1)
        die(EXIT_UNKNOWN, "generate argument '%s' does not exists", pos[1]);
    struct gen_opts go = {pos[0], migration_dir(), migrator_opt_allow, migrator_opt_server, migrator_opt_plain != 0,
                          migrator_opt_blocking != 0, migrator_opt_mock != 0, migrator_opt_dry_run != 0};
    return gen_run(migrator_S, &go);
}

