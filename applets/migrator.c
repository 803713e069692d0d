/*
 * migrator.c — `migrator` (and `database migrator`): versioned up/down
 * migrations tracked in hectic.migration (SPEC section 7). One table of
 * commands drives parsing, help, aliases and "did you mean"; this file
 * resolves the URL and the folder and picks exit codes. The folder is
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
#include "lib/bundle.h"
#include "lib/settings.h"
#include "lib/fs.h"
#include "lib/migrate.h"
#include "lib/miglint.h"
#include "lib/opt.h"
#include "lib/pager.h"
#include "lib/pg.h"
#include "ops/code.h"
#include "ops/generate.h"
#include "ops/migimport.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The version scripts of the shell migrator compare against. */
#define MIGRATOR_VERSION "0.0.1"

/* ---- options ---- */

static const char *opt_url, *opt_dir, *opt_name, *opt_inherits, *opt_format, *opt_from;
static struct strvec opt_vars = STRVEC_INIT;
static int opt_version, opt_dry_run, opt_raw, opt_force, opt_accept, opt_verbose, opt_quiet, opt_exit_code,
    opt_all;
static int opt_force_drift, opt_plain, opt_blocking, opt_mock;
static const char *opt_allow, *opt_server;

#define GLOBAL_OPTS                                                                                \
    OPT_STRING('u', "db-url", &opt_url, "URL", "database URL (default $DB_URL, else $PGURL)"),     \
    OPT_STRING('d', "migration-dir", &opt_dir, "DIR", "migration folder (default $MIGRATION_DIR, else ./migration)"), \
    OPT_LIST('v', "set", &opt_vars, "NAME=VALUE", "script variable for the migrations (repeatable)"), \
    OPT_BOOL('q', "quiet", &opt_quiet, "print only warnings and errors on stderr"),               \
    OPT_STRING(0, "inherits", &opt_inherits, "X", "deprecated, ignored (the bundle brings inheritance)"), \
    OPT_BOOL('V', "version", &opt_version, "print the version and exit")

static const struct option opts_global[] = {GLOBAL_OPTS, OPT_END()};
static const struct option opts_init[] = {
    GLOBAL_OPTS, OPT_BOOL(0, "dry-run", &opt_dry_run, "print the SQL, change nothing"), OPT_END()};
static const struct option opts_migrate[] = {
    GLOBAL_OPTS,
    OPT_BOOL('f', "force", &opt_force, "go on past a history mismatch (loudly)"),
    OPT_BOOL(0, "accept-changed", &opt_accept, "record the new hash of changed applied migrations"),
    OPT_BOOL(0, "dry-run", &opt_dry_run, "print the SQL in order with its transactions; change nothing"),
    OPT_BOOL(0, "verbose", &opt_verbose, "print the scripts' command tags (CREATE TABLE, INSERT 0 1, ...)"),
    OPT_BOOL(0, "force-after-drift", &opt_force_drift, "apply a generated migration to a schema that changed since"),
    OPT_END()};
static const struct option opts_generate[] = {
    GLOBAL_OPTS,
    OPT_STRING(0, "allow-hazards", &opt_allow, "LIST", "hazard classes or lint rules to accept (or all)"),
    OPT_BOOL(0, "dry-run", &opt_dry_run, "print up.sql, write nothing"),
    OPT_BOOL('m', "mock", &opt_mock, "hydrate with the script variable USE_MOCK=1"),
    OPT_BOOL(0, "plain-constraints", &opt_plain, "FK/CHECK in one statement, SET NOT NULL directly"),
    OPT_BOOL(0, "blocking-indexes", &opt_blocking, "indexes without CONCURRENTLY"),
    OPT_STRING(0, "server", &opt_server, "URL", "build the sides as databases on this server"),
    OPT_END()};
static const struct option opts_create[] = {
    GLOBAL_OPTS, OPT_STRING(0, "name", &opt_name, "NAME", "the label after the timestamp (default: random)"),
    OPT_END()};
static const struct option opts_list[] = {
    GLOBAL_OPTS, OPT_BOOL(0, "raw", &opt_raw, "names only, one per line"),
    OPT_STRING(0, "format", &opt_format, "text|json", "output format (default text)"), OPT_END()};
