/*
 * config.c — settings table, environment, dbtool.yaml (libyaml, strict),
 * derived defaults.
 */
#include "lib/config.h"
#include "lib/fs.h"
#include "lib/pg.h"

#include <strings.h>
#include <unistd.h>
#include <yaml.h>

enum ctype { T_STR, T_PATH, T_INT, T_BOOL, T_LIST_COMMA, T_LIST_SPACE };

struct setting {
    const char *env;  /* environment variable */
    const char *yaml; /* dotted key in dbtool.yaml */
    enum ctype type;
};

static const struct setting settings[CFG__N] = {
    [CFG_LOCAL_DIR] = {"LOCAL_DIR", NULL, T_PATH},
    [CFG_ENVIRONMENT] = {"ENVIRONMENT", "environment", T_STR},
    [CFG_DB_URL] = {"DB_URL", "db_url", T_STR},
    [CFG_PG_WORKING_DIR] = {"PG_WORKING_DIR", "paths.working_dir", T_PATH},
    [CFG_DATABASE_DIR] = {"DATABASE_DIR", "paths.database_dir", T_PATH},
    [CFG_MIGRATION_DIR] = {"MIGRATION_DIR", "paths.migration_dir", T_PATH},
    [CFG_DATABASE_SOURCE] = {"DATABASE_SOURCE", "paths.database_source", T_PATH},
    [CFG_HYDRATE_ENTRYPOINT] = {"HYDRATE_ENTRYPOINT", "paths.hydrate_entrypoint", T_STR},
    [CFG_PROFILE_DIR] = {"PROFILE_DIR", "paths.profile_dir", T_PATH},
    [CFG_PG_DATABASE] = {"PG_DATABASE", "postgres.database", T_STR},
    [CFG_PG_PORT] = {"PG_PORT", "postgres.port", T_INT},
    [CFG_PG_URL_VAR] = {"PG_URL_VAR", "postgres.url_var", T_STR},
    [CFG_PG_LOG_PATH] = {"PG_LOG_PATH", "paths.log_path", T_PATH},
    [CFG_PG_CONF_FILE] = {"PG_CONF_FILE", "postgres.conf_file", T_PATH},
    [CFG_PG_SHARED_PRELOAD_LIBRARIES] = {"PG_SHARED_PRELOAD_LIBRARIES",
                                         "postgres.shared_preload_libraries", T_LIST_COMMA},
    [CFG_PG_DISABLE_LOGGING] = {"PG_DISABLE_LOGGING", "postgres.disable_logging", T_BOOL},
    [CFG_PG_REUSE] = {"PG_REUSE", "postgres.reuse", T_BOOL},
    [CFG_PG_HECTIC_INHERITANCE] = {"PG_HECTIC_INHERITANCE", "postgres.hectic_inheritance", T_BOOL},
    [CFG_HECTIC_INHERITANCE_SQL] = {"HECTIC_INHERITANCE_SQL", "paths.inheritance_sql", T_PATH},
    [CFG_HECTIC_DOTENV_FILE] = {"HECTIC_DOTENV_FILE", "paths.dotenv_file", T_PATH},
    [CFG_PATCH_LOG] = {"PATCH_LOG", "paths.patch_log", T_PATH},
    [CFG_HYDRATE_LOG] = {"HYDRATE_LOG", "paths.hydrate_log", T_PATH},
    [CFG_NO_TTY] = {"NO_TTY", "no_tty", T_BOOL},
    [CFG_HECTIC_LOG] = {"HECTIC_LOG", "log", T_STR},
    [CFG_PG_OS_USER] = {"PG_OS_USER", "postgres.os_user", T_STR},
    [CFG_PG_BINDIR] = {"PG_BINDIR", "postgres.bindir", T_PATH},
    [CFG_PG_CLIENT_BINDIR] = {"PG_CLIENT_BINDIR", "postgres.client_bindir", T_PATH},
    [CFG_STAGING_SSH_HOST] = {"STAGING_SSH_HOST", "staging.ssh_host", T_STR},
    [CFG_STAGING_DB_URL] = {"STAGING_DB_URL", "staging.db_url", T_STR},
    [CFG_STAGING_DUMP_TABLES] = {"STAGING_DUMP_TABLES", "staging.dump_tables", T_LIST_SPACE},
    [CFG_STAGING_DUMP_FLAGS] = {"STAGING_DUMP_FLAGS", "staging.dump_flags", T_STR},
    [CFG_DIFF_TABLES] = {"DIFF_TABLES", "diff.tables", T_LIST_COMMA},
};

