/*
 * settings.h — every knob of dbtool (SPEC section 2 and dbtool's own),
 * resolved once into a value that is only read afterwards:
 *
 *     command-line flag > environment > project file (dbtool.yaml) > default
 *
 * main() loads the environment (a snapshot: nothing reads a dbtool variable
 * with getenv() later) and the project file, and hands `const struct
 * settings *` to the applet. An applet whose flags override a setting
 * (-u URL, -d DIR, --reuse) makes its own derived copy with
 * settings_derive(); nothing below the applets writes settings or the
 * environment. Modules that need a few values get them as arguments
 * (struct cluster_spec, struct proj_opts ...), so a throwaway cluster is
 * a different spec, never a rewritten configuration.
 *
 * Invalid input (a bad number, an unknown dbtool.yaml key, a syntax error)
 * never aborts the load: the value falls back to the next layer and the
 * message is recorded in `problems` ("FILE:LINE:COL: ..." or "VAR: ...").
 * main reports them and exits 3; `dbtool doctor` lists them as findings.
 */
#ifndef DBTOOL_SETTINGS_H
#define DBTOOL_SETTINGS_H

#include "lib/common.h"

enum set_key {
    SET_LOCAL_DIR,
    SET_DBTOOL_CONFIG,
    SET_ENVIRONMENT,
    SET_DB_URL,
    SET_PG_WORKING_DIR,
    SET_DATABASE_DIR,
    SET_MIGRATION_DIR,
    SET_DATABASE_SOURCE,
    SET_CODE_DIR,
    SET_HYDRATE_ENTRYPOINT,
    SET_PROFILE_DIR,
    SET_PATCH_SQL,
    SET_PG_DATABASE,
    SET_PG_PORT,
    SET_PG_URL_VAR,
    SET_PG_LOG_PATH,
    SET_PG_CONF_FILE,
    SET_PG_SHARED_PRELOAD_LIBRARIES,
    SET_PG_DISABLE_LOGGING,
    SET_PG_REUSE,
    SET_PG_HECTIC_INHERITANCE,
    SET_HECTIC_INHERITANCE_SQL,
    SET_HECTIC_DOTENV_FILE,
    SET_PATCH_LOG,
    SET_HYDRATE_LOG,
    SET_NO_TTY,
    SET_HECTIC_LOG,
    SET_PG_OS_USER,
    SET_PG_BINDIR,
    SET_PG_CLIENT_BINDIR,
    SET_PG_FSYNC,
    SET_PG_START_TIMEOUT,
    SET_DBTOOL_CACHE_DIR,
    SET_DBTOOL_SYNC_CACHE,
    SET_DBTOOL_SCRATCH_DIR,
    SET_DBTOOL_SCRATCH_RAM,
    SET_DBTOOL_SNAPSHOT_BUDGET,
    SET_DBTOOL_CLONE_POOL,
    SET_DEFAULT_BACKUP_PATH,
    SET_DEFAULT_NORMALIZED_BACKUP_PATH,
    SET_STAGING_SSH_HOST,
    SET_STAGING_DB_URL,
    SET_STAGING_DUMP_TABLES,
    SET_STAGING_DUMP_FLAGS,
    SET_STAGING_SSH_OPTS,
    SET_STAGING_PG_DUMP,
    SET_DIFF_TABLES,
    SET_MIGRATION_LOCK_TIMEOUT,
    SET_MIGRATION_STATEMENT_TIMEOUT,
    SET_MIGRATION_LOCK_RETRIES,
    SET__N
};

enum set_source { SET_SRC_UNSET, SET_SRC_DEFAULT, SET_SRC_FILE, SET_SRC_ENV, SET_SRC_FLAG };

struct set_value {
    char *s;
    enum set_source src;
};

struct settings {
    struct set_value v[SET__N]; /* resolved */
    /* the layers, kept so a derived copy resolves the same way */
    struct set_value env[SET__N], file[SET__N], flag[SET__N];
    /* other inputs of derived defaults, read once */
    char *pgurl, *home, *xdg_cache_home;
    char *file_path;          /* the project file that was read, or NULL */
    struct strvec problems;   /* messages about invalid input, in order */
    /* project discovery (settings_load_project): the LOCAL_DIR default, or NULL */
    char *discovered;
    struct strvec warnings;   /* worth saying, not wrong (LOCAL_DIR vs the current project) */
};

/* One flag value for settings_derive() (VALUE NULL: explicitly unset). */
struct set_override {
    enum set_key key;
    const char *value;
};

/*
 * Snapshot the environment and read the project file ($DBTOOL_CONFIG, else
 * $LOCAL_DIR/dbtool.yaml when it exists) into S. 0, or -1 when
 * S->problems is not empty (S is usable all the same).
 */
int settings_load(struct settings *s);
/*
 * settings_load() with project discovery, as git finds its repository: with
 * LOCAL_DIR unset, LOCAL_DIR defaults to the nearest directory from the
 * current one upwards that holds a dbtool.yaml, else to the current
 * directory (what the shell tools did). With LOCAL_DIR set while the current
 * directory is inside another project (a nearer dbtool.yaml that is not
 * LOCAL_DIR's), S->warnings says so; LOCAL_DIR wins.
 */
int settings_load_project(struct settings *s);
/*
 * Why LOCAL_DIR cannot be the project root (it names no existing directory:
 * a typo is refused, not created), appended to WHY; true when it can (or is
 * unset).
 */
bool settings_local_dir_ok(const struct settings *s, struct strbuf *why);
/*
 * As settings_load() with YAML TEXT as the project file NAME whose relative
 * paths resolve against BASEDIR (tests, fuzzing). 0 / -1 like settings_load().
 */
int settings_load_yaml_string(struct settings *s, const char *name, const char *text, size_t len,
                              const char *basedir);
/* DST = SRC with the N overrides applied as command-line flags, re-resolved. */
void settings_derive(struct settings *dst, const struct settings *src,
                     const struct set_override *ov, size_t n);
void settings_release(struct settings *s);
/* Print every problem with error(). */
void settings_report(const struct settings *s);

/* The value (NULL when unset and no default applies); valid until settings_release(). */
const char *set_get(const struct settings *s, enum set_key k);
bool set_bool(const struct settings *s, enum set_key k);
int set_int(const struct settings *s, enum set_key k);
double set_double(const struct settings *s, enum set_key k);
enum set_source set_source(const struct settings *s, enum set_key k);
/* The environment variable name of K ("PG_PORT"). */
const char *set_name(enum set_key k);
/* The dbtool.yaml key of K ("postgres.port"), NULL for environment-only settings. */
const char *set_yaml_key(enum set_key k);
/* One line saying what K means (man pages), or NULL. */
const char *set_help(enum set_key k);
/* The key named NAME (environment name), or -1. */
int set_lookup(const char *name);
/* Whether K holds a URL whose password must be masked when shown. */
bool set_is_url(enum set_key k);
/* "NAME=value\t# source" lines for `dbtool config` (URL passwords masked). */
void settings_dump(const struct settings *s, struct strbuf *out);
/* Parse a boolean word (1/0, true/false, yes/no, on/off). 0 / -1. */
int set_parse_bool(const char *s, bool *out);
/* A PostgreSQL duration as lock_timeout takes it: digits, an optional fraction and unit (us ms s min h d). */
bool set_duration_valid(const char *v);

#endif
