/*
 * migimport.c — reading other tools' migration formats (see migimport.h).
 */
#include "lib/migimport.h"
#include "lib/parse.h"

#include <ctype.h>
#include <strings.h>
#include <time.h>

static const char *const tool_names[IMP__N] = {"dbmate", "golang-migrate", "goose", "flyway", "sqitch"};

int imp_tool_lookup(const char *name)
{
    for (int i = 0; i < IMP__N; i++)
        if (!strcmp(name, tool_names[i]))
            return i;
    if (!strcmp(name, "migrate") || !strcmp(name, "golang_migrate") || !strcmp(name, "pop"))
        return IMP_GOLANG_MIGRATE;
    return -1;
}

const char *imp_tool_name(enum imp_tool t)
{
    return tool_names[t];
}

/* A label dbtool can use: [A-Za-z0-9_.-] kept, runs of anything else become one '-'. */
static char *sanitise_label(const char *s, size_t n)
{
    struct strbuf sb = STRBUF_INIT;
    bool dash = false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (isalnum(c) || c == '_' || c == '.' || c == '-') {
            if (dash && sb.len)
                strbuf_addch(&sb, '-');
            dash = false;
            strbuf_addch(&sb, (char)c);
        } else {
            dash = true;
        }
    }
    while (sb.len && (sb.buf[sb.len - 1] == '.' || sb.buf[sb.len - 1] == '-'))
        strbuf_setlen(&sb, sb.len - 1);
    if (!sb.len)
        strbuf_addstr(&sb, "migration");
    return strbuf_detach(&sb, NULL);
}

struct imp_mig *imp_add(struct imp_set *set, const char *version, const char *label, const char *source)
{
    ALLOC_GROW(set->v, set->nr + 1, set->alloc);
    struct imp_mig *m = &set->v[set->nr++];
    memset(m, 0, sizeof(*m));
    m->version = xstrdup(version);
    m->label = sanitise_label(label, strlen(label));
    m->source = xstrdup(source);
    m->notes = (struct strvec)STRVEC_INIT;
    return m;
}

void imp_set_release(struct imp_set *set)
{
    for (size_t i = 0; i < set->nr; i++) {
        struct imp_mig *m = &set->v[i];
        free(m->version);
        free(m->label);
        free(m->source);
        free(m->up);
        free(m->down);
        free(m->name);
        strvec_clear(&m->notes);
    }
    free(set->v);
    strvec_clear(&set->unmapped);
    strvec_clear(&set->notes);
    memset(set, 0, sizeof(*set));
}

/* ---- file names ---- */

static bool all_digits(const char *s, size_t n)
{
    if (!n)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!isdigit((unsigned char)s[i]))
            return false;
    return true;
}

static bool is_dialect(const char *s, size_t n)
{
    static const char *const d[] = {"postgres", "postgresql", "pg", "cockroach", "cockroachdb", "mysql",
                                    "mariadb", "sqlite", "sqlite3", "mssql", "sqlserver", "all"};
    for (size_t i = 0; i < ARRAY_SIZE(d); i++)
        if (strlen(d[i]) == n && !strncasecmp(s, d[i], n))
            return true;
    return false;
}

/* Strip SUFFIX (".xyz") from the end of [s, *n): whether it was there. */
static bool cut_suffix(const char *s, size_t *n, const char *suffix)
{
    size_t k = strlen(suffix);
    if (*n < k || strncasecmp(s + *n - k, suffix, k))
        return false;
    *n -= k;
    return true;
}