/* Sections that may hold a mapping in dbtool.yaml. */
static const char *const sections[] = {"paths", "postgres", "staging", "diff"};

struct value {
    char *s;
    enum cfg_source src;
};
static struct value file_vals[CFG__N]; /* from dbtool.yaml */
static struct value flag_vals[CFG__N]; /* from cfg_set */
static struct value vals[CFG__N];      /* resolved */
static char *config_path;
/*
 * Values replaced by a later resolve (cfg_set, cfg_load): kept until
 * cfg_reset so a pointer from cfg_get() stays valid for the whole run.
 */
static struct strvec retired;

static void retire(char *s)
{
    if (!s)
        return;
    ALLOC_GROW(retired.v, retired.nr + 2, retired.alloc);
    retired.v[retired.nr++] = s;
    retired.v[retired.nr] = NULL;
}

/* Variables where "set but empty" is a value (PG_SHARED_PRELOAD_LIBRARIES="" disables). */
static bool empty_is_value(enum cfg_key k)
{
    return k == CFG_PG_SHARED_PRELOAD_LIBRARIES;
}

int cfg_parse_bool(const char *s, bool *out)
{
    static const char *const t[] = {"1", "true", "yes", "on", "y"};
    static const char *const f[] = {"0", "false", "no", "off", "n", ""};
    for (size_t i = 0; i < ARRAY_SIZE(t); i++)
        if (!strcasecmp(s, t[i]))
            return *out = true, 0;
    for (size_t i = 0; i < ARRAY_SIZE(f); i++)
        if (!strcasecmp(s, f[i]))
            return *out = false, 0;
    return -1;
}

static int parse_int(const char *s, long *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (!*s || *end || errno)
        return -1;
    *out = v;
    return 0;
}

