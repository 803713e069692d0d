/*
 * code_plan.c — building a plan: the state, the pending migrations, the files, what
 * changes and what depends on it, the orders (see code.h).
 */
#include "ops/code.h"
#include "ops/code_int.h"
#include "lib/fs.h"
#include "lib/pg.h"

#define NS "code"

/* ---- the state table -------------------------------------------------------------- */

static void row_release(struct code_row *r)
{
    free(r->identity);
    free(r->kind);
    free(r->file);
    free(r->schema);
    free(r->name);
    strvec_clear(&r->depends);
    strvec_clear(&r->body_depends);
    free(r->ctype);
    free(r->cidentity);
    free(r->atype);
    strvec_clear(&r->anames);
    strvec_clear(&r->aargs);
    free(r->drop_sql);
}

/*
 * Whether a row's object is still in the catalog (someone may have dropped
 * it by hand): a missing one is created again. By its address (one index
 * lookup each); an object dropped and made again by hand has another
 * address and counts as missing too (it is then dropped and created from
 * its file).
 */
#define PRESENT_SQL                                                                                \
    "CASE WHEN catalog_objid IS NULL THEN true"                                                    \
    " WHEN catalog_classid = 'pg_class'::regclass"                                                \
    "   THEN EXISTS (SELECT FROM pg_class c WHERE c.oid = catalog_objid)"                          \
    " WHEN catalog_classid = 'pg_proc'::regclass"                                                 \
    "   THEN EXISTS (SELECT FROM pg_proc c WHERE c.oid = catalog_objid)"                           \
    " WHEN catalog_classid = 'pg_type'::regclass"                                                 \
    "   THEN EXISTS (SELECT FROM pg_type c WHERE c.oid = catalog_objid)"                           \
    " WHEN catalog_classid = 'pg_trigger'::regclass"                                              \
    "   THEN EXISTS (SELECT FROM pg_trigger c WHERE c.oid = catalog_objid)"                        \
    " WHEN catalog_classid = 'pg_policy'::regclass"                                               \
    "   THEN EXISTS (SELECT FROM pg_policy c WHERE c.oid = catalog_objid)"                         \
    " ELSE true END"

static int read_state(PGconn *conn, struct code_plan *p)
{
    PGresult *r = code_query(conn,
                        "SELECT identity, kind, file, line, sha256, file_sha256, depends, body_depends,"
                        " catalog_type, catalog_identity, address_type, address_names, address_args,"
                        " drop_sql, object_schema, object_name, " PRESENT_SQL
                        " FROM hectic.code_object ORDER BY file, line, identity",
                        0, NULL, PGRES_TUPLES_OK, "cannot read hectic.code_object");
    if (!r)
        return -1;
    int n = PQntuples(r);
    p->rows = xcalloc((size_t)n + 1, sizeof(*p->rows));
    p->rows_nr = (size_t)n;
    for (int i = 0; i < n; i++) {
        struct code_row *w = &p->rows[i];
        w->identity = xstrdup(PQgetvalue(r, i, 0));
        w->kind = xstrdup(PQgetvalue(r, i, 1));
        w->file = xstrdup(PQgetvalue(r, i, 2));
        w->line = (unsigned)strtoul(PQgetvalue(r, i, 3), NULL, 10);
        snprintf(w->sha, sizeof(w->sha), "%s", PQgetvalue(r, i, 4));
        snprintf(w->file_sha, sizeof(w->file_sha), "%s", PQgetvalue(r, i, 5));
        code_array_parse(PQgetvalue(r, i, 6), &w->depends);
        code_array_parse(PQgetvalue(r, i, 7), &w->body_depends);
        w->ctype = PQgetisnull(r, i, 8) ? NULL : xstrdup(PQgetvalue(r, i, 8));
        w->cidentity = PQgetisnull(r, i, 9) ? NULL : xstrdup(PQgetvalue(r, i, 9));
        w->atype = PQgetisnull(r, i, 10) ? NULL : xstrdup(PQgetvalue(r, i, 10));
        if (!PQgetisnull(r, i, 11))
            code_array_parse(PQgetvalue(r, i, 11), &w->anames);
        if (!PQgetisnull(r, i, 12))
            code_array_parse(PQgetvalue(r, i, 12), &w->aargs);
        w->drop_sql = xstrdup(PQgetvalue(r, i, 13));
        w->schema = PQgetisnull(r, i, 14) ? NULL : xstrdup(PQgetvalue(r, i, 14));
        w->name = PQgetisnull(r, i, 15) ? NULL : xstrdup(PQgetvalue(r, i, 15));
        w->missing = strcmp(PQgetvalue(r, i, 16), "t") != 0;
    }
    PQclear(r);
    return 0;
}

