/*
 * settings.c — the settings table, the environment snapshot, dbtool.yaml
 * (libyaml, strict), derived defaults. See settings.h.
 */
#include "lib/settings.h"
#include "lib/opt.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/snapshot.h"

#include <math.h>
#include <pwd.h>
#include <strings.h>
#include <unistd.h>
#include <yaml.h>

enum stype { T_STR, T_PATH, T_INT, T_NUM, T_BOOL, T_LIST_COMMA, T_LIST_SPACE };

struct setting {
    const char *env;  /* environment variable */
    const char *yaml; /* dotted key in dbtool.yaml; NULL: environment only */
    enum stype type;
};

static const struct setting table[SET__N] = {
    [SET_LOCAL_DIR] = {"LOCAL_DIR", NULL, T_PATH},
    [SET_DBTOOL_CONFIG] = {"DBTOOL_CONFIG", NULL, T_PATH},
    [SET_ENVIRONMENT] = {"ENVIRONMENT", "environment", T_STR},
    [SET_DB_URL] = {"DB_URL", "db_url", T_STR},
    [SET_PG_WORKING_DIR] = {"PG_WORKING_DIR", "paths.working_dir", T_PATH},
    [SET_DATABASE_DIR] = {"DATABASE_DIR", "paths.database_dir", T_PATH},
    [SET_MIGRATION_DIR] = {"MIGRATION_DIR", "paths.migration_dir", T_PATH},
    [SET_DATABASE_SOURCE] = {"DATABASE_SOURCE", "paths.database_source", T_PATH},
    [SET_CODE_DIR] = {"CODE_DIR", "paths.code_dir", T_PATH},
    [SET_HYDRATE_ENTRYPOINT] = {"HYDRATE_ENTRYPOINT", "paths.hydrate_entrypoint", T_STR},
    [SET_PROFILE_DIR] = {"PROFILE_DIR", "paths.profile_dir", T_PATH},
    [SET_PATCH_SQL] = {"PATCH_SQL", "paths.patch_sql", T_PATH},
    [SET_PG_DATABASE] = {"PG_DATABASE", "postgres.database", T_STR},
    [SET_PG_PORT] = {"PG_PORT", "postgres.port", T_INT},
    [SET_PG_URL_VAR] = {"PG_URL_VAR", "postgres.url_var", T_STR},
    [SET_PG_LOG_PATH] = {"PG_LOG_PATH", "paths.log_path", T_PATH},
    [SET_PG_CONF_FILE] = {"PG_CONF_FILE", "postgres.conf_file", T_PATH},
    [SET_PG_SHARED_PRELOAD_LIBRARIES] = {"PG_SHARED_PRELOAD_LIBRARIES",
                                         "postgres.shared_preload_libraries", T_LIST_COMMA},
    [SET_PG_DISABLE_LOGGING] = {"PG_DISABLE_LOGGING", "postgres.disable_logging", T_BOOL},
    [SET_PG_REUSE] = {"PG_REUSE", "postgres.reuse", T_BOOL},
    [SET_PG_HECTIC_INHERITANCE] = {"PG_HECTIC_INHERITANCE", "postgres.hectic_inheritance", T_BOOL},
    [SET_HECTIC_INHERITANCE_SQL] = {"HECTIC_INHERITANCE_SQL", "paths.inheritance_sql", T_PATH},
    [SET_HECTIC_DOTENV_FILE] = {"HECTIC_DOTENV_FILE", "paths.dotenv_file", T_PATH},
    [SET_PATCH_LOG] = {"PATCH_LOG", "paths.patch_log", T_PATH},
    [SET_HYDRATE_LOG] = {"HYDRATE_LOG", "paths.hydrate_log", T_PATH},
    [SET_NO_TTY] = {"NO_TTY", "no_tty", T_BOOL},
    [SET_HECTIC_LOG] = {"HECTIC_LOG", "log", T_STR},
    [SET_PG_OS_USER] = {"PG_OS_USER", "postgres.os_user", T_STR},
    [SET_PG_BINDIR] = {"PG_BINDIR", "postgres.bindir", T_PATH},
    [SET_PG_CLIENT_BINDIR] = {"PG_CLIENT_BINDIR", "postgres.client_bindir", T_PATH},
    [SET_PG_FSYNC] = {"PG_FSYNC", "postgres.fsync", T_BOOL},
    [SET_PG_START_TIMEOUT] = {"PG_START_TIMEOUT", "postgres.start_timeout", T_NUM},
    [SET_DBTOOL_CACHE_DIR] = {"DBTOOL_CACHE_DIR", "paths.cache_dir", T_PATH},
    [SET_DBTOOL_SYNC_CACHE] = {"DBTOOL_SYNC_CACHE", NULL, T_BOOL},
    [SET_DBTOOL_SCRATCH_DIR] = {"DBTOOL_SCRATCH_DIR", "paths.scratch_dir", T_PATH},
    [SET_DBTOOL_SCRATCH_RAM] = {"DBTOOL_SCRATCH_RAM", "paths.scratch_ram", T_STR},
    [SET_DBTOOL_SNAPSHOT_BUDGET] = {"DBTOOL_SNAPSHOT_BUDGET", "snapshot.budget", T_STR},
    [SET_DBTOOL_CLONE_POOL] = {"DBTOOL_CLONE_POOL", "snapshot.clone_pool", T_INT},
    [SET_DEFAULT_BACKUP_PATH] = {"DEFAULT_BACKUP_PATH", "paths.backup", T_PATH},
    [SET_DEFAULT_NORMALIZED_BACKUP_PATH] = {"DEFAULT_NORMALIZED_BACKUP_PATH",
                                            "paths.normalized_backup", T_PATH},
    [SET_STAGING_SSH_HOST] = {"STAGING_SSH_HOST", "staging.ssh_host", T_STR},
    [SET_STAGING_DB_URL] = {"STAGING_DB_URL", "staging.db_url", T_STR},
    [SET_STAGING_DUMP_TABLES] = {"STAGING_DUMP_TABLES", "staging.dump_tables", T_LIST_SPACE},
    [SET_STAGING_DUMP_FLAGS] = {"STAGING_DUMP_FLAGS", "staging.dump_flags", T_STR},
    [SET_STAGING_SSH_OPTS] = {"STAGING_SSH_OPTS", "staging.ssh_opts", T_STR},
    [SET_STAGING_PG_DUMP] = {"STAGING_PG_DUMP", "staging.pg_dump", T_STR},
    [SET_DIFF_TABLES] = {"DIFF_TABLES", "diff.tables", T_LIST_COMMA},
    /* the migrator: defaults for migrations whose migration.yaml sets none */
    [SET_MIGRATION_LOCK_TIMEOUT] = {"MIGRATION_LOCK_TIMEOUT", "migration.lock_timeout", T_STR},
    [SET_MIGRATION_STATEMENT_TIMEOUT] = {"MIGRATION_STATEMENT_TIMEOUT", "migration.statement_timeout", T_STR},
    [SET_MIGRATION_LOCK_RETRIES] = {"MIGRATION_LOCK_RETRIES", "migration.lock_retries", T_INT},
};

