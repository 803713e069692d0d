/*
 * ops.h — the workflow tier (DESIGN.md): one file per workflow in ops/,
 * each returning an exit code of SPEC section 3 (the only code below the
 * applets that may). This header maps lib/ statuses to those codes.
 */
#ifndef DBTOOL_OPS_H
#define DBTOOL_OPS_H

#include "lib/common.h"
#include "lib/cluster.h"

/* The exit code for a lib/cluster status. */
static inline int ops_exit(enum cl_status st)
{
    switch (st) {
    case CL_OK:
        return EXIT_OK;
    case CL_NO_PROGRAM:
        return EXIT_NO_PROGRAM;
    case CL_CONFIG:
        return EXIT_MISSING;
    case CL_INTERRUPTED: /* dbtool_exit() turns a failure after a signal into 128+signal */
    case CL_ERR:
    case CL_CANNOT_START:
    case CL_TIMEOUT:
    case CL_BUSY:
    case CL_REFUSED:
        return EXIT_ERR;
    }
    return EXIT_BUG;
}

#endif