static const struct option opts_status[] = {
    GLOBAL_OPTS,
    OPT_BOOL(0, "exit-code", &opt_exit_code, "exit 1 when migrations are pending, 2 when anything is wrong"),
    OPT_STRING(0, "format", &opt_format, "text|json", "output format (default text)"), OPT_END()};
static const struct option opts_lint[] = {
    GLOBAL_OPTS, OPT_BOOL(0, "all", &opt_all, "every migration of the folder, not only the pending ones"),
    OPT_STRING(0, "format", &opt_format, "text|json", "output format (default text)"), OPT_END()};
static const struct option opts_import[] = {
    GLOBAL_OPTS,
    OPT_STRING(0, "from", &opt_from, "dbmate|golang-migrate|goose|flyway|sqitch", "the tool that wrote DIR"),
    OPT_BOOL(0, "dry-run", &opt_dry_run, "say what would be written, write nothing"), OPT_END()};

/* ---- help texts ---- */

static const char *const usage_init[] = {
    "migrator [GLOBAL OPTIONS] init [--dry-run]", "",
    "Apply the hectic bundle " BUNDLE_VERSION " (schema hectic: version, secrets, the migration\n"
    "tables, the inheritance rules), each part in its own transaction; idempotent.\n"
    "--dry-run prints the SQL and touches nothing (no URL needed).",
    NULL};
