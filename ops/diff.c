/*
 * diff.c — `database diff` orchestration (see diff.h): two sides, two
 * schema dumps, one text diff, then the streamed data diff of lib/datadiff.
 *
 * Both sides are throwaway clusters (ops/throwaway). The backup side starts
 * an extracted data dir as it is; the sources side is fresh from the
 * template cache and is built by a child process (lib/job) while this one
 * restores the backup.
 */
#include "ops/diff.h"
#include "ops/backup.h"
#include "ops/normalize.h"
#include "ops/ops.h"
#include "ops/project.h"
#include "ops/generate.h"
#include "ops/side.h"
#include "ops/throwaway.h"
#include "lib/bundle.h"
#include "lib/catalog.h"
#include "lib/cluster.h"
#include "lib/datadiff.h"
#include "lib/fs.h"
#include "lib/job.h"
#include "lib/migrate.h"
#include "ops/code.h"
#include "lib/pager.h"
#include "lib/pg.h"
#include "lib/pgconf.h"
#include "lib/scratch.h"
#include "lib/serverlog.h"
#include "lib/settings.h"
#include "lib/spawn.h"
#include "lib/sqldiff.h"
#include "lib/textdiff.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#define NS "diff"
/* a failed migration on the backup side */
#define DIFF_EXIT_FAILED EXIT_MIGRATION
/* any other failure: never 1, which means "the two sides differ" (diff(1)'s "trouble") */
#define DIFF_EXIT_TROUBLE EXIT_AMBIGUOUS

/* ---- schema normalisation ---- */

static bool line_starts(const char *l, size_t n, const char *prefix)
{
    size_t k = strlen(prefix);
    return n >= k && !memcmp(l, prefix, k);
}

static bool drop_line(const char *l, size_t n, bool *preamble)
{
    if (line_starts(l, n, "\\restrict") || line_starts(l, n, "\\unrestrict"))
        return true;
    if (line_starts(l, n, "-- Dumped from database version") ||
        line_starts(l, n, "-- Dumped by pg_dump version"))
        return true;
    /* session settings of pg_dump's preamble: "SET name = value;" before the first statement */
    if (*preamble && n && !line_starts(l, n, "--") && !line_starts(l, n, "SET ") &&
        !line_starts(l, n, "SELECT pg_catalog.set_config("))
        *preamble = false;
    if (*preamble && n > 4 && !memcmp(l, "SET ", 4) && l[n - 1] == ';') {
        size_t i = 4;
        while (i < n && (l[i] == '_' || (l[i] >= 'a' && l[i] <= 'z') || l[i] == '.'))
            i++;
        if (i > 4 && i + 3 <= n && !memcmp(l + i, " = ", 3))
            return true;
    }
    static const char sp[] = "SELECT pg_catalog.set_config('search_path', '', false);";
    if (*preamble && n == sizeof(sp) - 1 && !memcmp(l, sp, n))
        return true;
    return false;
}

void diff_schema_normalize(const char *dump, size_t len, struct strbuf *out)
{
    size_t start = out->len;
    bool blank_pending = false, preamble = true;
    for (size_t i = 0; i < len;) {
        const char *nl = memchr(dump + i, '\n', len - i);
        size_t n = nl ? (size_t)(nl - (dump + i)) : len - i;
        const char *l = dump + i;
        i += n + (nl ? 1 : 0);
        if (n && l[n - 1] == '\r')
            n--;
        if (drop_line(l, n, &preamble))
            continue;
        bool blank = true;
        for (size_t k = 0; k < n && blank; k++)
            blank = l[k] == ' ' || l[k] == '\t';
        if (blank) {
            blank_pending = out->len > start;
            continue;
        }
        if (blank_pending)
            strbuf_addch(out, '\n');
        blank_pending = false;
        strbuf_add(out, l, n);
        strbuf_addch(out, '\n');
    }
}

/* ---- pg_dump ---- */

