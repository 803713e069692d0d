/*
 * common.h — included first by every file: exit codes, errors and logging,
 * memory helpers, strbuf and the cleanup stack. Everything here lives in
 * lib/log.c and lib/strbuf.c.
 */
#ifndef DBTOOL_COMMON_H
#define DBTOOL_COMMON_H

#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define NORETURN __attribute__((noreturn))
#define PRINTF(f, a) __attribute__((format(printf, f, a)))

/* SPEC section 3: the only exit codes dbtool uses. */
enum exit_code {
    EXIT_OK = 0,          /* success */
    EXIT_ERR = 1,         /* generic error */
    EXIT_AMBIGUOUS = 2,   /* ambiguous arguments or state (history mismatch) */
    EXIT_MISSING = 3,     /* missing required argument or environment variable */
    EXIT_MIGRATION = 4,   /* a migration failed and was rolled back */
    EXIT_NO_TABLE = 5,    /* a named table does not exist */
    EXIT_UNKNOWN = 9,     /* unknown argument or command */
    EXIT_BUG = 13,        /* program bug or unexpected system/database state */
    EXIT_NO_PROGRAM = 127, /* a required program is missing */
    EXIT_INTERRUPTED = 130 /* stopped by SIGINT/SIGTERM/SIGHUP (what was started was stopped) */
};

/* Log levels, lowest first; HECTIC_LOG selects the threshold. */
enum log_level { LOG_TRACE, LOG_DEBUG, LOG_INFO, LOG_NOTICE, LOG_WARN, LOG_ERROR, LOG_OFF };

/* The name messages are prefixed with (the applet name once dispatched). */
extern const char *progname;

/*
 * Parse a HECTIC_LOG spec: "LEVEL" or "LEVEL;ns=LEVEL;...". Returns 0, or -1
 * with *bad pointing at the offending part (static storage).
 */
int log_configure(const char *spec, const char **bad);
/* Whether a message of LEVEL in namespace NS would be printed. */
bool log_enabled(const char *ns, enum log_level level);
/* Print a log line to stderr: "prog: message" with a coloured level tag on a tty. */
void log_msg(const char *ns, enum log_level level, const char *fmt, ...) PRINTF(3, 4);
void log_vmsg(const char *ns, enum log_level level, const char *fmt, va_list ap);
/* Whether stderr gets colour (a terminal and no NO_COLOR). */
bool log_color(void);
/*
 * Called (when set) before a log line is written to stderr: lib/progress sets
 * it to erase its status line, so messages never land in the middle of it.
 */
extern void (*log_before_write)(void);

#define trace(ns, ...) log_msg(ns, LOG_TRACE, __VA_ARGS__)
#define debug(ns, ...) log_msg(ns, LOG_DEBUG, __VA_ARGS__)
#define info(...) log_msg(NULL, LOG_INFO, __VA_ARGS__)
#define notice(...) log_msg(NULL, LOG_NOTICE, __VA_ARGS__)
#define warn(...) log_msg(NULL, LOG_WARN, __VA_ARGS__)

/* Print an error ("prog: error: ...") and return -1, so lib code can `return error(...)`. */
int error(const char *fmt, ...) PRINTF(1, 2);
/* error() about a place in a file: "FILE:LINE:COL: message" (1-based); returns -1. */
int error_at(const char *file, size_t line, size_t col, const char *fmt, ...) PRINTF(4, 5);
/* error() with ": strerror(errno)" appended. */
int error_errno(const char *fmt, ...) PRINTF(1, 2);
/* Print the error, run the cleanup stack and exit with CODE. */
NORETURN void die(int code, const char *fmt, ...) PRINTF(2, 3);
NORETURN void die_errno(int code, const char *fmt, ...) PRINTF(2, 3);
/* Impossible state: report file:line and exit 13. */
#define BUG(...) bug_fl(__FILE__, __LINE__, __VA_ARGS__)
NORETURN void bug_fl(const char *file, int line, const char *fmt, ...) PRINTF(3, 4);
/* Exit through the cleanup stack (what main's return does too). */
NORETURN void dbtool_exit(int code);

