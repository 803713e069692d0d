/*
 * migrator.c — `migrator` (and `database migrator`): versioned up/down
 * migrations tracked in hectic.migration (SPEC section 7). This file parses
 * the command line, resolves the URL and the folder, and picks exit codes;
 * the folder, the checks, the lock and running steps are lib/migrate.c, the
 * scripts run through lib/sqlscript.c, `init` is lib/bundle.c.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/bundle.h"
#include "lib/settings.h"
#include "lib/fs.h"
#include "lib/migrate.h"
#include "lib/opt.h"
#include "lib/pager.h"
#include "lib/pg.h"
#include "ops/code.h"
#include "ops/generate.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static const char *const commands[] = {"init", "migrate", "create", "list", "status", "generate", "help", NULL};

static const char *const usage_main[] = {
    "migrator [-u|--db-url URL] [-d|--migration-dir DIR] COMMAND [ARGS]",
    "",
    "Versioned migrations for PostgreSQL, tracked in hectic.migration. Global options may\n"
    "come before or after the command. URL: -u, else DB_URL, else PGURL. DIR: -d, else\n"
    "MIGRATION_DIR (environment or dbtool.yaml), else ./migration ('database migrator'\n"
    "passes the project's $DATABASE_DIR/migration).",
    "commands:\n"
    "    init [--dry-run]                   apply the hectic bundle (--dry-run: print its SQL)\n"
    "    migrate up [N|all|latest|head]     apply the next N pending migrations (default 1)\n"
    "    migrate down [N|all]               revert the newest N applied migrations (default 1)\n"
    "    migrate to NAME|latest|head|last   go up or down to NAME (latest = head = last =\n"
    "                                       the newest migration in DIR)\n"
    "    create [--name NAME]               new DIR/<UTC YYYYMMDDHHMMSS>-NAME/{up,down}.sql\n"
    "    list [--raw]                       the migrations in DIR\n"
    "    status                             applied, changed, missing, pending\n"
    "    generate LABEL                     write the migration from the migrations to the sources\n"
    "    help, --version",
    "Folder: DIR/YYYYMMDDHHMMSS-label/up.sql + down.sql, or up/entrypoint.sql +\n"
    "down/entrypoint.sql (multi-file: \\ir includes resolve beside the entrypoint), applied\n"
    "in name order; other entries are ignored. An optional migration.yaml beside them may\n"
    "say 'transaction: false' (CREATE INDEX CONCURRENTLY): that migration then runs\n"
    "statement by statement outside a transaction and is recorded after it succeeds.",
    "Each other migration runs in its own transaction on one connection: BEGIN; SET LOCAL\n"
    "hectic.migration_mode = 'on' (DML on hectic.immutable tables is allowed); the script;\n"
    "the hectic.migration row; COMMIT. A failure rolls that migration back (exit 4);\n"
    "earlier ones stay. 'migrate' applies the bundle first ('init'), holds the advisory\n"
    "lock " MIG_LOCK_KEY_STR " (pg_try_advisory_lock, polled: a second run waits and says\n"
    "so), and checks that the applied migrations are the first ones of DIR in order (else\n"
    "exit 2 with both lists; --force goes on: up applies every unapplied folder migration\n"
    "in name order, down reverts the newest applied ones).",
    "Hash: the lower-case hex sha256 of the bytes of the up file (up.sql, or\n"
    "up/entrypoint.sql for the multi-file layout; included files are not hashed), as the\n"
    "shell migrator recorded it. 'migrate' refuses (exit 2) while an applied migration's\n"
    "up file changed; --accept-changed records the new hash and goes on.",
    "A database made by the shell tools carries hectic bundle 0.1.0: migrator refuses it\n"
    "(nothing changed, exit 1) until 'dbtool bundle upgrade' has carried it to " BUNDLE_VERSION ";\n"
    "its hectic.migration rows are kept and nothing is re-applied.",
    "Exit: 0 ok or already at the target, 1 error or not enough migrations for N, 2 history\n"
    "mismatch / changed migration / two commands, 3 no URL or folder or bad migration.yaml,\n"
    "4 a migration failed (rolled back), 9 unknown command or option.",
    NULL};

static const char *const usage_init[] = {
    "migrator [GLOBAL OPTIONS] init [--dry-run]", "",
    "Apply the hectic bundle " BUNDLE_VERSION " (schema hectic: version, secrets, the migration\n"
    "table, the inheritance rules), each part in its own transaction; idempotent.\n"
    "--dry-run prints the SQL and touches nothing (no URL needed).",
    NULL};
static const char *const usage_migrate[] = {
    "migrator [GLOBAL OPTIONS] migrate up [N|all|latest|head]",
    "migrator [GLOBAL OPTIONS] migrate down [N|all]",
    "migrator [GLOBAL OPTIONS] migrate to NAME|latest|head|last",
    "",
    "up: the next N pending migrations (default 1; all, latest, head: every pending one).\n"
    "down: revert the newest N applied migrations (default 1), newest first.\n"
    "to: revert the applied migrations newer than NAME, then apply the pending ones up\n"
    "to NAME (latest, head and last all name the newest migration in DIR).",
    "Nothing to do: a message and exit 0. N larger than what is pending (up) or applied\n"
    "(down): exit 1 and nothing is done. Runs 'init' first, under the migrator lock.",
    NULL};
static const char *const usage_create[] = {
    "migrator [GLOBAL OPTIONS] create [--name NAME]", "",
    "Create DIR/<UTC YYYYMMDDHHMMSS>-NAME/ with up.sql and down.sql (a comment line\n"
    "each) and print its path. Without --name a random pronounceable name is used. The\n"
    "timestamp is later than every migration already in DIR (creates in the same second\n"
    "get the next seconds), under a lock on DIR. NAME must not contain '/'.",
    NULL};
static const char *const usage_list[] = {
    "migrator [GLOBAL OPTIONS] list [--raw]", "",
    "The migration names in DIR, in order. Without --raw, incomplete ones are marked\n"
    "(no up or down file) and so are multi-file and no-transaction ones.",
    NULL};
static const char *const usage_status[] = {
    "migrator [GLOBAL OPTIONS] status", "",
    "One line per migration: applied, changed (the up file no longer has the recorded\n"
    "hash), missing (applied, not in DIR), pending, incomplete (no up file); then a\n"
    "summary line. Read-only: does not apply the bundle or take the lock.",
    NULL};
static const char *const usage_help[] = {"migrator help", NULL};
static const char *const usage_generate[] = {
    "migrator [GLOBAL OPTIONS] generate [--allow-hazards=LIST] [--dry-run] [-m|--mock]\n"
    "                                   [--plain-constraints] [--blocking-indexes] [--server URL] LABEL",
    "",
    "Write DIR/<UTC YYYYMMDDHHMMSS>-LABEL/ with the migration that takes the schema the\n"
    "migrations build to the one the sources build. Two sides, built at once in throwaway\n"
    "clusters (as 'database diff' builds them; --server URL: as databases on that server):\n"
    "the hectic bundle plus 'migrate up all' of DIR, and a hydrate of $DATABASE_SOURCE\n"
    "(needs LOCAL_DIR). Their catalogs are diffed both ways: up.sql and down.sql (ordered\n"
    "DDL, ALTER where PostgreSQL can; see 'dbtool schema diff --help'), plus INSERT/UPDATE/\n"
    "DELETE for the rows of tables inheriting hectic.immutable, in migration mode.\n"
    "migration.yaml (transaction: false) when a statement cannot run in a transaction.\n"
    "Nothing differs: 'nothing to generate', exit 0, nothing written.",
    "Safe by default: FK/CHECK added NOT VALID then validated, SET NOT NULL through a\n"
    "validated CHECK, indexes on existing tables CONCURRENTLY (--plain-constraints and\n"
    "--blocking-indexes turn that off). Every hazard (data-loss, table-rewrite,\n"
    "full-scan-under-lock, blocking-index-build, mass-drop; named with 'migrator lint' rules\n"
    "such as drop-column) is printed and refuses the migration unless --allow-hazards\n"
    "lists its class, all its rules, or 'all'. The header of each file keeps the report\n"
    "and the baseline: the schema hash the migration was generated against, checked by\n"
    "'migrate' (--force-after-drift applies it to a database whose schema differs).",
    "Exit: 0 written (its path on stdout) or nothing to generate, 1 a hazard refused or a\n"
    "side failed to build, 3 no LOCAL_DIR, 4 a migration of DIR failed, 9 bad label or\n"
    "hazard name.",
    NULL};

/* options */
static const char *opt_url, *opt_dir, *opt_name, *opt_inherits;
static struct strvec opt_vars = STRVEC_INIT;
static int opt_version, opt_dry_run, opt_raw, opt_force, opt_accept, opt_verbose;
static int opt_force_drift, opt_plain, opt_blocking, opt_mock;
static const char *opt_allow, *opt_server;

