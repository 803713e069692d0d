/* migimport.c — see migimport.h (work in progress) */
#include "ops/migimport.h"

int migimport_run(const char *tool, const char *src, const char *dest, bool dry_run)
{
    return EXIT_ERR;
}
