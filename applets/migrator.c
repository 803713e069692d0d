/*
 * migrator.c — `migrator` (and `database migrator`): versioned up/down
 * migrations tracked in hectic.migration (SPEC section 7). One table of
 * commands drives parsing, help, aliases and "did you mean"; the commands
 * themselves (applets/migrator_commands.c) resolve the URL and the folder
 * and pick exit codes. The folder is
 * lib/migfolder.c, the checks, the lock, planning and status lib/migrate.c,
 * running steps lib/migrun.c, lint lib/miglint.c, import ops/migimport.c,
 * `init` lib/bundle.c.
 *
 * What scripts of the shell migrator parse is kept to the letter (issue 14):
 * the version line, "ambiguous subcommand, decide A or B" (exit 2, decided
 * before a URL is needed), "<command> argument '<arg>' does not exists" (exit
 * 9; `migrate up|down|to`: exit 1 without the quotes), "cannot migrate up N
 * step(s): not enough migrations", "no migrations found", the history
 * mismatch block and the `list` lines.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "applets/migrator_int.h"
#include "lib/bundle.h"
#include "lib/settings.h"
#include "lib/migrate.h"
#include "lib/opt.h"
#include "lib/pager.h"

/* The version scripts of the shell migrator compare against. */
#define MIGRATOR_VERSION "0.0.1"

/* ---- options ---- */

static const char *opt_url, *opt_dir, *opt_inherits;
static int opt_version;
const char *migrator_opt_name, *migrator_opt_format, *migrator_opt_from;
struct strvec migrator_opt_vars = STRVEC_INIT;
int migrator_opt_dry_run, migrator_opt_raw, migrator_opt_force, migrator_opt_accept, migrator_opt_verbose,
    migrator_opt_quiet, migrator_opt_exit_code, migrator_opt_all;
int migrator_opt_force_drift, migrator_opt_plain, migrator_opt_blocking, migrator_opt_mock;
const char *migrator_opt_allow, *migrator_opt_server;

#define GLOBAL_OPTS                                                                                \
    OPT_STRING('u', "db-url", &opt_url, "URL", "database URL (default $DB_URL, else $PGURL)"),     \
    OPT_STRING('d', "migration-dir", &opt_dir, "DIR", "migration folder (default $MIGRATION_DIR, else ./migration)"), \
    OPT_LIST('v', "set", &migrator_opt_vars, "NAME=VALUE", "script variable for the migrations (repeatable)"), \
    OPT_BOOL('q', "quiet", &migrator_opt_quiet, "print only warnings and errors on stderr"),               \
    OPT_STRING(0, "inherits", &opt_inherits, "X", "deprecated, ignored (the bundle brings inheritance)"), \
    OPT_BOOL('V', "version", &opt_version, "print the version and exit")

static const struct option opts_global[] = {GLOBAL_OPTS, OPT_END()};
static const struct option opts_init[] = {
    GLOBAL_OPTS, OPT_BOOL(0, "dry-run", &migrator_opt_dry_run, "print the SQL, change nothing"), OPT_END()};
static const struct option opts_migrate[] = {
    GLOBAL_OPTS,
    OPT_BOOL('f', "force", &migrator_opt_force, "go on past a history mismatch (loudly)"),
    OPT_BOOL(0, "accept-changed", &migrator_opt_accept, "record the new hash of changed applied migrations"),
    OPT_BOOL(0, "dry-run", &migrator_opt_dry_run, "print the SQL in order with its transactions; change nothing"),
    OPT_BOOL(0, "verbose", &migrator_opt_verbose, "print the scripts' command tags (CREATE TABLE, INSERT 0 1, ...)"),
    OPT_BOOL(0, "force-after-drift", &migrator_opt_force_drift, "apply a generated migration to a schema that changed since"),
    OPT_END()};
static const struct option opts_generate[] = {
    GLOBAL_OPTS,
    OPT_STRING(0, "allow-hazards", &migrator_opt_allow, "LIST", "hazard classes or lint rules to accept (or all)"),
    OPT_BOOL(0, "dry-run", &migrator_opt_dry_run, "print up.sql, write nothing"),
    OPT_BOOL('m', "mock", &migrator_opt_mock, "hydrate with the script variable USE_MOCK=1"),
    OPT_BOOL(0, "plain-constraints", &migrator_opt_plain, "FK/CHECK in one statement, SET NOT NULL directly"),
    OPT_BOOL(0, "blocking-indexes", &migrator_opt_blocking, "indexes without CONCURRENTLY"),
    OPT_STRING(0, "server", &migrator_opt_server, "URL", "build the sides as databases on this server"),
    OPT_END()};
