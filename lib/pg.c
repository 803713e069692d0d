/*
 * pg.c — libpq helpers.
 */
#include "lib/pg.h"

#include <libpq-events.h>
#include <signal.h>
#include <unistd.h>

/* ---- cancelling on SIGINT/SIGTERM ---- */

/*
 * The cancel handles of the open connections, for the signal handler. Slots
 * change only with the handled signals blocked, so the handler never sees a
 * half-written one; it only calls PQcancel (async-signal-safe) and getpid,
 * never PQgetCancel/PQfreeCancel. OWNER keeps a forked child (diff's
 * sources builder, spawn's child before exec) from cancelling its parent's
 * statements: each process cancels only the connections it opened.
 */
static struct cancel_slot {
    PGconn *conn;
    PGcancel *cancel;
    pid_t owner;
} cancel_slots[16];

static void block_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGHUP);
    sigprocmask(SIG_BLOCK, &set, old);
}

static void cancel_all(void)
{
    char errbuf[256];
    pid_t self = getpid();
    for (size_t i = 0; i < ARRAY_SIZE(cancel_slots); i++)
        if (cancel_slots[i].cancel && cancel_slots[i].owner == self)
            PQcancel(cancel_slots[i].cancel, errbuf, sizeof(errbuf));
}

/* Put CONN's (new) cancel handle in its slot, or in a free one. */
static void cancel_register(PGconn *conn)
{
    PGcancel *c = PQgetCancel(conn), *stale = NULL;
    struct cancel_slot *slot = NULL;
    sigset_t old;
    if (!c)
        return;
    block_signals(&old);
    for (size_t i = 0; i < ARRAY_SIZE(cancel_slots) && !slot; i++)
        if (cancel_slots[i].conn == conn)
            slot = &cancel_slots[i];
    for (size_t i = 0; i < ARRAY_SIZE(cancel_slots) && !slot; i++)
        if (!cancel_slots[i].conn)
            slot = &cancel_slots[i];
    if (slot) {
        stale = slot->cancel;
        *slot = (struct cancel_slot){conn, c, getpid()};
    } else {
        stale = c;
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    if (!slot)
        debug("pg", "more than %zu connections: this one cannot be cancelled by a signal",
              ARRAY_SIZE(cancel_slots));
    PQfreeCancel(stale);
}

static void cancel_forget(PGconn *conn)
{
    PGcancel *c = NULL;
    sigset_t old;
    block_signals(&old);
    for (size_t i = 0; i < ARRAY_SIZE(cancel_slots); i++) {
        if (cancel_slots[i].conn == conn) {
            c = cancel_slots[i].cancel;
            cancel_slots[i] = (struct cancel_slot){NULL, NULL, 0};
            break;
        }
    }
    sigprocmask(SIG_SETMASK, &old, NULL);
    PQfreeCancel(c);
}

/*
 * libpq calls this on PQfinish (and PQreset), wherever the code closes the
 * connection, so no close path can leave a stale handle behind.
 */
static int cancel_event(PGEventId id, void *evt, void *arg)
{
    (void)arg;
    if (id == PGEVT_CONNDESTROY)
        cancel_forget(((PGEventConnDestroy *)evt)->conn);
    else if (id == PGEVT_CONNRESET)
        cancel_register(((PGEventConnReset *)evt)->conn);
    return 1;
}

bool pg_result_interrupted(const PGresult *res)
{
    const char *st = PQresultErrorField(res, PG_DIAG_SQLSTATE);
    return interrupted && st && !strcmp(st, "57014");
}

static void notice_processor(void *arg, const char *message)
{
    (void)arg;
    size_t n = strlen(message);
    fprintf(stderr, "%s: %.*s\n", progname, (int)(n && message[n - 1] == '\n' ? n - 1 : n), message);
}

PGconn *pg_connect_quiet(const char *conninfo, char **errmsg)
{
    PGconn *c = PQconnectdb(conninfo);
    if (!c) {
        if (errmsg)
            *errmsg = xstrdup("out of memory");
        return NULL;
    }
    if (PQstatus(c) != CONNECTION_OK) {
        if (errmsg) {
            struct strbuf sb = STRBUF_INIT;
            strbuf_addstr(&sb, PQerrorMessage(c));
            strbuf_trim_trailing(&sb);
            *errmsg = strbuf_detach(&sb, NULL);
        }
        PQfinish(c);
        return NULL;
    }
    PQsetNoticeProcessor(c, notice_processor, NULL);
    signals_set_interrupt_hook(cancel_all);
    if (PQregisterEventProc(c, cancel_event, "dbtool-cancel", NULL))
        cancel_register(c);
    return c;
}

PGconn *pg_connect(const char *conninfo)
{
    char *msg = NULL;
    PGconn *c = pg_connect_quiet(conninfo, &msg);
    if (!c) {
        char *m = pg_mask_url(conninfo);
        error("cannot connect to '%s': %s", m, msg ? msg : "unknown error");
        free(m);
    }
    free(msg);
    return c;
}

bool pg_url_supported(const char *url)
{
    if (starts_with(url, "postgresql://") || starts_with(url, "postgres://"))
        return true;
    /* key=value conninfo has no scheme */
    return !strstr(url, "://") && strchr(url, '=');
}

char *pg_mask_url(const char *url)
{
    struct strbuf sb = STRBUF_INIT;
    const char *scheme = strstr(url, "://");
    if (scheme) {
        const char *auth = scheme + 3;
        const char *at = NULL;
        for (const char *p = auth; *p && *p != '/' && *p != '?'; p++)
            if (*p == '@')
                at = p;
        const char *colon = NULL;
        if (at)
            for (const char *p = auth; p < at; p++)
                if (*p == ':') {
                    colon = p;
                    break;
                }
        if (colon) {
            strbuf_add(&sb, url, (size_t)(colon + 1 - url));
            strbuf_addstr(&sb, "***");
            strbuf_addstr(&sb, at);
        } else {
            strbuf_addstr(&sb, url);
        }
        /* password=... in the query string */
        char *q = strstr(sb.buf, "password=");
        while (q) {
            if (q == sb.buf || q[-1] == '?' || q[-1] == '&') {
                char *end = strchrnul(q, '&');
                struct strbuf t = STRBUF_INIT;
                strbuf_add(&t, sb.buf, (size_t)(q - sb.buf));
                strbuf_addstr(&t, "password=***");
                size_t keep = t.len;
                strbuf_addstr(&t, end);
                strbuf_release(&sb);
                sb = t;
                q = strstr(sb.buf + keep, "password=");
            } else {
                q = strstr(q + 1, "password=");
            }
        }
        return strbuf_detach(&sb, NULL);
    }
    /* key=value form: mask the value of password */
    const char *p = url;
    while (*p) {
        const char *k = strstr(p, "password");
        if (!k) {
            strbuf_addstr(&sb, p);
            break;
        }
        const char *e = k + 8;
        while (*e == ' ')
            e++;
        bool at_word = k == url || k[-1] == ' ';
        if (!at_word || *e != '=') {
            strbuf_add(&sb, p, (size_t)(e - p));
            p = e;
            continue;
        }
        strbuf_add(&sb, p, (size_t)(e + 1 - p));
        strbuf_addstr(&sb, "***");
        e++;
        while (*e == ' ')
            e++;
        if (*e == '\'') {
            e++;
            while (*e && *e != '\'') {
                if (*e == '\\' && e[1])
                    e++;
                e++;
            }
            if (*e)
                e++;
        } else {
            while (*e && *e != ' ')
                e++;
        }
        p = e;
    }
    return strbuf_detach(&sb, NULL);
}

static void add_pct(struct strbuf *sb, const char *s, bool keep_slash)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
            *p == '-' || *p == '_' || *p == '.' || *p == '~' || (keep_slash && *p == '/'))
            strbuf_addch(sb, *p);
        else
            strbuf_addf(sb, "%%%02X", *p);
    }
}

