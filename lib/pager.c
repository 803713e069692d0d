/*
 * pager.c — the pager policy (see pager.h).
 */
#include "lib/pager.h"

#include <fcntl.h>
#include <unistd.h>

void pager_open(struct pager *p)
{
    memset(p, 0, sizeof(*p));
    p->f = stdout;
    p->child = (struct child)CHILD_INIT;
    const char *pager = getenv("PAGER");
    if (!isatty(1) || (pager && (!*pager || !strcmp(pager, "cat"))))
        return;
    char *copy = xstrdup(pager ? pager : "less");
    char *save = NULL;
    for (char *tok = strtok_r(copy, " \t", &save); tok; tok = strtok_r(NULL, " \t", &save))
        strvec_push(&p->child.args, tok);
    free(copy);
    char *prog = p->child.args.nr ? find_in_path(p->child.args.v[0]) : NULL;
    int fds[2];
    if (!prog || pipe2(fds, O_CLOEXEC) < 0) {
        free(prog);
        child_clear(&p->child);
        return;
    }
    free(prog);
    if (!getenv("LESS"))
        strvec_push(&p->child.env, "LESS=FRX");
    p->child.env_mode = SPAWN_ENV_USER;
    p->child.in = fds[0];
    if (spawn_start(&p->child) < 0) {
        close(fds[0]);
        close(fds[1]);
        child_clear(&p->child);
        return;
    }
    close(fds[0]);
    p->f = fdopen(fds[1], "w");
    if (!p->f) {
        close(fds[1]);
        p->f = stdout;
    }
    p->piped = p->f != stdout;
}

void pager_close(struct pager *p)
{
    if (p->piped) {
        fclose(p->f);
        spawn_wait(&p->child, -1);
        child_clear(&p->child);
        p->piped = false;
    } else {
        fflush(stdout);
    }
    p->f = stdout;
}

void pager_write(const char *text, size_t len)
{
    struct pager p;
    pager_open(&p);
    fwrite(text, 1, len, p.f);
    pager_close(&p);
}