static const struct option opts_create[] = {
    GLOBAL_OPTS, OPT_STRING(0, "name", &migrator_opt_name, "NAME", "the label after the timestamp (default: random)"),
    OPT_END()};
static const struct option opts_list[] = {
    GLOBAL_OPTS, OPT_BOOL(0, "raw", &migrator_opt_raw, "names only, one per line"),
    OPT_STRING(0, "format", &migrator_opt_format, "text|json", "output format (default text)"), OPT_END()};
static const struct option opts_status[] = {
    GLOBAL_OPTS,
    OPT_BOOL(0, "exit-code", &migrator_opt_exit_code, "exit 1 when migrations are pending, 2 when anything is wrong"),
    OPT_STRING(0, "format", &migrator_opt_format, "text|json", "output format (default text)"), OPT_END()};
static const struct option opts_lint[] = {
    GLOBAL_OPTS, OPT_BOOL(0, "all", &migrator_opt_all, "every migration of the folder, not only the pending ones"),
    OPT_STRING(0, "format", &migrator_opt_format, "text|json", "output format (default text)"), OPT_END()};
static const struct option opts_import[] = {
    GLOBAL_OPTS,
    OPT_STRING(0, "from", &migrator_opt_from, "dbmate|golang-migrate|goose|flyway|sqitch", "the tool that wrote DIR"),
    OPT_BOOL(0, "dry-run", &migrator_opt_dry_run, "say what would be written, write nothing"), OPT_END()};

/* ---- help texts ---- */

static const char *const usage_init[] = {
    "migrator [GLOBAL OPTIONS] init [--dry-run]", "",
    "Apply the hectic bundle " BUNDLE_VERSION " (schema hectic: version, secrets, the migration\n"
    "tables, the inheritance rules), each part in its own transaction; idempotent.\n"
    "--dry-run prints the SQL and touches nothing (no URL needed).",
    NULL};
const char *const migrator_usage_migrate[] = {
    "migrator [GLOBAL OPTIONS] migrate up [N|all|latest|head]   (or: migrator up [N|all])",
    "migrator [GLOBAL OPTIONS] migrate down [N|all]              (or: migrator down [N|all])",
    "migrator [GLOBAL OPTIONS] migrate to NAME|latest|head|last  (or: migrator to NAME)",
    "",
    "up: the next N pending migrations (default 1; all, latest, head: every pending one).\n"
    "down: revert the newest N applied migrations (default 1), newest first.\n"
    "to: revert the applied migrations newer than NAME, then apply the pending ones up\n"
    "to NAME (latest, head and last all name the newest migration in DIR).",
    "Nothing pending for 'up' or 'up N': exit 1, \"cannot migrate up N step(s): not enough\n"
    "migrations\"; 'up all' with everything applied: a message and exit 0; a folder\n"
    "without migrations: \"no migrations found\", exit 1. Checks first, under the migrator\n"
    "lock: the bundle version, the history (exit 2), changed applied migrations (exit 2),\n"
    "entries in the way (a folder without up.sql, a name that is not YYYYMMDDHHMMSS-label:\n"
    "exit 2, naming each, before anything is applied); then the bundle is applied ('init')\n"
    "and the steps run.",
    "--dry-run prints, in order, the exact SQL the run would send: the statements of each\n"
    "script (includes followed, variables interpolated) between its BEGIN and COMMIT, the\n"
    "bookkeeping, and what runs on its own between transactions; it applies nothing and\n"
    "takes no lock.",
    NULL};
static const char *const usage_create[] = {
    "migrator [GLOBAL OPTIONS] create [NAME | --name NAME]   (or: migrator new NAME)", "",
    "Create DIR/<UTC YYYYMMDDHHMMSS>-NAME/ with up.sql and down.sql (a comment line\n"
    "each) and print its path. Without a name a random pronounceable one is used. The\n"
    "timestamp is later than every migration already in DIR (creates in the same second\n"
    "get the next seconds), under a lock on DIR. NAME must not contain '/'.",
    NULL};