int imp_parse_filename(enum imp_tool tool, const char *name, char **version, char **label, char *kind,
                       char **dialect, bool *autocommit)
{
    *version = *label = NULL;
    if (dialect)
        *dialect = NULL;
    if (autocommit)
        *autocommit = false;
    *kind = 0;
    size_t n = strlen(name);
    const char *s = name;
    if (tool == IMP_FLYWAY) {
        char k = s[0];
        if (k != 'V' && k != 'U' && k != 'R' && k != 'B')
            return -1;
        if (!cut_suffix(s, &n, ".sql"))
            return -1;
        const char *sep = strstr(s, "__");
        if (!sep || (size_t)(sep - s) >= n)
            return -1;
        size_t vlen = (size_t)(sep - s) - 1;
        const char *v = s + 1;
        if (k == 'R') {
            if (vlen)
                return -1;
        } else {
            /* digits separated by single '.' or '_' */
            if (!vlen || !isdigit((unsigned char)v[0]) || !isdigit((unsigned char)v[vlen - 1]))
                return -1;
            for (size_t i = 0; i < vlen; i++)
                if (!isdigit((unsigned char)v[i]) &&
                    !((v[i] == '.' || v[i] == '_') && isdigit((unsigned char)v[i + 1])))
                    return -1;
        }
        *kind = k == 'V' ? 'u' : k == 'U' ? 'd' : k == 'R' ? 'r' : 'b';
        *version = xstrndup(v, vlen);
        for (char *p = *version; *p; p++)
            if (*p == '_')
                *p = '.';
        const char *desc = sep + 2;
        *label = sanitise_label(desc, n - (size_t)(desc - s));
        return 0;
    }
    /* VERSION_name... for the others */
    size_t d = 0;
    while (d < n && isdigit((unsigned char)s[d]))
        d++;
    if (!d || d >= n || s[d] != '_')
        return -1;
    if (tool == IMP_DBMATE) {
        if (!cut_suffix(s, &n, ".sql"))
            return -1;
        *kind = 's';
    } else if (tool == IMP_GOOSE) {
        if (cut_suffix(s, &n, ".sql"))
            *kind = 's';
        else if (cut_suffix(s, &n, ".go"))
            *kind = 'g';
        else
            return -1;
    } else if (tool == IMP_GOLANG_MIGRATE) {
        bool fizz = false;
        if (!cut_suffix(s, &n, ".sql")) {
            if (!cut_suffix(s, &n, ".fizz"))
                return -1;
            fizz = true;
        }
        if (cut_suffix(s, &n, ".up"))
            *kind = 'u';
        else if (cut_suffix(s, &n, ".down"))
            *kind = 'd';
        else
            return -1;
        /* .autocommit and a dialect, in either order */
        for (int round = 0; round < 2; round++) {
            if (cut_suffix(s, &n, ".autocommit")) {
                if (autocommit)
                    *autocommit = true;
                continue;
            }
            const char *dot = NULL;
            for (size_t i = n; i > d; i--)
                if (s[i - 1] == '.') {
                    dot = s + i - 1;
                    break;
                }
            if (dot && is_dialect(dot + 1, n - (size_t)(dot + 1 - s))) {
                if (dialect && !*dialect)
                    *dialect = xstrndup(dot + 1, n - (size_t)(dot + 1 - s));
                n = (size_t)(dot - s);
            }
        }
        if (fizz)
            *kind = *kind == 'u' ? 'F' : 'f';
    } else {
        return -1;
    }
    if (n <= d + 1) {
        free(dialect ? *dialect : NULL);
        if (dialect)
            *dialect = NULL;
        return -1;
    }
    *version = xstrndup(s, d);
    *label = sanitise_label(s + d + 1, n - d - 1);
    return 0;
}

/* ---- section formats ---- */

/* The line starting at P (without its newline) as [P, *end). */
static const char *line_end(const char *p)
{
    return strchrnul(p, '\n');
}

/* Whether [p, e) is a "-- KEYWORD..." comment line; *rest after the keyword. */
static bool comment_kw(const char *p, const char *e, const char *kw, const char **rest)
{
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    if (e - p < 2 || p[0] != '-' || p[1] != '-')
        return false;
    p += 2;
    while (p < e && (*p == ' ' || *p == '\t'))
        p++;
    size_t k = strlen(kw);
    if ((size_t)(e - p) < k || strncasecmp(p, kw, k))
        return false;
    *rest = p + k;
    return true;
}

static bool rest_has(const char *rest, const char *e, const char *word)
{
    size_t k = strlen(word);
    for (const char *p = rest; p + k <= e; p++)
        if (!strncasecmp(p, word, k))
            return true;
    return false;
}

int imp_dbmate_split(const char *text, char **up, char **down, bool *up_notx, bool *down_notx, char **err)
{
    struct strbuf secs[2] = {STRBUF_INIT, STRBUF_INIT};
    bool seen[2] = {false, false};
    int cur = -1;
    *up = *down = NULL;
    *up_notx = *down_notx = false;
    *err = NULL;
    for (const char *p = text; *p;) {
        const char *e = line_end(p);
        const char *rest;
        if (comment_kw(p, e, "migrate:up", &rest)) {
            cur = 0;
            seen[0] = true;
            *up_notx = rest_has(rest, e, "transaction:false");
        } else if (comment_kw(p, e, "migrate:down", &rest)) {
            cur = 1;
            seen[1] = true;
            *down_notx = rest_has(rest, e, "transaction:false");
        } else if (cur >= 0) {
            strbuf_add(&secs[cur], p, (size_t)(e - p));
            strbuf_addch(&secs[cur], '\n');
        }
        p = *e ? e + 1 : e;
    }
    if (!seen[0]) {
        strbuf_release(&secs[0]);
        strbuf_release(&secs[1]);
        *err = xstrdup("no '-- migrate:up' section");
        return -1;
    }
    *up = strbuf_detach(&secs[0], NULL);
    if (seen[1])
        *down = strbuf_detach(&secs[1], NULL);
    else
        strbuf_release(&secs[1]);
    return 0;
}

