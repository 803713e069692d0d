/*
 * tplcache_int.h — what the template cache (tplcache.c) and the generic
 * template (tplgeneric.c) share. Not an API.
 */
#ifndef DBTOOL_TPLCACHE_INT_H
#define DBTOOL_TPLCACHE_INT_H

#include "lib/tplcache.h"
#include "lib/spawn.h"

#define TEMPLATE_FORMAT "1" /* bump when the template layout changes */
/* in a data dir copied from the generic template and not yet fitted (tpl_fit_live) */
#define FIT_MARKER "dbtool-fit.pending"

/* initdb's argv for C into DIR (the template key hashes it). */
void tpl_initdb_args(struct cluster *c, struct strvec *args, const char *initdb, const char *dir);
/* Run CH as the server user with output to LOG (NULL: discarded). */
enum cl_status tpl_run_logged(struct cluster *c, struct child *ch, const char *what, const char *log);
/* Remove files a template must not carry (runtime leftovers). */
void tpl_scrub_data_dir(const char *dir);

/* The installed generic template of C's server (malloc'd path), or NULL. */
char *tplg_installed(struct cluster *c);
/* The cache's generic template of C's server (malloc'd path) when it is there, else NULL. */
char *tplg_cached(struct cluster *c);
/*
 * DIR (absent) from the generic template GEN, fitted to C in a single-user
 * session; LIVE: marked FIT_MARKER, fitted by tpl_fit_live after the start.
 */
enum cl_status tplg_from(struct cluster *c, const char *gen, const char *dir, const char *log, bool live);

#endif