/* A unit of CS described by state row W (status left to the caller). */
static struct code_unit *unit_from_row(struct code_set *cs, const struct code_row *w)
{
    int k = code_kind_lookup(w->kind);
    struct code_unit *u = code_unit_new(cs, w->identity, k < 0 ? CODE_STATEMENT : (enum code_kind)k);
    u->file = xstrdup(w->file);
    u->line = w->line;
    memcpy(u->sha256, w->sha, sizeof(u->sha256));
    memcpy(u->file_sha256, w->file_sha, sizeof(u->file_sha256));
    for (size_t i = 0; i < w->depends.nr; i++)
        strvec_push(&u->depends, w->depends.v[i]);
    for (size_t i = 0; i < w->body_depends.nr; i++)
        strvec_push(&u->body_depends, w->body_depends.v[i]);
    u->drop_sql = xstrdup(w->drop_sql);
    if (w->schema && w->name) {
        u->schema = xstrdup(w->schema);
        u->name = xstrdup(w->name);
    }
    if (w->atype) {
        u->addr_type = xstrdup(w->atype);
        for (size_t i = 0; i < w->anames.nr; i++)
            strvec_push(&u->addr_names, w->anames.v[i]);
        for (size_t i = 0; i < w->aargs.nr; i++)
            strvec_push(&u->addr_args, w->aargs.v[i]);
    }
    return u;
}

/* ---- plan --------------------------------------------------------------------------- */

void code_plan_release(struct code_plan *p)
{
    for (size_t i = 0; i < p->ui_nr; i++) {
        struct code_uinfo *x = &p->ui[i];
        free(x->ckey);
        free(x->reason);
        free(x->nctype);
        free(x->ncid);
        free(x->natype);
        strvec_clear(&x->nnames);
        strvec_clear(&x->nargs);
        strvec_clear(&x->learnt);
    }
    free(p->ui);
    for (size_t i = 0; i < p->rows_nr; i++)
        row_release(&p->rows[i]);
    free(p->rows);
    code_set_release(&p->cs);
    for (size_t i = 0; i < p->steps.nr; i++)
        code_mig_release(&p->eff[i]);
    free(p->eff);
    mig_plan_release(&p->steps);
    mig_db_release(&p->db);
    if (p->own_folder_set)
        mig_folder_release(&p->own_folder);
    strvec_clear(&p->accept_names);
    strvec_clear(&p->accept_hashes);
    free(p->drops);
    free(p->creates);
    free(p->extra);
    free(p->drop_edges);
    free(p->ckeys);
    free(p->split_why);
    strvec_clear(&p->notes);
    strvec_clear(&p->lines);
    memset(p, 0, sizeof(*p));
}

