/*
 * code_int.h — shared by the files of schema as code: code.c (commands,
 * helpers), code_plan.c, code_catalog.c, code_show.c, code_run.c,
 * code_watch.c. Not an API: see code.h.
 */
#ifndef DBTOOL_CODE_INT_H
#define DBTOOL_CODE_INT_H

#include "ops/code.h"
#include "lib/codeobj.h"
#include <libpq-fe.h>

/* One row of hectic.code_object. */
struct code_row {
    char *identity, *kind, *file;
    char *schema, *name;           /* object_schema, object_name */
    unsigned line;
    char sha[SHA256_HEX_LEN], file_sha[SHA256_HEX_LEN];
    struct strvec depends, body_depends;
    char *ctype, *cidentity;       /* pg_identify_object(): type, identity */
    char *atype;                   /* pg_identify_object_as_address(): type ... */
    struct strvec anames, aargs;   /* ... names, args */
    char *drop_sql;
    bool used;                     /* matched with a unit */
    bool missing;                  /* its object is not in the catalog */
};

/* What the plan knows about one unit (parallel to cs.units). */
struct code_uinfo {
    bool exists;              /* the catalog has it (looked up for new, changed, removed ones) */
    unsigned classid, objid;
    char *ckey;               /* "type identity" of its catalog object (state or lookup) */
    bool adopt;               /* new, but an object of that name exists: dropped, created */
    bool affected;            /* depends on something dropped: dropped, created again */
    bool acted;               /* a pending migration acts on it itself (DROP, RENAME ...) */
    bool target;              /* acted, or depends on one: dropped if still there and created
                                 again after the migrations (the migration may need it before) */
    bool in_place;            /* changed, written CREATE OR REPLACE: replaced, not dropped */
    bool drop, create;        /* in the drop / create phase */
    char *reason;             /* why affected / target */
    /* after creation */
    bool created;
    unsigned nclassid, nobjid;
    char *nctype, *ncid, *natype;
    struct strvec nnames, nargs;
    struct strvec learnt;     /* pg_depend dependencies on code objects the parse did not see */
};

struct code_ckey {
    const char *key;
    size_t unit;
};

struct code_run_opts {
    const char *code_dir;
    bool migrations;                  /* pending migrations are part of it */
    const char *migration_dir;        /* scanned when FOLDER is NULL */
    const struct mig_folder *folder;  /* the caller's scanned folder (migrator) */
    const struct mig_request *req;    /* NULL: up all */
    const struct mig_opts *mig;       /* vars, force, accept_changed, verbose, out */
    bool stateless;                   /* no hectic bundle: create everything, record nothing */
    bool plan_only;
    bool watch;                       /* one timed line per object on stdout */
    bool quiet;                       /* only errors and a summary */
    const char *label;                /* message prefix: "apply", "hydrate", "migrate", "watch" */
    struct strvec *said;              /* notes already printed (watch: each said once) */
    struct code_hash_cache *hash_cache; /* file hashes kept across plans (watch) */
    const char *known_schema;         /* current_schema(), when the caller knows hectic.code_object exists */
};

struct code_plan {
    const struct code_run_opts *o;
    struct code_set cs;
    struct code_uinfo *ui;
    size_t ui_nr;
    struct code_row *rows;
    size_t rows_nr;
    bool have_state; /* hectic.code_object exists */
    /* migrations */
    struct mig_folder own_folder;
    bool own_folder_set;
    const struct mig_folder *folder;
    struct mig_db db;
    struct mig_plan steps;
    struct code_mig *eff; /* per step */
    struct strvec accept_names, accept_hashes; /* --accept-changed */
    bool split;           /* a step cannot run inside the one transaction */
    char *split_why;
    /* code */
    size_t (*extra)[2];   /* order edges {before, after} the parse did not give */
    size_t nextra, aextra;
    size_t (*drop_edges)[2];
    size_t ndrop_edges, adrop_edges;
    struct code_ckey *ckeys;
    size_t nckeys;
    size_t *drops, ndrops;     /* unit indices, dependents first */
    size_t *creates, ncreates; /* unit indices, dependencies first */
    size_t nnew, nchanged, nmoved, nremoved, naffected;
    size_t nrefresh;           /* unchanged objects of changed files: their file hash is recorded */
    size_t nmissing;           /* recorded, but gone from the catalog: created again */
    struct strvec notes;       /* said once: statements not analysed, unknown body refs */
    struct strvec lines;       /* watch: what is printed after the commit */
};