#define GLOBAL_OPTS                                                                                \
    OPT_STRING('u', "db-url", &opt_url, "URL", "database URL (default $DB_URL, else $PGURL)"),     \
    OPT_STRING('d', "migration-dir", &opt_dir, "DIR", "migration folder (default $MIGRATION_DIR, else ./migration)"), \
    OPT_LIST('v', "set", &opt_vars, "NAME=VALUE", "script variable for the migrations (repeatable)"), \
    OPT_STRING(0, "inherits", &opt_inherits, "X", "deprecated, ignored (the bundle brings inheritance)"), \
    OPT_BOOL(0, "version", &opt_version, "print the version and exit")

static bool is_command(const char *s)
{
    for (int i = 0; commands[i]; i++)
        if (!strcmp(commands[i], s))
            return true;
    return false;
}

/* Whether the option word A (e.g. "-u", "--set", "-vX") takes the next argument. */
static bool takes_next(const char *a)
{
    static const char *const longs[] = {"--db-url", "--migration-dir", "--set", "--inherits", "--name", "--allow-hazards", "--server"};
    if (a[1] == '-') {
        for (size_t i = 0; i < ARRAY_SIZE(longs); i++)
            if (!strcmp(a, longs[i]))
                return true;
        return false;
    }
    for (const char *c = a + 1; *c; c++)
        if (*c == 'u' || *c == 'd' || *c == 'v')
            return c[1] == 0;
    return false;
}

