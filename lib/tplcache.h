/*
 * tplcache.h — the initdb template cache: a fresh cluster is a copy of an
 * initdb'd data dir (database already created), not an initdb.
 *
 * CACHE/pg-KEY is such a data dir, keyed by the server binary's identity,
 * the initdb options, the database name and the uid; written once by an
 * atomic rename and never modified; CACHE/pg-KEY.key records the key
 * material (its mtime is the last use). CACHE/spare-KEY-* are ready copies:
 * a fresh init renames one into place (atomic: two inits never claim the
 * same spare), so the ~1300 files of a data dir are created off the
 * critical path by a background job (lib/job) that also builds a missing
 * template, deletes what a fresh init replaced, and prunes the cache.
 * Templates are built in the cache (or, when the server user cannot reach
 * it, in a private temporary directory), never in the user's working dir.
 *
 * The cache root must be a directory owned by the invoking user that nobody
 * else may write; otherwise it is not used (a planted template would be
 * served as a cluster).
 */
#ifndef DBTOOL_TPLCACHE_H
#define DBTOOL_TPLCACHE_H

#include "lib/common.h"
#include "lib/cluster.h"

/*
 * Make DIR (which must not exist) a fresh data dir of C with its database:
 * a spare renamed into place, a copy of the template, else initdb. Then the
 * background job starts: it deletes TRASH (a path inside the working dir
 * to remove, or NULL), builds a missing template and refills a spare.
 */
enum cl_status tpl_fresh_data_dir(struct cluster *c, const char *dir, const char *trash);
/*
 * A throwaway cluster's run on a cold cache started a template build: wait
 * (up to TIMEOUT s, or a signal) for it before returning, so the cache warms
 * up even for a CI job whose last step is `database check` or `diff`.
 */
void tpl_wait_build(struct cluster *c, double timeout);
/*
 * The lock file of C's background job (CACHE/jobs/wd-HASH.lock, malloc'd),
 * NULL without a usable cache. Every background job of dbtool holds a lock
 * in CACHE/jobs while it runs (tests wait on them with flock(1)).
 */
char *tpl_job_lock(const struct cluster *c);
/* The lock file of the background job of WORKING_DIR in CACHE_DIR (malloc'd), or NULL. */
char *tpl_job_lock_for(const char *cache_dir, const char *working_dir);
/*
 * Build the generic template of C's server in PARENT/generic-HASH (atomic;
 * readable by all): initdb with the bootstrap role "dbtool" and a database
 * "dbtool_fit". A fresh init on an empty cache copies it instead of running
 * initdb, and fits the copy (role renamed to the server user, database
 * renamed to the cluster's) over the first connection after its start
 * (tpl_fit_live); a cache template is fitted in a single-user session.
 * HASH covers the server's `postgres -V`, the initdb options and the layout,
 * so a template made at install time (`make install`, the Nix build, a
 * container layer: PREFIX/share/dbtool/templates, found beside the
 * executable) serves that server for every user.
 */
enum cl_status tpl_build_generic(struct cluster *c, const char *parent);
/*
 * C's server has started on a data dir copied from the generic template and
 * not fitted yet (its marker file): fit it over a connection, in one
 * transaction, then remove the marker. CL_OK at once for any other data dir.
 */
enum cl_status tpl_fit_live(struct cluster *c);
/* Whether CACHE_DIR is a cache root we may use (ours, not writable by others); created when missing. */
bool tpl_cache_usable(const char *cache_dir);

#endif
