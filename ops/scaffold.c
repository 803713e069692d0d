/*
 * scaffold.c — `database new [DIR]` (see scaffold.h).
 */
#include "ops/scaffold.h"
#include "lib/fs.h"
#include "lib/pgbin.h"
#include "lib/settings.h"

#include <fcntl.h>
#include <unistd.h>

static const char yaml_head[] =
    "# dbtool.yaml: this project's settings, all optional. Keys mirror the environment\n"
    "# variables (named on the right), which win over this file; `dbtool config` shows\n"
    "# every resolved value and where it came from. Relative paths are relative to this\n"
    "# file. `database` run anywhere below this directory finds it (like git).\n";

static const char yaml_body[] =
    "#\n"
    "# postgres:\n"
    "#   database: testdb                     # PG_DATABASE\n"
    "#   port: 5432                           # PG_PORT (the socket file name; no TCP)\n"
    "#   shared_preload_libraries: pg_cron    # PG_SHARED_PRELOAD_LIBRARIES (\"\" for none)\n"
    "# paths:\n"
    "#   working_dir: focus/postgresql        # PG_WORKING_DIR: the cluster (data/, sock/)\n"
    "#   database_source: db/src              # DATABASE_SOURCE: entrypoint.sql is run by hydrate\n"
    "#   migration_dir: db/migration          # MIGRATION_DIR\n"
    "#   patch_sql: test-data.sql             # PATCH_SQL: run by patch (and deploy)\n"
    "#   backup: focus/postgresql-backup      # DEFAULT_BACKUP_PATH: backup, restore, diff\n"
    "# environment: development               # ENVIRONMENT: hydrate loads .env.development\n"
    "#                                        #   into hectic.secret\n"
    "# staging:                               # database pull_staging\n"
    "#   ssh_host: deploy@staging.example.com # STAGING_SSH_HOST\n"
    "#   db_url: postgresql:///app            # STAGING_DB_URL (as seen on that host)\n"
    "#   dump_tables: [app.customer]          # STAGING_DUMP_TABLES\n"
    "#   dump_flags: --column-inserts         # STAGING_DUMP_FLAGS\n";

static const char entrypoint_sql[] =
    "-- Hydrate sources: `database hydrate` (and deploy, check, diff) runs this file\n"
    "-- like `psql -f`, after the hectic bundle; \\ir includes a file relative to it.\n"
    "--\n"
    "-- The one rule to know: every table inherits hectic.created_at, or CREATE TABLE\n"
    "-- is refused:\n"
    "--     CREATE TABLE app.x (...) INHERITS (hectic.created_at);\n"
    "-- Add hectic.updated_at for an updated_at column kept by a trigger, and\n"
    "-- hectic.immutable for reference data that only migrations may change.\n"
    "-- Schemas listed in the database setting hectic.inheritance_extra_excluded_schemas\n"
    "-- are exempt (partitioned tables, which cannot inherit, belong there).\n"
    "CREATE SCHEMA app;\n"
    "\n"
    "CREATE TABLE app.customer (\n"
    "    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,\n"
    "    name text NOT NULL\n"
    ") INHERITS (hectic.created_at, hectic.updated_at);\n"
    "\n"
    "-- Reference data: refused outside migration mode; `database diff` compares its rows.\n"
    "CREATE TABLE app.country (\n"
    "    code text PRIMARY KEY,\n"
    "    name text NOT NULL\n"
    ") INHERITS (hectic.created_at, hectic.immutable);\n"
    "\n"
    "BEGIN;\n"
    "SET LOCAL hectic.migration_mode = 'on';\n"
    "INSERT INTO app.country (code, name) VALUES ('DE', 'Germany'), ('FR', 'France');\n"
    "COMMIT;\n";

static const char test_sql[] =
    "-- `database test` runs this file; the first error fails it (exit 1).\n"
    "DO $$\n"
    "BEGIN\n"
    "    IF (SELECT count(*) FROM app.country) = 0 THEN\n"
    "        RAISE EXCEPTION 'reference data missing: app.country is empty';\n"
    "    END IF;\n"
    "    BEGIN\n"
    "        DELETE FROM app.country;\n"
    "        RAISE EXCEPTION 'app.country is not immutable';\n"
    "    EXCEPTION WHEN insufficient_privilege THEN\n"
    "        NULL; -- refused outside migration mode, as it should be\n"
    "    END;\n"
    "END $$;\n"
    "\\echo 'tests passed'\n";