/* Validate a value of KEY; message prefix WHERE. 0 / -1. */
static int validate(enum cfg_key k, const char *v, const char *where)
{
    bool b;
    long n;
    switch (settings[k].type) {
    case T_BOOL:
        if (cfg_parse_bool(v, &b) < 0)
            return error("%s: expected a boolean (1/0, true/false), got '%s'", where, v);
        break;
    case T_INT:
        if (parse_int(v, &n) < 0)
            return error("%s: expected a number, got '%s'", where, v);
        if (k == CFG_PG_PORT && (n < 1 || n > 65535))
            return error("%s: port must be between 1 and 65535, got '%s'", where, v);
        break;
    default:
        break;
    }
    if (k == CFG_PG_DATABASE) {
        /* the server would silently truncate it, and the exported name would lie */
        if (!*v)
            return error("%s: must not be empty", where);
        if (strlen(v) > 63)
            return error("%s: '%.20s...' is %zu bytes; PostgreSQL names are at most 63 bytes",
                         where, v, strlen(v));
    }
    if (k == CFG_PG_URL_VAR) {
        if (!*v)
            return error("%s: must not be empty", where);
        for (const char *p = v; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9') || *p == '_'))
                return error("%s: '%s' is not a valid variable name (allowed: [A-Za-z0-9_]+)",
                             where, v);
        if (*v >= '0' && *v <= '9')
            return error("%s: '%s' is not a valid variable name (must not start with a digit)",
                         where, v);
    }
    return 0;
}

void cfg_reset(void)
{
    for (int i = 0; i < CFG__N; i++) {
        free(file_vals[i].s);
        free(flag_vals[i].s);
        free(vals[i].s);
        file_vals[i] = flag_vals[i] = vals[i] = (struct value){NULL, CFG_SRC_UNSET};
    }
    free(config_path);
    config_path = NULL;
    strvec_clear(&retired);
}

static void set_default(enum cfg_key k, char *v)
{
    if (vals[k].src != CFG_SRC_UNSET) {
        free(v);
        return;
    }
    vals[k].s = v;
    vals[k].src = v ? CFG_SRC_DEFAULT : CFG_SRC_UNSET;
}

static const char *V(enum cfg_key k)
{
    return vals[k].s;
}

/* Resolve every key: flag > env > file > derived default. */
static int resolve(bool report)
{
    int ret = 0;
    for (int k = 0; k < CFG__N; k++) {
        retire(vals[k].s);
        vals[k] = (struct value){NULL, CFG_SRC_UNSET};
        const char *env = getenv(settings[k].env);
        if (env && !*env && !empty_is_value(k))
            env = NULL;
        if (flag_vals[k].src) {
            vals[k].s = flag_vals[k].s ? xstrdup(flag_vals[k].s) : NULL;
            vals[k].src = CFG_SRC_FLAG;
        } else if (env) {
            if (report && validate(k, env, settings[k].env) < 0)
                ret = -1;
            vals[k].s = settings[k].type == T_PATH && *env ? path_absolute(env, NULL) : xstrdup(env);
            vals[k].src = CFG_SRC_ENV;
        } else if (file_vals[k].src) {
            vals[k].s = file_vals[k].s ? xstrdup(file_vals[k].s) : NULL;
            vals[k].src = CFG_SRC_FILE;
        }
    }
    /* derived defaults, in dependency order */
    if (!V(CFG_DB_URL) && env_nonempty("PGURL"))
        set_default(CFG_DB_URL, xstrdup(getenv("PGURL")));
    if (V(CFG_LOCAL_DIR)) {
        set_default(CFG_PG_WORKING_DIR, path_join(V(CFG_LOCAL_DIR), "focus/postgresql"));
        set_default(CFG_DATABASE_DIR, path_join(V(CFG_LOCAL_DIR), "db"));
    }
    if (V(CFG_DATABASE_DIR)) {
        set_default(CFG_MIGRATION_DIR, path_join(V(CFG_DATABASE_DIR), "migration"));
        set_default(CFG_DATABASE_SOURCE, path_join(V(CFG_DATABASE_DIR), "src"));
    }
    set_default(CFG_HYDRATE_ENTRYPOINT, xstrdup("entrypoint.sql"));
    set_default(CFG_PG_DATABASE, xstrdup("testdb"));
    set_default(CFG_PG_PORT, xstrdup("5432"));
    set_default(CFG_PG_URL_VAR, xstrdup("PGURL"));
    set_default(CFG_PG_SHARED_PRELOAD_LIBRARIES, xstrdup("pg_cron"));
    set_default(CFG_PG_DISABLE_LOGGING, xstrdup("0"));
    set_default(CFG_PG_REUSE, xstrdup("0"));
    set_default(CFG_PG_HECTIC_INHERITANCE, xstrdup("0"));
    set_default(CFG_NO_TTY, xstrdup("0"));
    set_default(CFG_HECTIC_LOG, xstrdup("info"));
    set_default(CFG_PG_OS_USER, xstrdup("postgres"));
    if (V(CFG_PG_LOG_PATH)) {
        set_default(CFG_PATCH_LOG, path_join(V(CFG_PG_LOG_PATH), "patch.stdout.log"));
        set_default(CFG_HYDRATE_LOG, path_join(V(CFG_PG_LOG_PATH), "hydrate.stdout.log"));
    }
    if (V(CFG_LOCAL_DIR) && V(CFG_ENVIRONMENT)) {
        char *p = xasprintf("%s/.env.%s", V(CFG_LOCAL_DIR), V(CFG_ENVIRONMENT));
        if (access(p, R_OK) == 0)
            set_default(CFG_HECTIC_DOTENV_FILE, p);
        else
            free(p);
    }
    return ret;
}

/* ---- dbtool.yaml ---- */

struct yctx {
    yaml_parser_t parser;
    const char *name;
    const char *basedir;
    bool seen[CFG__N];
};

/* An error at libyaml mark M of the file being read. */
#define yerr(y, m, ...) error_at((y)->name, (m).line + 1, (m).column + 1, __VA_ARGS__)

static int next_event(struct yctx *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev)) {
        yaml_mark_t m = y->parser.problem_mark;
        return yerr(y, m, "syntax error: %s%s%s", y->parser.problem ? y->parser.problem : "invalid YAML",
                    y->parser.context ? " " : "", y->parser.context ? y->parser.context : "");
    }
    return 0;
}

static const char *type_word(enum ctype t)
{
    switch (t) {
    case T_INT:
        return "a number";
    case T_BOOL:
        return "a boolean";
    case T_LIST_COMMA:
    case T_LIST_SPACE:
        return "a string or a list of strings";
    default:
        return "a string";
    }
}

static bool scalar_is_null(const yaml_event_t *ev)
{
    const char *v = (const char *)ev->data.scalar.value;
    return ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE &&
           (!*v || !strcmp(v, "~") || !strcmp(v, "null") || !strcmp(v, "Null") || !strcmp(v, "NULL"));
}