char *pg_build_url(const char *user, const char *db, const char *sockdir, int port)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addstr(&sb, "postgresql://");
    add_pct(&sb, user, false);
    strbuf_addstr(&sb, "@/");
    add_pct(&sb, db, false);
    strbuf_addstr(&sb, "?host=");
    add_pct(&sb, sockdir, true);
    strbuf_addf(&sb, "&port=%d", port);
    return strbuf_detach(&sb, NULL);
}

void pg_print_result_error(const PGresult *res, const char *what)
{
    const char *msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
    const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
    const char *hint = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
    const char *ctx = PQresultErrorField(res, PG_DIAG_CONTEXT);
    if (pg_result_interrupted(res)) {
        error("%s%sinterrupted: the statement was cancelled", what ? what : "", what ? ": " : "");
        return;
    }
    if (!msg) {
        struct strbuf sb = STRBUF_INIT;
        strbuf_addstr(&sb, PQresultErrorMessage(res));
        strbuf_trim_trailing(&sb);
        error("%s%s%s", what ? what : "", what ? ": " : "", sb.len ? sb.buf : "query failed");
        strbuf_release(&sb);
        return;
    }
    error("%s%s%s", what ? what : "", what ? ": " : "", msg);
    if (detail)
        fprintf(stderr, "DETAIL:  %s\n", detail);
    if (hint)
        fprintf(stderr, "HINT:  %s\n", hint);
    if (ctx)
        debug("pg", "CONTEXT: %s", ctx);
}

int pg_exec(PGconn *conn, const char *sql)
{
    PGresult *r = PQexec(conn, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (!ok)
        pg_print_result_error(r, NULL);
    PQclear(r);
    return ok ? 0 : -1;
}

int pg_query_value(PGconn *conn, const char *sql, int nparams, const char *const *params,
                   struct strbuf *out)
{
    PGresult *r = PQexecParams(conn, sql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_print_result_error(r, NULL);
        PQclear(r);
        return -1;
    }
    int rows = PQntuples(r);
    if (rows > 0 && out)
        strbuf_addstr(out, PQgetvalue(r, 0, 0));
    PQclear(r);
    return rows > 0 ? 1 : 0;
}

char *pg_quote_ident(const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addch(&sb, '"');
    for (; *s; s++) {
        if (*s == '"')
            strbuf_addch(&sb, '"');
        strbuf_addch(&sb, *s);
    }
    strbuf_addch(&sb, '"');
    return strbuf_detach(&sb, NULL);
}

char *pg_quote_literal(const char *s)
{
    struct strbuf sb = STRBUF_INIT;
    bool bs = strchr(s, '\\') != NULL;
    if (bs)
        strbuf_addch(&sb, 'E');
    strbuf_addch(&sb, '\'');
    for (; *s; s++) {
        if (*s == '\'' || (bs && *s == '\\'))
            strbuf_addch(&sb, *s);
        strbuf_addch(&sb, *s);
    }
    strbuf_addch(&sb, '\'');
    return strbuf_detach(&sb, NULL);
}