/* The command word in ARGV (first non-option, skipping option values), or NULL. */
static const char *find_command(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--"))
            return i + 1 < argc ? argv[i + 1] : NULL;
        if (a[0] != '-' || !a[1])
            return a;
        if (takes_next(a))
            i++;
    }
    return NULL;
}

static void main_help(FILE *f)
{
    static const struct option opts[] = {GLOBAL_OPTS, OPT_END()};
    struct strbuf sb = STRBUF_INIT;
    usage_format(&sb, usage_main, opts);
    if (f == stdout)
        pager_write(sb.buf, sb.len);
    else
        fputs(sb.buf, f);
    strbuf_release(&sb);
}

/* A surplus positional argument: another command (exit 2) or garbage (exit 9). */
static NORETURN void surplus(const char *const *usage, const char *cmd, const char *arg)
{
    if (is_command(arg) || !strcmp(arg, "up") || !strcmp(arg, "down") || !strcmp(arg, "to"))
        die(EXIT_AMBIGUOUS, "two commands given: '%s' and '%s' (run one at a time)", cmd, arg);
    usage_die(usage, "unexpected argument '%s'", arg);
}

/* The settings with -u and -d applied (cmd_migrator derives them once). */
static struct settings mig_settings;
static const struct settings *S;

static const char *migration_dir(void)
{
    enum set_source src = set_source(S, SET_MIGRATION_DIR);
    if (src == SET_SRC_ENV || src == SET_SRC_FILE || src == SET_SRC_FLAG)
        return set_get(S, SET_MIGRATION_DIR);
    return "migration";
}

