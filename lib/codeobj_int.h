/*
 * codeobj_int.h — what the two halves of the code-object model share:
 * codeobj.c (the code directory read into units: files, hashes, parsing,
 * identities) and codeorder.c (references resolved into edges, the
 * creation order, what a migration breaks). Not an API.
 */
#ifndef DBTOOL_CODEOBJ_INT_H
#define DBTOOL_CODEOBJ_INT_H

#include "lib/codeobj.h"

/* The set's index (code_set.index): keys ("=IDENTITY", "r:SCHEMA.NAME" ...) to unit indices. */
struct bucket {
    char *key;
    size_t *v; /* unit indices */
    size_t nr, alloc;
    struct bucket *next;
};

struct index {
    struct bucket **tab;
    size_t size;
    size_t built; /* units indexed */
};

/* The bucket of KEY in IX; a new, empty one when CREATE, else NULL when there is none. */
struct bucket *code_bucket_get(struct index *ix, const char *key, bool create);
/* CS's index, brought up to date with the units added since it was built. */
struct index *code_index_of(const struct code_set *cs);

/* Free a ref's members. */
static inline void ref_release(struct code_ref *r)
{
    free(r->schema);
    free(r->name);
}

/* Append KIND_NAME ("materialized view") upper-cased ("MATERIALIZED VIEW"). */
static inline void upper_kind(struct strbuf *sb, const char *kind_name)
{
    for (const char *p = kind_name; *p; p++)
        strbuf_addch(sb, *p >= 'a' && *p <= 'z' ? *p - 'a' + 'A' : *p);
}

#endif
