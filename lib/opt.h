/*
 * opt.h — one declarative option table per command and one parser
 * (git's parse-options, trimmed). Help text is printed from the table.
 */
#ifndef DBTOOL_OPT_H
#define DBTOOL_OPT_H

#include "lib/common.h"

struct settings;

enum opt_type { OPT_END_, OPT_BOOL_, OPT_STRING_, OPT_INT_, OPT_CALLBACK_, OPT_LIST_ };

struct option {
    enum opt_type type;
    int short_name;        /* 0 when none */
    const char *long_name; /* NULL when none */
    void *value;           /* int*, const char**, struct strvec*, or callback data */
    const char *argh;      /* argument name in help; NULL for flags */
    const char *help;
    /* OPT_CALLBACK_: called with the argument (NULL for flags); non-zero = usage error */
    int (*callback)(const struct option *opt, const char *arg);
};

#define OPT_BOOL(s, l, v, h) {OPT_BOOL_, (s), (l), (v), NULL, (h), NULL}
#define OPT_STRING(s, l, v, a, h) {OPT_STRING_, (s), (l), (v), (a), (h), NULL}
#define OPT_INT(s, l, v, a, h) {OPT_INT_, (s), (l), (v), (a), (h), NULL}
#define OPT_LIST(s, l, v, a, h) {OPT_LIST_, (s), (l), (v), (a), (h), NULL}
#define OPT_CALLBACK(s, l, v, a, h, cb) {OPT_CALLBACK_, (s), (l), (v), (a), (h), (cb)}
#define OPT_END() {OPT_END_, 0, NULL, NULL, NULL, NULL, NULL}

enum {
    /* stop at the first non-option (subcommand fronts) */
    PARSE_OPT_STOP_AT_NON_OPTION = 1,
    /* keep unknown options among the non-options (in order) for the caller to judge */
    PARSE_OPT_KEEP_UNKNOWN = 2,
};

/*
 * Parse ARGV[1..] against OPTS. Non-options are kept, compacted into argv[0..]
 * (argv[0] is dropped); returns their count. -h/--help prints the usage and
 * exits 0; --version (unless OPTS has its own) prints "PROG (dbtool) VERSION"
 * and exits 0; an unknown option or a missing/invalid argument exits 9, with
 * "did you mean '--x'?" when a long option is one typo away.
 * USAGE is a NULL-terminated list: first the synopsis lines, then "" and
 * free text paragraphs.
 *
 * ARGH names the value in help and tells the generated completions what to
 * offer: "DIR" (and "*_DIR", "*PATH") directories, "FILE" files, and a list
 * "a|b|c" exactly those words (e.g. OPT_STRING(0, "format", &f, "text|json", ...)).
 *
 * OPT_DESCRIBE ("--dbtool-describe", hidden) prints the level's tables for
 * nix/gen-docs.sh and exits 0: "usage\tLINE", "text\tPARAGRAPH" (newlines as
 * \n), "option\tSHORT\tLONG\tARGH\tHELP" and, at a front door,
 * "sub\tNAME\tSUMMARY" — man pages and completions are made from that.
 */
int parse_options(int argc, char **argv, const struct option *opts, const char *const *usage,
                  int flags);

/* Print usage + option help to stdout (through $PAGER on a terminal) and exit 0. */
NORETURN void usage_with_options(const char *const *usage, const struct option *opts);
/* Append the formatted help to SB. */
void usage_format(struct strbuf *sb, const char *const *usage, const struct option *opts);
/* "prog: error: MSG" + "usage: ..." hint to stderr, exit 9. */
NORETURN void usage_die(const char *const *usage, const char *fmt, ...) PRINTF(2, 3);
/* --format FORMAT of a command with text and JSON output: true for json; usage_die for anything else. */
bool opt_format_json(const char *const *usage, const char *format);

/* The hidden option that prints a level's tables (see parse_options). */
#define OPT_DESCRIBE "--dbtool-describe"

/* Flags of a subcommand (git's RUN_SETUP, per subcommand). */
enum {
    /* needs the project: LOCAL_DIR must name an existing directory (the applet checks) */
    SUB_NEED_PROJECT = 1 << 0,
    /* left out of the help list and the completions (aliases) */
    SUB_HIDDEN = 1 << 1,
};

/* A subcommand of an applet with a front door (database, bundle, migrator). */
struct subcommand {
    const char *name;
    /* argv[0] is the subcommand's name; S the applet's settings */
    int (*fn)(int argc, char **argv, const struct settings *s);
    const char *summary;
    unsigned flags; /* SUB_* */
};

/*
 * The front door of an applet with subcommands. Parses the applet's own OPTS
 * up to the subcommand; -h/--help there (or `help` alone) prints USAGE, the
 * options and the subcommand list (stdout, exit 0); `help SUB` is `SUB
 * --help`; no subcommand prints them to stderr and exits 1; an unknown
 * subcommand exits 9, naming the closest one when it is a typo away ("did
 * you mean"). Returns the subcommand, with ARGC and ARGV then starting at
 * its name.
 */
const struct subcommand *parse_subcommand(int *argc, char ***argv, const struct option *opts,
                                          const char *const *usage, const struct subcommand *subs,
                                          size_t nsubs);
/*
 * Print the tables of a level as OPT_DESCRIBE does (for a front door that
 * parses its commands itself: the migrator) and exit 0.
 */
NORETURN void opt_describe(const char *const *usage, const struct option *opts, const struct subcommand *subs,
                           size_t nsubs);

/* Whether -h/--help (or --dbtool-describe) appears among ARGV[1..] (before any "--"). */
bool args_want_help(int argc, char **argv);

/*
 * The candidate closest to WORD by edit distance (git's "did you mean"), when
 * it is close enough to be a typo (at most 2 edits and fewer than half of
 * WORD's letters) or WORD is a prefix of exactly one candidate; else NULL.
 * CANDS has N entries (NULL entries are skipped).
 */
const char *opt_suggest(const char *word, const char *const *cands, size_t n);
/* Levenshtein distance of A and B (SIZE_MAX for strings longer than 64 bytes). */
size_t opt_edit_distance(const char *a, const char *b);


#endif
