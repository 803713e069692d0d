/*
 * t-settings.c — settings precedence (flag > env > file > default), the
 * environment snapshot, derived copies, strict dbtool.yaml errors with
 * file:line:col (collected, never printed by the loader), HECTIC_LOG specs,
 * URL masking.
 */
#include "lib/common.h"
#include "lib/pg.h"
#include "lib/settings.h"
#include "test/unit/tap.h"

#include <fcntl.h>
#include <unistd.h>

static char errbuf[4096];
static struct settings S;

/* Load YAML as the project file; errbuf gets the problems, one per line. */
static int load(const char *yaml)
{
    settings_release(&S);
    int r = settings_load_yaml_string(&S, "dbtool.yaml", yaml, strlen(yaml), "/proj");
    errbuf[0] = 0;
    for (size_t i = 0; i < S.problems.nr; i++) {
        strncat(errbuf, S.problems.v[i], sizeof(errbuf) - strlen(errbuf) - 2);
        strcat(errbuf, "\n");
    }
    return r;
}

static void clear_env(void)
{
    for (int k = 0; k < SET__N; k++)
        unsetenv(set_name(k));
    unsetenv("PGURL");
}

#define cfg_get(k) set_get(&S, k)
#define cfg_int(k) set_int(&S, k)
#define cfg_bool(k) set_bool(&S, k)
#define cfg_source(k) set_source(&S, k)