/* Sections that may hold a mapping in dbtool.yaml. */
static const char *const sections[] = {"paths", "postgres", "staging", "diff", "migration", "snapshot"};

/* Settings where "set but empty" is a value (PG_SHARED_PRELOAD_LIBRARIES="" disables). */
static bool empty_is_value(enum set_key k)
{
    return k == SET_PG_SHARED_PRELOAD_LIBRARIES;
}

int set_parse_bool(const char *s, bool *out)
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

static int parse_num(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static bool has_control(const char *v)
{
    for (const unsigned char *p = (const unsigned char *)v; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return true;
    return false;
}

/* A PostgreSQL duration for lock_timeout: digits, an optional fraction and unit (us ms s min h d). */
bool set_duration_valid(const char *v)
{
    static const char *const units[] = {"", "us", "ms", "s", "min", "h", "d"};
    const char *p = v;
    if (*p < '0' || *p > '9')
        return false;
    while (*p >= '0' && *p <= '9')
        p++;
    if (*p == '.' && p[1] >= '0' && p[1] <= '9')
        for (p++; *p >= '0' && *p <= '9'; p++)
            ;
    while (*p == ' ')
        p++;
    for (size_t i = 0; i < ARRAY_SIZE(units); i++)
        if (!strcmp(p, units[i]))
            return true;
    return false;
}

/*
 * Whether V is a valid value of K; on false WHY (appended) says what is
 * wrong, without a prefix: the caller names the variable or the file place.
 */
static bool valid(enum set_key k, const char *v, struct strbuf *why)
{
    bool b;
    long n = 0;
    double d;
    switch (table[k].type) {
    case T_BOOL:
        if (set_parse_bool(v, &b) < 0)
            return strbuf_addf(why, "expected a boolean (1/0, true/false), got '%s'", v), false;
        break;
    case T_INT:
        if (parse_int(v, &n) < 0)
            return strbuf_addf(why, "expected a number, got '%s'", v), false;
        if (k == SET_PG_PORT && (n < 1 || n > 65535))
            return strbuf_addf(why, "port must be between 1 and 65535, got '%s'", v), false;
        break;
    case T_NUM:
        if (parse_num(v, &d) < 0)
            return strbuf_addf(why, "expected a number of seconds, got '%s'", v), false;
        if (k == SET_PG_START_TIMEOUT && (d <= 0 || d > 86400))
            return strbuf_addf(why, "must be more than 0 and at most 86400 seconds, got '%s'", v), false;
        break;
    case T_PATH:
        if (!*v)
            return strbuf_addstr(why, "must not be empty"), false;
        if (has_control(v))
            return strbuf_addstr(why, "must not contain a newline or other control character"), false;
        break;
    default:
        break;
    }
    if (k == SET_PG_DATABASE) {
        /* the server would silently truncate it, and the exported name would lie */
        if (!*v)
            return strbuf_addstr(why, "must not be empty"), false;
        if (has_control(v))
            return strbuf_addstr(why, "must not contain a newline or other control character"), false;
        if (strlen(v) > 63)
            return strbuf_addf(why, "'%.20s...' is %zu bytes; PostgreSQL names are at most 63 bytes",
                               v, strlen(v)), false;
    }
    if ((k == SET_MIGRATION_LOCK_TIMEOUT || k == SET_MIGRATION_STATEMENT_TIMEOUT) && !set_duration_valid(v))
        return strbuf_addf(why, "expected a duration such as 5s, 500ms, 2min or a number of milliseconds, "
                                "got '%s'", v), false;
    if (k == SET_DBTOOL_CLONE_POOL && (n < 0 || n > 100))
        return strbuf_addf(why, "must be between 0 and 100, got '%s'", v), false;
    if (k == SET_MIGRATION_LOCK_RETRIES && (n < 0 || n > 100))
        return strbuf_addf(why, "must be between 0 and 100, got '%s'", v), false;
    if (k == SET_DBTOOL_SNAPSHOT_BUDGET) {
        uint64_t bytes;
        if (snap_parse_size(v, &bytes) < 0)
            return strbuf_addf(why, "expected a size (bytes, or with K/M/G/T: 500M, 2G; 0 stores "
                                    "nothing), got '%s'", v), false;
    }
    if (k == SET_PG_OS_USER && (!*v || has_control(v) || strchr(v, '/')))
        return strbuf_addf(why, "'%s' is not a user name", v), false;
    if (k == SET_PG_URL_VAR) {
        if (!*v)
            return strbuf_addstr(why, "must not be empty"), false;
        for (const char *p = v; *p; p++)
            if (!((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
                  (*p >= '0' && *p <= '9') || *p == '_'))
                return strbuf_addf(why, "'%s' is not a valid variable name (allowed: [A-Za-z0-9_]+)",
                                   v), false;
        if (*v >= '0' && *v <= '9')
            return strbuf_addf(why, "'%s' is not a valid variable name (must not start with a digit)",
                               v), false;
    }
    return true;
}

static void problem(struct settings *s, const char *fmt, ...) PRINTF(2, 3);
static void problem(struct settings *s, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    strvec_push(&s->problems, sb.buf);
    strbuf_release(&sb);
}

static void value_clear(struct set_value *v)
{
    free(v->s);
    *v = (struct set_value){NULL, SET_SRC_UNSET};
}

static void value_copy(struct set_value *dst, const struct set_value *src)
{
    dst->s = src->s ? xstrdup(src->s) : NULL;
    dst->src = src->src;
}

void settings_release(struct settings *s)
{
    for (int k = 0; k < SET__N; k++) {
        value_clear(&s->v[k]);
        value_clear(&s->env[k]);
        value_clear(&s->file[k]);
        value_clear(&s->flag[k]);
    }
    free(s->pgurl);
    free(s->home);
    free(s->xdg_cache_home);
    free(s->file_path);
    free(s->discovered);
    strvec_clear(&s->problems);
    strvec_clear(&s->warnings);
    memset(s, 0, sizeof(*s));
}

static void set_default(struct settings *s, enum set_key k, char *v)
{
    if (s->v[k].src != SET_SRC_UNSET) {
        free(v);
        return;
    }
    s->v[k].s = v;
    s->v[k].src = v ? SET_SRC_DEFAULT : SET_SRC_UNSET;
}

static const char *V(const struct settings *s, enum set_key k)
{
    return s->v[k].s;
}

/* The resolved values from the layers: flag > env > file > derived default. */
static void resolve(struct settings *s)
{
    for (int k = 0; k < SET__N; k++) {
        value_clear(&s->v[k]);
        if (s->flag[k].src)
            value_copy(&s->v[k], &s->flag[k]);
        else if (s->env[k].src)
            value_copy(&s->v[k], &s->env[k]);
        else if (s->file[k].src)
            value_copy(&s->v[k], &s->file[k]);
    }
    /* derived defaults, in dependency order */
    if (s->discovered)
        set_default(s, SET_LOCAL_DIR, xstrdup(s->discovered));
    if (!V(s, SET_DB_URL) && s->pgurl)
        set_default(s, SET_DB_URL, xstrdup(s->pgurl));
    if (V(s, SET_LOCAL_DIR)) {
        set_default(s, SET_PG_WORKING_DIR, path_join(V(s, SET_LOCAL_DIR), "focus/postgresql"));
        set_default(s, SET_DATABASE_DIR, path_join(V(s, SET_LOCAL_DIR), "db"));
        set_default(s, SET_DEFAULT_BACKUP_PATH, path_join(V(s, SET_LOCAL_DIR), "focus/postgresql-backup"));
        set_default(s, SET_DEFAULT_NORMALIZED_BACKUP_PATH,
                    path_join(V(s, SET_LOCAL_DIR), "focus/postgresql-backup-normalized"));
    }
    if (V(s, SET_DATABASE_DIR)) {
        set_default(s, SET_MIGRATION_DIR, path_join(V(s, SET_DATABASE_DIR), "migration"));
        set_default(s, SET_DATABASE_SOURCE, path_join(V(s, SET_DATABASE_DIR), "src"));
        set_default(s, SET_CODE_DIR, path_join(V(s, SET_DATABASE_DIR), "code"));
    }
    {
        const char *pd = V(s, SET_PROFILE_DIR) ? V(s, SET_PROFILE_DIR) : V(s, SET_LOCAL_DIR);
        set_default(s, SET_PATCH_SQL, pd ? path_join(pd, "test-data.sql") : NULL);
    }
    set_default(s, SET_HYDRATE_ENTRYPOINT, xstrdup("entrypoint.sql"));
    set_default(s, SET_PG_DATABASE, xstrdup("testdb"));
    set_default(s, SET_PG_PORT, xstrdup("5432"));
    set_default(s, SET_PG_URL_VAR, xstrdup("PGURL"));
    set_default(s, SET_PG_SHARED_PRELOAD_LIBRARIES, xstrdup("pg_cron"));
    set_default(s, SET_PG_DISABLE_LOGGING, xstrdup("0"));
    set_default(s, SET_PG_REUSE, xstrdup("0"));
    set_default(s, SET_PG_HECTIC_INHERITANCE, xstrdup("0"));
    set_default(s, SET_NO_TTY, xstrdup("0"));
    set_default(s, SET_HECTIC_LOG, xstrdup("info"));
    set_default(s, SET_PG_OS_USER, xstrdup("postgres"));
    set_default(s, SET_PG_FSYNC, xstrdup("1"));
    set_default(s, SET_PG_START_TIMEOUT, xstrdup("60"));
    set_default(s, SET_DBTOOL_SYNC_CACHE, xstrdup("0"));
    set_default(s, SET_DBTOOL_SNAPSHOT_BUDGET, xstrdup(SNAP_DEFAULT_BUDGET));
    set_default(s, SET_DBTOOL_CLONE_POOL, xstrdup("4"));
    set_default(s, SET_STAGING_PG_DUMP, xstrdup("pg_dump"));
    set_default(s, SET_MIGRATION_LOCK_RETRIES, xstrdup("3"));
    if (s->xdg_cache_home)
        set_default(s, SET_DBTOOL_CACHE_DIR, path_join(s->xdg_cache_home, "dbtool"));
    else if (s->home)
        set_default(s, SET_DBTOOL_CACHE_DIR, xasprintf("%s/.cache/dbtool", s->home));
    if (V(s, SET_PG_LOG_PATH)) {
        set_default(s, SET_PATCH_LOG, path_join(V(s, SET_PG_LOG_PATH), "patch.stdout.log"));
        set_default(s, SET_HYDRATE_LOG, path_join(V(s, SET_PG_LOG_PATH), "hydrate.stdout.log"));
    }
    if (V(s, SET_LOCAL_DIR) && V(s, SET_ENVIRONMENT)) {
        char *p = xasprintf("%s/.env.%s", V(s, SET_LOCAL_DIR), V(s, SET_ENVIRONMENT));
        if (access(p, R_OK) == 0)
            set_default(s, SET_HECTIC_DOTENV_FILE, p);
        else
            free(p);
    }
}

/* The environment layer, validated. */
static void read_env(struct settings *s)
{
    for (int k = 0; k < SET__N; k++) {
        const char *env = getenv(table[k].env);
        if (!env || (!*env && !empty_is_value(k)))
            continue;
        struct strbuf why = STRBUF_INIT;
        if (!valid(k, env, &why)) {
            problem(s, "%s: %s", table[k].env, why.buf);
        } else {
            s->env[k].s = table[k].type == T_PATH ? path_absolute(env, NULL) : xstrdup(env);
            s->env[k].src = SET_SRC_ENV;
        }
        strbuf_release(&why);
    }
    const char *p = env_nonempty("PGURL");
    s->pgurl = p ? xstrdup(p) : NULL;
    p = env_nonempty("XDG_CACHE_HOME");
    s->xdg_cache_home = p ? xstrdup(p) : NULL;
    p = env_nonempty("HOME");
    if (!p) {
        struct passwd *pw = getpwuid(getuid());
        p = pw ? pw->pw_dir : NULL;
    }
    s->home = p ? xstrdup(p) : NULL;
}

/* ---- dbtool.yaml ---- */

struct yctx {
    yaml_parser_t parser;
    struct settings *s;
    const char *name;
    const char *basedir;
    bool seen[SET__N];
};

/* A problem at libyaml mark M of the file being read; returns -1. */
static int yerr(struct yctx *y, yaml_mark_t m, const char *fmt, ...) PRINTF(3, 4);
static int yerr(struct yctx *y, yaml_mark_t m, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    problem(y->s, "%s:%zu:%zu: %s", y->name, (size_t)m.line + 1, (size_t)m.column + 1, sb.buf);
    strbuf_release(&sb);
    return -1;
}

static int next_event(struct yctx *y, yaml_event_t *ev)
{
    if (!yaml_parser_parse(&y->parser, ev)) {
        yaml_mark_t m = y->parser.problem_mark;
        return yerr(y, m, "syntax error: %s%s%s", y->parser.problem ? y->parser.problem : "invalid YAML",
                    y->parser.context ? " " : "", y->parser.context ? y->parser.context : "");
    }
    return 0;
}

static const char *type_word(enum stype t)
{
    switch (t) {
    case T_INT:
    case T_NUM:
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

/*
 * Read the value of setting K (its key event was just consumed). -1 only on
 * a syntax error (the parser cannot go on); a bad value is a problem and 0.
 */
static int read_value(struct yctx *y, enum set_key k)
{
    yaml_event_t ev;
    if (next_event(y, &ev) < 0)
        return -1;
    enum stype t = table[k].type;
    int ret = 0;
    bool bad = false;
    char *val = NULL;
    if (ev.type == YAML_SCALAR_EVENT) {
        const char *v = (const char *)ev.data.scalar.value;
        if (!scalar_is_null(&ev)) {
            bool b;
            struct strbuf why = STRBUF_INIT;
            if (t == T_BOOL && set_parse_bool(v, &b) == 0)
                val = xstrdup(b ? "1" : "0");
            else if (t == T_PATH && *v && !has_control(v))
                val = path_absolute(v, y->basedir);
            else
                val = xstrdup(v);
            if (!valid(k, val, &why)) {
                yerr(y, ev.start_mark, "'%s': %s", table[k].yaml, why.buf);
                bad = true;
            }
            strbuf_release(&why);
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
                /* a nested structure: the parser cannot skip it cleanly */
                ret = yerr(y, it.start_mark, "'%s' list items must be strings", table[k].yaml);
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
        ret = yerr(y, ev.start_mark, "'%s' expects %s, got a %s", table[k].yaml, type_word(t),
                   ev.type == YAML_MAPPING_START_EVENT ? "mapping" :
                   ev.type == YAML_SEQUENCE_START_EVENT ? "list" : "non-scalar");
    }
    yaml_event_delete(&ev);
    if (ret || bad) {
        free(val);
        return ret;
    }
    free(y->s->file[k].s);
    y->s->file[k].s = val;
    y->s->file[k].src = SET_SRC_FILE;
    return 0;
}

/* Edit distance of A and B (for "did you mean"); 99 for keys too long to matter. */
static size_t edit_distance(const char *a, const char *b)
{
    size_t d = opt_edit_distance(a, b);
    return d == SIZE_MAX ? 99 : d;
}

/* The known key closest to KEY, when close enough to be a typo, else NULL. */
static const char *closest_key(const char *key)
{
    const char *best = NULL;
    size_t bd = 3;
    for (int k = 0; k < SET__N; k++) {
        if (!table[k].yaml)
            continue;
        size_t d = edit_distance(key, table[k].yaml);
        const char *dot = strrchr(table[k].yaml, '.');
        if (dot && !strchr(key, '.')) /* a key of a section written at the top level */
            d = !strcmp(key, dot + 1) ? 1 : edit_distance(key, dot + 1) + 1;
        if (d < bd) {
            bd = d;
            best = table[k].yaml;
        }
    }
    return best;
}

/* Skip one value (scalar, or a whole mapping/sequence) after an unknown key. */
static int skip_value(struct yctx *y)
{
    int depth = 0;
    do {
        yaml_event_t ev;
        if (next_event(y, &ev) < 0)
            return -1;
        if (ev.type == YAML_MAPPING_START_EVENT || ev.type == YAML_SEQUENCE_START_EVENT)
            depth++;
        else if (ev.type == YAML_MAPPING_END_EVENT || ev.type == YAML_SEQUENCE_END_EVENT)
            depth--;
        yaml_event_delete(&ev);
    } while (depth > 0);
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
        for (int k = 0; k < SET__N; k++)
            if (table[k].yaml && !strcmp(table[k].yaml, key))
                found = k;
        bool is_section = false;
        if (!prefix)
            for (size_t i = 0; i < ARRAY_SIZE(sections); i++)
                if (!strcmp(sections[i], key))
                    is_section = true;
        if (found >= 0) {
            if (y->seen[found]) {
                yerr(y, km, "duplicate key '%s'", key);
                ret = skip_value(y);
            } else {
                y->seen[found] = true;
                ret = read_value(y, (enum set_key)found);
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
            const char *near = closest_key(key);
            if (near)
                yerr(y, km, "unknown key '%s' (did you mean '%s'?)", key, near);
            else
                yerr(y, km, "unknown key '%s'", key);
            ret = skip_value(y);
        }
        free(key);
        if (ret)
            return -1;
    }
}

/* Read project file TEXT into S's file layer. 0, or -1 after a problem. */
static int read_yaml(struct settings *s, const char *name, const char *text, size_t len,
                     const char *basedir)
{
    struct yctx y;
    memset(&y, 0, sizeof(y));
    y.s = s;
    y.name = name;
    y.basedir = basedir;
    size_t before = s->problems.nr;
    if (!yaml_parser_initialize(&y.parser)) {
        problem(s, "%s: cannot initialise the YAML parser", name);
        return -1;
    }
    yaml_parser_set_input_string(&y.parser, (const unsigned char *)text, len);
    yaml_event_t ev;
    bool in_doc = false;
    for (;;) {
        if (next_event(&y, &ev) < 0)
            break;
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
                yerr(&y, m, "only one YAML document is allowed");
                break;
            }
            in_doc = true;
            continue;
        }
        if (t == YAML_MAPPING_START_EVENT) {
            if (parse_mapping(&y, NULL) < 0)
                break;
            continue;
        }
        if (null_doc)
            continue;
        yerr(&y, m, "the top level must be a mapping of settings");
        break;
    }
    yaml_parser_delete(&y.parser);
    return s->problems.nr > before ? -1 : 0;
}

static int load_file(struct settings *s, const char *path)
{
    struct strbuf sb = STRBUF_INIT;
    /* a FIFO or a device would block or never end: only a regular file, of sane size */
    const char *why = NULL;
    int r = fs_read_regular(path, 1 << 20, &sb, &why);
    if (r < 0) {
        problem(s, "cannot read project file '%s': %s", path, why);
        strbuf_release(&sb);
        return -1;
    }
    char *abs = path_absolute(path, NULL);
    char *dir = xstrdup(abs);
    char *slash = strrchr(dir, '/');
    if (slash && slash != dir)
        *slash = 0;
    else
        strcpy(dir, "/");
    free(s->file_path);
    s->file_path = abs;
    r = read_yaml(s, path, sb.buf, sb.len, dir);
    free(dir);
    strbuf_release(&sb);
    return r;
}

/* The nearest directory from the current one upwards with a dbtool.yaml (malloc'd), or NULL. */
static char *find_project_up(void)
{
    char *dir = path_absolute(".", NULL);
    for (;;) {
        char *p = path_join(dir, "dbtool.yaml");
        bool found = access(p, F_OK) == 0;
        free(p);
        if (found)
            return dir;
        char *slash = strrchr(dir, '/');
        if (!slash || slash == dir) {
            free(dir);
            return NULL;
        }
        *slash = 0;
    }
}

/* Whether PATH is DIR or inside it (both absolute, no trailing slash). */
static bool path_within(const char *path, const char *dir)
{
    size_t n = strlen(dir);
    return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/' || (n == 1 && dir[0] == '/'));
}

/* Real path of P (malloc'd), or a copy of P when it does not resolve. */
static char *real_or_copy(const char *p)
{
    char *r = realpath(p, NULL);
    return r ? r : xstrdup(p);
}

static void discover(struct settings *s)
{
    char *near = find_project_up();
    if (!s->env[SET_LOCAL_DIR].src) {
        s->discovered = near ? near : path_absolute(".", NULL);
        return;
    }
    if (near) {
        char *local = real_or_copy(s->env[SET_LOCAL_DIR].s), *nr = real_or_copy(near);
        char *cwd = path_absolute(".", NULL);
        /* a parent project that holds LOCAL_DIR and the current directory is not "another" one */
        if (strcmp(nr, local) && !(path_within(cwd, local) && path_within(local, nr))) {
            struct strbuf sb = STRBUF_INIT;
            strbuf_addf(&sb, "LOCAL_DIR is %s, but the current directory is inside the project %s "
                             "(it has a dbtool.yaml); using LOCAL_DIR (unset it to use %s)",
                        s->env[SET_LOCAL_DIR].s, near, near);
            strvec_push(&s->warnings, sb.buf);
            strbuf_release(&sb);
        }
        free(local);
        free(nr);
        free(cwd);
        free(near);
    }
}

bool settings_local_dir_ok(const struct settings *s, struct strbuf *why)
{
    const char *l = V(s, SET_LOCAL_DIR);
    if (!l || is_dir(l))
        return true;
    if (access(l, F_OK) == 0)
        strbuf_addf(why, "LOCAL_DIR '%s' is not a directory", l);
    else
        strbuf_addf(why, "LOCAL_DIR '%s' does not exist (a typo? dbtool does not create a project "
                         "there: fix LOCAL_DIR, or unset it to find the project from the current directory)", l);
    return false;
}

static int load(struct settings *s, bool project)
{
    memset(s, 0, sizeof(*s));
    read_env(s);
    if (project)
        discover(s);
    resolve(s);
    const char *explicit = V(s, SET_DBTOOL_CONFIG);
    if (explicit) {
        load_file(s, explicit);
    } else if (V(s, SET_LOCAL_DIR)) {
        char *p = path_join(V(s, SET_LOCAL_DIR), "dbtool.yaml");
        if (access(p, F_OK) == 0)
            load_file(s, p);
        free(p);
    }
    resolve(s);
    return s->problems.nr ? -1 : 0;
}

int settings_load(struct settings *s)
{
    return load(s, false);
}

int settings_load_project(struct settings *s)
{
    return load(s, true);
}

int settings_load_yaml_string(struct settings *s, const char *name, const char *text, size_t len,
                              const char *basedir)
{
    memset(s, 0, sizeof(*s));
    read_env(s);
    read_yaml(s, name, text, len, basedir);
    resolve(s);
    return s->problems.nr ? -1 : 0;
}

void settings_derive(struct settings *dst, const struct settings *src,
                     const struct set_override *ov, size_t n)
{
    memset(dst, 0, sizeof(*dst));
    for (int k = 0; k < SET__N; k++) {
        value_copy(&dst->env[k], &src->env[k]);
        value_copy(&dst->file[k], &src->file[k]);
        value_copy(&dst->flag[k], &src->flag[k]);
    }
    dst->pgurl = src->pgurl ? xstrdup(src->pgurl) : NULL;
    dst->home = src->home ? xstrdup(src->home) : NULL;
    dst->xdg_cache_home = src->xdg_cache_home ? xstrdup(src->xdg_cache_home) : NULL;
    dst->file_path = src->file_path ? xstrdup(src->file_path) : NULL;
    dst->discovered = src->discovered ? xstrdup(src->discovered) : NULL;
    for (size_t i = 0; i < src->warnings.nr; i++)
        strvec_push(&dst->warnings, src->warnings.v[i]);
    for (size_t i = 0; i < src->problems.nr; i++)
        strvec_push(&dst->problems, src->problems.v[i]);
    for (size_t i = 0; i < n; i++) {
        enum set_key k = ov[i].key;
        const char *v = ov[i].value;
        free(dst->flag[k].s);
        dst->flag[k].s = v ? (table[k].type == T_PATH && *v ? path_absolute(v, NULL) : xstrdup(v)) : NULL;
        dst->flag[k].src = SET_SRC_FLAG;
    }
    resolve(dst);
}

void settings_report(const struct settings *s)
{
    for (size_t i = 0; i < s->problems.nr; i++)
        error("%s", s->problems.v[i]);
}

const char *set_get(const struct settings *s, enum set_key k)
{
    return s->v[k].s;
}

bool set_bool(const struct settings *s, enum set_key k)
{
    bool b = false;
    if (s->v[k].s)
        set_parse_bool(s->v[k].s, &b);
    return b;
}

int set_int(const struct settings *s, enum set_key k)
{
    long n = 0;
    if (s->v[k].s)
        parse_int(s->v[k].s, &n);
    return (int)n;
}

double set_double(const struct settings *s, enum set_key k)
{
    double d = 0;
    if (s->v[k].s)
        parse_num(s->v[k].s, &d);
    return d;
}

enum set_source set_source(const struct settings *s, enum set_key k)
{
    return s->v[k].src;
}

const char *set_name(enum set_key k)
{
    return table[k].env;
}

const char *set_yaml_key(enum set_key k)
{
    return table[k].yaml;
}

int set_lookup(const char *name)
{
    for (int k = 0; k < SET__N; k++)
        if (!strcmp(table[k].env, name))
            return k;
    return -1;
}

bool set_is_url(enum set_key k)
{
    return k == SET_DB_URL || k == SET_STAGING_DB_URL;
}

void settings_dump(const struct settings *s, struct strbuf *out)
{
    static const char *const srcname[] = {"unset", "default", "file", "env", "flag"};
    for (int k = 0; k < SET__N; k++) {
        const char *v = s->v[k].s;
        if (v && set_is_url(k)) {
            char *m = pg_mask_url(v);
            strbuf_addf(out, "%s=%s\t# %s\n", table[k].env, m, srcname[s->v[k].src]);
            free(m);
        } else {
            strbuf_addf(out, "%s=%s\t# %s\n", table[k].env, v ? v : "", srcname[s->v[k].src]);
        }
    }
    if (s->file_path)
        strbuf_addf(out, "# project file: %s\n", s->file_path);
}
