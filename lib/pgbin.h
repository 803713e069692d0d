/*
 * pgbin.h — which PostgreSQL installation dbtool runs: the server's bin dir
 * (initdb, postgres), its client programs (pg_dump, pg_basebackup, psql),
 * its major version and its installed libraries.
 *
 * The bin dir is, in order: PG_BINDIR, the dir of `postgres` on PATH (real
 * path), `pg_config --bindir`, /usr/lib/postgresql/<highest>/bin. Client
 * programs come from PG_CLIENT_BINDIR when set, else from the server's bin
 * dir, never from elsewhere on PATH (Debian's /usr/bin wrappers are Perl
 * scripts that pick a version on their own).
 */
#ifndef DBTOOL_PGBIN_H
#define DBTOOL_PGBIN_H

#include "lib/common.h"

struct pgbin {
    char *bindir;          /* the server's bin dir (absolute) */
    const char *source;    /* which rule found it: "PG_BINDIR", "PATH", ... */
    char *client_bindir;   /* PG_CLIENT_BINDIR, or NULL: the server's */
};

/*
 * Find the server bin dir (EXPLICIT: the PG_BINDIR setting or NULL) and keep
 * CLIENT (PG_CLIENT_BINDIR or NULL). 0, or -1 after a message saying what to set.
 */
int pgbin_find(struct pgbin *b, const char *explicit, const char *client);
void pgbin_release(struct pgbin *b);
/* Path of the server program NAME ("postgres", "initdb") in the bin dir (malloc'd). */
char *pgbin_server(const struct pgbin *b, const char *name);
/*
 * Path of the client program NAME ("pg_dump", "pg_basebackup"): in
 * PG_CLIENT_BINDIR when set, else in the server's bin dir. NULL after a
 * message naming the program and where it was looked for (errno ENOENT).
 */
char *pgbin_client(const struct pgbin *b, const char *name);
/*
 * The server's major version (13 ... 18) from `postgres -V`, cached under
 * CACHE_DIR (may be NULL) keyed by the binary's identity so the common path
 * spawns nothing. 0 when it cannot be told.
 */
int pgbin_server_major(const struct pgbin *b, const char *cache_dir);
/* The major version of the client program PATH (`PATH --version`), 0 when unknown. */
int pgbin_program_major(const char *path);
/*
 * Whether the shared library NAME ("pg_cron") is installed for this server:
 * its own pkglibdir (<bindir>/../lib/postgresql, <bindir>/../lib), or what
 * its own pg_config (in the bin dir, never PATH's) says.
 */
bool pgbin_lib_installed(const struct pgbin *b, const char *name);
/*
 * An identity of the server binary for cache keys: "bin=PATH\nsize=..\nmtime=..\nino=..\n"
 * appended to SB (nothing when it cannot be stat'ed).
 */
void pgbin_identity(const struct pgbin *b, struct strbuf *sb);

#endif
