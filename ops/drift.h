/*
 * drift.h — `database drift [--against URL]` (issue 18): does a live
 * database have the schema the sources build? The live catalog is read in
 * one read-only snapshot (lib/catalog.h: catalog access is enough, no table
 * is read) and compared with the catalog of the sources side (ops/side.h:
 * hydrate + code dir in a throwaway cluster, or on --server).
 *
 * The sources side is the slow part (a cluster, the whole hydrate), and it
 * depends only on its inputs, so its canonical dump is cached in
 * $LOCAL_DIR/focus/schema-cache/sources.dump, keyed by the SHA-256 of: the
 * dbtool and bundle versions, the server that builds it (binary identity, or
 * --server's version), the mock flag, HECTIC_INHERITANCE_SQL's content, the
 * entrypoint name, and the path and content of every file under
 * $DATABASE_SOURCE (and the code directory). `migrator generate` and a
 * drift that built the side write it; a drift whose key matches only reads
 * the live catalog. Files outside those directories that a script includes
 * are not in the key: --no-cache rebuilds. --sql always builds the side (the
 * differ needs the model, not its text).
 *
 * Output: text (default) — one line per differing object, "+ kind name"
 * (only in the sources: the live database lacks it), "- kind name" (only in
 * the live database), "~ kind name" (both, different), then "drift: N
 * objects differ" or "no drift"; --format json — {"drift":bool,"live":
 * "masked URL","sources_hash":"..","live_hash":"..","objects":[{"kind":..,
 * "name":..,"change":"added"|"removed"|"changed"}],"cached":bool}; --sql —
 * the DDL (lib/sqldiff.h) that brings the live database to the sources.
 *
 * Exit: 0 no drift, 1 drift, 3 no LOCAL_DIR / no URL, 4 the comparison
 * could not be made (the sources side failed to build, the live database
 * could not be read), 9 usage, 127 a program missing, 130 interrupted.
 */
#ifndef DBTOOL_DRIFT_H
#define DBTOOL_DRIFT_H

#include "lib/common.h"
#include "lib/sha256.h"

struct settings;
struct catalog;

/* a failure that is not "drift found" */
#define DRIFT_EXIT_FAILED EXIT_MIGRATION

struct drift_opts {
    const char *against;  /* the live database; NULL: the project's (-u, DB_URL, PGURL, its cluster) */
    const char *server;   /* build the sources side as a database on this server */
    bool json;
    bool sql;             /* print the DDL live -> sources */
    bool mock;            /* hydrate with USE_MOCK=1 */
    bool no_cache;        /* build the sources side even when the cache is current */
};

int drift_run(const struct settings *s, const struct drift_opts *o);

/*
 * The cache key of the sources side (see above) into HEX. SERVER: the
 * --server URL or NULL (throwaway clusters of PG_BINDIR). 0 or -1.
 */
int drift_cache_key(const struct settings *s, bool mock, const char *server,
                    char hex[SHA256_HEX_LEN]);
/* Store CAT's canonical dump under KEY (errors only warned: it is a cache). */
void drift_cache_store(const struct settings *s, const char *key, const struct catalog *cat);

/*
 * The object-level difference of two canonical dumps (catalog_dump):
 * calls FN for each top-level object only in A ('-'), only in B ('+') or in
 * both with other text ('~'), with its header line ("table app.t") without
 * the newline. Returns the number of differing objects.
 */
size_t drift_dump_diff(const char *a, size_t alen, const char *b, size_t blen,
                       void (*fn)(void *arg, char op, const char *line, size_t len), void *arg);

#endif
