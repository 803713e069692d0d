/*
 * miglint.h — `migrator lint`: hazards in migrations, read with PostgreSQL's
 * own parser (lib/parse findings), each with FILE:LINE:COL and a rule name.
 *
 * The scripts are walked by the SQL runner without a server (lib/sqlscript
 * with hooks that send nothing): includes are followed and variables
 * interpolated as `migrate` would, so the statements linted are the ones
 * that would run. Rules (see the migrator help): the parse module's
 * drop-table, drop-column, alter-column-type, add-column-volatile-default,
 * add-fk-without-not-valid, add-check-without-not-valid,
 * create-index-without-concurrently (only for a table not created earlier in
 * the linted migrations), set-not-null, rename, drop-type; and the
 * migrator's own:
 *   missing-lock-timeout  a statement takes a strong lock on a table the
 *                         linted migrations did not create, and neither the
 *                         script (SET lock_timeout before it), migration.yaml
 *                         nor the dbtool.yaml default sets lock_timeout
 *   transaction-control   BEGIN/COMMIT/ROLLBACK/... in a transactional
 *                         migration (migrate refuses it)
 * Suppression: a comment `-- dbtool:allow RULE[,RULE...]` (or `all`) on a
 * line of the statement, or on the lines between the previous statement
 * and it.
 */
#ifndef DBTOOL_MIGLINT_H
#define DBTOOL_MIGLINT_H

#include "lib/common.h"
#include "lib/migrate.h"

struct lint_finding {
    char *migration;   /* the folder name */
    char *file;        /* the script (an included file for findings inside it) */
    unsigned line, col;
    const char *rule;  /* static */
    char *message;
};

/* Something lint could not look at (a statement the grammar rejects, a \connect). */
struct lint_note {
    char *migration;
    char *file;
    unsigned line;
    char *message;
};

struct lint_result {
    struct lint_finding *v;
    size_t nr, alloc;
    struct lint_note *notes;
    size_t notes_nr, notes_alloc;
    size_t suppressed;  /* findings a dbtool:allow comment accepted */
    size_t migrations;  /* migrations linted */
    bool config_error;  /* a migration.yaml is invalid (reported) */
};

struct lint_opts {
    const struct strvec *vars;  /* script variables (--set), may be NULL */
    const char *lock_timeout;   /* the dbtool.yaml default, NULL: none */
};

/*
 * Lint the N migrations LIST (entries of F, in name order) into OUT. A
 * script that cannot be read or walked is a note, not a failure. 0, or -1
 * on an internal error.
 */
int miglint_run(struct mig_folder *f, struct mig *const *list, size_t n, const struct lint_opts *o,
                struct lint_result *out);
/*
 * Print the findings to OUT: text, "FILE:LINE:COL: RULE: message" per line
 * (notes as "FILE:LINE: note: ..."); JSON, one object {"findings": [{"migration",
 * "file", "line", "column", "rule", "message"}], "notes": [...], "suppressed",
 * "migrations"}.
 */
void miglint_print(FILE *out, const struct lint_result *r, bool json);
void miglint_release(struct lint_result *r);

#endif