/* Read the value of setting K (the key event was just consumed). */
static int read_value(struct yctx *y, enum cfg_key k)
{
    yaml_event_t ev;
    if (next_event(y, &ev) < 0)
        return -1;
    enum ctype t = settings[k].type;
    int ret = 0;
    char *val = NULL;
    if (ev.type == YAML_SCALAR_EVENT) {
        const char *v = (const char *)ev.data.scalar.value;
        if (scalar_is_null(&ev)) {
            val = NULL;
        } else {
            bool b;
            long n;
            if (t == T_BOOL && cfg_parse_bool(v, &b) < 0)
                ret = yerr(y, ev.start_mark, "'%s' expects %s, got '%s'", settings[k].yaml, type_word(t), v);
            else if (t == T_INT && parse_int(v, &n) < 0)
                ret = yerr(y, ev.start_mark, "'%s' expects %s, got '%s'", settings[k].yaml, type_word(t), v);
            else if (t == T_BOOL)
                val = xstrdup(b ? "1" : "0");
            else if (t == T_PATH && *v)
                val = path_absolute(v, y->basedir);
            else
                val = xstrdup(v);
            if (!ret && val && validate(k, val, "") < 0) {
                ret = yerr(y, ev.start_mark, "invalid value for '%s'", settings[k].yaml);
            }
        }
    } else if (ev.type == YAML_SEQUENCE_START_EVENT && (t == T_LIST_COMMA || t == T_LIST_SPACE)) {
        struct strbuf sb = STRBUF_INIT;
        for (;;) {
            yaml_event_t it;
            if (next_event(y, &it) < 0) {
                ret = -1;
                break;
            }
            if (it.type == YAML_SEQUENCE_END_EVENT) {
                yaml_event_delete(&it);
                break;
            }
            if (it.type != YAML_SCALAR_EVENT) {
                ret = yerr(y, it.start_mark, "'%s' list items must be strings", settings[k].yaml);
                yaml_event_delete(&it);
                break;
            }
            if (sb.len)
                strbuf_addch(&sb, t == T_LIST_COMMA ? ',' : ' ');
            strbuf_addstr(&sb, (const char *)it.data.scalar.value);
            yaml_event_delete(&it);
        }
        val = strbuf_detach(&sb, NULL);
    } else {
        ret = yerr(y, ev.start_mark, "'%s' expects %s, got a %s", settings[k].yaml, type_word(t),
                   ev.type == YAML_MAPPING_START_EVENT ? "mapping" :
                   ev.type == YAML_SEQUENCE_START_EVENT ? "list" : "non-scalar");
    }
    yaml_event_delete(&ev);
    if (ret) {
        free(val);
        return -1;
    }
    free(file_vals[k].s);
    file_vals[k].s = val;
    file_vals[k].src = CFG_SRC_FILE;
    return 0;
}

static int parse_mapping(struct yctx *y, const char *prefix)
{
    for (;;) {
        yaml_event_t ev;
        if (next_event(y, &ev) < 0)
            return -1;
        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            return 0;
        }
        if (ev.type != YAML_SCALAR_EVENT) {
            int r = yerr(y, ev.start_mark, "keys must be plain strings");
            yaml_event_delete(&ev);
            return r;
        }
        char *key = prefix ? xasprintf("%s.%s", prefix, (const char *)ev.data.scalar.value)
                           : xstrdup((const char *)ev.data.scalar.value);
        yaml_mark_t km = ev.start_mark;
        yaml_event_delete(&ev);
        int ret = 0;
        int found = -1;
        for (int k = 0; k < CFG__N; k++)
            if (settings[k].yaml && !strcmp(settings[k].yaml, key))
                found = k;
        bool is_section = false;
        if (!prefix)
            for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
                if (!strcmp(sections[i], key))
                    is_section = true;
        if (found >= 0) {
            if (y->seen[found])
                ret = yerr(y, km, "duplicate key '%s'", key);
            else {
                y->seen[found] = true;
                ret = read_value(y, (enum cfg_key)found);
            }
        } else if (is_section) {
            yaml_event_t sv;
            if (next_event(y, &sv) < 0) {
                ret = -1;
            } else if (sv.type == YAML_MAPPING_START_EVENT) {
                yaml_event_delete(&sv);
                ret = parse_mapping(y, key);
            } else if (sv.type == YAML_SCALAR_EVENT && scalar_is_null(&sv)) {
                yaml_event_delete(&sv);
            } else {
                ret = yerr(y, sv.start_mark, "'%s' must be a mapping", key);
                yaml_event_delete(&sv);
            }
        } else {
            ret = yerr(y, km, "unknown key '%s'", key);
        }
        free(key);
        if (ret)
            return -1;
    }
}

