/*
 * snapshot.h — the snapshot cache: stopped data dirs of deployed clusters,
 * content-addressed, so that a deploy (or check) whose inputs have not
 * changed claims a copy instead of replaying its SQL.
 *
 * A key has two parts:
 *   - the fixed part (struct snap_key): everything known before a run —
 *     the server binary, dbtool and bundle versions, the settings that
 *     change the result, the hashes of the dotenv and other named files —
 *     as "name=value" lines; its sha256 is the key's id;
 *   - the files the run read (lib/sqlscript's deps: entrypoint, every \i
 *     include, test-data.sql, each with the sha256 of the bytes read),
 *     recorded by the run that built the entry and checked again at lookup.
 * An entry is CACHE/snapshots/ID-DEPSHASH/:
 *     data/      the stopped data dir (clean shutdown; owned by the server user)
 *     key        the fixed part's text          deps   the recorded deps
 *     manifest   "SIZE PATH" of every file of data/, then "end FILES BYTES"
 *     used       its mtime is the last use (LRU)
 * It is written in a tmp- dir and renamed into place (atomic: concurrent
 * writers of the same key keep one, readers never see half an entry), never
 * modified, and removed by renaming it out of reach first. spare-ENTRY-*
 * are ready copies of data/ that a claim renames into place when the cache
 * and the destination share a filesystem; a background job refills them.
 * Everything beyond the size budget (DBTOOL_SNAPSHOT_BUDGET) goes, least
 * recently used first. The cache root must be ours and closed to others
 * (as the template cache's); an entry that fails its manifest check is
 * evicted and the caller replays.
 */
#ifndef DBTOOL_SNAPSHOT_H
#define DBTOOL_SNAPSHOT_H

#include "lib/common.h"
#include <sys/types.h>

#define SNAP_DIR "snapshots"
/* Default of DBTOOL_SNAPSHOT_BUDGET. */
#define SNAP_DEFAULT_BUDGET "2G"
/* The template database a snapshot carries for `database clone`. */
#define SNAP_TEMPLATE_DB "dbtool_snapshot"

struct snap_cache {
    char *root;      /* CACHE/snapshots */
    uint64_t budget; /* bytes kept at most (entries + spares); 0: store nothing */
};

/*
 * Open the snapshot cache under CACHE_DIR (created 0700) with BUDGET bytes.
 * 0, or -1 (debug message only) when CACHE_DIR is NULL or not ours, or the
 * snapshots dir is not a private directory of ours.
 */
int snap_open(struct snap_cache *sc, const char *cache_dir, uint64_t budget);
void snap_close(struct snap_cache *sc);
/* Parse a size ("500M", "2G", "1048576", "0"). 0 / -1. */
int snap_parse_size(const char *s, uint64_t *out);

struct snap_key {
    struct strbuf material; /* "name=value\n" lines */
    char id[17];            /* 16 hex digits of the material's sha256 (snap_key_seal) */
};
void snap_key_init(struct snap_key *k, const char *kind);
void snap_key_add(struct snap_key *k, const char *name, const char *value);
/* NAME=sha256 of PATH's contents ("absent" when it cannot be read; PATH NULL: "none"). */
void snap_key_add_file(struct snap_key *k, const char *name, const char *path);
/* NAME=a sha256 over every regular file under DIR (relative path and contents), sorted. */
void snap_key_add_tree(struct snap_key *k, const char *name, const char *dir);
void snap_key_seal(struct snap_key *k);
void snap_key_release(struct snap_key *k);

/* "ID-DEPSHASH" for K and the deps lines DEPS (malloc'd). */
char *snap_entry_name(const struct snap_key *k, const struct strvec *deps);
/* Whether every deps line still describes its file (same bytes). */
bool snap_deps_current(const struct strvec *deps);
/* Read the deps of ENTRY into DEPS. 0 / -1. */
int snap_entry_deps(struct snap_cache *sc, const char *entry, struct strvec *deps);

/*
 * The complete entry of K whose deps all match the files as they are now
 * (malloc'd name), or NULL. Incomplete entries are evicted.
 */
char *snap_lookup(struct snap_cache *sc, const struct snap_key *k);
/*
 * Make DIR (absent) a copy of ENTRY's data dir: a spare renamed into place
 * when one is ready, else a copy (owned by UID/GID when DO_CHOWN). The
 * result is checked against the manifest; a mismatch evicts the entry. 0, or
 * -1 (debug/warn message; DIR removed). *SPARE tells which way it went.
 */
int snap_claim(struct snap_cache *sc, const char *entry, const char *dir, uid_t uid, gid_t gid,
               bool do_chown, bool *spare);
/*
 * Store the stopped data dir DATA as the entry of K with DEPS. 0 when
 * stored or already there; -1 when not (too big for the budget, no space,
 * ...: a warning says why). Prunes to the budget afterwards.
 */
int snap_store(struct snap_cache *sc, const struct snap_key *k, const struct strvec *deps,
               const char *data);
/* Take ROOT/.store-ENTRY.lock without waiting: the fd, or -1 when another store holds it. */
int snap_store_lock(struct snap_cache *sc, const char *entry);
/*
 * Make one spare copy of ENTRY (owned by UID/GID when DO_CHOWN) unless one is
 * ready, when the cache shares NEAR's filesystem (background job body).
 */
void snap_refill(struct snap_cache *sc, const char *entry, const char *near, uid_t uid, gid_t gid,
                 bool do_chown);
/* Whether the cache shares NEAR's filesystem (spares can be claimed there). */
bool snap_same_fs(struct snap_cache *sc, const char *near);
/* Remove ENTRY and its spares. */
void snap_evict(struct snap_cache *sc, const char *entry);
/* Keep the cache within its budget (least recently used first; KEEP stays); sweep old tmp- dirs. */
void snap_prune(struct snap_cache *sc, const char *keep);
/* The bytes ENTRY's data dir holds (its manifest), 0 when unknown. */
uint64_t snap_entry_bytes(struct snap_cache *sc, const char *entry);
/* The lock file of background jobs of ENTRY (CACHE/jobs/snap-ENTRY.lock, where every job's is; malloc'd). */
char *snap_job_lock(struct snap_cache *sc, const char *entry);

#endif
