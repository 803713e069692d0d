/*
 * t-progress.c — the status line: counts, percentage, bytes, erasing on stop
 * and before a log message; nothing at all when stderr is not a terminal.
 */
#include "lib/common.h"
#include "lib/progress.h"
#include "test/unit/tap.h"

#include <fcntl.h>
#include <unistd.h>

static char *slurp(int fd)
{
    struct strbuf sb = STRBUF_INIT;
    strbuf_read_fd(&sb, fd);
    return strbuf_detach(&sb, NULL);
}

int main(void)
{
    int p[2];
    if (pipe(p) < 0)
        return 1;
    struct progress *pr = progress_start_fd(p[1], "migrate", 10, PROGRESS_ITEMS);
    ok(pr != NULL, "a forced progress line starts");
    progress_update(pr, 3);
    progress_update(pr, 4); /* within 100 ms: not redrawn */
    progress_update(pr, 10); /* the end is always drawn */
    progress_update_detail(pr, 10, NULL);
    progress_stop(&pr);
    ok(pr == NULL, "stop clears the pointer");
    close(p[1]);
    char *out = slurp(p[0]);
    close(p[0]);
    ok(strstr(out, "\rmigrate: 3/10 (30%), 0.0 s\033[K") != NULL, "count, percentage, elapsed time");
    ok(strstr(out, "4/10") == NULL, "redraws are throttled");
    ok(strstr(out, "\rmigrate: 10/10 (100%)") != NULL, "the last count is drawn");
    size_t n = strlen(out);
    ok(n >= 4 && !strcmp(out + n - 4, "\r\033[K"), "stop erases the line");
    free(out);

    if (pipe(p) < 0)
        return 1;
    pr = progress_start_fd(p[1], "restore", 0, PROGRESS_BYTES);
    progress_update_detail(pr, 3 * 1024 * 1024 + 512 * 1024, "base.tar.gz");
    progress_clear_line();
    progress_stop(&pr);
    close(p[1]);
    out = slurp(p[0]);
    close(p[0]);
    ok(strstr(out, "\rrestore: 3.5 MiB, 0.0 s base.tar.gz\033[K\r\033[K") == out,
       "bytes without a total, a detail; clear_line erases once, stop adds nothing");
    ok(strstr(out + 4, "\r\033[K\r\033[K") == NULL, "no second erase after clear_line");
    free(out);

    /* not a terminal: no progress at all */
    int devnull = open("/dev/null", O_WRONLY);
    int saved = dup(2);
    dup2(devnull, 2);
    pr = progress_start("x", 1, PROGRESS_ITEMS);
    dup2(saved, 2);
    close(saved);
    close(devnull);
    ok(pr == NULL, "no progress when stderr is not a terminal");
    progress_update(pr, 1); /* NULL is a no-op */
    progress_stop(&pr);
    return done_testing();
}