static const char *url_or_die(void)
{
    const char *url = set_get(S, SET_DB_URL);
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

/* `init` as mig_migrate() runs it: refuse another bundle version clearly, then apply. */
static int init_bundle(PGconn *conn, void *arg)
{
    (void)arg;
    struct strbuf v = STRBUF_INIT;
    int r = bundle_db_version(conn, &v);
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
    } else if (r >= 0) {
        r = bundle_apply(conn, NULL, set_get(S, SET_HECTIC_INHERITANCE_SQL));
        if (r == 0)
            debug("migrator", "hectic bundle %s applied", BUNDLE_VERSION);
    }
    strbuf_release(&v);
    return r;
}

static int do_init(int npos, char **pos)
{
    if (npos > 1)
        surplus(usage_init, "init", pos[1]);
    if (opt_dry_run) {
        const char *inh = set_get(S, SET_HECTIC_INHERITANCE_SQL);
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
    if (mig_lock(conn, -1) < 0 || init_bundle(conn, NULL) < 0)
        rc = EXIT_ERR;
    else
        info("hectic bundle %s applied", BUNDLE_VERSION);
    mig_unlock(conn);
    PQfinish(conn);
    return rc;
}

static long parse_count(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (!*s || *end || errno || n <= 0)
        return -1;
    return n;
}

static int do_migrate(int npos, char **pos)
{
    if (npos < 2)
        die(EXIT_MISSING, "migrate needs a direction: 'migrate up [N]', 'migrate down [N]' or 'migrate to NAME'");
    const char *dir = pos[1];
    struct mig_request req = {MIG_REQ_UP, 1, NULL};
    if (!strcmp(dir, "up")) {
        if (npos > 2) {
            const char *a = pos[2];
            if (!strcmp(a, "all") || !strcmp(a, "latest") || !strcmp(a, "head"))
                req.n = 0;
            else if ((req.n = parse_count(a)) < 0) {
                if (is_command(a) || !strcmp(a, "down") || !strcmp(a, "to"))
                    surplus(usage_migrate, "up", a);
                usage_die(usage_migrate, "'migrate up' expects a positive number, all, latest or head, not '%s'", a);
            }
        }
    } else if (!strcmp(dir, "down")) {
        req.kind = MIG_REQ_DOWN;
        if (npos > 2 && !strcmp(pos[2], "all"))
            req.n = 0;
        else if (npos > 2 && (req.n = parse_count(pos[2])) < 0) {
            if (is_command(pos[2]) || !strcmp(pos[2], "up") || !strcmp(pos[2], "to"))
                surplus(usage_migrate, "down", pos[2]);
            usage_die(usage_migrate, "'migrate down' expects a positive number or all, not '%s'", pos[2]);
        }
    } else if (!strcmp(dir, "to")) {
        req.kind = MIG_REQ_TO;
        if (npos < 3)
            die(EXIT_MISSING, "'migrate to' needs a target: a migration name, latest, head or last");
        const char *a = pos[2];
        req.name = !strcmp(a, "latest") || !strcmp(a, "head") || !strcmp(a, "last") ? NULL : a;
    } else if (is_command(dir)) {
        surplus(usage_migrate, "migrate", dir);
    } else {
        usage_die(usage_migrate, "unknown migrate direction '%s' (up, down or to)", dir);
    }
    if (npos > 3)
        surplus(usage_migrate, dir, pos[3]);

    const char *mdir = migration_dir();
    const char *url = url_or_die();
    (void)url;
    struct mig_folder f;
    double t0 = now_monotonic();
    scan_or_die(mdir, &f);
    double t1 = now_monotonic();
    PGconn *conn = connect_or_die();
    debug("migrate", "scan of %zu entries %.1f ms, connect %.1f ms", f.nr, (t1 - t0) * 1000,
          (now_monotonic() - t1) * 1000);
    bool force_drift = opt_force_drift != 0;
    struct mig_opts o = {&opt_vars, opt_force != 0, opt_accept != 0, opt_verbose != 0, stdout,
                         gen_baseline_hook, &force_drift};
    /* with a code directory, its objects are dropped and created around the steps (issue 17) */
    const char *cdir = set_get(S, SET_CODE_DIR);
    enum mig_status st = cdir && is_dir(cdir) ? code_migrate(conn, cdir, &f, &req, &o, init_bundle, NULL)
                                              : mig_migrate(conn, &f, &req, &o, init_bundle, NULL);
    PQfinish(conn);
    mig_folder_release(&f);
    switch (st) {
    case MIG_OK:
    case MIG_AT_TARGET:
        return EXIT_OK;
    case MIG_NOT_ENOUGH:
    case MIG_NO_SUCH:
        return EXIT_ERR;
    case MIG_MISMATCH:
    case MIG_CHANGED:
        return EXIT_AMBIGUOUS;
    case MIG_FAILED:
        return EXIT_MIGRATION;
    case MIG_ERROR:
        return EXIT_ERR;
    }
    BUG("mig_migrate returned %d", (int)st);
}

/* "YYYYMMDDHHMMSS" of T in UTC. */
static void stamp(time_t t, char out[15])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

static time_t parse_stamp(const char *s)
{
    struct tm tm = {0};
    char buf[15];
    memcpy(buf, s, 14);
    buf[14] = 0;
    if (!strptime(buf, "%Y%m%d%H%M%S", &tm))
        return 0;
    return timegm(&tm);
}

static int write_stub(const char *path, const char *text)
{
    if (write_file_atomic(path, text, strlen(text), 0644) < 0)
        return error_errno("cannot write '%s'", path);
    return 0;
}

static int do_create(int npos, char **pos)
{
    if (npos > 1)
        surplus(usage_create, "create", pos[1]);
    const char *why;
    if (opt_name && !mig_label_valid(opt_name, &why))
        die(EXIT_UNKNOWN, "invalid migration name '%s': %s", opt_name, why);
    const char *dir = migration_dir();
    if (mkdir_p(dir, 0755) < 0)
        die_errno(EXIT_ERR, "cannot create the migration folder '%s'", dir);
    char *label = opt_name ? xstrdup(opt_name) : mig_random_label();
    /* under a lock on DIR: the new timestamp is later than every existing one */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || flock(dfd, LOCK_EX) < 0)
        die_errno(EXIT_ERR, "cannot lock the migration folder '%s'", dir);
    time_t t = time(NULL), newest = 0;
    DIR *d = fdopendir(dup(dfd));
    if (!d)
        die_errno(EXIT_ERR, "cannot read the migration folder '%s'", dir);
    for (struct dirent *de; (de = readdir(d));) {
        time_t s = mig_name_valid(de->d_name) ? parse_stamp(de->d_name) : 0;
        if (s > newest)
            newest = s;
    }
    closedir(d);
    if (newest >= t)
        t = newest + 1;
    char ts[15];
    char *path = NULL;
    for (int tries = 0;; tries++, t++) {
        stamp(t, ts);
        free(path);
        path = xasprintf("%s/%s-%s", dir, ts, label);
        if (mkdir(path, 0755) == 0)
            break;
        if (errno != EEXIST || tries > 1000)
            die_errno(EXIT_ERR, "cannot create '%s'", path);
    }
    const char *name = strrchr(path, '/') + 1;
    char *up = path_join(path, "up.sql"), *down = path_join(path, "down.sql");
    char *up_text = xasprintf("-- %s: up (runs in one transaction with its hectic.migration row)\n", name);
    char *down_text = xasprintf("-- %s: down (reverts up.sql)\n", name);
    int rc = write_stub(up, up_text) < 0 || write_stub(down, down_text) < 0 ? EXIT_ERR : EXIT_OK;
    close(dfd);
    if (!rc) {
        printf("%s\n", path);
        info("created migration %s", name);
    }
    free(up);
    free(down);
    free(up_text);
    free(down_text);
    free(path);
    free(label);
    return rc;
}