static const char *const usage_migrate[] = {
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

static int do_init(int npos, char **pos);
static int do_migrate(int npos, char **pos);
static int do_create(int npos, char **pos);
static int do_list(int npos, char **pos);
static int do_status(int npos, char **pos);
static int do_baseline(int npos, char **pos);
static int do_lint(int npos, char **pos);
static int do_import(int npos, char **pos);
static int do_generate(int npos, char **pos);
static int do_help(int npos, char **pos);

enum {
    CMD_ALIAS = 1 << 0,    /* not listed on its own line: another spelling */
    CMD_MIGRATE = 1 << 1,  /* `migrate up` style: unknown options exit 1 */
};

struct command {
    const char *name;
    int (*fn)(int npos, char **pos);
    const char *summary;
    const char *const *usage;
    const struct option *opts;
    unsigned flags;
    const char *canonical; /* aliases: the command they stand for ("migrate up" for "up") */
};

static const struct command commands[] = {
    {"init", do_init, "apply the hectic bundle (--dry-run: print its SQL)", usage_init, opts_init, 0, NULL},
    {"migrate", do_migrate, "up [N|all] / down [N|all] / to NAME: apply or revert migrations", usage_migrate,
     opts_migrate, 0, NULL},
    {"up", do_migrate, "migrate up [N|all]", usage_migrate, opts_migrate, CMD_ALIAS | CMD_MIGRATE, "migrate up"},
    {"down", do_migrate, "migrate down [N|all]", usage_migrate, opts_migrate, CMD_ALIAS | CMD_MIGRATE,
     "migrate down"},
    {"to", do_migrate, "migrate to NAME", usage_migrate, opts_migrate, CMD_ALIAS | CMD_MIGRATE, "migrate to"},
    {"create", do_create, "new DIR/<UTC YYYYMMDDHHMMSS>-NAME/{up,down}.sql (also: new NAME)", usage_create,
     opts_create, 0, NULL},
    {"new", do_create, "create NAME", usage_create, opts_create, CMD_ALIAS, "create"},
    {"list", do_list, "the migration folders, incomplete ones marked", usage_list, opts_list, 0, NULL},
    {"status", do_status, "applied, pending, changed, missing, partial (--exit-code, --format json)",
     usage_status, opts_status, 0, NULL},
    {"baseline", do_baseline, "record migrations as applied without running them", usage_baseline,
     opts_global, 0, NULL},
    {"lint", do_lint, "hazards in pending migrations (DROP, rewrites, locks)", usage_lint, opts_lint, 0, NULL},
    {"import", do_import, "convert dbmate, golang-migrate, goose, Flyway or sqitch migrations", usage_import,
     opts_import, 0, NULL},
    {"generate", do_generate, "write the migration from what the migrations build to the sources", usage_generate,
     opts_generate, 0, NULL},
    {"help", do_help, "help [COMMAND]", usage_help, opts_global, CMD_ALIAS, NULL},
};

static const struct command *find_cmd(const char *name)
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
    bool migrate = c->fn == do_migrate;
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
    bool label = c->fn == do_create || c->fn == do_generate;
    for (int i = 0; c->fn != do_help && !label && i < out; i++) {
        const char *w = pos[i];
        if (migrate && !dir && i == 0 && is_direction(w)) {
            dir = w;
            continue;
        }
        if (migrate && dir && is_direction(w))
            die(EXIT_AMBIGUOUS, "ambiguous migrate subcommand, decide %s or %s", dir, w);
        if (find_cmd(w) && strcmp(w, "help"))
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

/* ---- settings, URL, folder ---- */

/* The settings with -u and -d applied (cmd_migrator derives them once). */
static struct settings mig_settings;
static const struct settings *S;

static const char *migration_dir(void)
{
    enum set_source src = set_source(S, SET_MIGRATION_DIR);
    if (src == SET_SRC_ENV || src == SET_SRC_FILE || src == SET_SRC_FLAG)
        return set_get(S, SET_MIGRATION_DIR);
    return "migration";
}

static const char *url_or_die(void)
{
    const char *url = set_get(S, SET_DB_URL);
    if (!url || !*url)
        die(EXIT_MISSING, "no database URL: pass -u URL or set DB_URL (or PGURL)");
    if (!pg_url_supported(url)) {
        char *m = pg_mask_url(url);
        die(EXIT_MISSING, "unsupported database URL '%s': expected postgresql://... or key=value "
                          "(SQLite is not supported)", m);
    }
    return url;
}

static PGconn *connect_or_die(void)
{
    PGconn *conn = pg_connect(url_or_die());
    if (!conn)
        dbtool_exit(EXIT_ERR);
    return conn;
}

static void scan_or_die(const char *dir, struct mig_folder *f)
{
    if (!is_dir(dir))
        die(EXIT_MISSING, "the migration folder '%s' does not exist (pass -d DIR or set MIGRATION_DIR; "
                          "'migrator create' makes it)", dir);
    if (mig_scan(dir, f) < 0)
        dbtool_exit(EXIT_MISSING);
}

static bool want_json(const struct command *c)
{
    if (!opt_format || !strcmp(opt_format, "text"))
        return false;
    if (!strcmp(opt_format, "json"))
        return true;
    usage_die(c->usage, "--format expects text or json, not '%s'", opt_format);
}

/* The bundle for mig_migrate(): APPLY false checks the version, true applies it. */
static int init_bundle(PGconn *conn, bool apply, void *arg)
{
    (void)arg;
    if (apply) {
        int r = bundle_apply(conn, NULL, set_get(S, SET_HECTIC_INHERITANCE_SQL));
        if (r == 0)
            debug("migrator", "hectic bundle %s applied", BUNDLE_VERSION);
        return r;
    }
    /* bundle_db_version() in one round trip: no table (42P01/3F000) is no bundle */
    struct strbuf v = STRBUF_INIT;
    int r = 0;
    PGresult *res = PQexec(conn, "SELECT coalesce(version, '') FROM hectic.version WHERE name = 'hectic'");
    if (PQresultStatus(res) == PGRES_TUPLES_OK) {
        if (PQntuples(res) == 1) {
            strbuf_addstr(&v, PQgetvalue(res, 0, 0));
            r = 1;
        }
    } else {
        const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (!state || (strcmp(state, "42P01") && strcmp(state, "3F000"))) {
            pg_print_result_error(res, "cannot read hectic.version");
            r = -1;
        }
    }
    PQclear(res);
    if (r == 1 && strcmp(v.buf, BUNDLE_VERSION)) {
        char *up = xasprintf("upgrade-%s", v.buf);
        bool upgradable = bundle_find(up) != NULL;
        free(up);
        if (upgradable)
            error("the database has hectic bundle %s (made by the shell tools or an older dbtool); "
                  "migrator needs %s: run 'dbtool bundle upgrade -u URL' once (it keeps hectic.migration, "
                  "so nothing is re-applied), then migrate again; nothing was changed",
                  v.buf, BUNDLE_VERSION);
        else
            error("the database has hectic bundle %s, this migrator brings %s and cannot upgrade from it; "
                  "nothing was changed (use a matching dbtool)", v.buf, BUNDLE_VERSION);
        r = -1;
    }
    strbuf_release(&v);
    return r < 0 ? -1 : 0;
}

/*
 * Whether gen_baseline_hook() passes STEP without reading the database: its
 * file's leading comment block has no "-- dbtool-baseline: " line (the header
 * ops/generate.h documents). Reads the first 4 KB.
 */
static bool no_baseline(const struct mig_step *step, void *arg)
{
    (void)arg;
    const struct mig *m = step->m;
    const char *file = step->down ? m->down : m->up;
    if (step->owned || !file || m->multi)
        return true;
    FILE *f = fopen(file, "re");
    if (!f)
        return false; /* let the hook say why */
    char buf[4096];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    for (const char *p = buf; p && p[0] == '-' && p[1] == '-';) {
        if (starts_with(p, "-- dbtool-baseline: "))
            return false;
        p = strchr(p, '\n');
        p = p ? p + 1 : NULL;
    }
    return true;
}

/* init_bundle() as ops/code's callbacks take it: check, then apply. */
static int init_bundle_both(PGconn *conn, void *arg)
{
    return init_bundle(conn, false, arg) < 0 || init_bundle(conn, true, arg) < 0 ? -1 : 0;
}

static struct mig_opts mig_options(void)
{
    struct mig_opts o = {
        .vars = &opt_vars,
        .force = opt_force != 0,
        .accept_changed = opt_accept != 0,
        .verbose = opt_verbose != 0,
        .dry_run = opt_dry_run != 0,
        .progress = !opt_quiet,
        .out = stdout,
        .lock_timeout = set_get(S, SET_MIGRATION_LOCK_TIMEOUT),
        .statement_timeout = set_get(S, SET_MIGRATION_STATEMENT_TIMEOUT),
        .lock_retries = set_int(S, SET_MIGRATION_LOCK_RETRIES),
        .retry_delay = 0.5,
        .init = init_bundle,
        .bundle_version = BUNDLE_VERSION,
    };
    return o;
}

static int status_exit(enum mig_status st)
{
    switch (st) {
    case MIG_OK:
    case MIG_AT_TARGET:
        return EXIT_OK;
    case MIG_NOT_ENOUGH:
    case MIG_NO_SUCH:
    case MIG_NONE:
        return EXIT_ERR;
    case MIG_MISMATCH:
    case MIG_CHANGED:
    case MIG_BLOCKED:
        return EXIT_AMBIGUOUS;
    case MIG_CONFIG:
        return EXIT_MISSING;
    case MIG_FAILED:
        return EXIT_MIGRATION;
    case MIG_ERROR:
        return EXIT_ERR;
    }
    BUG("mig status %d", (int)st);
}

/* ---- init ---- */

static int do_init(int npos, char **pos)
{
    (void)pos;
    if (npos)
        die(EXIT_UNKNOWN, "init argument '%s' does not exists", pos[0]);
    if (opt_dry_run) {
        const char *inh = set_get(S, SET_HECTIC_INHERITANCE_SQL);
        struct strbuf sb = STRBUF_INIT;
        strbuf_addf(&sb, "-- migrator init --dry-run: the SQL 'init' runs (hectic bundle %s); nothing was changed\n",
                    BUNDLE_VERSION);
        for (const struct bundle_part *p = bundle_parts; p->name; p++) {
            if (!bundle_is_part(p))
                continue;
            strbuf_addf(&sb, "\n-- part %s\nBEGIN;\n", p->name);
            if (bundle_part_sql(p, inh, &sb) < 0) {
                strbuf_release(&sb);
                return EXIT_ERR;
            }
            if (sb.len && sb.buf[sb.len - 1] != '\n')
                strbuf_addch(&sb, '\n');
            strbuf_addstr(&sb, "COMMIT;\n");
        }
        fwrite(sb.buf, 1, sb.len, stdout);
        strbuf_release(&sb);
        return 0;
    }
    PGconn *conn = connect_or_die();
    int rc = EXIT_OK;
    if (mig_lock(conn, -1) < 0 || init_bundle(conn, false, NULL) < 0 || init_bundle(conn, true, NULL) < 0)
        rc = EXIT_ERR;
    else
        info("hectic bundle %s applied", BUNDLE_VERSION);
    mig_unlock(conn);
    PQfinish(conn);
    return rc;
}

/* ---- migrate ---- */

static long parse_count(const char *s)
{
    char *end;
    errno = 0;
    long n = strtol(s, &end, 10);
    if (!*s || *end || errno || n <= 0)
        return -1;
    return n;
}

/* POS: the direction and its argument (`migrate` itself dropped). */
static int migrate_dir(int npos, char **pos)
{
    if (npos < 1)
        die(EXIT_MISSING, "migrate needs a direction: 'migrate up [N]', 'migrate down [N]' or 'migrate to NAME'");
    const char *dir = pos[0];
    struct mig_request req = {MIG_REQ_UP, 1, NULL};
    if (!strcmp(dir, "up")) {
        if (npos > 1) {
            const char *a = pos[1];
            if (!strcmp(a, "all") || !strcmp(a, "latest") || !strcmp(a, "head"))
                req.n = 0;
            else if ((req.n = parse_count(a)) < 0)
                usage_die(usage_migrate, "'migrate up' expects a positive number, all, latest or head, not '%s'", a);
        }
    } else if (!strcmp(dir, "down")) {
        req.kind = MIG_REQ_DOWN;
        if (npos > 1 && !strcmp(pos[1], "all"))
            req.n = 0;
        else if (npos > 1 && (req.n = parse_count(pos[1])) < 0)
            usage_die(usage_migrate, "'migrate down' expects a positive number or all, not '%s'", pos[1]);
    } else if (!strcmp(dir, "to")) {
        req.kind = MIG_REQ_TO;
        if (npos < 2)
            die(EXIT_MISSING, "'migrate to' needs a target: a migration name, latest, head or last");
        const char *a = pos[1];
        req.name = !strcmp(a, "latest") || !strcmp(a, "head") || !strcmp(a, "last") ? NULL : a;
    } else {
        static const char *const dirs[] = {"up", "down", "to"};
        const char *near = opt_suggest(dir, dirs, ARRAY_SIZE(dirs));
        if (near)
            die(EXIT_UNKNOWN, "unknown migrate direction '%s' (did you mean '%s'? up, down or to)", dir, near);
        die(EXIT_UNKNOWN, "unknown migrate direction '%s' (up, down or to)", dir);
    }
    if (npos > 2)
        die(EXIT_UNKNOWN, "`migrate %s` argument %s does not exists", dir, pos[2]);

    const char *mdir = migration_dir();
    url_or_die();
    struct mig_folder f;
    double t0 = now_monotonic();
    scan_or_die(mdir, &f);
    double t1 = now_monotonic();
    PGconn *conn = connect_or_die();
    debug("migrate", "scan of %zu entries %.1f ms, connect %.1f ms", f.nr, (t1 - t0) * 1000,
          (now_monotonic() - t1) * 1000);
    char *cache = mig_hash_cache_path(set_get(S, SET_DBTOOL_CACHE_DIR), mdir);
    mig_hash_cache_open(&f, cache);
    free(cache);
    struct mig_opts o = mig_options();
    o.close_after = true;
    /* a generated migration's header holds the schema it was generated against (ops/generate) */
    bool force_drift = opt_force_drift != 0;
    o.before_step = gen_baseline_hook;
    o.before_arg = &force_drift;
    o.before_step_idle = no_baseline;
    /* with a code directory, its objects are dropped and created around the steps (issue 17) */
    const char *cdir = set_get(S, SET_CODE_DIR);
    enum mig_status st;
    if (cdir && is_dir(cdir) && !opt_dry_run) {
        mig_resolve_all(&f);
        st = code_migrate(conn, cdir, &f, &req, &o, init_bundle_both, NULL);
    } else {
        st = mig_migrate(conn, &f, &req, &o);
    }
    mig_hash_cache_save(&f);
    PQfinish(conn);
    mig_folder_release(&f);
    return status_exit(st);
}

static int do_migrate(int npos, char **pos)
{
    return migrate_dir(npos, pos);
}

/* ---- create ---- */

/* "YYYYMMDDHHMMSS" of T in UTC. */
static void stamp(time_t t, char out[15])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 15, "%Y%m%d%H%M%S", &tm);
}

