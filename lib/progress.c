/*
 * progress.c — the updating status line (see progress.h).
 */
#include "lib/progress.h"

#include <unistd.h>

struct progress {
    int fd;
    char *title;
    char *detail;
    uint64_t total, n;
    enum progress_unit unit;
    double start, last_draw, delay;
    bool shown; /* a line is on the screen now */
};

/* The line on the screen, for progress_clear_line() (one at a time). */
static struct progress *current;

static void write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        len -= (size_t)w;
    }
}

static void add_count(struct strbuf *sb, uint64_t v, enum progress_unit unit)
{
    if (unit == PROGRESS_ITEMS)
        strbuf_addf(sb, "%llu", (unsigned long long)v);
    else if (v < 1024 * 1024)
        strbuf_addf(sb, "%.1f KiB", (double)v / 1024);
    else if (v < 1024ULL * 1024 * 1024)
        strbuf_addf(sb, "%.1f MiB", (double)v / (1024 * 1024));
    else
        strbuf_addf(sb, "%.2f GiB", (double)v / (1024 * 1024 * 1024));
}

static void draw(struct progress *p, double now)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "\r%s: ", p->title);
    add_count(&sb, p->n, p->unit);
    if (p->total) {
        strbuf_addch(&sb, '/');
        add_count(&sb, p->total, p->unit);
        uint64_t n = p->n > p->total ? p->total : p->n;
        strbuf_addf(&sb, " (%d%%)", (int)(n * 100 / p->total));
    }
    double el = now - p->start;
    if (el < 60)
        strbuf_addf(&sb, ", %.1f s", el);
    else
        strbuf_addf(&sb, ", %dm%02ds", (int)el / 60, (int)el % 60);
    if (p->detail)
        strbuf_addf(&sb, " %s", p->detail);
    /* erase what a longer previous line left */
    strbuf_addstr(&sb, "\033[K");
    write_all(p->fd, sb.buf, sb.len);
    strbuf_release(&sb);
    p->shown = true;
    p->last_draw = now;
    current = p;
    log_before_write = progress_clear_line;
}

static struct progress *start(int fd, const char *title, uint64_t total, enum progress_unit unit,
                              double delay)
{
    struct progress *p = xcalloc(1, sizeof(*p));
    p->fd = fd;
    p->title = xstrdup(title);
    p->total = total;
    p->unit = unit;
    p->start = now_monotonic();
    p->delay = delay;
    p->last_draw = -1;
    return p;
}

struct progress *progress_start(const char *title, uint64_t total, enum progress_unit unit)
{
    if (!isatty(2) || !log_enabled(NULL, LOG_INFO))
        return NULL;
    const char *term = getenv("TERM");
    if (term && !strcmp(term, "dumb"))
        return NULL;
    return start(2, title, total, unit, PROGRESS_DELAY);
}

struct progress *progress_start_fd(int fd, const char *title, uint64_t total, enum progress_unit unit)
{
    return start(fd, title, total, unit, 0);
}

void progress_update_detail(struct progress *p, uint64_t n, const char *detail)
{
    if (!p)
        return;
    p->n = n;
    if (detail != p->detail) {
        free(p->detail);
        p->detail = detail ? xstrdup(detail) : NULL;
    }
    double now = now_monotonic();
    if (now - p->start < p->delay)
        return;
    if (p->shown && now - p->last_draw < 0.1 && !(p->total && n >= p->total))
        return;
    draw(p, now);
}

void progress_update(struct progress *p, uint64_t n)
{
    if (p)
        progress_update_detail(p, n, p->detail);
}

void progress_set_total(struct progress *p, uint64_t total)
{
    if (p)
        p->total = total;
}

void progress_clear_line(void)
{
    if (!current || !current->shown)
        return;
    write_all(current->fd, "\r\033[K", 4);
    current->shown = false;
}

void progress_stop(struct progress **pp)
{
    struct progress *p = pp ? *pp : NULL;
    if (!p)
        return;
    if (p->shown)
        write_all(p->fd, "\r\033[K", 4);
    if (current == p)
        current = NULL;
    free(p->title);
    free(p->detail);
    free(p);
    *pp = NULL;
}