static const char *const usage_list[] = {
    "migrator [GLOBAL OPTIONS] list [--raw] [--format text|json]", "",
    "One line per migration folder, in order: NAME, or NAME: missing up.sql, NAME: missing\n"
    "down.sql, NAME: missing up.sql down.sql (multi-file folders count up/ and down/);\n"
    "entries that are not migrations: NAME: not a migration name / not a directory.\n"
    "--raw: the names only. --format json: an array of objects (name, up, down,\n"
    "multi_file, transaction, valid, reason). Reads no database.",
    NULL};
static const char *const usage_status[] = {
    "migrator [GLOBAL OPTIONS] status [--exit-code] [--format text|json]", "",
    "One line per migration: applied, changed (the up file no longer has the recorded\n"
    "hash), missing (applied, not in DIR), pending, partial (a failed run committed some\n"
    "of its steps; the next migrate resumes it), incomplete (no up file), bad (not a\n"
    "migration name); then a summary line. Read-only: no bundle, no lock.",
    "--format json: {\"migration_dir\", \"bundle\", \"migrations\": [{\"name\", \"state\", \"hash\",\n"
    "\"recorded_hash\", \"applied_at\", \"transaction\", \"multi_file\", \"reason\"}], \"summary\":\n"
    "{STATE: count}, \"up_to_date\"}.",
    "--exit-code: 0 up to date; 1 migrations are pending (and nothing else is wrong; also\n"
    "any error, with a message); 2 changed, missing, partial, incomplete or bad entries\n"
    "(migrate would refuse or needs a decision); 3 no URL, no folder, a bad migration.yaml.",
    NULL};
static const char *const usage_baseline[] = {
    "migrator [GLOBAL OPTIONS] baseline [NAME]", "",
    "Record the folder's migrations as applied without running them, with their hashes:\n"
    "all of them, or those up to NAME. For a database that already has what they do: one\n"
    "made by 'database deploy' from the sources (see 'database deploy --baseline'), or one\n"
    "another tool migrated (after 'migrator import'). Applies the bundle first; the\n"
    "applied migrations must be the first ones of DIR (exit 2 otherwise).",
    NULL};
static const char *const usage_lint[] = {
    "migrator [GLOBAL OPTIONS] lint [--all] [--format text|json] [NAME...]", "",
    "Flag hazards in the pending migrations (with a URL; without one, or with --all: every\n"
    "migration of DIR; NAMEs: those), read with PostgreSQL's own parser:",
    "    drop-table, drop-column, drop-type        data loss\n"
    "    alter-column-type, add-column-volatile-default\n"
    "                                              a rewrite of the whole table\n"
    "    add-fk-without-not-valid, add-check-without-not-valid, set-not-null\n"
    "                                              a full scan under a strong lock\n"
    "    create-index-without-concurrently         on a table that existed before\n"
    "    missing-lock-timeout                      a strong lock on an existing table, no\n"
    "                                              lock_timeout (script, migration.yaml, dbtool.yaml)\n"
    "    rename                                    old code breaks\n"
    "    transaction-control                       BEGIN/COMMIT/ROLLBACK: migrate would refuse it",
    "Each finding: FILE:LINE:COL: RULE: message (stdout). '-- dbtool:allow RULE[,RULE]' (or\n"
    "'all') on the statement's lines or the comment lines just before it suppresses it.\n"
    "Statements the parser cannot read are listed as notes. Exit 0 clean, 1 findings.",
    NULL};