static time_t parse_stamp(const char *s)
{
    struct tm tm = {0};
    char buf[15];
    memcpy(buf, s, 14);
    buf[14] = 0;
    if (!strptime(buf, "%Y%m%d%H%M%S", &tm))
        return 0;
    return timegm(&tm);
}

static int write_stub(const char *path, const char *text)
{
    if (write_file_atomic(path, text, strlen(text), 0644) < 0)
        return error_errno("cannot write '%s'", path);
    return 0;
}

static int do_create(int npos, char **pos)
{
    if (npos > 1)
        die(EXIT_UNKNOWN, "create argument '%s' does not exists", pos[1]);
    if (npos && opt_name && strcmp(opt_name, pos[0]))
        die(EXIT_UNKNOWN, "create argument '%s' does not exists (the name is already --name %s)", pos[0], opt_name);
    const char *name = npos ? pos[0] : opt_name;
    const char *why;
    if (name && !mig_label_valid(name, &why))
        die(EXIT_UNKNOWN, "invalid migration name '%s': %s", name, why);
    const char *dir = migration_dir();
    if (mkdir_p(dir, 0755) < 0)
        die_errno(EXIT_ERR, "cannot create the migration folder '%s'", dir);
    char *label = name ? xstrdup(name) : mig_random_label();
    /* under a lock on DIR: the new timestamp is later than every existing one */
    int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd < 0 || flock(dfd, LOCK_EX) < 0)
        die_errno(EXIT_ERR, "cannot lock the migration folder '%s'", dir);
    time_t t = time(NULL), newest = 0;
    int rfd = dup(dfd);
    DIR *d = rfd >= 0 ? fdopendir(rfd) : NULL;
    if (!d)
        die_errno(EXIT_ERR, "cannot read the migration folder '%s'", dir);
    for (struct dirent *de; (de = readdir(d));) {
        time_t s = mig_name_valid(de->d_name) ? parse_stamp(de->d_name) : 0;
        if (s > newest)
            newest = s;
    }
    closedir(d);
    if (newest >= t)
        t = newest + 1;
    char ts[15];
    char *path = NULL;
    for (int tries = 0;; tries++, t++) {
        stamp(t, ts);
        free(path);
        path = xasprintf("%s/%s-%s", dir, ts, label);
        if (mkdir(path, 0755) == 0)
            break;
        if (errno != EEXIST || tries > 1000)
            die_errno(EXIT_ERR, "cannot create '%s'", path);
    }
    const char *mname = strrchr(path, '/') + 1;
    char *up = path_join(path, "up.sql"), *down = path_join(path, "down.sql");
    char *up_text = xasprintf("-- %s: up (runs in one transaction with its hectic.migration row)\n", mname);
    char *down_text = xasprintf("-- %s: down (reverts up.sql)\n", mname);
    int rc = write_stub(up, up_text) < 0 || write_stub(down, down_text) < 0 ? EXIT_ERR : EXIT_OK;
    close(dfd);
    if (!rc) {
        printf("%s\n", path);
        info("created migration %s", mname);
    }
    free(up);
    free(down);
    free(up_text);
    free(down_text);
    free(path);
    free(label);
    return rc;
}