int imp_goose_split(const char *text, char **up, char **down, bool *notx, bool *envsub, char **err)
{
    struct strbuf secs[2] = {STRBUF_INIT, STRBUF_INIT};
    bool seen[2] = {false, false};
    int cur = -1;
    *up = *down = NULL;
    *notx = *envsub = false;
    *err = NULL;
    for (const char *p = text; *p;) {
        const char *e = line_end(p);
        const char *rest;
        if (comment_kw(p, e, "+goose", &rest)) {
            while (rest < e && (*rest == ' ' || *rest == '\t'))
                rest++;
            size_t k = (size_t)(e - rest);
            while (k && (rest[k - 1] == ' ' || rest[k - 1] == '\r' || rest[k - 1] == '\t'))
                k--;
            if (k == 2 && !strncasecmp(rest, "up", 2)) {
                cur = 0;
                seen[0] = true;
            } else if (k == 4 && !strncasecmp(rest, "down", 4)) {
                cur = 1;
                seen[1] = true;
            } else if (k >= 14 && !strncasecmp(rest, "NO TRANSACTION", 14)) {
                *notx = true;
            } else if (k >= 6 && !strncasecmp(rest, "ENVSUB", 6)) {
                *envsub = *envsub || rest_has(rest, e, "on");
            }
            /* StatementBegin / StatementEnd: the runner splits like psql, the markers go */
        } else if (cur >= 0) {
            strbuf_add(&secs[cur], p, (size_t)(e - p));
            strbuf_addch(&secs[cur], '\n');
        }
        p = *e ? e + 1 : e;
    }
    if (!seen[0]) {
        strbuf_release(&secs[0]);
        strbuf_release(&secs[1]);
        *err = xstrdup("no '-- +goose Up' annotation");
        return -1;
    }
    *up = strbuf_detach(&secs[0], NULL);
    if (seen[1])
        *down = strbuf_detach(&secs[1], NULL);
    else
        strbuf_release(&secs[1]);
    return 0;
}

bool imp_flyway_conf_notx(const char *text)
{
    for (const char *p = text; *p;) {
        const char *e = line_end(p);
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        static const char key[] = "executeInTransaction";
        if ((size_t)(e - p) > sizeof(key) - 1 && !strncmp(p, key, sizeof(key) - 1)) {
            const char *v = p + sizeof(key) - 1;
            while (v < e && (*v == ' ' || *v == '\t'))
                v++;
            if (v < e && *v == '=') {
                v++;
                while (v < e && (*v == ' ' || *v == '\t'))
                    v++;
                if ((size_t)(e - v) >= 5 && !strncasecmp(v, "false", 5))
                    return true;
            }
        }
        p = *e ? e + 1 : e;
    }
    return false;
}

bool imp_flyway_placeholders(const char *sql, char **first)
{
    if (first)
        *first = NULL;
    for (const char *p = sql; (p = strstr(p, "${"));) {
        const char *e = strchr(p, '}');
        if (!e)
            break;
        if (e > p + 2) {
            if (first)
                *first = xstrndup(p, (size_t)(e - p + 1));
            return true;
        }
        p = e;
    }
    return false;
}

/* ---- sqitch.plan ---- */

static char *sqitch_stamp(const char *s, size_t n)
{
    /* 2013-12-30T23:19:18Z */
    if (n < 20 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':')
        return NULL;
    char out[15];
    const int idx[] = {0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18};
    for (int i = 0; i < 14; i++) {
        if (!isdigit((unsigned char)s[idx[i]]))
            return NULL;
        out[i] = s[idx[i]];
    }
    out[14] = 0;
    return xstrdup(out);
}

