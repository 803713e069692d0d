/*
 * sqlsplit.c — psql's lexer (psqlscan.l, psqlscanslash.l) by hand. What
 * matters for splitting is where quotes, comments and dollar quotes start
 * and end, the parenthesis depth and psql's BEGIN ... END heuristic; every
 * byte of a statement is kept as psql keeps it, so the server sees the same
 * text (error positions then match too).
 */
#include "lib/sqlsplit.h"

#include <strings.h>

enum {
    ST_INITIAL,
    ST_XC,    /* slash-star comment, nested */
    ST_XQ,    /* '...' without backslash escapes (also U&'...') */
    ST_XE,    /* E'...' (and '...' when standard_conforming_strings is off) */
    ST_XB,    /* b'...' / x'...': '' ends it and a new string starts */
    ST_XD,    /* "identifier" (also U&"...") */
    ST_XDOLQ, /* $tag$ ... $tag$ */
};

struct sql_expansion {
    char *name;
    size_t end; /* offset in lx->input where the value ends */
};

/* Expansion may not grow one line beyond this (psql has no limit; a
 * self-doubling chain of variables would otherwise eat all memory). */
#define SQL_EXPAND_LIMIT (64u << 20)

static bool is_ident_start(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_' || c >= 0x80;
}

static bool is_ident_cont(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9') || c == '$';
}

