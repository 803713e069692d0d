/*
 * workdir.h — the working dir of a cluster as a thing dbtool owns: the one
 * ownership rule, the marker, and the lock that serialises the commands
 * working on it (see cluster.h for the rule in words).
 */
#ifndef DBTOOL_WORKDIR_H
#define DBTOOL_WORKDIR_H

#include "lib/common.h"
#include "lib/cluster.h"

/*
 * Refuse (message: "refusing to DOING PG_WORKING_DIR ...: why") when the
 * existing working dir of C is not a cluster root of ours; write the marker
 * when it is one made before the marker existed (adopted). CL_OK or CL_REFUSED.
 */
enum cl_status wd_check(struct cluster *c, const char *doing);
/* The working dir exists as a cluster root of ours: created with the marker, or checked. */
enum cl_status wd_ready(struct cluster *c, const char *doing);
/*
 * Root follows a symlink on the way to PATH only when nobody else could
 * have made or changed it: the link is root's and lies in a directory of
 * root's that others cannot write. false with WHY otherwise.
 */
bool wd_root_path_trusted(const char *path, struct strbuf *why);
/*
 * rm -rf the working dir DIR with its marker last, and each data dir's
 * PG_VERSION last in it: a removal killed or failing half-way leaves a dir
 * the ownership rule still recognises as ours, so the next sweep (or
 * cleanup) finishes it instead of refusing it. 0 or -1 (errno).
 */
int wd_remove_tree(const char *dir);
/* The path of C's lock file (beside the working dir; malloc'd). */
char *wd_lock_path(const struct cluster *c);

#endif