static const char *const usage_generate[] = {
    "migrator [GLOBAL OPTIONS] generate [--allow-hazards=LIST] [--dry-run] [-m|--mock]\n"
    "                                   [--plain-constraints] [--blocking-indexes] [--server URL] LABEL",
    "",
    "Write DIR/<UTC YYYYMMDDHHMMSS>-LABEL/ with the migration that takes the schema the\n"
    "migrations build to the one the sources build. Two sides, built at once in throwaway\n"
    "clusters (as 'database diff' builds them; --server URL: as databases on that server):\n"
    "the hectic bundle plus 'migrate up all' of DIR, and a hydrate of $DATABASE_SOURCE\n"
    "(needs LOCAL_DIR). Their catalogs are diffed both ways: up.sql and down.sql (ordered\n"
    "DDL, ALTER where PostgreSQL can; see 'dbtool schema diff --help'), plus INSERT/UPDATE/\n"
    "DELETE for the rows of tables inheriting hectic.immutable, in migration mode.\n"
    "migration.yaml (transaction: false) when a statement cannot run in a transaction.\n"
    "Nothing differs: 'nothing to generate', exit 0, nothing written.",
    "Safe by default: FK/CHECK added NOT VALID then validated, SET NOT NULL through a\n"
    "validated CHECK, indexes on existing tables CONCURRENTLY (--plain-constraints and\n"
    "--blocking-indexes turn that off). Every hazard (data-loss, table-rewrite,\n"
    "full-scan-under-lock, blocking-index-build, mass-drop; named with 'migrator lint' rules\n"
    "such as drop-column) is printed and refuses the migration unless --allow-hazards\n"
    "lists its class, all its rules, or 'all'. The header of each file keeps the report\n"
    "and the baseline: the schema hash the migration was generated against, checked by\n"
    "'migrate' (--force-after-drift applies it to a database whose schema differs).",
    "Exit: 0 written (its path on stdout) or nothing to generate, 1 a hazard refused or a\n"
    "side failed to build, 3 no LOCAL_DIR, 4 a migration of DIR failed, 9 bad label or\n"
    "hazard name.",
    NULL};
static const char *const usage_help[] = {
    "migrator help [COMMAND]", "", "The help of migrator, or of COMMAND (the same as 'migrator COMMAND --help').",
    NULL};
static const char *const usage_import[] = {
    "migrator [GLOBAL OPTIONS] import --from TOOL [--dry-run] SRC", "",
    "Convert another tool's migrations in SRC into DIR (which must not hold those names):\n"
    "    dbmate          VERSION_name.sql with -- migrate:up / -- migrate:down [transaction:false]\n"
    "    golang-migrate  VERSION_name.up.sql / .down.sql (also pop/ory: .postgres. per dialect,\n"
    "                    .autocommit. for no transaction)\n"
    "    goose           VERSION_name.sql with -- +goose Up / Down, NO TRANSACTION,\n"
    "                    StatementBegin/End\n"
    "    flyway          V<version>__name.sql (+ U<version>__name.sql undo, .sql.conf\n"
    "                    executeInTransaction=false)\n"
    "    sqitch          sqitch.plan with deploy/ and revert/ scripts",
    "Order is kept; versions that are not 14-digit timestamps are mapped to timestamps in\n"
    "the same order (numbers as seconds after 1970-01-01, 20-digit ones cut to 14), never\n"
    "colliding; a BEGIN/COMMIT pair around a whole script is dropped (each migration is\n"
    "one transaction); no-transaction markers become migration.yaml 'transaction: false'.\n"
    "Prints SOURCE -> NAME per migration; what cannot be mapped (Go migrations, repeatable\n"
    "Flyway scripts, ...) is listed and the exit status is 1. Then record the ones the\n"
    "database already has with 'migrator baseline NAME'.",
    NULL};

/* ---- the command table ---- */

static int do_help(int npos, char **pos);

static const struct command commands[] = {
    {"init", migrator_do_init, "apply the hectic bundle (--dry-run: print its SQL)", usage_init, opts_init, 0, NULL},
    {"migrate", migrator_do_migrate, "up [N|all] / down [N|all] / to NAME: apply or revert migrations", migrator_usage_migrate,
     opts_migrate, 0, NULL},
    {"up", migrator_do_migrate, "migrate up [N|all]", migrator_usage_migrate, opts_migrate, CMD_ALIAS | CMD_MIGRATE, "migrate up"},
    {"down", migrator_do_migrate, "migrate down [N|all]", migrator_usage_migrate, opts_migrate, CMD_ALIAS | CMD_MIGRATE,
     "migrate down"},
    {"to", migrator_do_migrate, "migrate to NAME", migrator_usage_migrate, opts_migrate, CMD_ALIAS | CMD_MIGRATE, "migrate to"},
    {"create", migrator_do_create, "new DIR/<UTC YYYYMMDDHHMMSS>-NAME/{up,down}.sql (also: new NAME)", usage_create,
     opts_create, 0, NULL},
    {"new", migrator_do_create, "create NAME", usage_create, opts_create, CMD_ALIAS, "create"},
    {"list", migrator_do_list, "the migration folders, incomplete ones marked", usage_list, opts_list, 0, NULL},
    {"status", migrator_do_status, "applied, pending, changed, missing, partial (--exit-code, --format json)",
     usage_status, opts_status, 0, NULL},
    {"baseline", migrator_do_baseline, "record migrations as applied without running them", usage_baseline,
     opts_global, 0, NULL},
    {"lint", migrator_do_lint, "hazards in pending migrations (DROP, rewrites, locks)", usage_lint, opts_lint, 0, NULL},
    {"import", migrator_do_import, "convert dbmate, golang-migrate, goose, Flyway or sqitch migrations", usage_import,
     opts_import, 0, NULL},
    {"generate", migrator_do_generate, "write the migration from what the migrations build to the sources", usage_generate,
     opts_generate, 0, NULL},
    {"help", do_help, "help [COMMAND]", usage_help, opts_global, CMD_ALIAS, NULL},
};

