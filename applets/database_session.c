/*
 * database_session.c — `database session start|plan|deploy|status|abort`
 * (issue 20): option tables and help; ops/session.c does the work.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/fs.h"
#include "lib/opt.h"
#include "lib/settings.h"
#include "ops/session.h"

int database_sub_session(int argc, char **argv, const struct settings *s);

static int ss_start(int argc, char **argv, const struct settings *s);
static int ss_plan(int argc, char **argv, const struct settings *s);
static int ss_deploy(int argc, char **argv, const struct settings *s);
static int ss_status(int argc, char **argv, const struct settings *s);
static int ss_abort(int argc, char **argv, const struct settings *s);
static int ss_apply(int argc, char **argv, const struct settings *s);
static int ss_commit(int argc, char **argv, const struct settings *s);

static const struct subcommand subs[] = {
    {"start", ss_start, "copy a remote's schema and listed data into the session database (--from URL)"},
    {"plan", ss_plan, "pending migrations, hazards, changes the sources still need (exit 1: something)"},
    {"apply", ss_apply, "infra/, migrations + code, grants/, seeds/ on the session database (resumable)"},
    {"commit", ss_commit, "the changes the sources still need as one migration folder (LABEL)"},
    {"deploy", ss_deploy, "rehearse on a fresh copy, then 'migrate up all' on the remote (--to URL)"},
    {"status", ss_status, "what the session knows: the remote, its migrations, deploys"},
    {"abort", ss_abort, "drop the session database and state; the remote is not touched"},
};

static const char *const usage[] = {
    "database session start|plan|apply|commit|deploy|status|abort [OPTIONS]",
    "",
    "A safe path from a remote database to a deployed change, one session per project,\n"
    "its state in $LOCAL_DIR/focus/session/. 'start --from URL' reads the remote in\n"
    "read-only sessions (default_transaction_read_only=on): its schema (the catalog model\n"
    "of 'dbtool schema', created in the database PG_DATABASE_session of the project's\n"
    "cluster), the rows of the tables STAGING_DUMP_TABLES lists (pg_dump table patterns)\n"
    "and its migration table (hectic.migration); a fingerprint of its schema ('dbtool\n"
    "schema hash') is kept. It prints the session database's URL. 'start --from DIR'\n"
    "starts from a physical backup (a directory 'database backup' wrote) instead: it is\n"
    "restored into a throwaway cluster, read the same way, and removed.",
    "'plan' lists the migrations of MIGRATION_DIR the remote lacks, their hazards\n"
    "('migrator lint'), rehearses them (and the code directory) on a copy of the session\n"
    "database and prints the DDL the sources still need after them, and the code\n"
    "objects 'database plan' would change. Exit 0 nothing to do, 1 something, 2 an error.",
    "'apply' runs on the session database, in order: the .sql files of $DATABASE_DIR/infra\n"
    "(roles, schemas, extensions), 'migrate up all' with the code directory, then\n"
    "$DATABASE_DIR/grants and $DATABASE_DIR/seeds; each file in its own transaction,\n"
    "recorded when it commits, so that after a failing seed the next apply goes on from it.\n"
    "'commit LABEL' writes what the sources still need beyond the migrations as one\n"
    "migration folder ('migrator generate LABEL').",
    "'deploy --to URL' refuses (exit 2) when the remote's fingerprint changed since start\n"
    "(--force goes on), copies the remote afresh into a throwaway cluster and runs\n"
    "'migrator migrate up all' there; any error stops it with the remote untouched.\n"
    "--dry-run stops after that rehearsal. Then the same 'migrator migrate up all' runs\n"
    "on the remote: advisory lock, hashes, transaction rules, lock_timeout. A deploy that\n"
    "was killed resumes when run again. Remote writes happen only here, only through\n"
    "the migrator.",
    "--ssh HOST (start, deploy): the remote is reached through an ssh tunnel, 'ssh -N\n"
    "-o ExitOnForwardFailure=yes -o BatchMode=yes [STAGING_SSH_OPTS] -L SOCKET:REMOTE --\n"
    "HOST', where SOCKET is in a private 0700 directory dbtool makes and removes and\n"
    "REMOTE is the URL's socket (no host: /var/run/postgresql) or host:port, as HOST sees\n"
    "them. Only a port forward is opened: nothing runs on HOST, the password stays in\n"
    "dbtool (never in an argv or environment). The rehearsal's copy and the remote's\n"
    "'migrate up all' go through the same tunnel; it is closed on every exit.",
    "Passwords: give them in ~/.pgpass or PGPASSFILE (with --ssh, host '*': libpq sees\n"
    "the tunnel's socket directory) or PGPASSWORD rather than in the URL; URLs are\n"
    "masked in every message and in the state.",
    "Exit status: 0 ok, 1 an error (an unreachable or unreadable remote), 2 a session\n"
    "exists already (start) or the remote changed (deploy), 3 no session, no --from/--to,\n"
    "4 a migration failed (rehearsal or remote), 9 bad usage.",
    NULL};

static void no_args(const char *const *u, int argc, char **argv)
{
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
}

static int ss_start(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database session start --from URL|BACKUP [--ssh HOST]", "",
        "Copy the remote's schema, the rows of STAGING_DUMP_TABLES and its migration table into\n"
        "the session database (PG_DATABASE_session) of the project's cluster; the remote is\n"
        "only read. BACKUP: a directory 'database backup' wrote, restored into a throwaway\n"
        "cluster and read from there. Exit 2 when a session exists, 3 without --from.",
        NULL};
    const char *from = NULL, *ssh = NULL;
    const struct option opts[] = {
        OPT_STRING(0, "from", &from, "URL", "the remote database (a libpq URL or key=value string), or a backup directory"),
        OPT_STRING(0, "ssh", &ssh, "HOST", "reach URL through an ssh tunnel to HOST (URL as HOST sees it)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    no_args(u, argc, argv);
    if (!from || !*from) {
        error("session start: missing --from URL (the database to start from)");
        return EXIT_MISSING;
    }
    return session_start(s, from, ssh);
}

static int ss_plan(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database session plan [--format text|json]", "",
        "What deploying the sources to the remote takes: pending migrations, their hazards,\n"
        "the DDL the sources still need after them, the code objects. Read-only for the\n"
        "session database. Exit 0 nothing to do, 1 something to do, 2 an error, 3 no session.\n"
        "--format json prints one object: {\"pending\":[names],\"hazards\":{..}|null,\n"
        "\"changes\":{\"statements\":[..],..}|null,\"code\":{..}|null,\"work\":bool} (the\n"
        "objects are those of 'migrator lint', 'migrator generate --dry-run' and 'database plan').",
        NULL};
    const char *format = "text";
    const struct option opts[] = {
        OPT_STRING(0, "format", &format, "text|json", "output format (default text)"),
        OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    no_args(u, argc, argv);
    return session_plan(s, opt_format_json(u, format));
}

/* `migrator migrate up all` on URL: the applet's own code path. */
static int migrate_up_all(const struct settings *s, const char *url)
{
    /* as 'database migrator' does: the project's folder is the migrator's */
    const struct set_override ov[] = {{SET_DB_URL, url}, {SET_MIGRATION_DIR, set_get(s, SET_MIGRATION_DIR)}};
    struct settings mine;
    settings_derive(&mine, s, ov, 2);
    char *v[] = {"migrator", "migrate", "up", "all", NULL};
    int r = cmd_migrator(4, v, &mine);
    settings_release(&mine);
    return r;
}

