/*
 * remote_copy.h — a remote database copied into a local one for `database
 * session` (ops/session.c): read-only connections to the remote, its schema
 * as dbtool's catalog model, the rows of the listed tables moved with COPY
 * between two connections (no file, nothing in argv), the roles its
 * privileges name, its sequences' values; and the local databases the copies
 * go into. Messages name the remote by its masked URL only.
 */
#ifndef DBTOOL_REMOTE_COPY_H
#define DBTOOL_REMOTE_COPY_H

#include "lib/common.h"
#include "lib/catalog.h"
#include "lib/sha256.h"

#include <libpq-fe.h>

/* A connection to the remote URL that can only read. NULL after a message. */
PGconn *rcopy_connect(const char *url);
/* REMOTE's schema into *CAT and its hash into HEX (MASKED names it in messages). 0 or -1. */
int rcopy_catalog(PGconn *remote, const char *masked, struct catalog **cat, char hex[SHA256_HEX_LEN]);
/* DROP DATABASE IF EXISTS NAME WITH (FORCE) on the server of SERVER_URL. 0 or -1. */
int rcopy_drop_database(const char *server_url, const char *name);
/* A fresh database NAME (template TPL, NULL: template0) on the server of SERVER_URL. 0 or -1. */
int rcopy_create_database(const char *server_url, const char *name, const char *tpl);
/*
 * The remote's schema (RCAT) and the rows of the tables TABLES lists (blank
 * separated patterns, NULL: none) plus the migration tables, into the empty
 * database TARGET. DONE gets the tables copied. 0 or -1.
 */
int rcopy_load(PGconn *remote, const struct catalog *rcat, const char *target, const char *tables,
               struct strvec *done);

/* Whether SV holds S. */
static inline bool rcopy_has(const struct strvec *sv, const char *s)
{
    for (size_t i = 0; i < sv->nr; i++)
        if (!strcmp(sv->v[i], s))
            return true;
    return false;
}

#endif