static bool is_dolq_cont(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_var_char(unsigned char c)
{
    return is_ident_start(c) || (c >= '0' && c <= '9');
}

static bool is_space(unsigned char c)
{
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/* ---- variables ---- */

bool sql_var_name_valid(const char *name)
{
    if (!*name)
        return false;
    for (const unsigned char *p = (const unsigned char *)name; *p; p++)
        if (!is_var_char(*p))
            return false;
    return true;
}

static struct sql_var *var_find(const struct sql_vars *vars, const char *name, size_t len)
{
    for (size_t i = 0; i < vars->nr; i++)
        if (strlen(vars->v[i].name) == len && !memcmp(vars->v[i].name, name, len))
            return &vars->v[i];
    return NULL;
}

int sql_vars_set(struct sql_vars *vars, const char *name, const char *value)
{
    if (!sql_var_name_valid(name))
        return -1;
    struct sql_var *v = var_find(vars, name, strlen(name));
    if (v) {
        char *nv = xstrdup(value);
        free(v->value);
        v->value = nv;
        return 0;
    }
    ALLOC_GROW(vars->v, vars->nr + 1, vars->alloc);
    vars->v[vars->nr].name = xstrdup(name);
    vars->v[vars->nr].value = xstrdup(value);
    vars->nr++;
    return 0;
}

void sql_vars_unset(struct sql_vars *vars, const char *name)
{
    struct sql_var *v = var_find(vars, name, strlen(name));
    if (!v)
        return;
    free(v->name);
    free(v->value);
    size_t i = (size_t)(v - vars->v);
    memmove(vars->v + i, vars->v + i + 1, (vars->nr - i - 1) * sizeof(*vars->v));
    vars->nr--;
}

const char *sql_vars_get(const struct sql_vars *vars, const char *name)
{
    struct sql_var *v = vars ? var_find(vars, name, strlen(name)) : NULL;
    return v ? v->value : NULL;
}

static const char *vars_getn(const struct sql_vars *vars, const char *name, size_t len)
{
    struct sql_var *v = vars ? var_find(vars, name, len) : NULL;
    return v ? v->value : NULL;
}

int sql_vars_assign(struct sql_vars *vars, const char *assignment)
{
    const char *eq = strchr(assignment, '=');
    if (!eq) {
        if (!sql_var_name_valid(assignment))
            return -1;
        sql_vars_unset(vars, assignment);
        return 0;
    }
    char *name = xstrndup(assignment, (size_t)(eq - assignment));
    int r = sql_vars_set(vars, name, eq + 1);
    free(name);
    return r;
}

void sql_vars_clear(struct sql_vars *vars)
{
    for (size_t i = 0; i < vars->nr; i++) {
        free(vars->v[i].name);
        free(vars->v[i].value);
    }
    free(vars->v);
    vars->v = NULL;
    vars->nr = vars->alloc = 0;
}

void sql_quote_literal(struct strbuf *sb, const char *s)
{
    /* PQescapeLiteral: a leading " E" when there are backslashes, which are doubled */
    if (strchr(s, '\\'))
        strbuf_addstr(sb, " E");
    strbuf_addch(sb, '\'');
    for (; *s; s++) {
        if (*s == '\'' || *s == '\\')
            strbuf_addch(sb, *s);
        strbuf_addch(sb, *s);
    }
    strbuf_addch(sb, '\'');
}

void sql_quote_ident(struct strbuf *sb, const char *s)
{
    strbuf_addch(sb, '"');
    for (; *s; s++) {
        if (*s == '"')
            strbuf_addch(sb, '"');
        strbuf_addch(sb, *s);
    }
    strbuf_addch(sb, '"');
}

int sql_parse_bool(const char *s, bool *out)
{
    size_t len = strlen(s);
    if (len > 0 && !strncasecmp(s, "true", len))
        *out = true;
    else if (len > 0 && !strncasecmp(s, "false", len))
        *out = false;
    else if (len > 0 && !strncasecmp(s, "yes", len))
        *out = true;
    else if (len > 0 && !strncasecmp(s, "no", len))
        *out = false;
    else if (len >= 2 && !strncasecmp(s, "on", len))
        *out = true;
    else if (len >= 2 && !strncasecmp(s, "off", len))
        *out = false;
    else if (!strcmp(s, "1"))
        *out = true;
    else if (!strcmp(s, "0"))
        *out = false;
    else
        return -1;
    return 0;
}

/* ---- lexer ---- */

void sql_lexer_init(struct sql_lexer *lx)
{
    memset(lx, 0, sizeof(*lx));
    lx->dolq_tag = (struct strbuf)STRBUF_INIT;
    lx->input = (struct strbuf)STRBUF_INIT;
    lx->warnings = (struct strbuf)STRBUF_INIT;
    lx->std_strings = true;
    lx->state = ST_INITIAL;
}

void sql_lexer_reset(struct sql_lexer *lx)
{
    lx->state = ST_INITIAL;
    lx->xcdepth = 0;
    lx->paren_depth = 0;
    lx->begin_depth = 0;
    lx->identifier_count = 0;
    strbuf_reset(&lx->dolq_tag);
}

static void exp_pop_all(struct sql_lexer *lx)
{
    while (lx->exp_nr)
        free(lx->exp[--lx->exp_nr].name);
}

void sql_lexer_release(struct sql_lexer *lx)
{
    exp_pop_all(lx);
    free(lx->exp);
    strbuf_release(&lx->dolq_tag);
    strbuf_release(&lx->input);
    strbuf_release(&lx->warnings);
    memset(lx, 0, sizeof(*lx));
}

void sql_lexer_feed(struct sql_lexer *lx, const char *line, size_t len)
{
    exp_pop_all(lx);
    strbuf_reset(&lx->input);
    strbuf_add(&lx->input, line, len);
    lx->pos = 0;
}

bool sql_lexer_in_literal(const struct sql_lexer *lx)
{
    return lx->state != ST_INITIAL;
}

static void exp_pop_done(struct sql_lexer *lx)
{
    while (lx->exp_nr && lx->pos >= lx->exp[lx->exp_nr - 1].end)
        free(lx->exp[--lx->exp_nr].name);
}

static bool exp_active(const struct sql_lexer *lx, const char *name, size_t len)
{
    for (size_t i = 0; i < lx->exp_nr; i++)
        if (strlen(lx->exp[i].name) == len && !memcmp(lx->exp[i].name, name, len))
            return true;
    return false;
}

/* Replace TOKLEN bytes at the scan position by VALUE, to be scanned next. */
static void exp_splice(struct sql_lexer *lx, size_t toklen, const char *name, size_t namelen,
                       const char *value)
{
    size_t vlen = strlen(value);
    struct strbuf nb = STRBUF_INIT;
    strbuf_grow(&nb, lx->input.len - toklen + vlen);
    strbuf_add(&nb, lx->input.buf, lx->pos);
    strbuf_add(&nb, value, vlen);
    strbuf_add(&nb, lx->input.buf + lx->pos + toklen, lx->input.len - lx->pos - toklen);
    strbuf_release(&lx->input);
    lx->input = nb;
    for (size_t i = 0; i < lx->exp_nr; i++)
        lx->exp[i].end = lx->exp[i].end + vlen - toklen;
    ALLOC_GROW(lx->exp, lx->exp_nr + 1, lx->exp_alloc);
    lx->exp[lx->exp_nr].name = xstrndup(name, namelen);
    lx->exp[lx->exp_nr].end = lx->pos + vlen;
    lx->exp_nr++;
}

/* psql's CREATE [OR REPLACE] FUNCTION|PROCEDURE ... BEGIN ... END tracking. */
static void track_identifier(struct sql_lexer *lx, const char *w, size_t n)
{
#define IS(word) (n == sizeof(word) - 1 && !strncasecmp(w, word, n))
    if (lx->identifier_count == 0)
        memset(lx->identifiers, 0, sizeof(lx->identifiers));
    if (IS("create") || IS("function") || IS("procedure") || IS("or") || IS("replace")) {
        if (lx->identifier_count < sizeof(lx->identifiers)) {
            char c = w[0];
            if (c >= 'A' && c <= 'Z')
                c = (char)(c - 'A' + 'a');
            lx->identifiers[lx->identifier_count] = c;
        }
    }
    lx->identifier_count++;
    const char *id = lx->identifiers;
    if (id[0] == 'c' &&
        (id[1] == 'f' || id[1] == 'p' ||
         (id[1] == 'o' && id[2] == 'r' && (id[3] == 'f' || id[3] == 'p'))) &&
        lx->paren_depth == 0) {
        if (IS("begin"))
            lx->begin_depth++;
        else if (IS("case")) {
            if (lx->begin_depth >= 1)
                lx->begin_depth++;
        } else if (IS("end")) {
            if (lx->begin_depth > 0)
                lx->begin_depth--;
        }
    }
#undef IS
}

/* Length of a run of variable characters at P (bounded by END). */
static size_t var_len(const char *p, const char *end)
{
    size_t n = 0;
    while (p + n < end && is_var_char((unsigned char)p[n]))
        n++;
    return n;
}

/*
 * At a ':' in INITIAL (or in a meta-command argument). Handles :name,
 * :'name', :"name", :{?name}. Returns the number of input bytes consumed
 * with OUT appended, or 0 when the colon is an ordinary character.
 * For plain :name in SQL (SPLICE) the value is spliced into the input.
 */
static size_t scan_colon(struct sql_lexer *lx, const struct sql_vars *vars, struct strbuf *out,
                         bool splice, bool *quoted)
{
    const char *p = lx->input.buf + lx->pos, *end = lx->input.buf + lx->input.len;
    if (p + 1 >= end)
        return 0;
    if (p[1] == '\'' || p[1] == '"') {
        char q = p[1];
        size_t n = var_len(p + 2, end);
        if (n == 0 || p + 2 + n >= end || p[2 + n] != q)
            return 0; /* psql throws back all but the colon */
        const char *val = vars_getn(vars, p + 2, n);
        if (!val) {
            strbuf_add(out, p, n + 3);
        } else {
            if (q == '\'')
                sql_quote_literal(out, val);
            else
                sql_quote_ident(out, val);
            if (quoted)
                *quoted = true;
        }
        return n + 3;
    }
    if (p[1] == '{' && p + 2 < end && p[2] == '?') {
        size_t n = var_len(p + 3, end);
        if (n == 0 || p + 3 + n >= end || p[3 + n] != '}')
            return 0;
        if (!vars) {
            strbuf_add(out, p, n + 4);
        } else {
            strbuf_addstr(out, vars_getn(vars, p + 3, n) ? "TRUE" : "FALSE");
        }
        return n + 4;
    }
    size_t n = var_len(p + 1, end);
    if (n == 0)
        return 0;
    const char *val = vars_getn(vars, p + 1, n);
    if (!val) {
        strbuf_add(out, p, n + 1);
        return n + 1;
    }
    if (!splice) {
        strbuf_addstr(out, val);
        return n + 1;
    }
    if (exp_active(lx, p + 1, n)) {
        strbuf_addf(&lx->warnings, "warning: skipping recursive expansion of variable \"%.*s\"\n", (int)n,
                    p + 1);
        strbuf_add(out, p, n + 1);
        return n + 1;
    }
    if (lx->input.len + strlen(val) > SQL_EXPAND_LIMIT) {
        strbuf_addf(&lx->warnings, "warning: skipping expansion of variable \"%.*s\": line too long\n",
                    (int)n, p + 1);
        strbuf_add(out, p, n + 1);
        return n + 1;
    }
    char *name = xstrndup(p + 1, n);
    exp_splice(lx, n + 1, name, n, val);
    free(name);
    return SIZE_MAX; /* consumed nothing, input changed */
}

enum sql_scan_result sql_scan(struct sql_lexer *lx, struct strbuf *query,
                              const struct sql_vars *vars)
{
    for (;;) {
        exp_pop_done(lx);
        if (lx->pos >= lx->input.len)
            return SQL_SCAN_EOL;
        const char *s = lx->input.buf;
        size_t len = lx->input.len, i = lx->pos;
        unsigned char c = (unsigned char)s[i];
        unsigned char d = i + 1 < len ? (unsigned char)s[i + 1] : 0;

        switch (lx->state) {
        case ST_XC:
            if (c == '/' && d == '*') {
                lx->xcdepth++;
                strbuf_add(query, s + i, 2);
                lx->pos += 2;
            } else if (c == '*' && d == '/') {
                if (lx->xcdepth == 0)
                    lx->state = ST_INITIAL;
                else
                    lx->xcdepth--;
                strbuf_add(query, s + i, 2);
                lx->pos += 2;
            } else {
                size_t j = i + 1;
                while (j < len && s[j] != '/' && s[j] != '*')
                    j++;
                strbuf_add(query, s + i, j - i);
                lx->pos = j;
            }
            continue;
        case ST_XQ:
        case ST_XE:
        case ST_XB:
        case ST_XD: {
            char q = lx->state == ST_XD ? '"' : '\'';
            if (c == (unsigned char)q) {
                if (d == (unsigned char)q) {
                    strbuf_add(query, s + i, 2);
                    lx->pos += 2;
                    if (lx->state == ST_XB)
                        lx->state = lx->std_strings ? ST_XQ : ST_XE;
                } else {
                    strbuf_addch(query, q);
                    lx->pos++;
                    lx->state = ST_INITIAL;
                }
            } else if (c == '\\' && lx->state == ST_XE) {
                strbuf_add(query, s + i, d ? 2 : 1);
                lx->pos += d ? 2 : 1;
            } else {
                size_t j = i + 1;
                while (j < len && s[j] != q && s[j] != '\\')
                    j++;
                strbuf_add(query, s + i, j - i);
                lx->pos = j;
            }
            continue;
        }
        case ST_XDOLQ:
            if (c == '$' && len - i >= lx->dolq_tag.len + 2 &&
                !memcmp(s + i + 1, lx->dolq_tag.buf, lx->dolq_tag.len) &&
                s[i + 1 + lx->dolq_tag.len] == '$') {
                strbuf_add(query, s + i, lx->dolq_tag.len + 2);
                lx->pos += lx->dolq_tag.len + 2;
                lx->state = ST_INITIAL;
                strbuf_reset(&lx->dolq_tag);
            } else {
                size_t j = i + 1;
                while (j < len && s[j] != '$')
                    j++;
                strbuf_add(query, s + i, j - i);
                lx->pos = j;
            }
            continue;
        }

        /* INITIAL */
        if (is_space(c)) {
            size_t j = i + 1;
            while (j < len && is_space((unsigned char)s[j]))
                j++;
            if (query->len)
                strbuf_add(query, s + i, j - i);
            lx->pos = j;
            continue;
        }
        if (c == '-' && d == '-') {
            if (query->len)
                strbuf_add(query, s + i, len - i);
            lx->pos = len;
            continue;
        }
        if (c == '/' && d == '*') {
            lx->state = ST_XC;
            lx->xcdepth = 0;
            strbuf_add(query, s + i, 2);
            lx->pos += 2;
            continue;
        }
        if (c == '\'') {
            lx->state = lx->std_strings ? ST_XQ : ST_XE;
            strbuf_addch(query, c);
            lx->pos++;
            continue;
        }
        if (c == '"') {
            lx->state = ST_XD;
            strbuf_addch(query, c);
            lx->pos++;
            continue;
        }
        if (c == '$') {
            size_t j = i + 1;
            if (j < len && is_ident_start((unsigned char)s[j])) {
                j++;
                while (j < len && is_dolq_cont((unsigned char)s[j]))
                    j++;
            }
            if (j < len && s[j] == '$') {
                strbuf_reset(&lx->dolq_tag);
                strbuf_add(&lx->dolq_tag, s + i + 1, j - i - 1);
                strbuf_add(query, s + i, j - i + 1);
                lx->pos = j + 1;
                lx->state = ST_XDOLQ;
                continue;
            }
            strbuf_addch(query, c);
            lx->pos++;
            continue;
        }
        if (is_ident_start(c)) {
            size_t j = i + 1;
            while (j < len && is_ident_cont((unsigned char)s[j]))
                j++;
            size_t n = j - i;
            if (n == 1 && d == '\'') {
                int st = -1;
                if (c == 'e' || c == 'E')
                    st = ST_XE;
                else if (c == 'b' || c == 'B' || c == 'x' || c == 'X')
                    st = ST_XB;
                else if (c == 'n' || c == 'N')
                    st = lx->std_strings ? ST_XQ : ST_XE;
                if (st >= 0) {
                    strbuf_add(query, s + i, 2);
                    lx->pos += 2;
                    lx->state = st;
                    continue;
                }
            }
            if (n == 1 && (c == 'u' || c == 'U') && d == '&' && i + 2 < len &&
                (s[i + 2] == '\'' || s[i + 2] == '"')) {
                lx->state = s[i + 2] == '\'' ? ST_XQ : ST_XD;
                strbuf_add(query, s + i, 3);
                lx->pos += 3;
                continue;
            }
            track_identifier(lx, s + i, n);
            strbuf_add(query, s + i, n);
            lx->pos = j;
            continue;
        }
        if (c >= '0' && c <= '9') {
            size_t j = i + 1;
            while (j < len && (((unsigned char)s[j] >= '0' && (unsigned char)s[j] <= '9') ||
                               (is_ident_start((unsigned char)s[j]))))
                j++;
            strbuf_add(query, s + i, j - i);
            lx->pos = j;
            continue;
        }
        if (c == ':') {
            if (d == ':') {
                strbuf_add(query, s + i, 2);
                lx->pos += 2;
                continue;
            }
            size_t n = scan_colon(lx, vars, query, true, NULL);
            if (n == SIZE_MAX)
                continue; /* value spliced in: scan it */
            if (n) {
                lx->pos += n;
                continue;
            }
            strbuf_addch(query, c);
            lx->pos++;
            continue;
        }
        if (c == '\\') {
            if (d == ';' || d == ':') {
                strbuf_addch(query, d);
                lx->pos += 2;
                continue;
            }
            return SQL_SCAN_BACKSLASH;
        }
        if (c == '(')
            lx->paren_depth++;
        else if (c == ')' && lx->paren_depth > 0)
            lx->paren_depth--;
        strbuf_addch(query, c);
        lx->pos++;
        if (c == ';' && lx->paren_depth == 0 && lx->begin_depth == 0) {
            lx->identifier_count = 0;
            return SQL_SCAN_SEMI;
        }
    }
}

char *sql_scan_cmd(struct sql_lexer *lx)
{
    const char *s = lx->input.buf;
    size_t len = lx->input.len, i = lx->pos;
    if (i < len && s[i] == '\\')
        i++;
    size_t j = i;
    while (j < len && !is_space((unsigned char)s[j]) && s[j] != '\\')
        j++;
    lx->pos = j;
    lx->args_done = false;
    return xstrndup(s + i, j - i);
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

char *sql_scan_arg(struct sql_lexer *lx, const struct sql_vars *vars, bool semicolon,
                   bool *quoted)
{
    const char *s = lx->input.buf;
    size_t len = lx->input.len, i = lx->pos;
    if (quoted)
        *quoted = false;
    if (lx->args_done)
        return NULL;
    while (i < len && is_space((unsigned char)s[i]))
        i++;
    lx->pos = i;
    if (i >= len || s[i] == '\\') {
        /* "\\" separates meta-commands on a line and is consumed */
        if (i + 1 < len && s[i] == '\\' && s[i + 1] == '\\')
            lx->pos = i + 2;
        lx->args_done = true;
        return NULL;
    }

    struct strbuf out = STRBUF_INIT;
    size_t unquoted = 0;
    bool any_quote = false;
    while (i < len && !is_space((unsigned char)s[i]) && s[i] != '\\') {
        unsigned char c = (unsigned char)s[i];
        if (c == '\'') {
            any_quote = true;
            unquoted = 0;
            i++;
            for (;;) {
                if (i >= len) {
                    strbuf_addstr(&lx->warnings, "error: unterminated quoted string\n");
                    lx->pos = len;
                    strbuf_release(&out);
                    return NULL;
                }
                c = (unsigned char)s[i];
                if (c == '\'') {
                    if (i + 1 < len && s[i + 1] == '\'') {
                        strbuf_addch(&out, '\'');
                        i += 2;
                        continue;
                    }
                    i++;
                    break;
                }
                if (c == '\\' && i + 1 < len) {
                    unsigned char e = (unsigned char)s[i + 1];
                    i += 2;
                    switch (e) {
                    case 'n': strbuf_addch(&out, '\n'); break;
                    case 't': strbuf_addch(&out, '\t'); break;
                    case 'b': strbuf_addch(&out, '\b'); break;
                    case 'r': strbuf_addch(&out, '\r'); break;
                    case 'f': strbuf_addch(&out, '\f'); break;
                    case 'x':
                        if (i < len && hexval((unsigned char)s[i]) >= 0) {
                            int v = hexval((unsigned char)s[i++]);
                            if (i < len && hexval((unsigned char)s[i]) >= 0)
                                v = v * 16 + hexval((unsigned char)s[i++]);
                            strbuf_addch(&out, v);
                        } else {
                            strbuf_addch(&out, 'x');
                        }
                        break;
                    default:
                        if (e >= '0' && e <= '7') {
                            int v = e - '0';
                            for (int k = 0; k < 2 && i < len && s[i] >= '0' && s[i] <= '7'; k++)
                                v = v * 8 + (s[i++] - '0');
                            strbuf_addch(&out, v & 0xff);
                        } else {
                            strbuf_addch(&out, e);
                        }
                    }
                    continue;
                }
                strbuf_addch(&out, c);
                i++;
            }
            continue;
        }
        if (c == '"') {
            any_quote = true;
            unquoted = 0;
            strbuf_addch(&out, '"');
            i++;
            for (;;) {
                if (i >= len) {
                    strbuf_addstr(&lx->warnings, "error: unterminated quoted string\n");
                    lx->pos = len;
                    strbuf_release(&out);
                    return NULL;
                }
                if (s[i] == '"' && i + 1 < len && s[i + 1] == '"') {
                    strbuf_add(&out, "\"\"", 2);
                    i += 2;
                    continue;
                }
                strbuf_addch(&out, s[i]);
                if (s[i++] == '"')
                    break;
            }
            continue;
        }
        if (c == '`') {
            /* psql runs a shell command here; we keep the text and flag it */
            any_quote = true;
            unquoted = 0;
            lx->saw_backquote = true;
            i++;
            while (i < len && s[i] != '`')
                strbuf_addch(&out, s[i++]);
            if (i >= len) {
                strbuf_addstr(&lx->warnings, "error: unterminated quoted string\n");
                lx->pos = len;
                strbuf_release(&out);
                return NULL;
            }
            i++;
            continue;
        }
        if (c == ':') {
            lx->pos = i;
            bool q = false;
            size_t n = scan_colon(lx, vars, &out, false, &q);
            if (n) {
                if (q) {
                    any_quote = true;
                    unquoted = 0;
                }
                i += n;
                continue;
            }
        }
        strbuf_addch(&out, c);
        unquoted++;
        i++;
    }
    lx->pos = i;
    if (semicolon)
        while (unquoted-- > 0 && out.len && out.buf[out.len - 1] == ';')
            strbuf_setlen(&out, out.len - 1);
    if (quoted)
        *quoted = any_quote;
    return strbuf_detach(&out, NULL);
}

char *sql_scan_rest_of_line(struct sql_lexer *lx)
{
    char *r = xstrndup(lx->input.buf + lx->pos, lx->input.len - lx->pos);
    lx->pos = lx->input.len;
    return r;
}