static int ss_deploy(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database session deploy --to URL [--ssh HOST] [--dry-run] [--force]", "",
        "Refuse when the remote's schema changed since start (exit 2; --force goes on);\n"
        "rehearse on a fresh copy in a throwaway cluster; then 'migrator migrate up all' on\n"
        "the remote. --dry-run stops after the rehearsal.",
        NULL};
    const char *to = NULL, *ssh = NULL;
    int dry_run = 0, force = 0;
    const struct option opts[] = {
        OPT_STRING(0, "to", &to, "URL", "the remote database"),
        OPT_STRING(0, "ssh", &ssh, "HOST", "reach URL through an ssh tunnel to HOST (URL as HOST sees it)"),
        OPT_BOOL(0, "dry-run", &dry_run, "rehearse only; the remote is not changed"),
        OPT_BOOL(0, "force", &force, "deploy even when the remote's schema changed since start"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    no_args(u, argc, argv);
    if (!to || !*to) {
        error("session deploy: missing --to URL (the database to deploy to)");
        return EXIT_MISSING;
    }
    const char *mdir = set_get(s, SET_MIGRATION_DIR);
    if (!mdir || !is_dir(mdir)) {
        error("session deploy: no migration folder (%s): nothing to deploy", mdir ? mdir : "MIGRATION_DIR unset");
        return EXIT_MISSING;
    }
    return session_deploy(s, to, ssh, dry_run, force, migrate_up_all);
}

static int ss_status(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "database session status [--format text|json]", "",
        "The session: where it started, the remote's migrations, the tables copied,\n"
        "the deploys. Exit 3 (\"no session\"; JSON: null) when there is none.\n"
        "--format json prints one object: {\"started\",\"from\" (masked),\"database\",\n"
        "\"fingerprint\",\"remote_migrations\":N,\"pending_here\":N,\"tables\":[..],\n"
        "\"applied\":[files apply finished],\"log\":[deploy lines],\"deploying\":time|null}.",
        NULL};
    const char *format = "text";
    const struct option opts[] = {
        OPT_STRING(0, "format", &format, "text|json", "output format (default text)"),
        OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    no_args(u, argc, argv);
    return session_status(s, opt_format_json(u, format));
}

static int ss_abort(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {"database session abort", "",
                                    "Drop the session database and remove focus/session/. The remote is not\n"
                                    "touched. Exit 3 when there is no session.",
                                    NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    no_args(u, argc, argv);
    return session_abort(s);
}

static int ss_apply(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {"database session apply", "",
                                    "infra/, then migrations and code, then grants/ and seeds/ on the session\n"
                                    "database; a failed file (exit 4) is where the next apply starts.",
                                    NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    no_args(u, argc, argv);
    return session_apply(s);
}

static int ss_commit(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {"database session commit [--allow-hazards LIST] LABEL", "",
                                    "Write MIGRATION_DIR/<UTC stamp>-LABEL/ with the changes the sources need beyond\n"
                                    "the migrations, as 'migrator generate LABEL' does (its exit codes).",
                                    NULL};
    const char *allow = NULL;
    const struct option opts[] = {
        OPT_STRING(0, "allow-hazards", &allow, "LIST", "hazard classes or rules to accept (or all)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "unexpected argument '%s'", argv[1]);
    if (!argc) {
        error("session commit: needs a LABEL");
        return EXIT_MISSING;
    }
    return session_commit(s, argv[0], allow);
}

int database_sub_session(int argc, char **argv, const struct settings *s)
{
    const struct option opts[] = {OPT_END()};
    const struct subcommand *sub = parse_subcommand(&argc, &argv, opts, usage, subs, ARRAY_SIZE(subs));
    return sub->fn(argc, argv, s);
}