int imp_sqitch_parse(const char *text, struct imp_sqitch_plan *plan, char **err)
{
    memset(plan, 0, sizeof(*plan));
    *err = NULL;
    struct strvec tags = STRVEC_INIT; /* tag names, in order */
    size_t *tag_at = NULL;            /* the number of changes before each tag */
    size_t tags_alloc = 0;
    unsigned line = 0;
    for (const char *p = text; *p;) {
        const char *e = line_end(p);
        line++;
        const char *q = p;
        while (q < e && (*q == ' ' || *q == '\t'))
            q++;
        const char *end = e;
        while (end > q && (end[-1] == '\r' || end[-1] == ' ' || end[-1] == '\t'))
            end--;
        if (q == end || *q == '#' || *q == '%') {
            p = *e ? e + 1 : e;
            continue;
        }
        /* the name: up to the first blank */
        const char *w = q;
        while (w < end && *w != ' ' && *w != '\t')
            w++;
        if (*q == '@') {
            ALLOC_GROW(tag_at, tags.nr + 1, tags_alloc);
            tag_at[tags.nr] = plan->nr;
            char *t = xstrndup(q + 1, (size_t)(w - q - 1));
            strvec_push(&tags, t);
            free(t);
            p = *e ? e + 1 : e;
            continue;
        }
        if (*q == '-' || *q == '+') /* a rework/revert marker of old plans */
            q++;
        if (w == q) {
            *err = xasprintf("sqitch.plan:%u: a change without a name", line);
            break;
        }
        struct imp_sqitch_change c = {0};
        c.name = xstrndup(q, (size_t)(w - q));
        c.line = line;
        const char *r = w;
        while (r < end && (*r == ' ' || *r == '\t'))
            r++;
        if (r < end && *r == '[') {
            const char *close = memchr(r, ']', (size_t)(end - r));
            if (!close) {
                free(c.name);
                *err = xasprintf("sqitch.plan:%u: '[' without ']'", line);
                break;
            }
            r = close + 1;
            while (r < end && (*r == ' ' || *r == '\t'))
                r++;
        }
        const char *ts = r;
        while (r < end && *r != ' ' && *r != '\t')
            r++;
        c.stamp = sqitch_stamp(ts, (size_t)(r - ts));
        if (!c.stamp) {
            *err = xasprintf("sqitch.plan:%u: change '%s' has no timestamp like 2013-12-30T23:19:18Z", line, c.name);
            free(c.name);
            break;
        }
        const char *hash = memchr(r, '#', (size_t)(end - r));
        if (hash) {
            hash++;
            while (hash < end && *hash == ' ')
                hash++;
            c.note = xstrndup(hash, (size_t)(end - hash));
        }
        c.script = xstrdup(c.name);
        ALLOC_GROW(plan->v, plan->nr + 1, plan->alloc);
        plan->v[plan->nr++] = c;
        p = *e ? e + 1 : e;
    }
    if (!*err) {
        /* a change named again later was reworked: its earlier scripts are NAME@TAG.sql,
         * TAG the first tag after it */
        for (size_t i = 0; i < plan->nr; i++) {
            bool later = false;
            for (size_t j = i + 1; j < plan->nr && !later; j++)
                later = !strcmp(plan->v[i].name, plan->v[j].name);
            if (!later)
                continue;
            for (size_t t = 0; t < tags.nr; t++)
                if (tag_at[t] > i) {
                    free(plan->v[i].script);
                    plan->v[i].script = xasprintf("%s@%s", plan->v[i].name, tags.v[t]);
                    break;
                }
        }
    }
    strvec_clear(&tags);
    free(tag_at);
    if (*err) {
        imp_sqitch_release(plan);
        return -1;
    }
    return 0;
}

void imp_sqitch_release(struct imp_sqitch_plan *plan)
{
    for (size_t i = 0; i < plan->nr; i++) {
        free(plan->v[i].name);
        free(plan->v[i].script);
        free(plan->v[i].stamp);
        free(plan->v[i].note);
    }
    free(plan->v);
    memset(plan, 0, sizeof(*plan));
}

/* ---- BEGIN ... COMMIT around a script ---- */

/* The end of statement ST in SQL: after its ';' when one follows. */
static size_t stmt_end(const char *sql, const struct parse_stmt *st)
{
    size_t e = st->pos.offset + st->len;
    size_t n = strlen(sql);
    while (e < n && (sql[e] == ' ' || sql[e] == '\t' || sql[e] == '\r'))
        e++;
    if (e < n && sql[e] == ';')
        e++;
    return e;
}

