/*
 * bundle.h — the hectic SQL bundle embedded from the bundle/ SQL files (bundle/gen.c).
 */
#ifndef DBTOOL_BUNDLE_H
#define DBTOOL_BUNDLE_H

#include <stddef.h>

struct bundle_part {
    const char *name; /* file basename without .sql, e.g. "01-version" */
    const char *sql;  /* NUL-terminated text */
    size_t len;
};
/* Sorted by name, terminated by a {NULL} entry. */
extern const struct bundle_part bundle_parts[];
extern const size_t bundle_nparts;

#endif