const struct command *migrator_find_cmd(const char *name)
{
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    return NULL;
}

static bool is_direction(const char *s)
{
    return !strcmp(s, "up") || !strcmp(s, "down") || !strcmp(s, "to");
}

static const char *const usage_main_head[] = {
    "migrator [-u|--db-url URL] [-d|--migration-dir DIR] [-q] COMMAND [ARGS]",
    "",
    "Versioned migrations for PostgreSQL, tracked in hectic.migration. Global options may\n"
    "come before or after the command. URL: -u, else DB_URL, else PGURL. DIR: -d, else\n"
    "MIGRATION_DIR (environment or dbtool.yaml), else ./migration ('database migrator'\n"
    "passes the project's $DATABASE_DIR/migration).",
};
static const char *const usage_main_tail[] = {
    "Folder: DIR/YYYYMMDDHHMMSS-label/up.sql + down.sql, or up/entrypoint.sql +\n"
    "down/entrypoint.sql (multi-file: \\ir includes resolve beside the entrypoint), applied\n"
    "in name order. Entries whose name starts with a digit but is not such a folder, and\n"
    "folders without up.sql, are reported and stop 'migrate' before it passes them;\n"
    "others (README, .git, shared/) are ignored. An optional migration.yaml beside them:\n"
    "'transaction: false' (the whole migration runs statement by statement outside a\n"
    "transaction), 'lock_timeout: 5s', 'statement_timeout: 10min'.",
    "Each migration runs in its own transaction on one connection: BEGIN; SET LOCAL\n"
    "hectic.migration_mode = 'on' (DML on hectic.immutable tables is allowed); the\n"
    "timeouts; the script; the hectic.migration row; COMMIT. The transaction is watched\n"
    "after every statement: BEGIN/COMMIT/ROLLBACK in the script are refused before they\n"
    "run (nothing is committed; declare 'transaction: false' for a script that manages\n"
    "its own), and a statement that ends the transaction anyway stops the script with\n"
    "what it committed. A statement that cannot run in a transaction block (CREATE INDEX\n"
    "CONCURRENTLY, VACUUM, ALTER SYSTEM, ...; read with PostgreSQL's parser) keeps its\n"
    "place: what comes before it commits, it runs on its own, the rest runs in a new\n"
    "transaction; each committed part is recorded in hectic.migration_step, so that a\n"
    "failure resumes at the failing statement (an INVALID index it leaves is named, with\n"
    "the DROP to run). A failure rolls back what ran in the open transaction (exit 4);\n"
    "earlier migrations stay.",
    "Locks: lock_timeout and statement_timeout come from migration.yaml, else dbtool.yaml\n"
    "migration.lock_timeout / migration.statement_timeout (MIGRATION_LOCK_TIMEOUT,\n"
    "MIGRATION_STATEMENT_TIMEOUT); a migration (or a statement run on its own) that\n"
    "fails to get its lock is retried MIGRATION_LOCK_RETRIES times (default 3), after\n"
    "0.5 s, 1 s, 2 s ... 'migrate' holds the advisory lock " MIG_LOCK_KEY_STR "\n"
    "(pg_try_advisory_lock, polled: a second run waits and says so).",
    "History: the applied migrations must be the first ones of DIR in order (else exit 2\n"
    "with both lists; --force goes on: up applies every unapplied folder migration in name\n"
    "order, down reverts the newest applied ones). Hash: the lower-case hex sha256 of the\n"
    "up file (up.sql, or up/entrypoint.sql), as the shell migrator recorded it; 'migrate'\n"
    "refuses (exit 2) while an applied migration's up file changed; --accept-changed\n"
    "records the new hash and goes on.",
    "A database made by the shell tools carries hectic bundle 0.1.0: migrator refuses it\n"
    "(nothing changed, exit 1) until 'dbtool bundle upgrade' has carried it to " BUNDLE_VERSION ";\n"
    "its hectic.migration rows are kept and nothing is re-applied.",
    "Exit: 0 ok or already at the target, 1 error or not enough migrations for N, 2 history\n"
    "mismatch / changed migration / entries in the way / two commands, 3 no URL or folder or\n"
    "bad migration.yaml, 4 a migration failed (rolled back), 9 unknown command or option\n"
    "(`migrate up|down|to`: 1). 'migrator help COMMAND' or 'migrator COMMAND --help' for more.",
};

