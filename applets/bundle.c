/*
 * bundle.c — `dbtool bundle`: the embedded hectic SQL bundle. Print it, list
 * its parts, write them to a folder (share/hectic/ of the package), apply
 * or upgrade it on a database, load a dotenv into its secrets. The work is
 * in lib/bundle.c; this file parses arguments and picks exit codes.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/bundle.h"
#include "lib/settings.h"
#include "lib/fs.h"
#include "lib/opt.h"
#include "lib/pg.h"


static int sub_apply(int argc, char **argv, const struct settings *s);
static int sub_list(int argc, char **argv, const struct settings *s);
static int sub_load_secrets(int argc, char **argv, const struct settings *s);
static int sub_print(int argc, char **argv, const struct settings *s);
static int sub_upgrade(int argc, char **argv, const struct settings *s);
static int sub_write(int argc, char **argv, const struct settings *s);

static const struct subcommand subcommands[] = {
    {"apply", sub_apply, "apply the bundle (or one part) to a database"},
    {"list", sub_list, "list the parts, in the order they are applied"},
    {"load-secrets", sub_load_secrets, "replace hectic.secret with a dotenv file (or stdin)"},
    {"print", sub_print, "print the SQL of the bundle or of one part"},
    {"upgrade", sub_upgrade, "carry a database's hectic bundle (0.1.0, 0.2.0) to " BUNDLE_VERSION},
    {"write", sub_write, "write the parts as .sql files into a folder"},
};

static const char *const usage[] = {
    "dbtool bundle [-u|--url URL] SUBCOMMAND [ARGS]",
    "",
    "The hectic bundle " BUNDLE_VERSION ": SQL compiled into dbtool that creates the schema\n"
    "'hectic' (version row, encrypted secrets, the migration table, the inheritance rules).\n"
    "Parts are applied in order, each in its own transaction; a database at another\n"
    "version is refused before anything changes ('dbtool bundle upgrade' carries 0.1.0 and\n"
    "0.2.0 databases forward). HECTIC_INHERITANCE_SQL=FILE replaces the inheritance part for\n"
    "print, apply and upgrade (not for write). The URL is -u, else DB_URL, else PGURL.\n"
    "Run 'dbtool bundle SUBCOMMAND --help' for a subcommand's options.",
    NULL};

/* -u given before the subcommand */
static const char *front_url;

/* The part named NAME (exit 9 when unknown). */
static const struct bundle_part *find_or_die(const char *name)
{
    const struct bundle_part *p = bundle_find(name);
    if (!p)
        die(EXIT_UNKNOWN, "unknown bundle part '%s' (see 'dbtool bundle list')", name);
    return p;
}

/* Connect to the URL of -u / DB_URL / PGURL; exits 3 without one, 1 when it fails. */
static PGconn *connect_or_die(const struct settings *s, const char *url)
{
    if (!url)
        url = front_url;
    if (!url)
        url = set_get(s, SET_DB_URL);
    if (!url)
        die(EXIT_MISSING, "no database URL: pass -u URL or set DB_URL (or PGURL)");
    if (!pg_url_supported(url)) {
        char *m = pg_mask_url(url);
        die(EXIT_MISSING, "unsupported database URL '%s': expected postgresql://... or key=value", m);
    }
    PGconn *conn = pg_connect(url);
    if (!conn)
        dbtool_exit(EXIT_ERR);
    return conn;
}

static int sub_print(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "dbtool bundle print [PART]", "",
        "Print the SQL that 'apply' runs: every part, each wrapped in BEGIN/COMMIT, or one\n"
        "part as it is (PART: a name from 'dbtool bundle list', with or without its\n"
        "number, or an upgrade script such as upgrade-0.1.0).",
        NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "too many arguments");
    const char *inh = set_get(s, SET_HECTIC_INHERITANCE_SQL);
    struct strbuf sb = STRBUF_INIT;
    int ret = 0;
    if (argc == 1) {
        if (bundle_part_sql(find_or_die(argv[0]), inh, &sb) < 0)
            ret = EXIT_ERR;
    } else {
        strbuf_addf(&sb, "-- hectic bundle %s (dbtool bundle print)\n", BUNDLE_VERSION);
        for (const struct bundle_part *p = bundle_parts; p->name && !ret; p++) {
            if (!bundle_is_part(p))
                continue;
            strbuf_addf(&sb, "\n-- part %s\nBEGIN;\n", p->name);
            if (bundle_part_sql(p, inh, &sb) < 0)
                ret = EXIT_ERR;
            if (sb.len && sb.buf[sb.len - 1] != '\n')
                strbuf_addch(&sb, '\n');
            strbuf_addstr(&sb, "COMMIT;\n");
        }
    }
    if (!ret)
        fwrite(sb.buf, 1, sb.len, stdout);
    strbuf_release(&sb);
    return ret;
}