int cfg_load_yaml_string(const char *name, const char *text, size_t len, const char *basedir)
{
    struct yctx y;
    memset(&y, 0, sizeof(y));
    y.name = name;
    y.basedir = basedir;
    if (!yaml_parser_initialize(&y.parser))
        return error("%s: cannot initialise the YAML parser", name);
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
    int ret = 0;
    yaml_event_t ev;
    bool in_doc = false;
    for (;;) {
        if (next_event(&y, &ev) < 0) {
            ret = -1;
            break;
        }
        yaml_event_type_t t = ev.type;
        yaml_mark_t m = ev.start_mark;
        bool null_doc = t == YAML_SCALAR_EVENT && scalar_is_null(&ev);
        yaml_event_delete(&ev);
        if (t == YAML_STREAM_END_EVENT)
            break;
        if (t == YAML_STREAM_START_EVENT || t == YAML_DOCUMENT_END_EVENT)
            continue;
        if (t == YAML_DOCUMENT_START_EVENT) {
            if (in_doc) {
                ret = yerr(&y, m, "only one YAML document is allowed");
                break;
            }
            in_doc = true;
            continue;
        }
        if (t == YAML_MAPPING_START_EVENT) {
            if (parse_mapping(&y, NULL) < 0) {
                ret = -1;
                break;
            }
            continue;
        }
        if (null_doc)
            continue;
        ret = yerr(&y, m, "the top level must be a mapping of settings");
        break;
    }
    yaml_parser_delete(&y.parser);
    if (!ret)
        ret = resolve(true);
    return ret;
}

static int load_file(const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    if (strbuf_read_file(&sb, path) < 0) {
        strbuf_release(&sb);
        return error_errno("cannot read project file '%s'", path);
    }
    char *abs = path_absolute(path, NULL);
    char *dir = xstrdup(abs);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = 0;
    else
        strcpy(dir, "/");
    free(config_path);
    config_path = abs;
    int ret = cfg_load_yaml_string(path, sb.buf, sb.len, dir);
    free(dir);
    strbuf_release(&sb);
    return ret;
}

int cfg_load(void)
{
    int ret = resolve(!env_nonempty("DBTOOL_CONFIG"));
    const char *explicit = env_nonempty("DBTOOL_CONFIG");
    if (explicit)
        return load_file(explicit) < 0 ? -1 : ret;
    if (V(CFG_LOCAL_DIR)) {
        char *p = path_join(V(CFG_LOCAL_DIR), "dbtool.yaml");
        if (access(p, F_OK) == 0) {
            int r = load_file(p);
            free(p);
            return r < 0 ? -1 : ret;
        }
        free(p);
    }
    return ret;
}

void cfg_set(enum cfg_key k, const char *value)
{
    retire(flag_vals[k].s);
    flag_vals[k].s = value ? (settings[k].type == T_PATH && *value ? path_absolute(value, NULL)
                                                                    : xstrdup(value))
                           : NULL;
    flag_vals[k].src = CFG_SRC_FLAG;
    resolve(false);
}

const char *cfg_get(enum cfg_key k)
{
    return vals[k].s;
}

bool cfg_bool(enum cfg_key k)
{
    bool b = false;
    if (vals[k].s)
        cfg_parse_bool(vals[k].s, &b);
    return b;
}

int cfg_int(enum cfg_key k)
{
    long n = 0;
    if (vals[k].s)
        parse_int(vals[k].s, &n);
    return (int)n;
}

enum cfg_source cfg_source(enum cfg_key k)
{
    return vals[k].src;
}

const char *cfg_name(enum cfg_key k)
{
    return settings[k].env;
}

const char *cfg_file(void)
{
    return config_path;
}

void cfg_dump(struct strbuf *out)
{
    static const char *const srcname[] = {"unset", "default", "file", "env", "flag"};
    for (int k = 0; k < CFG__N; k++) {
        const char *v = vals[k].s;
        if (v && (k == CFG_DB_URL || k == CFG_STAGING_DB_URL)) {
            char *m = pg_mask_url(v);
            strbuf_addf(out, "%s=%s\t# %s\n", settings[k].env, m, srcname[vals[k].src]);
            free(m);
        } else {
            strbuf_addf(out, "%s=%s\t# %s\n", settings[k].env, v ? v : "", srcname[vals[k].src]);
        }
    }
    if (config_path)
        strbuf_addf(out, "# project file: %s\n", config_path);
}

void cfg_load_or_die(void)
{
    if (cfg_load() < 0)
        dbtool_exit(EXIT_MISSING);
    const char *bad;
    if (log_configure(cfg_get(CFG_HECTIC_LOG), &bad) < 0)
        die(EXIT_MISSING, "HECTIC_LOG: invalid level '%s' (levels: trace debug info notice warn "
                          "error off; per namespace: LEVEL;ns=LEVEL)", bad);
}