/*
 * Cleanup stack: resources (started servers, temp dirs, connections) that
 * must be released on every exit path, die() included. Handlers run in
 * reverse order of registration; cleanup_pop() removes (without running) the
 * newest entry registered with that cookie.
 */
typedef void (*cleanup_fn)(void *arg);
int cleanup_push(cleanup_fn fn, void *arg);
void cleanup_pop(int cookie);
void cleanup_run_all(void);
/* In a forked child: drop the parent's entries without running them (they are the parent's to run). */
void cleanup_forget_all(void);
/* Set by SIGINT/SIGTERM/SIGHUP (to the signal number); long waits poll it. */
extern volatile int interrupted;
void signals_install(void);
/*
 * FN runs inside the signal handler on the first of those signals, after
 * `interrupted` is set; it must be async-signal-safe. pg.c uses it to cancel
 * the statements running on its connections.
 */
void signals_set_interrupt_hook(void (*fn)(void));

/* Allocation that dies (exit 13) on exhaustion. */
void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t m);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) PRINTF(1, 2);
#define ALLOC_GROW(p, nr, alloc)                                                                   \
    do {                                                                                           \
        if ((nr) > (alloc)) {                                                                      \
            (alloc) = (alloc) ? (alloc) * 2 : 16;                                                  \
            if ((alloc) < (nr))                                                                    \
                (alloc) = (nr);                                                                    \
            (p) = xrealloc((p), (alloc) * sizeof(*(p)));                                           \
        }                                                                                          \
    } while (0)

/* Growable NUL-terminated buffer (git's strbuf, trimmed). */
struct strbuf {
    size_t alloc, len;
    char *buf;
};
#define STRBUF_INIT {0, 0, strbuf_empty}
extern char strbuf_empty[];
void strbuf_grow(struct strbuf *sb, size_t extra);
void strbuf_add(struct strbuf *sb, const void *data, size_t len);
void strbuf_addstr(struct strbuf *sb, const char *s);
void strbuf_addch(struct strbuf *sb, int c);
void strbuf_addf(struct strbuf *sb, const char *fmt, ...) PRINTF(2, 3);
void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap);
void strbuf_setlen(struct strbuf *sb, size_t len);
#define strbuf_reset(sb) strbuf_setlen((sb), 0)
/* Append S quoted for a POSIX shell: 'it'\''s'. */
void strbuf_add_shquote(struct strbuf *sb, const char *s);
/* Append the LEN bytes of S as a JSON string ("a\"b\n", \uXXXX for other control bytes). */
void strbuf_add_json(struct strbuf *sb, const char *s, size_t len);
/* The same for the C string S (NULL: ""). */
void strbuf_add_json_str(struct strbuf *sb, const char *s);
/* Take the buffer (caller frees) and reset SB. */
char *strbuf_detach(struct strbuf *sb, size_t *len);
void strbuf_release(struct strbuf *sb);
/* Read all of FD / PATH into SB; -1 with errno on failure. */
ssize_t strbuf_read_fd(struct strbuf *sb, int fd);
int strbuf_read_file(struct strbuf *sb, const char *path);
void strbuf_trim_trailing(struct strbuf *sb);

/* Small string helpers. */
bool starts_with(const char *s, const char *prefix);
bool ends_with(const char *s, const char *suffix);
/* getenv() that treats the empty string as unset. */
const char *env_nonempty(const char *name);
/* FNV-1a 64-bit hash of LEN bytes (cache keys, short names; not for security). */
uint64_t hash_fnv1a(const void *data, size_t len);
/* Monotonic clock in seconds. */
double now_monotonic(void);

/* A NULL-terminated growable argv/list of strings. */
struct strvec {
    char **v;
    size_t nr, alloc;
};
#define STRVEC_INIT {NULL, 0, 0}
void strvec_push(struct strvec *sv, const char *s);
void strvec_pushf(struct strvec *sv, const char *fmt, ...) PRINTF(2, 3);
void strvec_pushl(struct strvec *sv, ...); /* NULL-terminated */
void strvec_clear(struct strvec *sv);

#endif