/* The migrations part: folder, history, changed hashes, steps and what each one breaks. */
static enum mig_status plan_migrations(PGconn *conn, struct code_plan *p)
{
    const struct code_run_opts *o = p->o;
    if (!o->migrations)
        return MIG_AT_TARGET;
    if (o->folder) {
        p->folder = o->folder;
    } else {
        if (!o->migration_dir || !is_dir(o->migration_dir))
            return MIG_AT_TARGET;
        if (mig_scan(o->migration_dir, &p->own_folder) < 0)
            return MIG_ERROR;
        p->own_folder_set = true;
        p->folder = &p->own_folder;
    }
    if (mig_db_read(conn, &p->db) < 0)
        return MIG_ERROR;
    const char *a = NULL, *b = NULL;
    long pos = mig_history_check(p->folder, &p->db, &a, &b);
    bool force = o->mig && o->mig->force, accept = o->mig && o->mig->accept_changed;
    if (pos >= 0) {
        error("migration history mismatch at position %ld: applied '%s', folder '%s'", pos + 1,
              a ? a : "(none)", b ? b : "(none)");
        mig_history_report(stderr, p->folder, &p->db, pos);
        if (!force) {
            error("the applied migrations must be the first ones of the folder, in order; nothing was "
                  "changed (restore the missing folders, or pass --force to go on anyway)");
            return MIG_MISMATCH;
        }
        warn("*** --force: going on past the history mismatch at position %ld ***", pos + 1);
    }
    int nchanged = mig_changed(p->folder, &p->db, &p->accept_names, &p->accept_hashes);
    if (nchanged < 0)
        return MIG_ERROR;
    if (nchanged > 0 && !accept) {
        for (size_t i = 0; i < p->accept_names.nr; i++) {
            const struct mig *m = mig_find(p->folder, p->accept_names.v[i]);
            const struct mig_applied *ap = mig_db_find(&p->db, p->accept_names.v[i]);
            error("applied migration '%s' changed: %s hashes to %s, recorded %s",
                  p->accept_names.v[i], m ? m->up : "?", p->accept_hashes.v[i], ap ? ap->hash : "?");
        }
        error("refusing to migrate while %d applied migration%s changed: restore the file%s, or "
              "pass --accept-changed to record the new hash%s",
              nchanged, nchanged == 1 ? " is" : "s are", nchanged == 1 ? "" : "s",
              nchanged == 1 ? "" : "es");
        return MIG_CHANGED;
    }
    if (!accept) {
        strvec_clear(&p->accept_names);
        strvec_clear(&p->accept_hashes);
    }
    struct mig_request up_all = {MIG_REQ_UP, 0, NULL};
    if (!o->req) {
        /* up all: nothing pending is no news here (mig_plan would say so) */
        size_t pending = 0;
        for (size_t i = 0; i < p->folder->nr; i++)
            pending += p->folder->v[i].up && !mig_db_find(&p->db, p->folder->v[i].name);
        if (!pending)
            return MIG_AT_TARGET;
    }
    enum mig_status st = mig_plan(p->folder, &p->db, o->req ? o->req : &up_all, &p->steps);
    if (st != MIG_OK)
        return st == MIG_AT_TARGET && o->plan_only ? MIG_AT_TARGET : st;
    p->eff = xcalloc(p->steps.nr + 1, sizeof(*p->eff));
    for (size_t i = 0; i < p->steps.nr; i++) {
        const struct mig_step *s = &p->steps.v[i];
        const char *path = s->down ? s->m->down : s->m->up;
        if (s->m->no_tx && !p->split) {
            p->split = true;
            p->split_why = xasprintf("migration %s is declared 'transaction: false' in " MIG_META_FILE,
                                     s->m->name);
        }
        if (!path)
            continue; /* mig_run_step says why */
        if (code_mig_analyse(path, &p->eff[i]) < 0)
            return MIG_ERROR;
        for (size_t k = 0; k < p->eff[i].notes.nr; k++)
            strvec_push(&p->notes, p->eff[i].notes.v[k]);
        if (p->eff[i].tx_control && !p->split) {
            p->split = true;
            p->split_why = xasprintf("migration %s controls its transaction itself (%s)", s->m->name,
                                     p->eff[i].tx_control);
        }
    }
    return MIG_OK;
}

