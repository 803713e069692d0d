/*
 * config.h — every setting of SPEC section 2 resolved in one place:
 * command-line flag > environment > project file (dbtool.yaml) > default.
 * Applets only read it (and set flag values through cfg_set).
 */
#ifndef DBTOOL_CONFIG_H
#define DBTOOL_CONFIG_H

#include "lib/common.h"

enum cfg_key {
    CFG_LOCAL_DIR,
    CFG_ENVIRONMENT,
    CFG_DB_URL,
    CFG_PG_WORKING_DIR,
    CFG_DATABASE_DIR,
    CFG_MIGRATION_DIR,
    CFG_DATABASE_SOURCE,
    CFG_HYDRATE_ENTRYPOINT,
    CFG_PROFILE_DIR,
    CFG_PG_DATABASE,
    CFG_PG_PORT,
    CFG_PG_URL_VAR,
    CFG_PG_LOG_PATH,
    CFG_PG_CONF_FILE,
    CFG_PG_SHARED_PRELOAD_LIBRARIES,
    CFG_PG_DISABLE_LOGGING,
    CFG_PG_REUSE,
    CFG_PG_HECTIC_INHERITANCE,
    CFG_HECTIC_INHERITANCE_SQL,
    CFG_HECTIC_DOTENV_FILE,
    CFG_PATCH_LOG,
    CFG_HYDRATE_LOG,
    CFG_NO_TTY,
    CFG_HECTIC_LOG,
    CFG_PG_OS_USER,
    CFG_PG_BINDIR,
    CFG_PG_CLIENT_BINDIR,
    CFG_STAGING_SSH_HOST,
    CFG_STAGING_DB_URL,
    CFG_STAGING_DUMP_TABLES,
    CFG_STAGING_DUMP_FLAGS,
    CFG_DIFF_TABLES,
    CFG__N
};

enum cfg_source { CFG_SRC_UNSET, CFG_SRC_DEFAULT, CFG_SRC_FILE, CFG_SRC_ENV, CFG_SRC_FLAG };

/*
 * Load the environment and the project file ($DBTOOL_CONFIG, else
 * $LOCAL_DIR/dbtool.yaml when present). Returns 0, or -1 after printing a
 * "file:line:col: ..." or "VAR: ..." message (callers exit 3).
 */
int cfg_load(void);
/*
 * cfg_load(), exit 3 on a configuration error, then apply HECTIC_LOG.
 * What every applet calls once its options are parsed.
 */
void cfg_load_or_die(void);
/* Parse YAML text as a project file named NAME (for tests). 0 / -1. */
int cfg_load_yaml_string(const char *name, const char *text, size_t len, const char *basedir);
/* Reset everything (tests). */
void cfg_reset(void);
/* Set KEY from a command-line flag (highest precedence); recomputes derived defaults. */
void cfg_set(enum cfg_key key, const char *value);

/*
 * The value (NULL when unset and no default applies). The pointer stays valid
 * until cfg_reset(), even across later cfg_set()/cfg_load() calls.
 */
const char *cfg_get(enum cfg_key key);
bool cfg_bool(enum cfg_key key);
int cfg_int(enum cfg_key key);
enum cfg_source cfg_source(enum cfg_key key);
/* The environment variable name of KEY. */
const char *cfg_name(enum cfg_key key);
/* The project file that was read, or NULL. */
const char *cfg_file(void);
/* "NAME=value (source)" lines for `dbtool config`. */
void cfg_dump(struct strbuf *out);
/* Parse a boolean word (1/0, true/false, yes/no, on/off). 0 / -1. */
int cfg_parse_bool(const char *s, bool *out);

#endif