char *imp_strip_tx(const char *sql, const char **what)
{
    *what = NULL;
    struct parse_list pl = PARSE_LIST_INIT;
    parse_script(&pl, sql);
    size_t ntx = 0;
    for (size_t i = 0; i < pl.nr; i++)
        if (pl.v[i].status == PARSE_OK && pl.v[i].tx != PARSE_TX_NONE && pl.v[i].tx != PARSE_TX_SAVEPOINT &&
            pl.v[i].tx != PARSE_TX_RELEASE && pl.v[i].tx != PARSE_TX_ROLLBACK_TO)
            ntx++;
    char *out = NULL;
    if (ntx == 2 && pl.nr >= 2 && pl.v[0].tx == PARSE_TX_BEGIN && pl.v[pl.nr - 1].tx == PARSE_TX_COMMIT &&
        !pl.v[pl.nr - 1].tx_chain) {
        const struct parse_stmt *b = &pl.v[0], *c = &pl.v[pl.nr - 1];
        size_t be = stmt_end(sql, b), ce = stmt_end(sql, c);
        struct strbuf sb = STRBUF_INIT;
        strbuf_add(&sb, sql, b->pos.offset);
        strbuf_addf(&sb, "-- (%.*s dropped: the migrator runs the migration in one transaction)",
                    (int)b->len, sql + b->pos.offset);
        strbuf_add(&sb, sql + be, c->pos.offset - be);
        strbuf_addf(&sb, "-- (%.*s dropped)", (int)c->len, sql + c->pos.offset);
        strbuf_addstr(&sb, sql + ce);
        out = strbuf_detach(&sb, NULL);
        *what = "dropped";
    } else if (ntx) {
        *what = "own";
    }
    parse_list_release(&pl);
    return out ? out : xstrdup(sql);
}

/* ---- names ---- */

int imp_version_cmp(const char *a, const char *b)
{
    while (*a || *b) {
        if (isdigit((unsigned char)*a) && isdigit((unsigned char)*b)) {
            while (*a == '0' && isdigit((unsigned char)a[1]))
                a++;
            while (*b == '0' && isdigit((unsigned char)b[1]))
                b++;
            size_t la = 0, lb = 0;
            while (isdigit((unsigned char)a[la]))
                la++;
            while (isdigit((unsigned char)b[lb]))
                lb++;
            if (la != lb)
                return la < lb ? -1 : 1;
            int c = strncmp(a, b, la);
            if (c)
                return c < 0 ? -1 : 1;
            a += la;
            b += lb;
            continue;
        }
        /* separators '.' and '_' are alike; a shorter version sorts first (1 < 1.1) */
        char ca = *a == '_' ? '.' : *a, cb = *b == '_' ? '.' : *b;
        if (ca != cb)
            return (unsigned char)ca < (unsigned char)cb ? -1 : 1;
        a++;
        b++;
    }
    return 0;
}

/* The UTC time of a 14-digit YYYYMMDDHHMMSS, or -1 when it is not a valid one. */
static long long stamp_time(const char *s)
{
    if (!all_digits(s, 14))
        return -1;
    struct tm tm = {0};
    char buf[5];
    memcpy(buf, s, 4);
    buf[4] = 0;
    tm.tm_year = atoi(buf) - 1900;
#define TWO(off) (((s)[off] - '0') * 10 + ((s)[(off) + 1] - '0'))
    tm.tm_mon = TWO(4) - 1;
    tm.tm_mday = TWO(6);
    tm.tm_hour = TWO(8);
    tm.tm_min = TWO(10);
    tm.tm_sec = TWO(12);
#undef TWO
    if (tm.tm_year < 70 || tm.tm_mon < 0 || tm.tm_mon > 11 || tm.tm_mday < 1 || tm.tm_mday > 31 ||
        tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
        return -1;
    int mday = tm.tm_mday, mon = tm.tm_mon;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != mday || tm.tm_mon != mon)
        return -1; /* 20230231...: normalised into March */
    return (long long)t;
}

static long long candidate(const char *version)
{
    size_t n = strlen(version);
    if (!all_digits(version, n))
        return -1;
    if (n >= 14) {
        char head[15];
        memcpy(head, version, 14);
        head[14] = 0;
        long long t = stamp_time(head);
        if (t >= 0)
            return t;
    }
    if (n <= 10) {
        long long v = atoll(version);
        return v;
    }
    return -1;
}

void imp_map_names(struct imp_set *set)
{
    long long prev = -1;
    for (size_t i = 0; i < set->nr; i++) {
        struct imp_mig *m = &set->v[i];
        long long t = candidate(m->version);
        if (t <= prev)
            t = prev + 1;
        if (t < 1)
            t = 1;
        /* 9999-12-31T23:59:59: a name has 14 digits (only a hostile input gets here) */
        if (t > 253402300799LL)
            t = 253402300799LL;
        prev = t;
        time_t tt = (time_t)t;
        struct tm tm;
        char stamp[32];
        gmtime_r(&tt, &tm);
        strftime(stamp, sizeof(stamp), "%Y%m%d%H%M%S", &tm);
        free(m->name);
        m->name = xasprintf("%.14s-%s", stamp, m->label);
    }
}
