/*
 * t-config.c — config precedence (flag > env > file > default), strict
 * dbtool.yaml errors with file:line:col, HECTIC_LOG specs, URL masking.
 */
#include "lib/common.h"
#include "lib/config.h"
#include "lib/pg.h"
#include "test/unit/tap.h"

#include <fcntl.h>
#include <unistd.h>

static char errbuf[4096];

/* Run yaml through the loader with stderr captured into errbuf. */
static int load(const char *yaml)
{
    char path[] = "/tmp/t-config-XXXXXX";
    int fd = mkstemp(path);
    fflush(stderr);
    int saved = dup(2);
    dup2(fd, 2);
    cfg_reset();
    int r = cfg_load_yaml_string("dbtool.yaml", yaml, strlen(yaml), "/proj");
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    lseek(fd, 0, SEEK_SET);
    ssize_t n = read(fd, errbuf, sizeof(errbuf) - 1);
    errbuf[n > 0 ? n : 0] = 0;
    close(fd);
    unlink(path);
    return r;
}

static void clear_env(void)
{
    for (int k = 0; k < CFG__N; k++)
        unsetenv(cfg_name(k));
    unsetenv("PGURL");
    unsetenv("DBTOOL_CONFIG");
}

int main(void)
{
    clear_env();

    /* defaults */
    ok(load("") == 0, "empty file loads");
    is_str(cfg_get(CFG_PG_DATABASE), "testdb", "PG_DATABASE default");
    is_int(cfg_int(CFG_PG_PORT), 5432, "PG_PORT default");
    is_str(cfg_get(CFG_PG_URL_VAR), "PGURL", "PG_URL_VAR default");
    is_str(cfg_get(CFG_PG_SHARED_PRELOAD_LIBRARIES), "pg_cron", "preload default pg_cron");
    ok(cfg_get(CFG_PG_WORKING_DIR) == NULL, "no working dir without LOCAL_DIR");
    ok(cfg_source(CFG_PG_PORT) == CFG_SRC_DEFAULT, "source of a default");

    /* derived from LOCAL_DIR */
    setenv("LOCAL_DIR", "/p", 1);
    load("");
    is_str(cfg_get(CFG_PG_WORKING_DIR), "/p/focus/postgresql", "PG_WORKING_DIR from LOCAL_DIR");
    is_str(cfg_get(CFG_DATABASE_DIR), "/p/db", "DATABASE_DIR from LOCAL_DIR");
    is_str(cfg_get(CFG_MIGRATION_DIR), "/p/db/migration", "MIGRATION_DIR from DATABASE_DIR");
    is_str(cfg_get(CFG_DATABASE_SOURCE), "/p/db/src", "DATABASE_SOURCE from DATABASE_DIR");
    setenv("DATABASE_DIR", "/elsewhere", 1);
    load("");
    is_str(cfg_get(CFG_MIGRATION_DIR), "/elsewhere/migration", "MIGRATION_DIR follows DATABASE_DIR env");
    unsetenv("DATABASE_DIR");

    /* file over default, env over file, flag over env */
    ok(load("postgres:\n  port: 6000\n  database: filedb\npaths:\n  database_dir: rel/db\n") == 0,
       "nested file loads");
    is_int(cfg_int(CFG_PG_PORT), 6000, "file overrides default");
    ok(cfg_source(CFG_PG_PORT) == CFG_SRC_FILE, "source file");
    is_str(cfg_get(CFG_DATABASE_DIR), "/proj/rel/db", "relative path resolves against the file's dir");
    is_str(cfg_get(CFG_MIGRATION_DIR), "/proj/rel/db/migration", "derived default follows the file");
    setenv("PG_PORT", "7000", 1);
    load("postgres:\n  port: 6000\n");
    is_int(cfg_int(CFG_PG_PORT), 7000, "env overrides file");
    ok(cfg_source(CFG_PG_PORT) == CFG_SRC_ENV, "source env");
    cfg_set(CFG_PG_PORT, "8000");
    is_int(cfg_int(CFG_PG_PORT), 8000, "flag overrides env");
    ok(cfg_source(CFG_PG_PORT) == CFG_SRC_FLAG, "source flag");
    unsetenv("PG_PORT");

    /* a cfg_get() pointer stays valid across later cfg_set() calls (ASan checks the read) */
    load("postgres:\n  database: keepme\n");
    const char *held = cfg_get(CFG_PG_DATABASE);
    cfg_set(CFG_PG_DATABASE, "other");
    cfg_set(CFG_MIGRATION_DIR, "/m");
    is_str(held, "keepme", "a value read before cfg_set is still readable after it");
    is_str(cfg_get(CFG_PG_DATABASE), "other", "...and the new value is in effect");

    /* DB_URL falls back to PGURL */
    setenv("PGURL", "postgresql://u@/d", 1);
    load("");
    is_str(cfg_get(CFG_DB_URL), "postgresql://u@/d", "DB_URL defaults to PGURL");
    setenv("DB_URL", "postgresql://x@/y", 1);
    load("");
    is_str(cfg_get(CFG_DB_URL), "postgresql://x@/y", "DB_URL env wins over PGURL");
    unsetenv("DB_URL");
    unsetenv("PGURL");

    /* empty preload disables; lists */
    setenv("PG_SHARED_PRELOAD_LIBRARIES", "", 1);
    load("");
    is_str(cfg_get(CFG_PG_SHARED_PRELOAD_LIBRARIES), "", "empty PG_SHARED_PRELOAD_LIBRARIES is a value");
    unsetenv("PG_SHARED_PRELOAD_LIBRARIES");
    load("postgres:\n  shared_preload_libraries: [pg_cron, pg_stat_statements]\n");
    is_str(cfg_get(CFG_PG_SHARED_PRELOAD_LIBRARIES), "pg_cron,pg_stat_statements", "list joined with commas");
    load("staging:\n  dump_tables:\n    - a\n    - b\n");
    is_str(cfg_get(CFG_STAGING_DUMP_TABLES), "a b", "table list joined with spaces");
    load("postgres:\n  reuse: yes\n  disable_logging: false\n");
    ok(cfg_bool(CFG_PG_REUSE) && !cfg_bool(CFG_PG_DISABLE_LOGGING), "YAML booleans");

    /* errors with positions */
    ok(load("postgres:\n  port: 6000\n  databse: x\n") < 0, "unknown nested key fails");
    ok(strstr(errbuf, "dbtool.yaml:3:3: unknown key 'postgres.databse'") != NULL, "...at file:3:3 (%s)", errbuf);
    ok(load("bogus: 1\n") < 0 && strstr(errbuf, "dbtool.yaml:1:1: unknown key 'bogus'"), "unknown top key");
    ok(load("postgres:\n  port: abc\n") < 0 && strstr(errbuf, "dbtool.yaml:2:9:") &&
           strstr(errbuf, "expects a number"), "wrong type: number (%s)", errbuf);
    ok(load("postgres:\n  reuse: maybe\n") < 0 && strstr(errbuf, "expects a boolean"), "wrong type: boolean");
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
    cfg_reset();
    {
        fflush(stderr);
        int saved = dup(2), dn = open("/dev/null", O_WRONLY);
        dup2(dn, 2);
        int r = cfg_load();
        dup2(saved, 2);
        close(saved);
        close(dn);
        ok(r < 0, "invalid PG_URL_VAR in env refused");
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

    cfg_reset();
    return done_testing();
}
