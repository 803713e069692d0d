/*
 * migrate_int.h — what the migration folder's code (migfolder.c) gives the
 * database side (migrate.c): finding a migration's up and down files
 * without reading its migration.yaml (mig_resolve() does all three).
 * Not an API.
 */
#ifndef DBTOOL_MIGRATE_INT_H
#define DBTOOL_MIGRATE_INT_H

#include "lib/migrate.h"

/* Look for M's up file once: M->up and M->multi, or M->why when there is none. */
void mig_resolve_up(struct mig_folder *f, struct mig *m);
/* Look for M's down file once (M->down, NULL: none), after its up file. */
void mig_resolve_down(struct mig_folder *f, struct mig *m);

#endif