/* ---- list ---- */

static int do_list(int npos, char **pos)
{
    if (npos)
        die(EXIT_UNKNOWN, "list argument '%s' does not exists", pos[0]);
    bool json = want_json(find_cmd("list"));
    struct mig_folder f;
    scan_or_die(migration_dir(), &f);
    int rc = EXIT_OK;
    struct strbuf sb = STRBUF_INIT;
    if (json)
        strbuf_addch(&sb, '[');
    size_t b = 0;
    bool first = true;
    for (size_t i = 0; i <= f.nr; i++) {
        /* bad entries in name order among the migrations */
        while (!opt_raw && b < f.bad_nr && (i == f.nr || strcmp(f.bad[b].name, f.v[i].name) < 0)) {
            const struct mig_bad *x = &f.bad[b++];
            bool notdir = starts_with(x->why, "not a directory") || starts_with(x->why, "a dangling");
            if (json) {
                strbuf_addstr(&sb, first ? "\n  {\"name\": " : ",\n  {\"name\": ");
                strbuf_add_json_str(&sb, x->name);
                strbuf_addstr(&sb, ", \"valid\": false, \"reason\": ");
                strbuf_add_json_str(&sb, x->why);
                strbuf_addch(&sb, '}');
            } else {
                strbuf_addf(&sb, "%s: %s\n", x->name, notdir ? "not a directory" : "not a migration name");
            }
            first = false;
        }
        if (i == f.nr)
            break;
        struct mig *m = &f.v[i];
        if (opt_raw) {
            strbuf_addf(&sb, "%s\n", m->name);
            continue;
        }
        if (mig_resolve(&f, m) < 0) {
            rc = EXIT_MISSING;
            continue;
        }
        bool up = m->up || m->has_up_dir, down = m->down || m->has_down_dir;
        if (json) {
            strbuf_addstr(&sb, first ? "\n  {\"name\": " : ",\n  {\"name\": ");
            strbuf_add_json_str(&sb, m->name);
            strbuf_addf(&sb, ", \"valid\": true, \"up\": %s, \"down\": %s, \"multi_file\": %s, \"transaction\": %s",
                        m->up ? "true" : "false", m->down ? "true" : "false", m->multi ? "true" : "false",
                        m->no_tx ? "false" : "true");
            if (!m->up) {
                strbuf_addstr(&sb, ", \"reason\": ");
                strbuf_add_json_str(&sb, m->why ? m->why : "no up file");
            }
            strbuf_addch(&sb, '}');
        } else if (up && down) {
            strbuf_addf(&sb, "%s\n", m->name);
        } else {
            strbuf_addf(&sb, "%s: missing%s%s\n", m->name, up ? "" : " up.sql", down ? "" : " down.sql");
        }
        first = false;
    }
    if (json)
        strbuf_addstr(&sb, first ? "]\n" : "\n]\n");
    if (rc == EXIT_OK)
        fwrite(sb.buf, 1, sb.len, stdout);
    strbuf_release(&sb);
    mig_folder_release(&f);
    return rc;
}