static int sub_list(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {"dbtool bundle list", "",
                                    "The parts, one name per line, in the order they are applied.", NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    for (const struct bundle_part *p = bundle_parts; p->name; p++)
        if (bundle_is_part(p))
            printf("%s\n", p->name);
    return 0;
}

static int write_one(const char *dir, const char *file, const struct bundle_part *p)
{
    char *path = path_join(dir, file);
    int r = write_file_atomic(path, p->sql, p->len, 0644);
    if (r < 0)
        error_errno("cannot write '%s'", path);
    else
        debug("bundle", "wrote %s", path);
    free(path);
    return r;
}

static int sub_write(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "dbtool bundle write DIR", "",
        "Write every part as DIR/NAME.sql, and the inheritance part once more as\n"
        "DIR/" BUNDLE_INHERITANCE_FILE ", for 'psql -f' users and the package's\n"
        "share/hectic/. Creates DIR. Always the embedded SQL (HECTIC_INHERITANCE_SQL is\n"
        "not used). Each file is plain SQL meant to run in its own transaction (psql -1 -f).",
        NULL};
    const struct option opts[] = {OPT_END()};
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc != 1)
        usage_die(u, argc ? "too many arguments" : "missing DIR");
    const char *dir = argv[0];
    if (mkdir_p(dir, 0755) < 0)
        die_errno(EXIT_ERR, "cannot create '%s'", dir);
    int n = 0;
    for (const struct bundle_part *p = bundle_parts; p->name; p++) {
        if (!bundle_is_part(p))
            continue;
        char *file = xasprintf("%s.sql", p->name);
        int r = write_one(dir, file, p);
        free(file);
        if (r < 0)
            return EXIT_ERR;
        n++;
        if (!strcmp(p->name, BUNDLE_INHERITANCE_PART)) {
            if (write_one(dir, BUNDLE_INHERITANCE_FILE, p) < 0)
                return EXIT_ERR;
            n++;
        }
    }
    info("wrote %d files of hectic bundle %s to %s", n, BUNDLE_VERSION, dir);
    return 0;
}

static int sub_apply(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "dbtool bundle apply [-u|--url URL] [PART]", "",
        "Apply every part in order (or the version part and then PART), each in its own\n"
        "transaction. Idempotent. A database at another bundle version is refused before\n"
        "anything changes; use 'dbtool bundle upgrade' for 0.1.0 and 0.2.0 databases.",
        NULL};
    const char *url = NULL;
    const struct option opts[] = {
        OPT_STRING('u', "url", &url, "URL", "database URL (default $DB_URL, else $PGURL)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "too many arguments");
    const struct bundle_part *only = argc ? find_or_die(argv[0]) : NULL;
    if (only && !bundle_is_part(only))
        die(EXIT_UNKNOWN, "'%s' is not a bundle part (upgrade scripts run through 'dbtool bundle upgrade')",
            argv[0]);
    PGconn *conn = connect_or_die(s, url);
    int r = bundle_apply(conn, only ? only->name : NULL, set_get(s, SET_HECTIC_INHERITANCE_SQL));
    PQfinish(conn);
    if (r < 0)
        return EXIT_ERR;
    info("hectic bundle %s applied%s%s", BUNDLE_VERSION, only ? ": " : "", only ? only->name : "");
    return 0;
}

static int sub_upgrade(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "dbtool bundle upgrade [-u|--url URL]", "",
        "Carry the database to hectic bundle " BUNDLE_VERSION " from 0.1.0 (the shell tools) or\n"
        "0.2.0 (dbtool 0.2): the upgrade scripts (upgrade-0.1.0, upgrade-0.2.0, one step\n"
        "each) and every part run in one transaction, so it completes or changes nothing;\n"
        "migration rows are kept and 0.1.0 plaintext secrets are encrypted. A database\n"
        "without the bundle gets it installed; one already at " BUNDLE_VERSION " gets it re-applied.",
        NULL};
    const char *url = NULL;
    const struct option opts[] = {
        OPT_STRING('u', "url", &url, "URL", "database URL (default $DB_URL, else $PGURL)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc)
        usage_die(u, "unexpected argument '%s'", argv[0]);
    PGconn *conn = connect_or_die(s, url);
    int r = bundle_upgrade(conn, set_get(s, SET_HECTIC_INHERITANCE_SQL));
    PQfinish(conn);
    return r < 0 ? EXIT_ERR : 0;
}

static int sub_load_secrets(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "dbtool bundle load-secrets [-u|--url URL] [FILE|-]", "",
        "Replace the secrets in hectic.secret with the dotenv FILE (default: stdin), the way\n"
        "'database hydrate' loads HECTIC_DOTENV_FILE. The text is sent as a query parameter,\n"
        "never on a command line. The bundle must be applied already.",
        NULL};
    const char *url = NULL;
    const struct option opts[] = {
        OPT_STRING('u', "url", &url, "URL", "database URL (default $DB_URL, else $PGURL)"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (argc > 1)
        usage_die(u, "too many arguments");
    const char *file = argc && strcmp(argv[0], "-") ? argv[0] : NULL;
    struct strbuf sb = STRBUF_INIT;
    if (file ? strbuf_read_file(&sb, file) < 0 : strbuf_read_fd(&sb, 0) < 0)
        die_errno(EXIT_ERR, "cannot read dotenv %s%s%s", file ? "file '" : "from stdin", file ? file : "",
                  file ? "'" : "");
    PGconn *conn = connect_or_die(s, url);
    int n = 0;
    int r = bundle_load_secrets(conn, sb.buf, sb.len, &n);
    PQfinish(conn);
    explicit_bzero(sb.buf, sb.len);
    strbuf_release(&sb);
    if (r < 0)
        return EXIT_ERR;
    info("loaded %d secret%s", n, n == 1 ? "" : "s");
    return 0;
}

int cmd_bundle(int argc, char **argv, const struct settings *s)
{
    const struct option opts[] = {
        OPT_STRING('u', "url", &front_url, "URL", "database URL (default $DB_URL, else $PGURL)"),
        OPT_END(),
    };
    const struct subcommand *sub =
        parse_subcommand(&argc, &argv, opts, usage, subcommands, ARRAY_SIZE(subcommands));
    return sub->fn(argc, argv, s);
}
