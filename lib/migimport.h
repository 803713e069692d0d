/*
 * migimport.h — other tools' migration formats, read into one model that
 * `migrator import` (ops/migimport.c) writes in dbtool's layout. Pure code:
 * text in, structures out, no I/O (the fuzz target drives it directly).
 *
 * Formats:
 *   dbmate          VERSION_name.sql; "-- migrate:up" and "-- migrate:down"
 *                   sections, each optionally "transaction:false"
 *   golang-migrate  VERSION_name.up.sql / VERSION_name.down.sql; also pop and
 *                   ory/x: a dialect before the direction (.postgres., .mysql.,
 *                   .sqlite3., .cockroach., .all.) and ".autocommit." for a
 *                   migration that runs outside a transaction; .fizz is Pop's DSL
 *   goose           VERSION_name.sql with "-- +goose Up" / "-- +goose Down",
 *                   "-- +goose NO TRANSACTION", "-- +goose StatementBegin/End";
 *                   VERSION_name.go is Go code
 *   flyway          V<version>__<description>.sql (version parts separated by
 *                   '.' or '_'), U<version>__... the undo, R__... repeatable,
 *                   NAME.sql.conf with executeInTransaction=false
 *   sqitch          sqitch.plan (changes in order, tags, reworked changes) with
 *                   deploy/CHANGE.sql, revert/CHANGE.sql, verify/CHANGE.sql
 */
#ifndef DBTOOL_MIGIMPORT_H
#define DBTOOL_MIGIMPORT_H

#include "lib/common.h"

enum imp_tool { IMP_DBMATE, IMP_GOLANG_MIGRATE, IMP_GOOSE, IMP_FLYWAY, IMP_SQITCH, IMP__N };

/* The tool named NAME ("dbmate", "golang-migrate" or "migrate", "goose", "flyway", "sqitch"), or -1. */
int imp_tool_lookup(const char *name);
const char *imp_tool_name(enum imp_tool t);

/* One migration of the source, as read. */
struct imp_mig {
    char *version;   /* as the tool wrote it: "20151129054053", "1.1", "000001", a sqitch timestamp */
    char *label;     /* the label for dbtool's name (sanitised) */
    char *source;    /* where it came from, for the report ("V1_1__init.sql", "sqitch.plan:12 users") */
    char *up, *down; /* SQL text; NULL: none */
    bool no_tx;      /* runs outside a transaction */
    char *name;      /* dbtool's name, set by imp_map_names() */
    struct strvec notes; /* what was changed on the way ("the BEGIN/COMMIT around it was dropped") */
};

/* What the source holds. */
struct imp_set {
    struct imp_mig *v;
    size_t nr, alloc;
    struct strvec unmapped; /* "SOURCE: why" for what cannot be carried over */
    struct strvec notes;    /* "SOURCE: ..." worth knowing, nothing lost */
};

/* A new migration in SET (fields copied; up/down may be NULL). */
struct imp_mig *imp_add(struct imp_set *set, const char *version, const char *label, const char *source);
void imp_set_release(struct imp_set *set);

/*
 * A file name of TOOL (golang-migrate, goose, flyway): *version, *label
 * (malloc'd), *kind: 'u' up, 'd' down (golang-migrate, flyway U), 'r' flyway
 * repeatable, 'g' goose Go file, 'f' Pop fizz, 's' single-file (dbmate,
 * goose SQL). *dialect (golang-migrate; malloc'd or NULL) and *autocommit.
 * 0, or -1 when NAME is not one of TOOL's migration file names.
 */
int imp_parse_filename(enum imp_tool tool, const char *name, char **version, char **label, char *kind,
                       char **dialect, bool *autocommit);

/*
 * Split a dbmate file into its sections. *up / *down are malloc'd (NULL when
 * absent), *up_notx / *down_notx from "transaction:false". 0, or -1 with *err
 * (malloc'd) when there is no "-- migrate:up".
 */
int imp_dbmate_split(const char *text, char **up, char **down, bool *up_notx, bool *down_notx, char **err);
/*
 * Split a goose SQL file: "-- +goose Up" / "Down" sections, StatementBegin/End
 * markers dropped, NO TRANSACTION in *notx, ENVSUB in *envsub. 0 or -1 with *err.
 */
int imp_goose_split(const char *text, char **up, char **down, bool *notx, bool *envsub, char **err);
/* Whether a Flyway .sql.conf says executeInTransaction=false. */
bool imp_flyway_conf_notx(const char *text);
/* Whether SQL uses Flyway placeholders ${name}; *first gets the first (malloc'd). */
bool imp_flyway_placeholders(const char *sql, char **first);

/* One change of a sqitch plan, in plan order. */
struct imp_sqitch_change {
    char *name;
    char *script;  /* the scripts' base name: NAME, or NAME@TAG for an earlier version of a reworked change */
    char *stamp;   /* YYYYMMDDHHMMSS from the plan's timestamp, or NULL */
    char *note;
    unsigned line;
};
struct imp_sqitch_plan {
    struct imp_sqitch_change *v;
    size_t nr, alloc;
};
/* Parse sqitch.plan TEXT. 0, or -1 with *err (malloc'd, "sqitch.plan:LINE: ..."). */
int imp_sqitch_parse(const char *text, struct imp_sqitch_plan *plan, char **err);
void imp_sqitch_release(struct imp_sqitch_plan *plan);

/*
 * A BEGIN ... COMMIT around a whole script is dropped (each dbtool migration
 * is one transaction already): returns the new text (malloc'd) and sets
 * *what to "dropped"; any other transaction control makes the script one
 * that manages its own transactions: *what "own", text unchanged (the caller
 * declares transaction: false). Otherwise *what NULL and a copy. Read with
 * lib/parse.
 */
char *imp_strip_tx(const char *sql, const char **what);

/*
 * Give every migration of SET a dbtool name YYYYMMDDHHMMSS-label, in the
 * order of SET (which the caller has sorted): a 14-digit version that is a
 * valid UTC timestamp is kept, a longer one whose first 14 digits are one is
 * cut, a number of up to 10 digits is that many seconds after 1970-01-01
 * (unix times and sequence numbers alike), anything else follows the one
 * before; a name that would not be later than the previous one is moved one
 * second after it. Names are unique and in SET's order.
 */
void imp_map_names(struct imp_set *set);

/* Compare two versions as numbers (digit runs compared by value, separators '.' '_' alike). */
int imp_version_cmp(const char *a, const char *b);

#endif