/* One object being walked in the pg_depend closure. */
struct walk {
    unsigned classid, objid;
    int subid;
    bool from_code; /* a code object or a part of one: its outside dependents are errors */
    long owner;     /* the unit it is (a part of), -1 */
    char *desc;     /* for reasons: "table public.orders (ALTER COLUMN amount TYPE in migration X)" */
    bool via_target; /* reached from a code object a pending migration acts on itself */
};

/* code.c: small helpers */
/* A text[] literal of SV: {"a","b"}. */
void code_array_lit(struct strbuf *sb, const struct strvec *sv);
/* Parse a one-dimensional text[] (or int[]) literal as PostgreSQL prints it. 0 or -1. */
int code_array_parse(const char *s, struct strvec *out);
/* PQexecParams with text parameters; prints the error (WHAT: its prefix). NULL on failure. */
PGresult *code_query(PGconn *conn, const char *sql, int n, const char *const *params,
                     ExecStatusType want, const char *what);
unsigned code_oid(const char *s);

/* code_catalog.c */
/* The unit whose catalog object is KEY ("type identity"), or -1 (after code_index_ckeys()). */
long code_unit_by_ckey(const struct code_plan *p, const char *key);
/* Index the units' catalog keys (ui[].ckey) for code_unit_by_ckey(). */
void code_index_ckeys(struct code_plan *p);
/*
 * Look up the catalog objects of the units WHICH[0..N) by their addresses
 * (the state's, or the parse's for new units): exists/classid/objid/ckey,
 * or with NEW_INFO (after creation) the n* fields. 0 or -1.
 */
int code_lookup_units(PGconn *conn, struct code_plan *p, const size_t *which, size_t n,
                      bool new_info);
/* Refs to nothing in the code directory: the database or a pending migration must have them. */
int code_check_external(PGconn *conn, struct code_plan *p);
void code_walk_push(struct walk **v, size_t *nr, size_t *alloc, struct walk w);
/* Walk pg_depend from FRONT (taken over); the number of errors, -1 on a query failure. */
int code_closure(PGconn *conn, struct code_plan *p, struct walk *front, size_t nfront);
/* The catalog objects the pending migrations break, as walk starts. 0 or -1. */
int code_migration_starts(PGconn *conn, struct code_plan *p, struct walk **front, size_t *nfront,
                          size_t *afront);
/* After the creates: catalog identities and pg_depend dependencies the parse did not see. 0/-1. */
int code_check_created(PGconn *conn, struct code_plan *p);

/* code_show.c */
/* "new", "changed", "re-create" ... for unit I, NULL when unchanged. */
const char *code_status_word(const struct code_plan *p, size_t i);
/* "DROP VIEW x" -> "DROP VIEW IF EXISTS x" (malloc'd). */
char *code_drop_if_exists(const char *drop_sql);
/* The file a migration step runs. */
const char *code_mig_path(const struct mig_step *s);
void code_print_text(const struct code_plan *p, FILE *f);
void code_print_json(const struct code_plan *p, FILE *f);

/* code_plan.c */
enum mig_status code_plan_build(PGconn *conn, struct code_plan *p, const struct code_run_opts *o,
                                int *code_errors);
/* Whether the schema changes (what `plan` exits 1 for). */
bool code_plan_has_work(const struct code_plan *p);
/* ... or at least the state table (file hashes) is written. */
bool code_plan_has_writes(const struct code_plan *p);
void code_plan_release(struct code_plan *p);

/* How a run ended. */
enum code_run_status {
    CODE_RUN_OK,
    CODE_RUN_MIG_FAILED, /* a migration failed: rolled back */
    CODE_RUN_OBJ_FAILED, /* a code object failed: rolled back */
    CODE_RUN_ERROR,      /* anything else */
};
/* Run plan P on CONN (idle, under the migrator lock). */
enum code_run_status code_plan_run(PGconn *conn, struct code_plan *p);

/* Print the plan's notes (those not in o->said), and remember them there. */
void code_print_notes(const struct code_plan *p);
/* The hectic bundle at this version with its code part; applied when not. 0 or -1. */
int code_ensure_bundle(PGconn *conn, const char *inheritance_sql);

#endif