/* ---- status ---- */

static int do_status(int npos, char **pos)
{
    if (npos)
        die(EXIT_UNKNOWN, "status argument '%s' does not exists", pos[0]);
    bool json = want_json(find_cmd("status"));
    const char *dir = migration_dir();
    url_or_die();
    struct mig_folder f;
    scan_or_die(dir, &f);
    if (mig_resolve_all(&f) < 0) {
        mig_folder_release(&f);
        return EXIT_MISSING;
    }
    PGconn *conn = connect_or_die();
    struct mig_db db;
    struct mig_status_counts c;
    int rc = EXIT_OK;
    if (mig_db_read(conn, &db, true) < 0) {
        rc = EXIT_ERR;
    } else {
        if (!db.has_table)
            warn("no hectic.migration table yet: nothing is applied (run 'migrator init' or 'migrate')");
        if (mig_status_print(stdout, &f, &db, json, &c) < 0)
            rc = EXIT_ERR;
        else if (opt_exit_code) {
            if (c.n[MIG_ST_CHANGED] || c.n[MIG_ST_MISSING] || c.n[MIG_ST_PARTIAL] || c.n[MIG_ST_INCOMPLETE] ||
                c.n[MIG_ST_BAD])
                rc = EXIT_AMBIGUOUS;
            else if (c.n[MIG_ST_PENDING])
                rc = EXIT_ERR;
        }
        mig_db_release(&db);
    }
    PQfinish(conn);
    mig_folder_release(&f);
    return rc;
}

