/*
 * bundle.h — the hectic SQL bundle (SPEC section 6): the bundle/ SQL files
 * embedded into the binary (bundle/gen.c writes bundle_parts[]), and applying
 * them to a database: every part in order, each in its own transaction,
 * version checked first; the upgrade from older bundle versions; loading
 * dotenv text into hectic.secret.
 *
 * Embedded files are of two kinds: the parts, named "NN-word" ("01-version",
 * "02-secret", "03-migration", "04-inheritance", ...), applied in that order;
 * and upgrade scripts "upgrade-X" (X an older bundle version; each moves the
 * version row from X to the next version), run only by bundle_upgrade(). Functions here print their errors and return -1.
 */
#ifndef DBTOOL_BUNDLE_H
#define DBTOOL_BUNDLE_H

#include "lib/common.h"
#include <libpq-fe.h>

/*
 * The version the bundle installs in hectic.version. Equal to DBTOOL_VERSION
 * and to the version written in bundle/01-version.sql (test/unit/t-bundle.c
 * checks both).
 */
#define BUNDLE_VERSION "0.3.0"

/* The name of the part that HECTIC_INHERITANCE_SQL replaces and PG_HECTIC_INHERITANCE applies. */
#define BUNDLE_INHERITANCE_PART "04-inheritance"
/* The file name `bundle write` gives the inheritance part as well (Nix share/hectic/). */
#define BUNDLE_INHERITANCE_FILE "hectic-inheritance.sql"

struct bundle_part {
    const char *name; /* file basename without .sql, e.g. "01-version" */
    const char *sql;  /* NUL-terminated text */
    size_t len;
};
/* Every embedded file, sorted by name, terminated by a {NULL} entry. */
extern const struct bundle_part bundle_parts[];
extern const size_t bundle_nparts;

/* Whether P is a part that bundle_apply() applies ("NN-..."), not an upgrade script. */
bool bundle_is_part(const struct bundle_part *p);
/*
 * Look up an embedded file by its name ("04-inheritance", "upgrade-0.1.0")
 * or a part by its short name ("inheritance"). NULL when there is none.
 */
const struct bundle_part *bundle_find(const char *name);
/*
 * Append to OUT the SQL that is applied for P: its embedded text, or for the
 * inheritance part the contents of INHERITANCE_FILE when that is non-NULL
 * (HECTIC_INHERITANCE_SQL). 0, or -1 when the file cannot be read.
 */
int bundle_part_sql(const struct bundle_part *p, const char *inheritance_file, struct strbuf *out);

/*
 * The hectic version recorded in the database. 1 with the version appended
 * to OUT; 0 when there is no hectic.version table or no 'hectic' row; -1 on error.
 */
int bundle_db_version(PGconn *conn, struct strbuf *out);

/*
 * Apply the bundle on CONN, which must not be inside a transaction. PART
 * NULL: every part in order; otherwise the version part and then PART (a
 * name bundle_find() knows, e.g. "inheritance"). Each part runs in its own
 * transaction under an advisory lock (concurrent appliers wait), with
 * notices below WARNING silenced. A database at another version fails in the
 * version part, before anything changes; the error says to run
 * `dbtool bundle upgrade` for an upgradable version. INHERITANCE_FILE:
 * see bundle_part_sql(). 0 or -1.
 */
int bundle_apply(PGconn *conn, const char *part, const char *inheritance_file);
/* bundle_apply() on a new connection to URL. 0 or -1. */
int bundle_apply_url(const char *url, const char *part, const char *inheritance_file);
/*
 * What postgres-init runs for PG_HECTIC_INHERITANCE=1: the version part and
 * the inheritance part on URL, the latter replaced by the file named by
 * INHERITANCE_SQL (the HECTIC_INHERITANCE_SQL file) when not NULL. 0 or -1.
 */
int bundle_apply_inheritance_url(const char *url, const char *inheritance_sql);

/*
 * Carry the database to BUNDLE_VERSION. No hectic bundle yet: a plain
 * install. Already at BUNDLE_VERSION: re-apply (idempotent). At a version X
 * with an embedded "upgrade-X" script: the chain of upgrade scripts (each
 * moves the version row one step: upgrade-0.1.0 to 0.2.0, upgrade-0.2.0 to
 * 0.3.0, ...) and then every part, all in ONE transaction, so it completes
 * or changes nothing (migration rows kept, 0.1.0 plaintext secrets
 * encrypted). New parts ride along: every part runs after the version row
 * has changed. Any other version: an error. 0 or -1.
 */
int bundle_upgrade(PGconn *conn, const char *inheritance_file);

/*
 * Replace the secrets with the dotenv TEXT (LEN bytes) through
 * hectic.load_secrets_from_env(). The text travels as a query parameter:
 * never in an argv, the query string or the server's statement text.
 * *COUNT (when non-NULL) gets the number of secrets stored. 0 or -1.
 */
int bundle_load_secrets(PGconn *conn, const char *text, size_t len, int *count);
/* bundle_load_secrets() with the contents of the file PATH. 0 or -1. */
int bundle_load_secrets_file(PGconn *conn, const char *path, int *count);

#endif
