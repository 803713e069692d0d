/*
 * log.c — logging with HECTIC_LOG levels and namespaces, errors and die(),
 * the cleanup stack run on every exit, signal flag, allocation wrappers.
 */
#include "lib/common.h"

#include <signal.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

const char *progname = "dbtool";
volatile int interrupted;
void (*log_before_write)(void);

/* ---- levels ---- */

static const char *const level_names[] = {"trace", "debug", "info", "notice", "warn", "error", "off"};

struct ns_level {
    char name[48];
    enum log_level level;
};
static enum log_level default_level = LOG_INFO;
static struct ns_level ns_levels[16];
static size_t ns_nr;

static int parse_level(const char *s, size_t len, enum log_level *out)
{
    for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
        if (strlen(level_names[i]) == len && !strncasecmp(s, level_names[i], len)) {
            *out = (enum log_level)i;
            return 0;
        }
    }
    if (len == 7 && !strncasecmp(s, "warning", 7)) {
        *out = LOG_WARN;
        return 0;
    }
    return -1;
}

int log_configure(const char *spec, const char **bad)
{
    static char badbuf[128];
    enum log_level def = LOG_INFO;
    struct ns_level tmp[ARRAY_SIZE(ns_levels)];
    size_t nr = 0;
    const char *p = spec ? spec : "";

    while (*p) {
        const char *end = strchrnul(p, ';');
        const char *eq = memchr(p, '=', (size_t)(end - p));
        /* trim spaces around the item */
        while (p < end && *p == ' ')
            p++;
        const char *e = end;
        while (e > p && e[-1] == ' ')
            e--;
        if (e > p) {
            enum log_level lv;
            int ok;
            if (eq) {
                const char *ne = eq;
                while (ne > p && ne[-1] == ' ')
                    ne--;
                const char *lvs = eq + 1;
                while (lvs < e && *lvs == ' ')
                    lvs++;
                ok = ne > p && (size_t)(ne - p) < sizeof(tmp[0].name) && nr < ARRAY_SIZE(tmp) &&
                     !parse_level(lvs, (size_t)(e - lvs), &lv);
                if (ok) {
                    memcpy(tmp[nr].name, p, (size_t)(ne - p));
                    tmp[nr].name[ne - p] = 0;
                    tmp[nr++].level = lv;
                }
            } else {
                ok = !parse_level(p, (size_t)(e - p), &lv);
                if (ok)
                    def = lv;
            }
            if (!ok) {
                snprintf(badbuf, sizeof(badbuf), "%.*s", (int)(e - p), p);
                if (bad)
                    *bad = badbuf;
                return -1;
            }
        }
        p = *end ? end + 1 : end;
    }
    default_level = def;
    memcpy(ns_levels, tmp, sizeof(tmp[0]) * nr);
    ns_nr = nr;
    return 0;
}

bool log_enabled(const char *ns, enum log_level level)
{
    enum log_level threshold = default_level;
    if (ns) {
        for (size_t i = 0; i < ns_nr; i++)
            if (!strcmp(ns_levels[i].name, ns))
                threshold = ns_levels[i].level;
    } else {
        for (size_t i = 0; i < ns_nr; i++)
            if (!strcmp(ns_levels[i].name, progname))
                threshold = ns_levels[i].level;
    }
    /* errors are always shown unless explicitly "off" */
    if (level >= LOG_ERROR && threshold != LOG_OFF)
        return true;
    return level >= threshold;
}

bool log_color(void)
{
    static int cached = -1;
    if (cached < 0) {
        const char *nc = getenv("NO_COLOR");
        cached = isatty(2) && !(nc && *nc) && !(getenv("TERM") && !strcmp(getenv("TERM"), "dumb"));
    }
    return cached;
}