/* The connection parameters of URL as libpq environment variables (no argv for a password). */
static int url_env(const char *url, struct strvec *env)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (!opts) {
        char *m = pg_mask_url(url);
        error("invalid database URL '%s': %s", m, err ? err : "cannot parse it");
        free(m);
        PQfreemem(err);
        return -1;
    }
    for (PQconninfoOption *o = opts; o->keyword; o++)
        if (o->envvar && o->val && *o->val)
            strvec_pushf(env, "%s=%s", o->envvar, o->val);
    PQconninfoFree(opts);
    return 0;
}

/*
 * Start pg_dump --schema-only of URL (limited to the -t PATTERNS when
 * non-NULL; an empty list dumps nothing) writing to PATH, so both sides dump
 * at once (and the dumps stay in the diff logs). 0 or an exit code.
 */
static int schema_dump_start(const char *pg_dump, const char *url, const struct strvec *patterns,
                             const char *path, struct child *ch)
{
    *ch = (struct child)CHILD_INIT;
    if (patterns && !patterns->nr)
        return 0;
    /* physical placement is no more drift than ownership: tablespaces are local */
    strvec_pushl(&ch->args, pg_dump, "--schema-only", "--no-owner", "--no-privileges",
                 "--no-tablespaces", NULL);
    for (size_t i = 0; patterns && i < patterns->nr; i++)
        strvec_pushl(&ch->args, "-t", patterns->v[i], NULL);
    /* the caller's PG* settings must not redirect it; the URL's go in the environment */
    strvec_pushl(&ch->env, "PGHOST", "PGHOSTADDR", "PGPORT", "PGDATABASE", "PGUSER", "PGPASSWORD",
                 "PGSERVICE", "PGOPTIONS", NULL);
    if (url_env(url, &ch->env) < 0)
        return EXIT_ERR;
    int fd = fs_open_write(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return error_errno("cannot write '%s'", path), EXIT_ERR;
    ch->in = SPAWN_DEVNULL;
    ch->out = fd;
    int r = spawn_start(ch);
    close(fd);
    if (r < 0)
        return errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
    return 0;
}

/* Wait for the dump CH started and read PATH into OUT. 0 or an exit code. */
static int schema_dump_finish(struct child *ch, const char *url, const char *path,
                              struct strbuf *out)
{
    if (!ch->pid)
        return 0;
    int st = spawn_wait(ch, -1);
    ch->pid = 0;
    if (st) {
        char *m = pg_mask_url(url);
        error("pg_dump --schema-only of %s failed (exit status %d)", m, st);
        free(m);
        return EXIT_ERR;
    }
    if (strbuf_read_file(out, path) < 0)
        return error_errno("cannot read '%s'", path), EXIT_ERR;
    return 0;
}


/* ---- the two sides (ops/side.h) ---- */

static struct side sides[2]; /* reachable from the cleanup stack */
static const char *const side_name[2] = {"backup", "sources"};

char *diff_logs_dir(const struct settings *s)
{
    const char *local = set_get(s, SET_LOCAL_DIR);
    return local ? path_join(local, "focus/diff-logs") : NULL;
}

/* Side 1 from the backup B. *URL gets the database URL. */
static int side_backup(const struct settings *s, const struct norm_backup *b, const char *logs,
                       const char *fallback_db, bool ignore_mig, char **url)
{
    double t0 = now_monotonic();
    int r = side_restore_backup(&sides[0], s, "diff", side_name[0], b, logs, fallback_db, url);
    if (r)
        return r;
    info("diff: migrate up all on the backup");
    r = side_migrate(s, "diff", *url, NULL, sides[0].logdir, ignore_mig, false);
    if (!r)
        info("diff: backup migrated in %s", proj_duration(now_monotonic() - t0));
    else if (r == EXIT_MIGRATION)
        error("diff: migrating the backup failed (see above); --ignore-migration-fail compares anyway");
    return r;
}

/* ---- --tables ---- */

/* pg_dump -t pattern matching exactly SCHEMA.REL. */
static char *exact_pattern(const char *schema, const char *rel)
{
    struct strbuf sb = STRBUF_INIT;
    const char *parts[2] = {schema, rel};
    for (int i = 0; i < 2; i++) {
        if (i)
            strbuf_addch(&sb, '.');
        strbuf_addch(&sb, '"');
        for (const char *p = parts[i]; *p; p++) {
            if (*p == '"')
                strbuf_addch(&sb, '"');
            strbuf_addch(&sb, *p);
        }
        strbuf_addch(&sb, '"');
    }
    return strbuf_detach(&sb, NULL);
}

/*
 * Resolve each name of the comma-separated LIST on both sides: -t patterns
 * per side and "schema.rel" names for the data part. EXIT_NO_TABLE when a
 * name exists on neither side.
 */
static int resolve_tables(PGconn *conn[2], const char *list, struct strvec pat[2],
                          struct strvec *names)
{
    char *copy = xstrdup(list), *save = NULL;
    int r = 0;
    for (char *tok = strtok_r(copy, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        while (*tok == ' ' || *tok == '\t')
            tok++;
        size_t n = strlen(tok);
        while (n && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
            tok[--n] = 0;
        if (!n)
            continue;
        bool found = false;
        for (int s = 0; s < 2; s++) {
            const char *params[1] = {tok};
            PGresult *res = PQexecParams(
                conn[s],
                "SELECT n.nspname, c.relname FROM pg_catalog.pg_class c"
                " JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace"
                " WHERE c.oid = pg_catalog.to_regclass($1)",
                1, NULL, params, NULL, NULL, 0);
            if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1) {
                const char *schema = PQgetvalue(res, 0, 0), *rel = PQgetvalue(res, 0, 1);
                char *p = exact_pattern(schema, rel);
                strvec_push(&pat[s], p);
                free(p);
                char *name = xasprintf("%s.%s", schema, rel);
                bool dup = false;
                for (size_t i = 0; i < names->nr; i++)
                    dup = dup || !strcmp(names->v[i], name);
                if (!dup)
                    strvec_push(names, name);
                free(name);
                found = true;
            } else if (PQresultStatus(res) != PGRES_TUPLES_OK) {
                debug(NS, "to_regclass('%s'): %s", tok, PQresultErrorMessage(res));
            }
            PQclear(res);
        }
        if (!found) {
            error("table '%s' does not exist in the backup nor in the sources (--tables)", tok);
            r = EXIT_NO_TABLE;
            break;
        }
    }
    free(copy);
    return r;
}

/* ---- output ---- */


/* ---- --sql ---- */

/*
 * The DDL (and reference data DML) that brings side 1 to the sources, on
 * stdout; hazards on stderr. 1 when there is any, 0 when none, or an exit code.
 */
static int print_sql(PGconn *conn[2])
{
    struct catalog *cat[2] = {NULL, NULL};
    struct catalog_options co = {.owner = false};
    int r = 0;
    for (int i = 0; i < 2 && !r; i++)
        if (catalog_read(conn[i], &co, &cat[i]) < 0) {
            error("diff: cannot read the schema of the %s side", side_name[i]);
            r = EXIT_MIGRATION;
        }
    struct strbuf data = STRBUF_INIT;
    size_t nrows = 0;
    if (!r && gen_data_sql(conn[0], conn[1], &data, &nrows) < 0) {
        error("diff: cannot compare the reference data");
        r = EXIT_MIGRATION;
    }
    if (!r) {
        struct sqldiff d;
        struct strbuf sb = STRBUF_INIT, rep = STRBUF_INIT;
        sqldiff_compute(cat[0], cat[1], NULL, &d);
        sqldiff_format_sql(&d, &sb);
        if (nrows) {
            strbuf_addstr(&sb, "-- reference data (tables inheriting hectic.immutable)\nBEGIN;\n"
                               "SET LOCAL hectic.migration_mode = 'on';\n");
            strbuf_add(&sb, data.buf, data.len);
            strbuf_addstr(&sb, "COMMIT;\n");
        }
        fwrite(sb.buf, 1, sb.len, stdout);
        fflush(stdout);
        sqldiff_format_hazards(&d, &rep);
        fwrite(rep.buf, 1, rep.len, stderr);
        r = d.nr || nrows ? 1 : 0;
        sqldiff_release(&d);
        strbuf_release(&sb);
        strbuf_release(&rep);
    }
    strbuf_release(&data);
    catalog_free(cat[0]);
    catalog_free(cat[1]);
    return r;
}

/* ---- the command ---- */

int diff_run(const struct settings *set, const struct diff_opts *o)
{
    double t0 = now_monotonic();
    const char *local = set_get(set, SET_LOCAL_DIR);
    char *logs = diff_logs_dir(set);
    char *url[2] = {NULL, NULL};
    char *pg_dump = NULL, *defdir = NULL, *database = NULL, *hlog = NULL;
    PGconn *conn[2] = {NULL, NULL};
    struct strvec pat[2] = {STRVEC_INIT, STRVEC_INIT}, names = STRVEC_INIT;
    struct strbuf dump[2] = {STRBUF_INIT, STRBUF_INIT}, norm[2] = {STRBUF_INIT, STRBUF_INIT};
    struct strbuf sdiff = STRBUF_INIT;
    struct ddiff_result res = {0};
    bool differ = false;
    struct norm_backup b;
    memset(&b, 0, sizeof(b));
    int r = 0;
    const char *label_a = o->against ? "live" : "backup";

    if (!local || !logs) {
        error("LOCAL_DIR is not set: export LOCAL_DIR to the project root");
        r = EXIT_MISSING;
        goto out;
    }
    /* everything that can be checked before a cluster starts */
    if (o->against) {
        if (!pg_url_supported(o->against)) {
            char *m = pg_mask_url(o->against);
            error("unsupported database URL '%s' for --against (expected postgresql://... or key=value)", m);
            free(m);
            r = EXIT_MISSING;
            goto out;
        }
    } else {
        defdir = backup_default_dir(set);
        if ((r = norm_backup_open(o->backup ? o->backup : defdir, &b)))
            goto out;
    }
    {
        struct pgbin bin;
        if (pgbin_find(&bin, set_get(set, SET_PG_BINDIR), set_get(set, SET_PG_CLIENT_BINDIR)) < 0) {
            r = EXIT_NO_PROGRAM;
            goto out;
        }
        pg_dump = pgbin_client(&bin, "pg_dump");
        pgbin_release(&bin);
        if (!pg_dump) {
            r = EXIT_NO_PROGRAM;
            goto out;
        }
    }
    database = xstrdup(set_get(set, SET_PG_DATABASE));
    if (set_get(set, SET_HYDRATE_LOG))
        hlog = xstrdup(set_get(set, SET_HYDRATE_LOG));
    else
        hlog = xasprintf("%s/sources/hydrate.log", logs);
    /* the logs of the previous diff make way for this one's */
    for (int s = 0; s < 2; s++) {
        char *d = path_join(logs, side_name[s]);
        rm_rf(d);
        free(d);
    }
    if (mkdir_p(logs, 0755) < 0) {
        error_errno("cannot create '%s'", logs);
        r = EXIT_ERR;
        goto out;
    }

    /* side 2 builds in the background while side 1 is made ready */
    if ((r = side_open(&sides[1], set, "diff", side_name[1], logs, database, 0, NULL)))
        goto out;
    sides[1].build = SIDE_SOURCES;
    sides[1].mock = o->mock;
    sides[1].no_snapshot = o->no_snapshot;
    sides[1].hydrate_log = hlog;
    if ((r = side_start(&sides[1])))
        goto out;
    /* side 1 */
    if (o->against) {
        url[0] = xstrdup(o->against);
        char *d = path_join(logs, side_name[0]);
        if (mkdir_p(d, 0755) < 0) {
            error_errno("cannot create '%s'", d);
            free(d);
            r = EXIT_ERR;
            goto out;
        }
        free(d);
    } else if ((r = side_backup(set, &b, logs, database, o->ignore_migration_fail, &url[0]))) {
        goto out;
    }
    if (interrupted) {
        error("interrupted");
        r = EXIT_ERR;
        goto out;
    }
    /* side 2 */
    if ((r = side_finish(&sides[1]))) {
        error("diff: building the sources side failed (see above)");
        goto out;
    }
    url[1] = xstrdup(sides[1].url);
    if (interrupted) {
        error("interrupted");
        r = EXIT_ERR;
        goto out;
    }

    for (int s = 0; s < 2; s++) {
        if (!(conn[s] = pg_connect(url[s]))) {
            r = EXIT_ERR;
            goto out;
        }
    }
    if (o->tables && (r = resolve_tables(conn, o->tables, pat, &names)))
        goto out;
    if (o->sql) {
        r = print_sql(conn);
        if (r == 0)
            info("diff: no differences in %s", proj_duration(now_monotonic() - t0));
        differ = r == 1; /* print_sql: 1 = statements printed, the sides differ */
        goto out;
    }

    /* schema: both dumps at once */
    double t = now_monotonic();
    {
        struct child dc[2] = {CHILD_INIT, CHILD_INIT};
        char *dpath[2];
        for (int s = 0; s < 2; s++) {
            char *d = path_join(logs, side_name[s]);
            dpath[s] = path_join(d, "schema.sql");
            free(d);
        }
        for (int s = 0; s < 2 && !r; s++)
            r = schema_dump_start(pg_dump, url[s], o->tables ? &pat[s] : NULL, dpath[s], &dc[s]);
        for (int s = 0; s < 2; s++) {
            if (!r) {
                r = schema_dump_finish(&dc[s], url[s], dpath[s], &dump[s]);
            } else if (dc[s].pid) {
                /* the other side failed: this one is not needed */
                kill(dc[s].pid, SIGTERM);
                spawn_wait(&dc[s], -1);
            }
            child_clear(&dc[s]);
            free(dpath[s]);
        }
        if (r)
            goto out;
        for (int s = 0; s < 2; s++)
            diff_schema_normalize(dump[s].buf, dump[s].len, &norm[s]);
    }
    if (PQserverVersion(conn[0]) / 10000 != PQserverVersion(conn[1]) / 10000)
        warn("diff: the servers differ in major version (%d, %d): pg_dump may print the same "
             "schema differently", PQserverVersion(conn[0]) / 10000,
             PQserverVersion(conn[1]) / 10000);
    bool json = o->json;
    bool color = !json && isatty(1) && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
    struct lines la = LINES_INIT, lb = LINES_INIT;
    lines_split(&la, norm[0].buf, norm[0].len);
    lines_split(&lb, norm[1].buf, norm[1].len);
    bool schema_changed = textdiff_unified(&la, &lb, label_a, "sources", 3, color, &sdiff) > 0;
    lines_release(&la);
    lines_release(&lb);
    debug(NS, "schema dumped and compared in %s", proj_duration(now_monotonic() - t));

    /* data */
    int hectic = 0;
    for (int s = 0; s < 2 && hectic == 0; s++)
        if ((hectic = ddiff_has_hectic(conn[s])) < 0) {
            r = EXIT_ERR;
            goto out;
        }
    struct ddiff_opts dopts = {
        .include_bookkeeping = o->include_bookkeeping,
        .color = color,
        .name_a = label_a,
        .name_b = "sources",
        .only = o->tables ? &names : NULL,
        .context = 3,
    };
    int data_changed = 0;
    t = now_monotonic();
    if (json) {
        if (hectic && (data_changed = ddiff_run(conn[0], conn[1], &dopts, NULL, &res)) < 0) {
            r = EXIT_ERR;
            goto out;
        }
        struct strbuf js = STRBUF_INIT;
        strbuf_addf(&js, "{\"schema_changed\":%s,\"tables\":[", schema_changed ? "true" : "false");
        for (size_t i = 0; i < res.nr; i++) {
            const struct ddiff_table *x = &res.v[i];
            strbuf_addstr(&js, i ? ",{\"table\":" : "{\"table\":");
            strbuf_add_json_str(&js, x->name);
            strbuf_addf(&js, ",\"added\":%ld,\"removed\":%ld,\"changed\":%ld,\"only_on\":%s}",
                        x->added, x->removed, x->changed,
                        x->on_a && x->on_b ? "null" : x->on_a ? "\"backup\"" : "\"sources\"");
        }
        strbuf_addf(&js, "],\"differences\":%s}\n",
                    schema_changed || data_changed ? "true" : "false");
        fwrite(js.buf, 1, js.len, stdout);
        strbuf_release(&js);
    } else {
        struct pager sk;
        pager_open(&sk);
        fwrite(sdiff.buf, 1, sdiff.len, sk.f);
        if (hectic) {
            fputs("--- IMMUTABLE TABLE DATA ---\n", sk.f);
            if (!o->include_bookkeeping)
                fputs("(columns inherited from hectic.created_at / hectic.updated_at are left out; "
                      "--include-bookkeeping compares them)\n", sk.f);
            data_changed = ddiff_run(conn[0], conn[1], &dopts, sk.f, &res);
            if (data_changed >= 0 && !res.nr)
                fputs(o->tables ? "(none of the --tables inherits hectic.immutable)\n"
                                : "(no table inherits hectic.immutable)\n", sk.f);
        }
        if (data_changed >= 0 && !schema_changed && !data_changed)
            fputs("no differences found\n", sk.f);
        pager_close(&sk);
        if (data_changed < 0) {
            r = EXIT_ERR;
            goto out;
        }
    }
    debug(NS, "data compared in %s", proj_duration(now_monotonic() - t));
    if (schema_changed || data_changed) {
        long nt = 0;
        for (size_t i = 0; i < res.nr; i++)
            nt += res.v[i].added || res.v[i].removed || res.v[i].changed;
        info("diff: differences found (%s%s%ld immutable table%s) in %s",
             schema_changed ? "schema" : "", schema_changed ? ", " : "", nt, nt == 1 ? "" : "s",
             proj_duration(now_monotonic() - t0));
        r = 1;
        differ = true;
    } else {
        info("diff: no differences in %s", proj_duration(now_monotonic() - t0));
    }
out:
    for (int s = 0; s < 2; s++) {
        if (conn[s])
            PQfinish(conn[s]);
        strvec_clear(&pat[s]);
        strbuf_release(&dump[s]);
        strbuf_release(&norm[s]);
        free(url[s]);
    }
    /* both clusters go now, not at exit: the result is printed, the logs stay;
     * both servers shut down at once (cluster_remove waits for each) */
    for (int s = 0; s < 2; s++)
        side_stop_begin(&sides[s]);
    for (int s = 1; s >= 0; s--)
        side_close(&sides[s], r == 0 || r == 1);
    strvec_clear(&names);
    strbuf_release(&sdiff);
    ddiff_result_release(&res);
    norm_backup_release(&b);
    free(logs);
    free(pg_dump);
    free(defdir);
    free(database);
    free(hlog);
    if (r == EXIT_ERR && !differ)
        r = DIFF_EXIT_TROUBLE;
    return r;
}

int diff_log(const struct settings *set, const char *side, const char *sel)
{
    char *logs = diff_logs_dir(set);
    if (!logs) {
        error("LOCAL_DIR is not set: export LOCAL_DIR to the project root");
        return EXIT_MISSING;
    }
    int r = 0;
    for (int s = 0; s < 2 && !r; s++) {
        if (side && strcmp(side, side_name[s]))
            continue;
        char *d = path_join(logs, side_name[s]);
        if (!side)
            printf("==> %s (%s) <==\n", side_name[s], d);
        fflush(stdout);
        r = serverlog_show(d, sel);
        free(d);
    }
    free(logs);
    return r;
}
