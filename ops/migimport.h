/*
 * migimport.h — `migrator import --from TOOL SRC`: another tool's migrations
 * written in dbtool's layout (the parsing is lib/migimport.c, pure).
 */
#ifndef DBTOOL_OPS_MIGIMPORT_H
#define DBTOOL_OPS_MIGIMPORT_H

#include "lib/common.h"

/*
 * Read SRC as TOOL wrote it (dbmate, golang-migrate, goose, flyway, sqitch)
 * and write DEST/NAME/{up.sql,down.sql[,migration.yaml]} for each migration,
 * printing "SOURCE -> NAME" per migration on stdout and what could not be
 * mapped on stderr. DRY_RUN writes nothing. Nothing is written when a name
 * already exists in DEST. Returns an exit code: 0, 1 (something could not be
 * mapped; the rest was written), 2 (a name exists), 3 (SRC unreadable or
 * not TOOL's layout), 9 (unknown TOOL).
 */
int migimport_run(const char *tool, const char *src, const char *dest, bool dry_run);

#endif