static void emit(const char *ns, enum log_level level, const char *fmt, va_list ap)
{
    static const char *const tags[] = {"trace", "debug", "", "", "warning", "error", ""};
    static const char *const colors[] = {"\033[2m", "\033[2m", "", "\033[1m", "\033[33m", "\033[31m", ""};
    struct strbuf sb = STRBUF_INIT;
    bool color = log_color();

    strbuf_addstr(&sb, progname);
    if (ns && level <= LOG_DEBUG)
        strbuf_addf(&sb, "[%s]", ns);
    strbuf_addstr(&sb, ": ");
    if (*tags[level]) {
        if (color)
            strbuf_addf(&sb, "%s%s\033[0m: ", colors[level], tags[level]);
        else
            strbuf_addf(&sb, "%s: ", tags[level]);
    }
    strbuf_vaddf(&sb, fmt, ap);
    strbuf_addch(&sb, '\n');
    fflush(stdout);
    if (log_before_write)
        log_before_write();
    /* one write so concurrent processes do not interleave within a line */
    ssize_t off = 0;
    while ((size_t)off < sb.len) {
        ssize_t w = write(2, sb.buf + off, sb.len - (size_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        off += w;
    }
    strbuf_release(&sb);
}

void log_vmsg(const char *ns, enum log_level level, const char *fmt, va_list ap)
{
    if (!log_enabled(ns, level))
        return;
    int saved = errno;
    emit(ns, level, fmt, ap);
    errno = saved;
}

void log_msg(const char *ns, enum log_level level, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(ns, level, fmt, ap);
    va_end(ap);
}

int error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(NULL, LOG_ERROR, fmt, ap);
    va_end(ap);
    return -1;
}

int error_at(const char *file, size_t line, size_t col, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    log_msg(NULL, LOG_ERROR, "%s:%zu:%zu: %s", file, line, col, sb.buf);
    strbuf_release(&sb);
    return -1;
}

static void verror_errno(const char *fmt, va_list ap)
{
    int e = errno;
    struct strbuf sb = STRBUF_INIT;
    strbuf_vaddf(&sb, fmt, ap);
    log_msg(NULL, LOG_ERROR, "%s: %s", sb.buf, strerror(e));
    strbuf_release(&sb);
    errno = e;
}

int error_errno(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror_errno(fmt, ap);
    va_end(ap);
    return -1;
}

void die(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(NULL, LOG_ERROR, fmt, ap);
    va_end(ap);
    dbtool_exit(code);
}

void die_errno(int code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    verror_errno(fmt, ap);
    va_end(ap);
    dbtool_exit(code);
}

void bug_fl(const char *file, int line, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    log_msg(NULL, LOG_ERROR, "BUG: %s:%d: %s", file, line, sb.buf);
    strbuf_release(&sb);
    dbtool_exit(EXIT_BUG);
}

/* ---- cleanup stack ---- */

struct cleanup_entry {
    cleanup_fn fn;
    void *arg;
    int cookie;
};
static struct cleanup_entry *cleanups;
static size_t cleanup_nr, cleanup_alloc;
static int cleanup_next_cookie = 1;

int cleanup_push(cleanup_fn fn, void *arg)
{
    ALLOC_GROW(cleanups, cleanup_nr + 1, cleanup_alloc);
    cleanups[cleanup_nr].fn = fn;
    cleanups[cleanup_nr].arg = arg;
    cleanups[cleanup_nr].cookie = cleanup_next_cookie;
    cleanup_nr++;
    return cleanup_next_cookie++;
}

void cleanup_pop(int cookie)
{
    for (size_t i = cleanup_nr; i-- > 0;) {
        if (cleanups[i].cookie == cookie) {
            memmove(cleanups + i, cleanups + i + 1, (cleanup_nr - i - 1) * sizeof(*cleanups));
            cleanup_nr--;
            return;
        }
    }
}

void cleanup_run_all(void)
{
    while (cleanup_nr > 0) {
        struct cleanup_entry e = cleanups[--cleanup_nr];
        e.fn(e.arg);
    }
    free(cleanups);
    cleanups = NULL;
    cleanup_alloc = 0;
}

void cleanup_forget_all(void)
{
    free(cleanups);
    cleanups = NULL;
    cleanup_nr = cleanup_alloc = 0;
}

void dbtool_exit(int code)
{
    cleanup_run_all();
    /* a script can tell "stopped by Ctrl-C" (130) or SIGTERM (143) from a failure */
    if (code && interrupted)
        code = 128 + interrupted;
    if (fflush(stdout) || ferror(stdout)) {
        if (errno != EPIPE)
            log_msg(NULL, LOG_ERROR, "write error on standard output: %s", strerror(errno));
        if (!code)
            code = EXIT_ERR;
    }
    exit(code);
}

static void (*volatile interrupt_hook)(void);

void signals_set_interrupt_hook(void (*fn)(void))
{
    interrupt_hook = fn;
}

/*
 * Only async-signal-safe work here: the flag, and the hook (pg.c's PQcancel
 * of the running statements), so that a long statement stops now instead of
 * when the server is done with it. Every signal cancels, as psql's Ctrl-C
 * does: a signal that lands just before a statement starts is not seen by
 * the server, and the user's second Ctrl-C then stops that statement too
 * (cancelling an idle connection does nothing).
 */
static void on_signal(int sig)
{
    int saved = errno;
    interrupted = sig;
    void (*hook)(void) = interrupt_hook;
    if (hook)
        hook();
    errno = saved;
}

void signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    /* one handler at a time: a SIGTERM cannot interrupt the SIGINT's cancel requests */
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

/* ---- allocation ---- */

static NORETURN void oom(size_t n)
{
    static const char msg[] = "dbtool: fatal: out of memory\n";
    (void)n;
    if (write(2, msg, sizeof(msg) - 1) < 0) {
    }
    _exit(EXIT_BUG);
}

void *xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        oom(n);
    return p;
}

void *xcalloc(size_t n, size_t m)
{
    void *p = calloc(n ? n : 1, m ? m : 1);
    if (!p)
        oom(n * m);
    return p;
}

void *xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        oom(n);
    return q;
}

char *xstrdup(const char *s)
{
    char *p = strdup(s);
    if (!p)
        oom(strlen(s));
    return p;
}

char *xstrndup(const char *s, size_t n)
{
    char *p = strndup(s, n);
    if (!p)
        oom(n);
    return p;
}

char *xasprintf(const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    return strbuf_detach(&sb, NULL);
}

bool starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !memcmp(s + a - b, suffix, b);
}

const char *env_nonempty(const char *name)
{
    const char *v = getenv(name);
    return v && *v ? v : NULL;
}

uint64_t hash_fnv1a(const void *data, size_t len)
{
    const unsigned char *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

double now_monotonic(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
