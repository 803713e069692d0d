/*
 * pager.h — one pager policy (git's pager.c): output goes through $PAGER
 * (default `less` with LESS=FRX unless LESS is set) only when stdout is a
 * terminal; PAGER="" or PAGER=cat means no pager. The pager is spawned
 * with an argv split on blanks, never through a shell.
 */
#ifndef DBTOOL_PAGER_H
#define DBTOOL_PAGER_H

#include "lib/common.h"
#include "lib/spawn.h"

struct pager {
    FILE *f;            /* where to write: stdout or the pager's pipe */
    struct child child;
    bool piped;
};

/* Start the pager when the policy says so; P->f is where output goes. */
void pager_open(struct pager *p);
/* Flush, close the pipe and wait for the pager. */
void pager_close(struct pager *p);
/* Write TEXT (LEN bytes) to stdout through the pager when the policy says so. */
void pager_write(const char *text, size_t len);

#endif