/* The front door's usage: synopsis, the command list from the table, the rest (built once). */
static const char *const *main_usage(void)
{
    static const char *u[ARRAY_SIZE(usage_main_head) + ARRAY_SIZE(usage_main_tail) + 2];
    static struct strbuf cmds = STRBUF_INIT;
    if (u[0])
        return u;
    strbuf_addstr(&cmds, "commands:\n");
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++) {
        const struct command *c = &commands[i];
        if (c->flags & CMD_ALIAS)
            continue;
        strbuf_addf(&cmds, "    %-10s %s\n", c->name, c->summary);
    }
    strbuf_addstr(&cmds, "    help       help [COMMAND]; also COMMAND --help; --version, -V\n"
                         "    aliases:   up, down, to = migrate up/down/to; new = create");
    size_t n = 0;
    for (size_t i = 0; i < ARRAY_SIZE(usage_main_head); i++)
        u[n++] = usage_main_head[i];
    u[n++] = cmds.buf;
    for (size_t i = 0; i < ARRAY_SIZE(usage_main_tail); i++)
        u[n++] = usage_main_tail[i];
    u[n] = NULL;
    return u;
}

static void main_help(FILE *f)
{
    struct strbuf sb = STRBUF_INIT;
    usage_format(&sb, main_usage(), opts_global);
    if (f == stdout)
        pager_write(sb.buf, sb.len);
    else
        fputs(sb.buf, f);
    strbuf_release(&sb);
}

static void command_help(const struct command *c)
{
    struct strbuf sb = STRBUF_INIT;
    usage_format(&sb, c->usage, c->opts);
    pager_write(sb.buf, sb.len);
    strbuf_release(&sb);
}

static NORETURN void unknown_command(const char *what, const char *name)
{
    const char *cands[ARRAY_SIZE(commands)];
    for (size_t i = 0; i < ARRAY_SIZE(commands); i++)
        cands[i] = commands[i].name;
    const char *near = opt_suggest(name, cands, ARRAY_SIZE(commands));
    if (near)
        die(EXIT_UNKNOWN, "unknown %s '%s' (did you mean '%s'? see 'migrator --help')", what, name, near);
    die(EXIT_UNKNOWN, "unknown %s '%s' (see 'migrator --help')", what, name);
}

static NORETURN void ambiguous(const char *a, const char *b)
{
    die(EXIT_AMBIGUOUS, "ambiguous subcommand, decide %s or %s", a, b);
}

/*
 * The command's words after its options were parsed (unknown options kept
 * in place): a second command word or an unknown option ends the run here,
 * before anything needs a URL. Returns the number of positional words,
 * compacted at the start of POS.
 */