/* Load the statements of the unloaded unit U from its (unchanged) file. */
static int load_text(struct code_plan *p, struct code_unit *u)
{
    struct code_set tmp;
    code_set_init(&tmp, p->cs.dir, p->cs.schema);
    const struct code_file *f = code_file_find(&p->cs, u->file);
    int ret = -1;
    if (!f) {
        error("%s: the file of %s is gone", u->file, u->identity);
        goto out;
    }
    ALLOC_GROW(tmp.files, 1, tmp.files_alloc);
    tmp.files_nr = 1;
    tmp.files[0] = (struct code_file){xstrdup(f->path), "", false};
    memcpy(tmp.files[0].sha256, f->sha256, sizeof(f->sha256));
    if (code_parse_file(&tmp, 0) != 0)
        goto out;
    struct code_unit *t = code_unit_find(&tmp, u->identity);
    if (!t || strcmp(t->sha256, u->sha256)) {
        error("%s changed while it was read (%s): run again", u->file, u->identity);
        goto out;
    }
    /* take the text and the parse facts over */
    u->stmts = t->stmts, u->stmts_nr = t->stmts_nr, u->stmts_alloc = t->stmts_alloc;
    t->stmts = NULL, t->stmts_nr = t->stmts_alloc = 0;
    u->refs = t->refs, u->refs_nr = t->refs_nr, u->refs_alloc = t->refs_alloc;
    t->refs = NULL, t->refs_nr = t->refs_alloc = 0;
    if (!u->schema && t->schema) {
        u->schema = t->schema, t->schema = NULL;
        u->name = t->name, t->name = NULL;
        u->args = t->args, t->args = NULL;
        u->table = t->table, t->table = NULL;
        u->table_schema = t->table_schema, t->table_schema = NULL;
    }
    if (!u->addr_type && t->addr_type) {
        u->addr_type = t->addr_type, t->addr_type = NULL;
        u->addr_names = t->addr_names, t->addr_names = (struct strvec)STRVEC_INIT;
        u->addr_args = t->addr_args, t->addr_args = (struct strvec)STRVEC_INIT;
    }
    if (!u->note && t->note)
        u->note = t->note, t->note = NULL;
    u->loaded = true;
    ret = 0;
out:
    code_set_release(&tmp);
    return ret;
}

/* Whether the set has statements that could not be analysed. */
static bool unanalysed(const struct code_set *cs)
{
    for (size_t i = 0; i < cs->units_nr; i++)
        if (cs->units[i].kind == CODE_STATEMENT && cs->units[i].status != CODE_REMOVED)
            return true;
    return false;
}

/*
 * The statements of the units to create whose files were not parsed, as the
 * state recorded them (checked against their hash): no parse needed. A unit
 * whose text is not there (an older row) is left to load_text().
 */