/* ---- baseline ---- */

static int do_baseline(int npos, char **pos)
{
    if (npos > 1)
        die(EXIT_UNKNOWN, "baseline argument '%s' does not exists", pos[1]);
    const char *upto = npos ? pos[0] : NULL;
    if (upto && (!strcmp(upto, "latest") || !strcmp(upto, "head") || !strcmp(upto, "last")))
        upto = NULL;
    const char *dir = migration_dir();
    url_or_die();
    struct mig_folder f;
    scan_or_die(dir, &f);
    PGconn *conn = connect_or_die();
    int rc;
    if (init_bundle(conn, false, NULL) < 0 || init_bundle(conn, true, NULL) < 0) {
        rc = EXIT_ERR;
    } else {
        size_t n = 0;
        enum mig_status st = mig_baseline(conn, &f, upto, &n);
        rc = status_exit(st);
        if (st == MIG_OK)
            info("baseline: recorded %zu migration%s as applied without running %s (up to %s)", n,
                 n == 1 ? "" : "s", n == 1 ? "it" : "them", upto ? upto : "the newest");
    }
    PQfinish(conn);
    mig_folder_release(&f);
    return rc;
}

/* ---- lint ---- */

static int do_lint(int npos, char **pos)
{
    bool json = want_json(find_cmd("lint"));
    const char *dir = migration_dir();
    struct mig_folder f;
    scan_or_die(dir, &f);
    struct mig **list = xcalloc(f.nr ? f.nr : 1, sizeof(*list));
    size_t n = 0;
    int rc = EXIT_OK;
    const char *url = set_get(S, SET_DB_URL);
    if (npos) {
        for (int i = 0; i < npos; i++) {
            struct mig *m = (struct mig *)mig_find(&f, pos[i]);
            if (!m) {
                /* a path to the folder is fine too */
                const char *base = strrchr(pos[i], '/');
                m = (struct mig *)mig_find(&f, base && base[1] ? base + 1 : pos[i]);
            }
            if (!m)
                die(EXIT_ERR, "no migration named '%s' in '%s'", pos[i], dir);
            list[n++] = m;
        }
    } else if (opt_all || !url || !*url) {
        if (!opt_all)
            info("lint: no database URL: linting every migration of %s (--all)", dir);
        for (size_t i = 0; i < f.nr; i++)
            list[n++] = &f.v[i];
    } else {
        PGconn *conn = connect_or_die();
        struct mig_db db;
        if (mig_db_read(conn, &db, false) < 0) {
            PQfinish(conn);
            free(list);
            mig_folder_release(&f);
            return EXIT_ERR;
        }
        for (size_t i = 0; i < f.nr; i++)
            if (!mig_db_find(&db, f.v[i].name))
                list[n++] = &f.v[i];
        mig_db_release(&db);
        PQfinish(conn);
    }
    struct lint_opts lo = {&opt_vars, set_get(S, SET_MIGRATION_LOCK_TIMEOUT)};
    struct lint_result res;
    if (miglint_run(&f, list, n, &lo, &res) < 0) {
        rc = EXIT_ERR;
    } else {
        miglint_print(stdout, &res, json);
        if (!json || !opt_quiet)
            info("lint: %zu finding%s in %zu migration%s%s", res.nr, res.nr == 1 ? "" : "s", res.migrations,
                 res.migrations == 1 ? "" : "s",
                 res.nr ? "; '-- dbtool:allow RULE' before a statement accepts a finding" : "");
        if (res.nr)
            rc = EXIT_ERR;
        if (res.config_error)
            rc = EXIT_MISSING;
    }
    miglint_release(&res);
    free(list);
    mig_folder_release(&f);
    return rc;
}

