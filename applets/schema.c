/*
 * schema.c — `dbtool schema`: read a database's schema into the catalog
 * model (lib/catalog.c) and print its canonical text or hash, or the DDL
 * that turns one database's schema into another's (lib/sqldiff.c). The
 * work is in lib/; this file parses arguments and picks exit codes.
 */
#include "lib/common.h"
#include "applets/applets.h"
#include "lib/catalog.h"
#include "lib/opt.h"
#include "lib/pg.h"
#include "lib/sqldiff.h"

static int sub_diff(int argc, char **argv, const struct settings *s);
static int sub_dump(int argc, char **argv, const struct settings *s);
static int sub_hash(int argc, char **argv, const struct settings *s);

static const struct subcommand subcommands[] = {
    {"diff", sub_diff, "the DDL that turns FROM's schema into TO's, with its hazards"},
    {"dump", sub_dump, "the canonical text of a database's schema"},
    {"hash", sub_hash, "the SHA-256 of the canonical text"},
};

static const char *const usage[] = {
    "dbtool schema SUBCOMMAND [OPTIONS] URL...",
    "",
    "Read schemas from pg_catalog (PostgreSQL 13 or later; catalog access is enough):\n"
    "schemas, extensions, types, sequences, tables with their columns, constraints,\n"
    "inheritance and partitions, indexes, views, materialized views, functions,\n"
    "procedures, aggregates, triggers, event triggers, row-level security and policies,\n"
    "privileges, default privileges and comments. System schemas and the objects of\n"
    "extensions are left out; owners too unless --owner.",
    "Exit status: 0 success (diff: no differences), 1 differences (diff only),\n"
    "3 a missing URL, 9 bad usage, 13 a database could not be read.",
    "Run 'dbtool schema SUBCOMMAND --help' for a subcommand's options.",
    NULL};

static int owner;

/* Exactly WANT URLs: fewer is a missing argument (3), more a usage error (9). */
static void url_args(const char *const *u, int argc, char **argv, int want)
{
    if (argc > want)
        usage_die(u, "unexpected argument '%s'", argv[want]);
    if (argc < want)
        die(EXIT_MISSING, "missing the %s URL (see --help)",
            want == 1 ? "database" : argc ? "TO" : "FROM");
}

static struct catalog *read_or_die(const char *url)
{
    struct catalog_options o = {.owner = owner};
    struct catalog *cat;
    if (catalog_read_url(url, &o, &cat) < 0) {
        char *masked = pg_mask_url(url);
        die(EXIT_BUG, "cannot read the schema of '%s'", masked);
    }
    return cat;
}

static int sub_dump(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "dbtool schema dump [--owner] URL",
        "",
        "Print the canonical text of the schema: one object after another, sorted by kind\n"
        "and name, its attributes indented below it, no OIDs; multi-line text (function\n"
        "bodies, view definitions) as '| ' lines. Equal texts mean equal schemas; compare\n"
        "two with diff -u.",
        NULL};
    const struct option opts[] = {
        OPT_BOOL(0, "owner", &owner, "include owners"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    url_args(u, argc, argv, 1);
    struct catalog *cat = read_or_die(argv[0]);
    struct strbuf sb = STRBUF_INIT;
    catalog_dump(cat, &sb);
    fwrite(sb.buf, 1, sb.len, stdout);
    strbuf_release(&sb);
    catalog_free(cat);
    return 0;
}

static int sub_hash(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "dbtool schema hash [--owner] URL",
        "",
        "Print the lower-case hex SHA-256 of the canonical text ('dbtool schema dump').",
        NULL};
    const struct option opts[] = {
        OPT_BOOL(0, "owner", &owner, "include owners"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    url_args(u, argc, argv, 1);
    struct catalog *cat = read_or_die(argv[0]);
    char hex[SHA256_HEX_LEN];
    catalog_hash(cat, hex);
    printf("%s\n", hex);
    catalog_free(cat);
    return 0;
}

static int sub_diff(int argc, char **argv, const struct settings *s)
{
    static const char *const u[] = {
        "dbtool schema diff [--format sql|json] [--owner] [--plain-constraints] [--blocking-indexes]\n"
        "                   FROM TO",
        "",
        "Print the DDL that turns the schema of database FROM into the schema of database TO\n"
        "(both URLs). Drops come first (dependents before what they depend on), then\n"
        "creations and alterations (dependencies first), then the old copies of re-created\n"
        "types and default privileges. Objects are altered where PostgreSQL can (columns,\n"
        "defaults, constraints, enum values, CREATE OR REPLACE of functions and of views\n"
        "whose columns are only appended, ...), otherwise dropped and created again with\n"
        "whatever depends on them. Renames are not guessed: a drop and a create.",
        "Safe by default: foreign keys and CHECKs on existing tables are added NOT VALID and\n"
        "validated after, SET NOT NULL goes through a validated CHECK, indexes (and UNIQUE or\n"
        "PRIMARY KEY) on existing tables are built CONCURRENTLY outside a transaction.",
        "SQL output runs as is with psql -f or dbtool sql -f: statements in BEGIN/COMMIT\n"
        "blocks, and between them those that must run outside a transaction (CONCURRENTLY,\n"
        "VALIDATE CONSTRAINT, a new enum value later statements use). Hazards (data-loss,\n"
        "table-rewrite, full-scan-under-lock, blocking-index-build, mass-drop) are printed\n"
        "as SQL comments above their statements and, as a report, on stderr, with notes on\n"
        "what the DDL cannot do (a column order that differs).",
        "Exit status: 0 no difference, 1 differences, 3 a missing URL, 9 bad usage,\n"
        "13 a database could not be read.",
        NULL};
    const char *format = "sql";
    int plain = 0, blocking = 0;
    const struct option opts[] = {
        OPT_STRING(0, "format", &format, "sql|json", "output format (default sql)"),
        OPT_BOOL(0, "owner", &owner, "compare owners too"),
        OPT_BOOL(0, "plain-constraints", &plain, "add FK/CHECK and SET NOT NULL in one statement"),
        OPT_BOOL(0, "blocking-indexes", &blocking, "build indexes without CONCURRENTLY"),
        OPT_END(),
    };
    argc = parse_options(argc, argv, opts, u, 0);
    if (strcmp(format, "sql") && strcmp(format, "json"))
        usage_die(u, "unknown format '%s' (sql or json)", format);
    url_args(u, argc, argv, 2);
    struct catalog *from = read_or_die(argv[0]), *to = read_or_die(argv[1]);
    struct sqldiff_options o = {.plain_constraints = plain, .blocking_indexes = blocking};
    struct sqldiff diff;
    struct strbuf sb = STRBUF_INIT, report = STRBUF_INIT;
    size_t n = sqldiff_compute(from, to, &o, &diff);
    if (!strcmp(format, "json"))
        sqldiff_format_json(&diff, &sb);
    else
        sqldiff_format_sql(&diff, &sb);
    fwrite(sb.buf, 1, sb.len, stdout);
    sqldiff_format_hazards(&diff, &report);
    fflush(stdout);
    fwrite(report.buf, 1, report.len, stderr);
    strbuf_release(&sb);
    strbuf_release(&report);
    sqldiff_release(&diff);
    catalog_free(from);
    catalog_free(to);
    return n ? 1 : 0;
}

int cmd_schema(int argc, char **argv, const struct settings *s)
{
    const struct option opts[] = {OPT_END()};
    const struct subcommand *sub =
        parse_subcommand(&argc, &argv, opts, usage, subcommands, ARRAY_SIZE(subcommands));
    return sub->fn(argc, argv, s);
}
