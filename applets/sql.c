/*
 * sql.c — `dbtool sql`: run SQL scripts through the in-process,
 * psql-compatible runner (lib/sqlscript.c) on one connection, like
 * `psql -X -v ON_ERROR_STOP=1 [-v ...] -f FILE -c SQL ...`. The runner
 * does the work; this file parses options and picks exit codes.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/settings.h"
#include "lib/opt.h"
#include "lib/pg.h"
#include "lib/sqlscript.h"

static const char *const usage[] = {
    "dbtool sql [-u URL] [-q] [-v NAME=VALUE]... (-f FILE | -c SQL)...",
    "",
    "Run SQL scripts in order on one connection to URL (default $DB_URL, else $PGURL),\n"
    "the way `psql -X -v ON_ERROR_STOP=1 -f FILE` runs them, without a psql process:\n"
    "statements split like psql's, COPY ... FROM stdin with inline data up to \\.,\n"
    "COPY ... TO stdout, \\i \\ir \\include \\include_relative (include cycles are an error),\n"
    "\\set \\unset and :name :'name' :\"name\" :{?name}, \\echo \\qecho \\warn,\n"
    "\\if \\elif \\else \\endif, \\restrict \\unrestrict, \\q, \\gset [PREFIX], \\getenv VAR ENV,\n"
    "\\c[onnect] [DBNAME] (same host, port and user). VERBOSITY and SHOW_CONTEXT work as in\n"
    "psql; VERSION/VERSION_NAME/VERSION_NUM give libpq's version. Any other meta-command is an error.\n"
    "-f - reads stdin. Variables persist across the -f/-c scripts; each statement\n"
    "commits on its own unless the script opens a transaction.",
    "Stops at the first error: FILE:LINE: ERROR:  message (LINE as psql reports it), then\n"
    "LINE N: with N the line in FILE where the server located the error, DETAIL, HINT,\n"
    "CONTEXT. Notices are printed to stderr as FILE:LINE: NOTICE:  ...",
    "Differences from psql: query results are not printed as tables (a \"(N rows)\" line\n"
    "instead); -c text is split into statements like a file; ON_ERROR_STOP is always on;\n"
    "backquoted shell commands and psql's other meta-commands (\\copy, \\g, \\gexec, ...)\n"
    "are refused.",
    "Ctrl-C (SIGINT) or SIGTERM cancels the running statement and stops: FILE:LINE: error: interrupted.",
    "Exit status: 0 success, 1 a script failed or was interrupted, 3 no URL, 9 bad usage.",
    NULL};

struct script {
    bool is_file;
    const char *text;
};

struct script_list {
    struct script *v;
    size_t nr, alloc;
};

static struct script_list scripts;

static int add_file(const struct option *opt, const char *arg)
{
    ALLOC_GROW(scripts.v, scripts.nr + 1, scripts.alloc);
    scripts.v[scripts.nr++] = (struct script){true, arg};
    return 0;
}

static int add_command(const struct option *opt, const char *arg)
{
    ALLOC_GROW(scripts.v, scripts.nr + 1, scripts.alloc);
    scripts.v[scripts.nr++] = (struct script){false, arg};
    return 0;
}

int cmd_sql(int argc, char **argv, const struct settings *set)
{
    const char *url = NULL;
    int quiet = 0;
    struct strvec vars = STRVEC_INIT;
    const struct option opts[] = {
        OPT_STRING('u', "url", &url, "URL", "connection URL (default $DB_URL, else $PGURL)"),
        OPT_LIST('v', "set", &vars, "NAME=VALUE", "set a script variable (NAME alone unsets it)"),
        OPT_CALLBACK('f', "file", NULL, "FILE", "run the script FILE (- for stdin)", add_file),
        OPT_CALLBACK('c', "command", NULL, "SQL", "run the script text SQL", add_command),
        OPT_BOOL('q', "quiet", &quiet, "do not print command tags and row counts"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, usage, 0);
    if (argc > 0)
        usage_die(usage, "unexpected argument '%s' (scripts are given with -f FILE or -c SQL)",
                  argv[0]);
    if (!url)
        url = set_get(set, SET_DB_URL);
    if (!url || !*url)
        die(EXIT_MISSING, "no database URL: pass -u URL or set DB_URL or PGURL");
    if (!pg_url_supported(url)) {
        char *m = pg_mask_url(url);
        error("unsupported database URL '%s' (expected postgresql://... or key=value)", m);
        free(m);
        return EXIT_MISSING;
    }
    if (!scripts.nr)
        usage_die(usage, "nothing to run: give -f FILE or -c SQL");

    PGconn *conn = pg_connect(url);
    if (!conn)
        return EXIT_ERR;
    struct sql_opts o = {stdout, stderr, quiet != 0};
    struct sql_session *s = sql_session_new(conn, &o);
    int rc = EXIT_OK;
    for (size_t i = 0; i < vars.nr && rc == EXIT_OK; i++)
        if (sql_session_assign(s, vars.v[i]) < 0)
            rc = EXIT_UNKNOWN;
    for (size_t i = 0; i < scripts.nr && rc == EXIT_OK && !sql_session_quit(s); i++) {
        int r = scripts.v[i].is_file ? sql_session_run_file(s, scripts.v[i].text)
                                     : sql_session_run_string(s, "-c", scripts.v[i].text);
        if (r < 0)
            rc = EXIT_ERR;
    }
    sql_session_free(s);
    PQfinish(conn);
    strvec_clear(&vars);
    free(scripts.v);
    scripts.v = NULL;
    scripts.nr = scripts.alloc = 0;
    return rc;
}