int main(void)
{
    clear_env();

    /* defaults */
    ok(load("") == 0, "empty file loads");
    is_str(cfg_get(SET_PG_DATABASE), "testdb", "PG_DATABASE default");
    is_int(cfg_int(SET_PG_PORT), 5432, "PG_PORT default");
    is_str(cfg_get(SET_PG_URL_VAR), "PGURL", "PG_URL_VAR default");
    is_str(cfg_get(SET_PG_SHARED_PRELOAD_LIBRARIES), "pg_cron", "preload default pg_cron");
    ok(cfg_get(SET_PG_WORKING_DIR) == NULL, "no working dir without LOCAL_DIR");
    ok(cfg_source(SET_PG_PORT) == SET_SRC_DEFAULT, "source of a default");

    /* derived from LOCAL_DIR */
    setenv("LOCAL_DIR", "/p", 1);
    load("");
    is_str(cfg_get(SET_PG_WORKING_DIR), "/p/focus/postgresql", "PG_WORKING_DIR from LOCAL_DIR");
    is_str(cfg_get(SET_DATABASE_DIR), "/p/db", "DATABASE_DIR from LOCAL_DIR");
    is_str(cfg_get(SET_MIGRATION_DIR), "/p/db/migration", "MIGRATION_DIR from DATABASE_DIR");
    is_str(cfg_get(SET_DATABASE_SOURCE), "/p/db/src", "DATABASE_SOURCE from DATABASE_DIR");
    setenv("DATABASE_DIR", "/elsewhere", 1);
    load("");
    is_str(cfg_get(SET_MIGRATION_DIR), "/elsewhere/migration", "MIGRATION_DIR follows DATABASE_DIR env");
    unsetenv("DATABASE_DIR");

    /* file over default, env over file, flag over env */
    ok(load("postgres:\n  port: 6000\n  database: filedb\npaths:\n  database_dir: rel/db\n") == 0,
       "nested file loads");
    is_int(cfg_int(SET_PG_PORT), 6000, "file overrides default");
    ok(cfg_source(SET_PG_PORT) == SET_SRC_FILE, "source file");
    is_str(cfg_get(SET_DATABASE_DIR), "/proj/rel/db", "relative path resolves against the file's dir");
    is_str(cfg_get(SET_MIGRATION_DIR), "/proj/rel/db/migration", "derived default follows the file");
    setenv("PG_PORT", "7000", 1);
    load("postgres:\n  port: 6000\n");
    is_int(cfg_int(SET_PG_PORT), 7000, "env overrides file");
    ok(cfg_source(SET_PG_PORT) == SET_SRC_ENV, "source env");
    {
        const struct set_override ov[] = {{SET_PG_PORT, "8000"}};
        struct settings d;
        settings_derive(&d, &S, ov, 1);
        is_int(set_int(&d, SET_PG_PORT), 8000, "flag overrides env (derived copy)");
        ok(set_source(&d, SET_PG_PORT) == SET_SRC_FLAG, "source flag");
        is_int(cfg_int(SET_PG_PORT), 7000, "the original settings are untouched");
        settings_release(&d);
    }
    unsetenv("PG_PORT");

    /* the environment is read once: a later setenv changes nothing */
    load("");
    setenv("PG_DATABASE", "late", 1);
    is_str(cfg_get(SET_PG_DATABASE), "testdb", "settings are a snapshot of the environment");
    {
        struct settings d;
        const struct set_override ov[] = {{SET_LOCAL_DIR, "/q"}};
        settings_derive(&d, &S, ov, 1);
        is_str(set_get(&d, SET_PG_DATABASE), "testdb", "a derived copy reads no environment either");
        is_str(set_get(&d, SET_PG_WORKING_DIR), "/q/focus/postgresql", "derived defaults follow a flag");
        settings_release(&d);
    }
    unsetenv("PG_DATABASE");

    /* knobs that used to be read with getenv here and there are settings now */
    load("postgres:\n  start_timeout: 2.5\n  fsync: off\npaths:\n  scratch_dir: scr\n");
    ok(set_double(&S, SET_PG_START_TIMEOUT) == 2.5, "postgres.start_timeout");
    ok(!cfg_bool(SET_PG_FSYNC), "postgres.fsync");
    is_str(cfg_get(SET_DBTOOL_SCRATCH_DIR), "/proj/scr", "paths.scratch_dir");
    load("");
    ok(cfg_bool(SET_PG_FSYNC) && set_double(&S, SET_PG_START_TIMEOUT) == 60, "fsync on, 60 s by default");
    setenv("PG_START_TIMEOUT", "nan", 1);
    ok(load("") < 0 && strstr(errbuf, "PG_START_TIMEOUT: expected a number of seconds"), "PG_START_TIMEOUT=nan refused (%s)", errbuf);
    setenv("PG_START_TIMEOUT", "0", 1);
    ok(load("") < 0 && strstr(errbuf, "PG_START_TIMEOUT: must be more than 0"), "PG_START_TIMEOUT=0 refused");
    ok(set_double(&S, SET_PG_START_TIMEOUT) == 60, "...and the default applies meanwhile");
    unsetenv("PG_START_TIMEOUT");
    setenv("PG_DATABASE", "a\nb", 1);
    ok(load("") < 0 && strstr(errbuf, "PG_DATABASE: must not contain a newline"), "a newline in PG_DATABASE refused");
    unsetenv("PG_DATABASE");
    setenv("PG_WORKING_DIR", "/tmp/x\ny", 1);
    ok(load("") < 0 && strstr(errbuf, "PG_WORKING_DIR: must not contain a newline"), "a newline in PG_WORKING_DIR refused");
    unsetenv("PG_WORKING_DIR");
    ok(load("paths:\n  working_dir: \"\"\n") < 0 && strstr(errbuf, "dbtool.yaml:2:16: 'paths.working_dir': must not be empty"),
       "working_dir: \"\" refused with its place (%s)", errbuf);
    ok(load("postgres:\n  port: 70000\n") < 0 && !strstr(errbuf, ": :") && strstr(errbuf, "'postgres.port': port must be"),
       "a value error names the key, no empty prefix (%s)", errbuf);
    setenv("LOCAL_DIR", "/p", 1);
    load("");
    is_str(cfg_get(SET_PATCH_SQL), "/p/test-data.sql", "PATCH_SQL defaults to $LOCAL_DIR/test-data.sql");
    is_str(cfg_get(SET_DEFAULT_BACKUP_PATH), "/p/focus/postgresql-backup", "DEFAULT_BACKUP_PATH");
    is_str(cfg_get(SET_DEFAULT_NORMALIZED_BACKUP_PATH), "/p/focus/postgresql-backup-normalized",
           "DEFAULT_NORMALIZED_BACKUP_PATH");
    setenv("PROFILE_DIR", "/prof", 1);
    load("");
    is_str(cfg_get(SET_PATCH_SQL), "/prof/test-data.sql", "PATCH_SQL follows PROFILE_DIR");
    unsetenv("PROFILE_DIR");
    unsetenv("LOCAL_DIR");
    ok(load("postgres:\n  databse: x\n") < 0 && strstr(errbuf, "did you mean 'postgres.database'"),
       "a mistyped key gets a suggestion (%s)", errbuf);
    ok(load("postgres:\n  bogus: {a: [1, 2]}\n  port: 1\n  port: x\n") < 0 &&
           strstr(errbuf, "unknown key 'postgres.bogus'") && strstr(errbuf, "dbtool.yaml:4:"),
       "every problem is reported, not only the first (%s)", errbuf);

    /* DB_URL falls back to PGURL */
    setenv("PGURL", "postgresql://u@/d", 1);
    load("");
    is_str(cfg_get(SET_DB_URL), "postgresql://u@/d", "DB_URL defaults to PGURL");
    setenv("DB_URL", "postgresql://x@/y", 1);
    load("");
    is_str(cfg_get(SET_DB_URL), "postgresql://x@/y", "DB_URL env wins over PGURL");
    unsetenv("DB_URL");
    unsetenv("PGURL");

    /* empty preload disables; lists */
    setenv("PG_SHARED_PRELOAD_LIBRARIES", "", 1);
    load("");
    is_str(cfg_get(SET_PG_SHARED_PRELOAD_LIBRARIES), "", "empty PG_SHARED_PRELOAD_LIBRARIES is a value");
    unsetenv("PG_SHARED_PRELOAD_LIBRARIES");
    load("postgres:\n  shared_preload_libraries: [pg_cron, pg_stat_statements]\n");
    is_str(cfg_get(SET_PG_SHARED_PRELOAD_LIBRARIES), "pg_cron,pg_stat_statements", "list joined with commas");
    load("staging:\n  dump_tables:\n    - a\n    - b\n");
    is_str(cfg_get(SET_STAGING_DUMP_TABLES), "a b", "table list joined with spaces");
    load("postgres:\n  reuse: yes\n  disable_logging: false\n");
    ok(cfg_bool(SET_PG_REUSE) && !cfg_bool(SET_PG_DISABLE_LOGGING), "YAML booleans");

    /* errors with positions */
    ok(load("postgres:\n  port: 6000\n  databse: x\n") < 0, "unknown nested key fails");
    ok(strstr(errbuf, "dbtool.yaml:3:3: unknown key 'postgres.databse'") != NULL, "...at file:3:3 (%s)", errbuf);
    ok(load("bogus: 1\n") < 0 && strstr(errbuf, "dbtool.yaml:1:1: unknown key 'bogus'"), "unknown top key");
    ok(load("postgres:\n  port: abc\n") < 0 && strstr(errbuf, "dbtool.yaml:2:9:") &&
           strstr(errbuf, "expected a number"), "wrong type: number (%s)", errbuf);
    ok(load("postgres:\n  reuse: maybe\n") < 0 && strstr(errbuf, "expected a boolean"), "wrong type: boolean");
    ok(load("postgres:\n  database: [a, b]\n") < 0 && strstr(errbuf, "got a list"), "wrong type: list for a string");
    ok(load("postgres: 5\n") < 0 && strstr(errbuf, "must be a mapping"), "section must be a mapping");
    ok(load("postgres:\n  port: 1\n  port: 2\n") < 0 && strstr(errbuf, "duplicate key"), "duplicate key");
    ok(load("postgres:\n  database: 'unterminated\n") < 0 && strstr(errbuf, "dbtool.yaml:") && strstr(errbuf, "syntax error"),
       "syntax error has a position (%s)", errbuf);
    ok(load("- a\n- b\n") < 0 && strstr(errbuf, "top level must be a mapping"), "top level list refused");
    ok(load("postgres:\n  url_var: 'BAD-NAME'\n") < 0, "invalid url_var in file refused");
    ok(load("postgres:\n  port: 70000\n") < 0 && strstr(errbuf, "between 1 and 65535"), "port range");
    ok(load("# only a comment\n") == 0, "comment-only file is fine");
    ok(load("postgres:\n  database: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n") < 0 &&
           strstr(errbuf, "at most 63 bytes"), "database name over 63 bytes refused");

    /* env validation */
    setenv("PG_URL_VAR", "MY-URL", 1);
    {
        struct settings e;
        int r = settings_load(&e);
        ok(r < 0 && e.problems.nr == 1 && strstr(e.problems.v[0], "PG_URL_VAR:"), "invalid PG_URL_VAR in env refused");
        is_str(set_get(&e, SET_PG_URL_VAR), "PGURL", "...and the default applies meanwhile");
        settings_release(&e);
    }
    unsetenv("PG_URL_VAR");

    /* HECTIC_LOG */
    const char *bad = NULL;
    ok(log_configure("debug", &bad) == 0 && log_enabled(NULL, LOG_DEBUG), "HECTIC_LOG=debug");
    ok(log_configure("warn;cluster=trace", &bad) == 0 && !log_enabled(NULL, LOG_INFO) &&
           log_enabled("cluster", LOG_TRACE) && !log_enabled("spawn", LOG_DEBUG),
       "per-namespace levels");
    ok(log_configure("info;x=loud", &bad) < 0 && !strcmp(bad, "x=loud"), "bad level reported");
    ok(log_configure("error", &bad) == 0 && log_enabled(NULL, LOG_ERROR) && !log_enabled(NULL, LOG_WARN),
       "error level");
    log_configure("info", NULL);

    /* URL masking */
    char *m = pg_mask_url("postgresql://user:s3cret@host:5432/db?sslmode=require");
    is_str(m, "postgresql://user:***@host:5432/db?sslmode=require", "password masked in URL");
    free(m);
    m = pg_mask_url("postgresql://user@/db?host=/tmp&password=hunter2&port=1");
    is_str(m, "postgresql://user@/db?host=/tmp&password=***&port=1", "password= query param masked");
    free(m);
    m = pg_mask_url("host=/tmp dbname=x password='a b\\'c' user=u");
    is_str(m, "host=/tmp dbname=x password=*** user=u", "key=value password masked");
    free(m);
    m = pg_mask_url("postgresql://u@/d?host=/s");
    is_str(m, "postgresql://u@/d?host=/s", "URL without password unchanged");
    free(m);
    m = pg_build_url("me", "my db", "/tmp/a b", 5432);
    is_str(m, "postgresql://me@/my%20db?host=/tmp/a%20b&port=5432", "built URL is percent-encoded");
    free(m);
    ok(pg_url_supported("postgres://x@/y") && pg_url_supported("host=/tmp dbname=x") &&
           !pg_url_supported("sqlite:///tmp/x.db") && !pg_url_supported("mysql://x"),
       "supported URL schemes");

    settings_release(&S);
    return done_testing();
}