static int do_list(int npos, char **pos)
{
    if (npos > 1)
        surplus(usage_list, "list", pos[1]);
    struct mig_folder f;
    scan_or_die(migration_dir(), &f);
    for (size_t i = 0; i < f.nr; i++) {
        const struct mig *m = &f.v[i];
        if (opt_raw) {
            printf("%s\n", m->name);
            continue;
        }
        struct strbuf notes = STRBUF_INIT;
        if (!m->up)
            strbuf_addstr(&notes, m->down && !strstr(m->down, "/down.sql") ? ", no up/entrypoint.sql" : ", no up.sql");
        if (!m->down)
            strbuf_addstr(&notes, m->multi ? ", no down/entrypoint.sql" : ", no down.sql");
        if (!m->up || !m->down)
            strbuf_addstr(&notes, !m->up ? ": incomplete, ignored" : ": incomplete");
        if (m->multi)
            strbuf_addstr(&notes, ", multi-file");
        if (m->no_tx)
            strbuf_addstr(&notes, ", no transaction");
        if (notes.len)
            printf("%s  (%s)\n", m->name, notes.buf + 2);
        else
            printf("%s\n", m->name);
        strbuf_release(&notes);
    }
    mig_folder_release(&f);
    return 0;
}

static int do_status(int npos, char **pos)
{
    if (npos > 1)
        surplus(usage_status, "status", pos[1]);
    const char *dir = migration_dir();
    url_or_die();
    struct mig_folder f;
    scan_or_die(dir, &f);
    PGconn *conn = connect_or_die();
    struct mig_db db;
    int rc = EXIT_OK;
    if (mig_db_read(conn, &db) < 0) {
        rc = EXIT_ERR;
    } else {
        if (!db.has_table)
            warn("no hectic.migration table yet: nothing is applied (run 'migrator init' or 'migrate')");
        if (mig_status_print(stdout, &f, &db) < 0)
            rc = EXIT_ERR;
        mig_db_release(&db);
    }
    PQfinish(conn);
    mig_folder_release(&f);
    return rc;
}

