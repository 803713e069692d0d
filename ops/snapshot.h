/*
 * snapshot.h (ops) — how deploy and check use the snapshot cache
 * (lib/snapshot.h): the key of a project's deploy, serving a hit as the
 * fresh data dir of a cluster, storing a miss, and `database clone`.
 *
 * The key of a deploy: the server binary (pgbin_identity), dbtool, the
 * bundle's version and SQL (HECTIC_INHERITANCE_SQL included), the uid,
 * server user and PG_DATABASE, PG_SHARED_PRELOAD_LIBRARIES, PG_CONF_FILE's
 * and the dotenv's contents, PG_HECTIC_INHERITANCE, the code directory
 * (CODE_DIR, when that setting exists), the steps (hydrate, patch, --mock),
 * the entrypoint and test-data paths; and, recorded by the run that built
 * the entry, the bytes of every file hydrate and patch read (entrypoint,
 * includes, test-data.sql).
 *
 * A miss replays as before; then a background job (DBTOOL_SYNC_CACHE=1: in
 * the foreground) replays the same inputs into a throwaway cluster, checks
 * that it read the same bytes, adds the template database SNAP_TEMPLATE_DB
 * (a copy of the deployed one, for `database clone`), stops it cleanly and
 * stores its data dir. A hit claims a copy of that data dir and starts it.
 */
#ifndef DBTOOL_OPS_SNAPSHOT_H
#define DBTOOL_OPS_SNAPSHOT_H

#include "lib/common.h"
#include "lib/cluster.h"
#include "lib/snapshot.h"

struct settings;
struct proj_opts;

struct proj_snap {
    struct snap_cache sc;
    struct snap_key key;
    bool usable;         /* the cache is open and this deploy can be cached */
    char *hit;           /* the entry served (or being served), NULL on a miss */
    bool claimed, spare; /* the claim happened; by renaming a spare */
    bool failed;         /* the hit did not work out (evicted): replay */
    double t0;           /* when the claim began */
    struct strvec deps;  /* what the replay read (a miss) */
};

/*
 * Prepare the snapshot use of a deploy or check (WHAT: "deploy", "check")
 * of S with O on cluster C (set up, not started). false (P not usable) when
 * --no-snapshot, nothing to cache (-H -P, --reuse), or no usable cache.
 */
bool psnap_begin(struct proj_snap *p, const struct settings *s, const struct proj_opts *o,
                 struct cluster *c);
/*
 * Look the key up; on a hit arm C so that its fresh init claims the
 * snapshot (falling back to the template cache if the claim fails). true on a hit.
 */
bool psnap_lookup(struct proj_snap *p, struct cluster *c);
/* The cluster did not start from the hit: evict it (the caller replays). */
void psnap_failed(struct proj_snap *p, struct cluster *c);
/*
 * After a successful replay on a miss: store the snapshot, in a background
 * job (DBTOOL_SYNC_CACHE: here), replaying into a throwaway cluster; then,
 * with NEAR (the project's working dir, or a dir on its filesystem), a spare
 * copy owned by UID/GID there, so that the next deploy claims one by rename.
 */
void psnap_store(struct proj_snap *p, const struct settings *s, const struct proj_opts *o,
                 const char *near, uid_t uid, gid_t gid);
void psnap_release(struct proj_snap *p);
/* "3f2a9c1e…" for messages: the start of the entry's files hash (static buffer). */
const char *psnap_short(const char *entry);

/*
 * `database clone` (see applets/database_clone.c): from the warm pool first
 * (DBTOOL_CLONE_POOL databases dbtool_pool_K made ahead from the template,
 * commented with the template's identity, taken by a rename), the rest made
 * with CREATE DATABASE; then a detached job refills the pool. --all drops
 * the clones and the pool.
 */
struct clone_opts {
    const char *name;  /* the database to create (NULL: PG_DATABASE_clone_N) */
    int count;         /* how many (names NAME_1 .. NAME_N when > 1) */
    const char *drop;  /* drop this clone */
    bool drop_all;     /* drop every clone */
};
int psnap_clone(const struct settings *s, const struct clone_opts *o);

#endif
