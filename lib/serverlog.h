/*
 * serverlog.h — `database log`: the server's log files.
 */
#ifndef DBTOOL_SERVERLOG_H
#define DBTOOL_SERVERLOG_H

#include "lib/common.h"

/*
 * Show logs of DIR. SEL: NULL (all, concatenated; pager on a terminal),
 * "list", an index (1 = oldest, as `list` numbers them) or a unique substring
 * of a file name. Returns 0 or an exit code.
 */
int serverlog_show(const char *dir, const char *sel);

#endif