int cmd_migrator(int argc, char **argv, const struct settings *s)
{
    const char *cmd = find_command(argc, argv);
    const char *const *usage = usage_main;
    const struct option opts_main[] = {GLOBAL_OPTS, OPT_END()};
    const struct option opts_init[] = {
        GLOBAL_OPTS, OPT_BOOL(0, "dry-run", &opt_dry_run, "print the SQL, change nothing"), OPT_END()};
    const struct option opts_migrate[] = {
        GLOBAL_OPTS,
        OPT_BOOL('f', "force", &opt_force, "go on past a history mismatch (loudly)"),
        OPT_BOOL(0, "accept-changed", &opt_accept, "record the new hash of changed applied migrations"),
        OPT_BOOL(0, "verbose", &opt_verbose, "print the scripts' command tags (CREATE TABLE, INSERT 0 1, ...)"),
        OPT_BOOL(0, "force-after-drift", &opt_force_drift, "apply a generated migration to a schema that changed since"),
        OPT_END()};
    const struct option opts_generate[] = {
        GLOBAL_OPTS,
        OPT_STRING(0, "allow-hazards", &opt_allow, "LIST", "hazard classes or lint rules to accept (or all)"),
        OPT_BOOL(0, "dry-run", &opt_dry_run, "print up.sql, write nothing"),
        OPT_BOOL('m', "mock", &opt_mock, "hydrate with the script variable USE_MOCK=1"),
        OPT_BOOL(0, "plain-constraints", &opt_plain, "FK/CHECK in one statement, SET NOT NULL directly"),
        OPT_BOOL(0, "blocking-indexes", &opt_blocking, "indexes without CONCURRENTLY"),
        OPT_STRING(0, "server", &opt_server, "URL", "build the sides as databases on this server"),
        OPT_END()};
    const struct option opts_create[] = {
        GLOBAL_OPTS, OPT_STRING(0, "name", &opt_name, "NAME", "the label after the timestamp (default: random)"),
        OPT_END()};
    const struct option opts_list[] = {
        GLOBAL_OPTS, OPT_BOOL(0, "raw", &opt_raw, "names only, one per line"), OPT_END()};
    const struct option *opts = opts_main;
    if (cmd && !strcmp(cmd, "init"))
        opts = opts_init, usage = usage_init;
    else if (cmd && !strcmp(cmd, "migrate"))
        opts = opts_migrate, usage = usage_migrate;
    else if (cmd && !strcmp(cmd, "create"))
        opts = opts_create, usage = usage_create;
    else if (cmd && !strcmp(cmd, "list"))
        opts = opts_list, usage = usage_list;
    else if (cmd && !strcmp(cmd, "status"))
        usage = usage_status;
    else if (cmd && !strcmp(cmd, "help"))
        usage = usage_help;
    else if (cmd && !strcmp(cmd, "generate"))
        opts = opts_generate, usage = usage_generate;

    if (!cmd || usage == usage_main || usage == usage_help) {
        /* `migrator --help` lists the commands; with an unknown command, -h still helps */
        for (int i = 1; i < argc; i++)
            if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
                main_help(stdout);
                return 0;
            }
    }
    int npos = parse_options(argc, argv, opts, usage, 0);
    char **pos = argv;
    if (opt_inherits)
        warn("--inherits is deprecated and ignored: inheritance comes with the hectic bundle that "
             "'migrator init' applies");
    if (opt_version) {
        printf("migrator (dbtool) %s\n", DBTOOL_VERSION);
        return 0;
    }
    if (!npos) {
        main_help(stderr);
        return EXIT_ERR;
    }
    {
        struct set_override ov[2];
        size_t n = 0;
        if (opt_url)
            ov[n++] = (struct set_override){SET_DB_URL, opt_url};
        if (opt_dir)
            ov[n++] = (struct set_override){SET_MIGRATION_DIR, opt_dir};
        settings_derive(&mig_settings, s, ov, n);
        S = &mig_settings;
    }
    cmd = pos[0];
    if (!strcmp(cmd, "help")) {
        if (npos > 1)
            surplus(usage_help, "help", pos[1]);
        main_help(stdout);
        return 0;
    }
    int rc;
    if (!strcmp(cmd, "init"))
        rc = do_init(npos, pos);
    else if (!strcmp(cmd, "migrate"))
        rc = do_migrate(npos, pos);
    else if (!strcmp(cmd, "create"))
        rc = do_create(npos, pos);
    else if (!strcmp(cmd, "list"))
        rc = do_list(npos, pos);
    else if (!strcmp(cmd, "status"))
        rc = do_status(npos, pos);
    else if (!strcmp(cmd, "generate")) {
        if (npos != 2)
            npos < 2 ? die(EXIT_MISSING, "generate needs a LABEL (the name after the timestamp)")
                     : surplus(usage_generate, "generate", pos[2]);
        struct gen_opts go = {pos[1], migration_dir(), opt_allow, opt_server, opt_plain != 0,
                              opt_blocking != 0, opt_mock != 0, opt_dry_run != 0};
        rc = gen_run(S, &go);
    }
    else
        die(EXIT_UNKNOWN, "unknown command '%s' (init, migrate, create, list, status, help; see 'migrator --help')",
            cmd);
    settings_release(&mig_settings);
    S = NULL;
    return rc;
}
