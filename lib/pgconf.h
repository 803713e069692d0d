/*
 * pgconf.h — the configuration files dbtool writes into a data dir:
 * data/dbtool.conf (port, socket dir, hba/ident paths, logging, preload
 * and pg_cron settings, fsync), rewritten on every launch and included at
 * the end of postgresql.conf, so a cluster made elsewhere starts here; and
 * on a fresh data dir pg_hba.conf (local trust) and, with PG_CONF_FILE,
 * postgresql.conf. As root these files are written by the server user (the
 * data dir is theirs): a link planted there can only lead to their own files.
 */
#ifndef DBTOOL_PGCONF_H
#define DBTOOL_PGCONF_H

#include "lib/common.h"
#include "lib/cluster.h"

#define PGCONF_RUNTIME "dbtool.conf"

/* Write data/dbtool.conf and make postgresql.conf include it. 0 or -1. */
int pgconf_write_runtime(struct cluster *c);
/*
 * PG_LOG_PATH (c->log_dir when c->log_dir_set): created (parents 0755) and
 * handed to the server user when missing; an existing one is used as it is,
 * and must be a directory, not a link to one. 0 or -1.
 */
int pgconf_make_log_dir(struct cluster *c);
/* Whether data/dbtool.conf already says what pgconf_write_runtime() would write. */
bool pgconf_runtime_matches(struct cluster *c);
/* A fresh data dir: postgresql.conf from PG_CONF_FILE (when set) and our pg_hba.conf. 0 or -1. */
int pgconf_write_fresh(struct cluster *c);
/*
 * Read PG_CONF_FILE (a regular file of at most 1 MiB: a FIFO would hang, a
 * device never end) into SB. 0, or -1 after a message naming the file.
 */
int pgconf_read_conf_file(const char *path, struct strbuf *sb);
/* Append "KEY = 'VALUE'\n" with VALUE quoted for postgresql.conf. */
void pgconf_quote(struct strbuf *sb, const char *key, const char *value);

#endif
