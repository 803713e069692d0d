/*
 * serverlog.c — list and show server log files.
 */
#include "lib/serverlog.h"
#include "lib/fs.h"
#include "lib/pager.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int serverlog_show(const char *dir, const char *sel)
{
    struct strvec files = STRVEC_INIT;
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)))
            if (de->d_name[0] != '.')
                strvec_push(&files, de->d_name);
        closedir(d);
    }
    if (!files.nr) {
        warn("no server logs in %s", dir);
        strvec_clear(&files);
        return 0;
    }
    qsort(files.v, files.nr, sizeof(char *), cmp_str);
    int ret = 0;
    struct strbuf out = STRBUF_INIT;
    if (sel && !strcmp(sel, "list")) {
        for (size_t i = 0; i < files.nr; i++) {
            char *p = path_join(dir, files.v[i]);
            struct stat st;
            long long size = stat(p, &st) == 0 ? (long long)st.st_size : -1;
            printf("%3zu  %-40s %10lld bytes\n", i + 1, files.v[i], size);
            free(p);
        }
        goto out;
    }
    size_t from = 0, to = files.nr;
    if (sel) {
        char *end;
        long idx = strtol(sel, &end, 10);
        if (*sel && !*end) {
            if (idx < 1 || (size_t)idx > files.nr) {
                error("no log with index %ld (there are %zu; see 'database log list')", idx, files.nr);
                ret = EXIT_ERR;
                goto out;
            }
            from = (size_t)idx - 1;
            to = from + 1;
        } else {
            size_t hits = 0, hit = 0;
            for (size_t i = 0; i < files.nr; i++)
                if (strstr(files.v[i], sel))
                    hits++, hit = i;
            if (hits != 1) {
                error(hits ? "'%s' matches %zu log files; be more specific (see 'database log list')"
                           : "'%s' matches no log file%.0zu (see 'database log list')",
                      sel, hits);
                ret = hits ? EXIT_AMBIGUOUS : EXIT_ERR;
                goto out;
            }
            from = hit;
            to = hit + 1;
        }
    }
    for (size_t i = from; i < to; i++) {
        char *p = path_join(dir, files.v[i]);
        if (to - from > 1)
            strbuf_addf(&out, "==> %s <==\n", files.v[i]);
        if (strbuf_read_file(&out, p) < 0) {
            error_errno("cannot read '%s'", p);
            ret = EXIT_ERR;
        }
        free(p);
    }
    pager_write(out.buf, out.len);
out:
    strbuf_release(&out);
    strvec_clear(&files);
    return ret;
}