/* ---- import ---- */

static int do_import(int npos, char **pos)
{
    if (!opt_from)
        die(EXIT_MISSING, "import needs --from TOOL (dbmate, golang-migrate, goose, flyway or sqitch)");
    if (npos != 1)
        die(EXIT_MISSING, "import needs the folder to read: migrator import --from %s DIR", opt_from);
    return migimport_run(opt_from, pos[0], migration_dir(), opt_dry_run != 0);
}

/* ---- generate ---- */

static int do_generate(int npos, char **pos)
{
    if (npos < 1)
        die(EXIT_MISSING, "generate needs a LABEL (the name after the timestamp)");
    if (npos > 1)
        die(EXIT_UNKNOWN, "generate argument '%s' does not exists", pos[1]);
    struct gen_opts go = {pos[0], migration_dir(), opt_allow, opt_server, opt_plain != 0,
                          opt_blocking != 0, opt_mock != 0, opt_dry_run != 0};
    return gen_run(S, &go);
}

/* ---- help ---- */

static int do_help(int npos, char **pos)
{
    if (!npos) {
        main_help(stdout);
        return 0;
    }
    const struct command *c = find_cmd(pos[0]);
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
    const struct command *c = find_cmd(argv[0]);
    if (!c)
        unknown_command("command", argv[0]);
    /* the command's options (global ones too), unknown ones kept for check_words */
    n = parse_options(n, argv, c->opts, c->usage, PARSE_OPT_KEEP_UNKNOWN);
    if (opt_version) {
        printf("migrator version " MIGRATOR_VERSION " (dbtool %s)\n", DBTOOL_VERSION);
        return 0;
    }
    n = check_words(c, n, argv);
    if (opt_quiet)
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
        S = &mig_settings;
    }
    int rc;
    if (c->flags & CMD_MIGRATE) {
        /* `up 2` is `migrate up 2` */
        char **v = xcalloc((size_t)n + 2, sizeof(*v));
        v[0] = (char *)c->name;
        for (int i = 0; i < n; i++)
            v[i + 1] = argv[i];
        rc = migrate_dir(n + 1, v);
        free(v);
    } else {
        rc = c->fn(n, argv);
    }
    settings_release(&mig_settings);
    S = NULL;
    return rc;
}