static int fetch_texts(PGconn *conn, struct code_plan *p)
{
    struct code_set *cs = &p->cs;
    struct strvec ids = STRVEC_INIT;
    for (size_t i = 0; i < p->ncreates; i++)
        if (!cs->units[p->creates[i]].loaded && cs->units[p->creates[i]].priv)
            strvec_push(&ids, cs->units[p->creates[i]].identity);
    if (!ids.nr)
        return 0;
    struct strbuf lit = STRBUF_INIT;
    code_array_lit(&lit, &ids);
    strvec_clear(&ids);
    const char *params[1] = {lit.buf};
    PGresult *r = code_query(conn,
                        "SELECT identity, statements, statement_lines FROM hectic.code_object"
                        " WHERE identity = ANY($1::text[])",
                        1, params, PGRES_TUPLES_OK, "cannot read hectic.code_object");
    strbuf_release(&lit);
    if (!r)
        return -1;
    for (int i = 0; i < PQntuples(r); i++) {
        struct code_unit *u = code_unit_find(cs, PQgetvalue(r, i, 0));
        struct strvec st = STRVEC_INIT, sl = STRVEC_INIT;
        struct strbuf lines = STRBUF_INIT;
        if (!u || u->loaded || code_array_parse(PQgetvalue(r, i, 1), &st) < 0 || !st.nr)
            goto next;
        /* int[] prints like a text[] without quotes */
        if (code_array_parse(PQgetvalue(r, i, 2), &sl) < 0 || sl.nr != st.nr)
            goto next;
        for (size_t k = 0; k < st.nr; k++) {
            ALLOC_GROW(u->stmts, u->stmts_nr + 1, u->stmts_alloc);
            u->stmts[u->stmts_nr].sql = xstrdup(st.v[k]);
            u->stmts[u->stmts_nr].line = (unsigned)strtoul(sl.v[k], NULL, 10);
            u->stmts[u->stmts_nr].offset = 0;
            u->stmts_nr++;
        }
        char sha[SHA256_HEX_LEN];
        memcpy(sha, u->sha256, sizeof(sha));
        code_unit_hash(u);
        if (strcmp(sha, u->sha256)) {
            /* not what was recorded: parse the file after all */
            for (size_t k = 0; k < u->stmts_nr; k++)
                free(u->stmts[k].sql);
            u->stmts_nr = 0;
            memcpy(u->sha256, sha, sizeof(sha));
        } else {
            u->loaded = true;
        }
    next:
        strvec_clear(&st);
        strvec_clear(&sl);
        strbuf_release(&lines);
    }
    PQclear(r);
    return 0;
}

