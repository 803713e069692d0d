/*
 * strbuf.c — growable strings and string vectors.
 */
#include "lib/common.h"

#include <fcntl.h>
#include <unistd.h>

char strbuf_empty[1];

void strbuf_grow(struct strbuf *sb, size_t extra)
{
    if (sb->len + extra + 1 <= sb->alloc)
        return;
    size_t want = sb->len + extra + 1;
    size_t alloc = sb->alloc ? sb->alloc : 64;
    while (alloc < want)
        alloc *= 2;
    if (sb->alloc == 0) {
        sb->buf = xmalloc(alloc);
        sb->buf[0] = 0;
    } else {
        sb->buf = xrealloc(sb->buf, alloc);
    }
    sb->alloc = alloc;
}

void strbuf_add(struct strbuf *sb, const void *data, size_t len)
{
    strbuf_grow(sb, len);
    memcpy(sb->buf + sb->len, data, len);
    sb->len += len;
    sb->buf[sb->len] = 0;
}

void strbuf_addstr(struct strbuf *sb, const char *s)
{
    strbuf_add(sb, s, strlen(s));
}

void strbuf_addch(struct strbuf *sb, int c)
{
    strbuf_grow(sb, 1);
    sb->buf[sb->len++] = (char)c;
    sb->buf[sb->len] = 0;
}

/* the format is the caller's (checked there by PRINTF): tell clang it is one */
__attribute__((format(printf, 2, 0))) void strbuf_vaddf(struct strbuf *sb, const char *fmt, va_list ap)
{
    va_list cp;
    va_copy(cp, ap);
    int n = vsnprintf(NULL, 0, fmt, cp);
    va_end(cp);
    if (n < 0)
        BUG("vsnprintf failed for format '%s'", fmt);
    strbuf_grow(sb, (size_t)n);
    vsnprintf(sb->buf + sb->len, (size_t)n + 1, fmt, ap);
    sb->len += (size_t)n;
}

void strbuf_addf(struct strbuf *sb, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(sb, fmt, ap);
    va_end(ap);
}

void strbuf_setlen(struct strbuf *sb, size_t len)
{
    if (len > sb->len)
        BUG("strbuf_setlen beyond length");
    sb->len = len;
    if (sb->alloc)
        sb->buf[len] = 0;
}

void strbuf_add_shquote(struct strbuf *sb, const char *s)
{
    strbuf_addch(sb, '\'');
    for (; *s; s++) {
        if (*s == '\'')
            strbuf_addstr(sb, "'\\''");
        else
            strbuf_addch(sb, *s);
    }
    strbuf_addch(sb, '\'');
}

void strbuf_add_json(struct strbuf *sb, const char *s, size_t len)
{
    strbuf_addch(sb, '"');
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\')
            strbuf_addf(sb, "\\%c", c);
        else if (c == '\n')
            strbuf_addstr(sb, "\\n");
        else if (c == '\t')
            strbuf_addstr(sb, "\\t");
        else if (c == '\r')
            strbuf_addstr(sb, "\\r");
        else if (c < 0x20)
            strbuf_addf(sb, "\\u%04x", c);
        else
            strbuf_addch(sb, (char)c);
    }
    strbuf_addch(sb, '"');
}

void strbuf_add_json_str(struct strbuf *sb, const char *s)
{
    strbuf_add_json(sb, s ? s : "", s ? strlen(s) : 0);
}

char *strbuf_detach(struct strbuf *sb, size_t *len)
{
    char *r;
    if (len)
        *len = sb->len;
    if (!sb->alloc)
        r = xstrdup("");
    else
        r = sb->buf;
    sb->buf = strbuf_empty;
    sb->alloc = sb->len = 0;
    return r;
}

void strbuf_release(struct strbuf *sb)
{
    if (sb->alloc)
        free(sb->buf);
    sb->buf = strbuf_empty;
    sb->alloc = sb->len = 0;
}

ssize_t strbuf_read_fd(struct strbuf *sb, int fd)
{
    size_t start = sb->len;
    for (;;) {
        strbuf_grow(sb, 8192);
        ssize_t n = read(fd, sb->buf + sb->len, sb->alloc - sb->len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            sb->buf[sb->len] = 0;
            return -1;
        }
        if (n == 0)
            break;
        sb->len += (size_t)n;
    }
    sb->buf[sb->len] = 0;
    return (ssize_t)(sb->len - start);
}

int strbuf_read_file(struct strbuf *sb, const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = strbuf_read_fd(sb, fd);
    int e = errno;
    close(fd);
    errno = e;
    return n < 0 ? -1 : 0;
}

void strbuf_trim_trailing(struct strbuf *sb)
{
    while (sb->len && (sb->buf[sb->len - 1] == '\n' || sb->buf[sb->len - 1] == ' ' ||
                       sb->buf[sb->len - 1] == '\t' || sb->buf[sb->len - 1] == '\r'))
        sb->len--;
    if (sb->alloc)
        sb->buf[sb->len] = 0;
}

void strvec_push(struct strvec *sv, const char *s)
{
    ALLOC_GROW(sv->v, sv->nr + 2, sv->alloc);
    sv->v[sv->nr++] = xstrdup(s);
    sv->v[sv->nr] = NULL;
}

void strvec_pushf(struct strvec *sv, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    ALLOC_GROW(sv->v, sv->nr + 2, sv->alloc);
    sv->v[sv->nr++] = strbuf_detach(&sb, NULL);
    sv->v[sv->nr] = NULL;
}

void strvec_pushl(struct strvec *sv, ...)
{
    va_list ap;
    va_start(ap, sv);
    const char *s;
    while ((s = va_arg(ap, const char *)))
        strvec_push(sv, s);
    va_end(ap);
}

void strvec_clear(struct strvec *sv)
{
    for (size_t i = 0; i < sv->nr; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->v = NULL;
    sv->nr = sv->alloc = 0;
}