static const char test_data_sql[] =
    "-- Local test data: `database patch` (and deploy) runs it after hydrate.\n"
    "-- `database pull_staging` can regenerate it from staging.\n"
    "INSERT INTO app.customer (name) VALUES ('Ada'), ('Grace');\n";

static const char gitignore[] =
    "# clusters, backups and diff logs of dbtool\n"
    "focus/\n";

/* Write REL under DIR unless it exists; say which. 0 or -1. */
static int put(const char *dir, const char *rel, const char *text, size_t len)
{
    char *path = path_join(dir, rel);
    char *parent = xstrdup(path);
    *strrchr(parent, '/') = 0;
    int ret = 0;
    if (mkdir_p(parent, 0755) < 0) {
        ret = error_errno("cannot create '%s'", parent);
        goto out;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0 && errno == EEXIST) {
        info("  kept   %s (exists)", rel);
        goto out;
    }
    if (fd < 0) {
        ret = error_errno("cannot create '%s'", path);
        goto out;
    }
    ssize_t off = 0;
    while ((size_t)off < len) {
        ssize_t w = write(fd, text + off, len - (size_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0) {
            ret = error_errno("cannot write '%s'", path);
            break;
        }
        off += w;
    }
    if (close(fd) < 0 && !ret)
        ret = error_errno("cannot write '%s'", path);
    if (!ret)
        info("  wrote  %s", rel);
out:
    free(parent);
    free(path);
    return ret;
}

/* The dbtool.yaml text: commented defaults, pg_cron turned off when it is not installed. */
static void yaml_text(const struct settings *s, struct strbuf *sb)
{
    strbuf_addstr(sb, yaml_head);
    struct pgbin bin;
    if (pgbin_find(&bin, set_get(s, SET_PG_BINDIR), set_get(s, SET_PG_CLIENT_BINDIR)) == 0) {
        if (!pgbin_lib_installed(&bin, "pg_cron")) {
            strbuf_addf(sb,
                        "\n"
                        "# pg_cron is not installed for the PostgreSQL in %s, so the cluster\n"
                        "# preloads nothing. To get it: install it (Debian: postgresql-NN-cron) and\n"
                        "# delete these lines.\n"
                        "postgres:\n"
                        "  shared_preload_libraries: \"\"\n",
                        bin.bindir);
            warn("pg_cron is not installed for %s: dbtool.yaml turns the preload off", bin.bindir);
        }
        pgbin_release(&bin);
    }
    strbuf_addstr(sb, yaml_body);
}

int scaffold_new(const struct settings *s, const char *dir)
{
    char *abs = path_absolute(dir, NULL);
    if (access(abs, F_OK) == 0 && !is_dir(abs)) {
        error("'%s' exists and is not a directory", dir);
        free(abs);
        return EXIT_ERR;
    }
    if (mkdir_p(abs, 0755) < 0) {
        error_errno("cannot create '%s'", abs);
        free(abs);
        return EXIT_ERR;
    }
    info("new project in %s:", abs);
    struct strbuf yaml = STRBUF_INIT;
    yaml_text(s, &yaml);
    int r = put(abs, "dbtool.yaml", yaml.buf, yaml.len);
    strbuf_release(&yaml);
    if (!r)
        r = put(abs, ".gitignore", gitignore, sizeof(gitignore) - 1);
    if (!r)
        r = put(abs, "db/src/entrypoint.sql", entrypoint_sql, sizeof(entrypoint_sql) - 1);
    if (!r)
        r = put(abs, "db/migration/.gitkeep", "", 0);
    if (!r)
        r = put(abs, "db/test/test.sql", test_sql, sizeof(test_sql) - 1);
    if (!r)
        r = put(abs, "test-data.sql", test_data_sql, sizeof(test_data_sql) - 1);
    if (!r) {
        char *cwd = path_absolute(".", NULL);
        bool here = !strcmp(cwd, abs);
        info("next:%s%s%s database deploy && database test   (README.md: Quick start)", here ? "" : " cd ",
             here ? "" : dir, here ? "" : " &&");
        free(cwd);
    }
    free(abs);
    return r ? EXIT_ERR : 0;
}