/* The code part: files, state, parse, match, resolve. Returns the number of errors, -1 on I/O. */
static int plan_code(struct code_plan *p)
{
    struct code_set *cs = &p->cs;
    int errors = 0;
    if (code_scan(cs) < 0)
        return -1;
    /* a file whose hash the state knows is not parsed: its units are the rows */
    bool *known = xcalloc(cs->files_nr + 1, sizeof(bool));
    bool *stale = xcalloc(cs->files_nr + 1, sizeof(bool));
    for (size_t i = 0; i < p->rows_nr; i++) {
        struct code_file *f = code_file_find(cs, p->rows[i].file);
        if (f && !strcmp(f->sha256, p->rows[i].file_sha))
            known[f - cs->files] = true;
        else if (f)
            stale[f - cs->files] = true;
    }
    /* every row of the file must say so */
    for (size_t i = 0; i < cs->files_nr; i++)
        known[i] = known[i] && !stale[i];
    free(stale);
    for (size_t i = 0; i < p->rows_nr; i++) {
        struct code_row *w = &p->rows[i];
        struct code_file *f = code_file_find(cs, w->file);
        if (f && known[f - cs->files]) {
            struct code_unit *u = unit_from_row(cs, w);
            u->status = CODE_UNCHANGED;
            u->priv = w;
            w->used = true;
        }
    }
    size_t nfiles = cs->files_nr;
    for (size_t i = 0; i < nfiles; i++) {
        if (known[i])
            continue;
        int e = code_parse_file(cs, i);
        if (e < 0) {
            free(known);
            return -1;
        }
        errors += e;
    }
    free(known);
    /* match the parsed units with the rows left */
    size_t nunits = cs->units_nr;
    for (size_t i = 0; i < nunits; i++) {
        struct code_unit *u = &cs->units[i];
        if (!u->loaded)
            continue;
        for (size_t k = 0; k < p->rows_nr; k++) {
            struct code_row *w = &p->rows[k];
            if (w->used || strcmp(w->identity, u->identity))
                continue;
            w->used = true;
            u->priv = w;
            if (strcmp(w->sha, u->sha256))
                u->status = CODE_CHANGED;
            else if (strcmp(w->file, u->file) || w->line != u->line)
                u->status = CODE_MOVED;
            else
                u->status = CODE_UNCHANGED;
            /* the file changed around it: only its file hash is recorded */
            if (u->status == CODE_UNCHANGED && strcmp(w->file_sha, u->file_sha256))
                p->nrefresh++;
            /* a statement's catalog object is only known from the state */
            if (u->kind == CODE_STATEMENT && w->atype && !u->addr_type) {
                u->addr_type = xstrdup(w->atype);
                for (size_t j = 0; j < w->anames.nr; j++)
                    strvec_push(&u->addr_names, w->anames.v[j]);
                for (size_t j = 0; j < w->aargs.nr; j++)
                    strvec_push(&u->addr_args, w->aargs.v[j]);
            }
            break;
        }
    }
    /* in the state, not in the catalog (dropped by hand): created again */
    for (size_t i = 0; i < cs->units_nr; i++) {
        struct code_unit *u = &cs->units[i];
        const struct code_row *w = u->priv;
        if (w && w->missing && (u->status == CODE_UNCHANGED || u->status == CODE_MOVED))
            u->status = CODE_CHANGED, p->nmissing++;
    }
    /* rows of no unit: removed */
    for (size_t k = 0; k < p->rows_nr; k++) {
        struct code_row *w = &p->rows[k];
        if (w->used)
            continue;
        struct code_unit *u = unit_from_row(cs, w);
        u->status = CODE_REMOVED;
        u->priv = w;
        w->used = true;
    }
    /* nothing parsed, nothing removed: what the state says was checked when it was applied */
    bool news = p->nmissing > 0;
    for (size_t i = 0; i < cs->units_nr && !news; i++)
        news = cs->units[i].loaded || cs->units[i].status == CODE_REMOVED;
    if (!news)
        return errors;
    int e = code_resolve(cs);
    bool dbg = log_enabled(NS, LOG_DEBUG);
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        if (dbg)
            debug(NS, "%s: %s (%s)%s", u->identity,
                  (const char *[]){"unchanged", "new", "changed", "moved", "removed"}[u->status],
                  code_unit_where(u), u->loaded ? ", parsed" : "");
        /* an unchanged object (not parsed again) that needs one removed: an error, unless a
         * statement that could not be analysed may define it again (the server will tell) */
        for (size_t k = 0; !u->loaded && u->status != CODE_REMOVED && k < u->depends.nr; k++) {
            const struct code_unit *t = code_unit_find(cs, u->depends.v[k]);
            if (!t || t->status != CODE_REMOVED)
                continue;
            if (unanalysed(cs)) {
                strvec_pushf(&p->notes, "%s/%s:%u: %s needs %s, whose definition was removed (a "
                             "statement that could not be analysed may create it)", cs->dir,
                             u->file, u->line, u->identity, t->identity);
                continue;
            }
            e++;
            error("%s/%s:%u: %s needs %s, whose definition was removed (from %s)", cs->dir,
                  u->file, u->line, u->identity, t->identity, t->file);
        }
    }
    return errors + e;
}

/*
 * Build the plan on CONN (read-only): what changes, what depends on it, in
 * which order. Returns the migration status (MIG_OK: steps to run,
 * MIG_AT_TARGET: none, else an error status); *CODE_ERRORS gets the number
 * of problems of the code directory (printed), -1 when something else failed.
 */