static int check_words(const struct command *c, int n, char **pos)
{
    bool migrate = c->fn == migrator_do_migrate;
    const char *bad_opt = NULL;
    int out = 0;
    for (int i = 0; i < n; i++) {
        if (pos[i][0] == '-' && pos[i][1]) {
            if (!bad_opt)
                bad_opt = pos[i];
            continue;
        }
        pos[out++] = pos[i];
    }
    pos[out] = NULL;
    const char *dir = c->flags & CMD_MIGRATE ? c->name : NULL;
    /* create, new and generate take a label, which may well be "init" */
    bool label = c->fn == migrator_do_create || c->fn == migrator_do_generate;
    for (int i = 0; c->fn != do_help && !label && i < out; i++) {
        const char *w = pos[i];
        if (migrate && !dir && i == 0 && is_direction(w)) {
            dir = w;
            continue;
        }
        if (migrate && dir && is_direction(w))
            die(EXIT_AMBIGUOUS, "ambiguous migrate subcommand, decide %s or %s", dir, w);
        if (migrator_find_cmd(w) && strcmp(w, "help"))
            ambiguous(c->name, w);
    }
    if (bad_opt) {
        if (migrate) {
            error("`migrate%s%s` argument %s does not exists", dir ? " " : "", dir ? dir : "", bad_opt);
            dbtool_exit(EXIT_ERR);
        }
        die(EXIT_UNKNOWN, "%s argument '%s' does not exists", c->canonical ? c->canonical : c->name, bad_opt);
    }
    return out;
}

/* The settings with -u and -d applied (cmd_migrator derives them once). */
static struct settings mig_settings;
const struct settings *migrator_S;

/* ---- help ---- */

static int do_help(int npos, char **pos)
{
    if (!npos) {
        main_help(stdout);
        return 0;
    }
    const struct command *c = migrator_find_cmd(pos[0]);
    if (!c)
        unknown_command("command", pos[0]);
    if (!c->usage) {
        main_help(stdout);
        return 0;
    }
    command_help(c);
    return 0;
}

/* ---- the front door ---- */

/* --dbtool-describe at the front door: the commands as subcommands (man pages, completions) */
static void describe_front(int argc, char **argv)
{
    for (int i = 1; i < argc && argv[i][0] == '-'; i++) {
        if (strcmp(argv[i], OPT_DESCRIBE))
            continue;
        struct subcommand subs[ARRAY_SIZE(commands)];
        for (size_t k = 0; k < ARRAY_SIZE(commands); k++)
            subs[k] = (struct subcommand){.name = commands[k].name, .summary = commands[k].summary,
                                          .flags = commands[k].flags & CMD_ALIAS ? SUB_HIDDEN : 0};
        opt_describe(main_usage(), opts_global, subs, ARRAY_SIZE(commands));
    }
}

int cmd_migrator(int argc, char **argv, const struct settings *s)
{
    describe_front(argc, argv);
    /* global options before the command */
    int n = parse_options(argc, argv, opts_global, main_usage(), PARSE_OPT_STOP_AT_NON_OPTION);
    if (opt_version) {
        printf("migrator version " MIGRATOR_VERSION " (dbtool %s)\n", DBTOOL_VERSION);
        return 0;
    }
    if (!n) {
        main_help(stderr);
        return EXIT_ERR;
    }
    const struct command *c = migrator_find_cmd(argv[0]);
    if (!c)
        unknown_command("command", argv[0]);
    /* the command's options (global ones too), unknown ones kept for check_words */
    n = parse_options(n, argv, c->opts, c->usage, PARSE_OPT_KEEP_UNKNOWN);
    if (opt_version) {
        printf("migrator version " MIGRATOR_VERSION " (dbtool %s)\n", DBTOOL_VERSION);
        return 0;
    }
    n = check_words(c, n, argv);
    if (migrator_opt_quiet)
        log_configure("warn", NULL);
    if (opt_inherits)
        warn("--inherits is deprecated and ignored: inheritance comes with the hectic bundle that "
             "'migrator init' applies");
    {
        struct set_override ov[2];
        size_t k = 0;
        if (opt_url)
            ov[k++] = (struct set_override){SET_DB_URL, opt_url};
        if (opt_dir)
            ov[k++] = (struct set_override){SET_MIGRATION_DIR, opt_dir};
        settings_derive(&mig_settings, s, ov, k);
        migrator_S = &mig_settings;
    }
    int rc;
    if (c->flags & CMD_MIGRATE) {
        /* `up 2` is `migrate up 2` */
        char **v = xcalloc((size_t)n + 2, sizeof(*v));
        v[0] = (char *)c->name;
        for (int i = 0; i < n; i++)
            v[i + 1] = argv[i];
        rc = migrator_migrate_dir(n + 1, v);
        free(v);
    } else {
        rc = c->fn(n, argv);
    }
    settings_release(&mig_settings);
    migrator_S = NULL;
    return rc;
}