enum mig_status code_plan_build(PGconn *conn, struct code_plan *p, const struct code_run_opts *o,
                                int *code_errors)
{
    memset(p, 0, sizeof(*p));
    p->o = o;
    *code_errors = 0;
    const char *dir = o->code_dir && is_dir(o->code_dir) ? o->code_dir : NULL;
    if (o->known_schema) {
        /* the caller asked already (apply: with the lock and the bundle check) */
        code_set_init(&p->cs, dir, o->known_schema);
        p->have_state = true;
    } else {
        PGresult *r = code_query(conn,
                                 "SELECT current_schema(), to_regclass('hectic.code_object') IS NOT NULL",
                                 0, NULL, PGRES_TUPLES_OK, "cannot read the database");
        if (!r) {
            *code_errors = -1;
            code_set_init(&p->cs, NULL, "public");
            return MIG_ERROR;
        }
        code_set_init(&p->cs, dir, PQgetisnull(r, 0, 0) ? "public" : PQgetvalue(r, 0, 0));
        p->have_state = !strcmp(PQgetvalue(r, 0, 1), "t");
        PQclear(r);
    }
    p->cs.hash_cache = o->hash_cache;
    if (p->have_state && !o->stateless && read_state(conn, p) < 0) {
        *code_errors = -1;
        return MIG_ERROR;
    }
    double t0 = now_monotonic();
    enum mig_status mst = plan_migrations(conn, p);
    if (mst != MIG_OK && mst != MIG_AT_TARGET)
        return mst;
    double t1 = now_monotonic();
    int e = plan_code(p);
    debug(NS, "plan: state %zu rows, migrations %.1f ms, files %.1f ms (%zu files)", p->rows_nr,
          (t1 - t0) * 1000, (now_monotonic() - t1) * 1000, p->cs.files_nr);
    if (e < 0) {
        *code_errors = -1;
        return mst;
    }
    struct code_set *cs = &p->cs;
    p->ui = xcalloc(cs->units_nr + 1, sizeof(*p->ui));
    p->ui_nr = cs->units_nr;
    bool same = !e && !p->steps.nr && !p->nmissing;
    for (size_t i = 0; i < cs->units_nr && same; i++)
        same = cs->units[i].status == CODE_UNCHANGED && !cs->units[i].loaded;
    if (same && !o->stateless)
        return mst; /* the fast path: nothing to do */
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_row *w = cs->units[i].priv;
        if (w && w->ctype && w->cidentity)
            p->ui[i].ckey = xasprintf("%s %s", w->ctype, w->cidentity);
    }
    int x = code_check_external(conn, p);
    if (x < 0) {
        *code_errors = -1;
        return mst;
    }
    e += x;
    /* the order of everything: cycles are errors now, not in the middle of an apply */
    bool *live = xcalloc(cs->units_nr + 1, sizeof(bool));
    for (size_t i = 0; i < cs->units_nr; i++)
        live[i] = cs->units[i].status != CODE_REMOVED;
    size_t *all = NULL, nall = 0;
    if (code_order(cs, live, (const size_t(*)[2])p->extra, p->nextra, &all, &nall) < 0)
        e++;
    free(live);
    if (e) {
        free(all);
        *code_errors = e;
        return mst;
    }
    /* which of them exist: changed, new (adopted if there), removed */
    size_t *look = xcalloc(cs->units_nr + 1, sizeof(size_t)), nlook = 0;
    for (size_t i = 0; i < cs->units_nr; i++) {
        enum code_status st = cs->units[i].status;
        if (o->stateless)
            continue;
        if (st == CODE_CHANGED || st == CODE_NEW || st == CODE_REMOVED)
            look[nlook++] = i;
    }
    if (code_lookup_units(conn, p, look, nlook, false) < 0) {
        free(look);
        free(all);
        *code_errors = -1;
        return mst;
    }
    free(look);
    for (size_t i = 0; i < cs->units_nr; i++) {
        if (cs->units[i].status == CODE_NEW && p->ui[i].exists)
            p->ui[i].adopt = true;
        /* CREATE OR REPLACE of an object that is there: its dependents stay */
        if (cs->units[i].status == CODE_CHANGED && p->ui[i].exists && cs->units[i].or_replace)
            p->ui[i].in_place = true;
    }
    code_index_ckeys(p);
    /* what depends on what changes */
    struct walk *front = NULL;
    size_t nfront = 0, afront = 0;
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        struct code_uinfo *xi = &p->ui[i];
        if (!xi->exists || xi->in_place ||
            !(u->status == CODE_CHANGED || u->status == CODE_REMOVED || xi->adopt))
            continue;
        code_walk_push(&front, &nfront, &afront,
                  (struct walk){xi->classid, xi->objid, 0, true, (long)i,
                                xasprintf("%s, which %s", u->identity,
                                          u->status == CODE_REMOVED ? "is removed"
                                          : xi->adopt             ? "is created from its file"
                                                                  : "changes"), false});
    }
    if (p->steps.nr && code_migration_starts(conn, p, &front, &nfront, &afront) < 0) {
        for (size_t i = 0; i < nfront; i++)
            free(front[i].desc);
        free(front);
        free(all);
        *code_errors = -1;
        return mst;
    }
    double t2 = now_monotonic();
    x = nfront ? code_closure(conn, p, front, nfront) : (free(front), 0);
    debug(NS, "plan: closure %.1f ms", (now_monotonic() - t2) * 1000);
    if (x) {
        free(all);
        *code_errors = x < 0 ? -1 : x;
        return mst;
    }
    /* the sets and their orders */
    bool *drop = xcalloc(cs->units_nr + 1, sizeof(bool));
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        struct code_uinfo *xi = &p->ui[i];
        xi->drop = xi->exists && !xi->acted &&
                   ((u->status == CODE_CHANGED && !xi->in_place) || u->status == CODE_REMOVED ||
                    xi->adopt || xi->affected);
        if (xi->drop)
            xi->target = false; /* gone before the migrations: nothing left to drop after */
        xi->create = u->status != CODE_REMOVED &&
                     (o->stateless || u->status == CODE_NEW || u->status == CODE_CHANGED ||
                      xi->affected || xi->target);
        drop[i] = xi->drop;
    }
    size_t *dorder = NULL, nd = 0;
    if (code_order(cs, drop, (const size_t(*)[2])p->drop_edges, p->ndrop_edges, &dorder, &nd) < 0) {
        free(drop);
        free(all);
        *code_errors = 1;
        return mst;
    }
    free(drop);
    p->drops = xcalloc(nd + 1, sizeof(size_t));
    for (size_t i = 0; i < nd; i++)
        p->drops[i] = dorder[nd - 1 - i];
    p->ndrops = nd;
    free(dorder);
    p->creates = xcalloc(nall + 1, sizeof(size_t));
    for (size_t i = 0; i < nall; i++)
        if (p->ui[all[i]].create)
            p->creates[p->ncreates++] = all[i];
    free(all);
    if (fetch_texts(conn, p) < 0) {
        *code_errors = -1;
        return mst;
    }
    for (size_t i = 0; i < p->ncreates; i++) {
        struct code_unit *u = &cs->units[p->creates[i]];
        if (!u->loaded && load_text(p, u) < 0) {
            *code_errors = -1;
            return mst;
        }
    }
    for (size_t i = 0; i < cs->units_nr; i++) {
        const struct code_unit *u = &cs->units[i];
        p->nnew += u->status == CODE_NEW;
        p->nchanged += u->status == CODE_CHANGED && strcmp(code_status_word(p, i), "missing");
        p->nmoved += u->status == CODE_MOVED;
        p->nremoved += u->status == CODE_REMOVED;
        p->naffected += p->ui[i].affected && u->status != CODE_CHANGED && u->status != CODE_REMOVED;
        if (u->note && u->loaded && (u->kind == CODE_STATEMENT || u->status != CODE_UNCHANGED))
            strvec_push(&p->notes, u->note);
    }
    return mst;
}

bool code_plan_has_work(const struct code_plan *p)
{
    return p->steps.nr || p->ndrops || p->ncreates || p->nmoved || p->nremoved ||
           p->accept_names.nr;
}

bool code_plan_has_writes(const struct code_plan *p)
{
    return code_plan_has_work(p) || (p->nrefresh && !p->o->stateless);
}

