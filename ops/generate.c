/*
 * generate.c — `migrator generate` (see generate.h): two sides, two
 * catalogs, the differ both ways, the reference data as DML, and a
 * migration folder with a header a reviewer reads first.
 */
#include "ops/generate.h"
#include "ops/drift.h"
#include "ops/ops.h"
#include "ops/project.h"
#include "ops/side.h"
#include "lib/bundle.h"
#include "lib/catalog.h"
#include "lib/datadiff.h"
#include "lib/fs.h"
#include "lib/migrate.h"
#include "lib/pg.h"
#include "lib/settings.h"
#include "lib/sqldiff.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#define NS "generate"
#define BASELINE_TAG "-- dbtool-baseline: "

/* ---- reference data as statements ---- */

struct table_sql {
    struct strbuf del, put;
    size_t n;
};

struct data_ctx {
    const struct ddiff_result *res;
    struct table_sql *t;   /* per table of RES */
    size_t nt;
    struct strbuf tmp;
};

/* Field I (0-based) of a COPY text row: *F and *N. */
static void field(const char *row, size_t len, size_t i, const char **f, size_t *n)
{
    const char *p = row, *end = row + len;
    for (; i && p < end; i--) {
        const char *tab = memchr(p, '\t', (size_t)(end - p));
        p = tab ? tab + 1 : end;
    }
    const char *tab = memchr(p, '\t', (size_t)(end - p));
    *f = p;
    *n = (size_t)((tab ? tab : end) - p);
}

/* A COPY text field as an SQL literal (NULL, '...', or E'...' when it holds a backslash). */
static void add_literal(struct strbuf *sb, const char *f, size_t n, struct strbuf *tmp)
{
    if (ddiff_unescape(f, n, tmp)) {
        strbuf_addstr(sb, "NULL");
        return;
    }
    bool bs = memchr(tmp->buf, '\\', tmp->len) != NULL;
    strbuf_addstr(sb, bs ? "E'" : "'");
    for (size_t i = 0; i < tmp->len; i++) {
        char c = tmp->buf[i];
        if (c == '\'')
            strbuf_addch(sb, '\'');
        else if (c == '\\')
            strbuf_addch(sb, '\\');
        strbuf_addch(sb, c);
    }
    strbuf_addch(sb, '\'');
}

static bool is_null_field(const char *f, size_t n)
{
    return n == 2 && f[0] == '\\' && f[1] == 'N';
}

static void add_ident(struct strbuf *sb, const char *name)
{
    char *q = pg_quote_ident(name);
    strbuf_addstr(sb, q);
    free(q);
}

static void add_table(struct strbuf *sb, const struct ddiff_table *t)
{
    add_ident(sb, t->schema);
    strbuf_addch(sb, '.');
    add_ident(sb, t->rel);
}

static size_t col_index(const struct strvec *cols, const char *name)
{
    for (size_t i = 0; i < cols->nr; i++)
        if (!strcmp(cols->v[i], name))
            return i;
    BUG("key column %s is not compared", name);
}

/* The condition matching ROW by its key: "k = v AND ..." (by text without a primary key). */
static void add_where(struct strbuf *sb, const struct ddiff_row *r, const char *row, size_t len,
                      struct strbuf *tmp)
{
    for (size_t k = 0; k < r->keys->nr; k++) {
        const char *f;
        size_t n;
        field(row, len, col_index(r->cols, r->keys->v[k]), &f, &n);
        strbuf_addstr(sb, k ? " AND " : "");
        add_ident(sb, r->keys->v[k]);
        if (is_null_field(f, n)) {
            strbuf_addstr(sb, " IS NULL");
            continue;
        }
        /* without a primary key any column is a key: compare as COPY printed it */
        strbuf_addstr(sb, r->by_pk ? " = " : "::text = ");
        add_literal(sb, f, n, tmp);
    }
}

/* "WHERE cond", or, without a primary key, one row only: "WHERE ctid = (SELECT ... LIMIT 1)". */
static void add_row_match(struct strbuf *sb, const struct ddiff_row *r, const char *row, size_t len,
                          struct strbuf *tmp)
{
    if (r->by_pk) {
        strbuf_addstr(sb, " WHERE ");
        add_where(sb, r, row, len, tmp);
        return;
    }
    strbuf_addstr(sb, " WHERE ctid = (SELECT ctid FROM ONLY ");
    add_table(sb, r->t);
    strbuf_addstr(sb, " WHERE ");
    add_where(sb, r, row, len, tmp);
    strbuf_addstr(sb, " LIMIT 1)");
}

static int on_row(void *arg, const struct ddiff_row *r)
{
    struct data_ctx *c = arg;
    if (!c->t) {
        c->nt = c->res->nr;
        c->t = xcalloc(c->nt + 1, sizeof(*c->t));
        for (size_t i = 0; i < c->nt; i++) {
            c->t[i].del = (struct strbuf)STRBUF_INIT;
            c->t[i].put = (struct strbuf)STRBUF_INIT;
        }
    }
    if (!r->t->on_b)
        return 0; /* the table goes with the DDL, its rows with it */
    struct table_sql *ts = &c->t[r->t - c->res->v];
    struct strbuf *sb;
    if (r->op == '-') {
        sb = &ts->del;
        strbuf_addstr(sb, "DELETE FROM ONLY ");
        add_table(sb, r->t);
        add_row_match(sb, r, r->a, r->a_len, &c->tmp);
    } else if (r->op == '+') {
        sb = &ts->put;
        strbuf_addstr(sb, "INSERT INTO ");
        add_table(sb, r->t);
        strbuf_addstr(sb, " (");
        for (size_t i = 0; i < r->cols->nr; i++) {
            strbuf_addstr(sb, i ? ", " : "");
            add_ident(sb, r->cols->v[i]);
        }
        strbuf_addstr(sb, ") OVERRIDING SYSTEM VALUE VALUES (");
        for (size_t i = 0; i < r->cols->nr; i++) {
            const char *f;
            size_t n;
            field(r->b, r->b_len, i, &f, &n);
            strbuf_addstr(sb, i ? ", " : "");
            add_literal(sb, f, n, &c->tmp);
        }
        strbuf_addch(sb, ')');
    } else {
        struct strbuf set = STRBUF_INIT;
        for (size_t i = 0; i < r->cols->nr; i++) {
            const char *fa, *fb;
            size_t na, nb;
            field(r->a, r->a_len, i, &fa, &na);
            field(r->b, r->b_len, i, &fb, &nb);
            bool missing = r->a_missing && r->a_missing[i];
            if (!missing && na == nb && !memcmp(fa, fb, na))
                continue;
            strbuf_addstr(&set, set.len ? ", " : "");
            add_ident(&set, r->cols->v[i]);
            strbuf_addstr(&set, " = ");
            add_literal(&set, fb, nb, &c->tmp);
        }
        if (!set.len) { /* a changed row differs somewhere: nothing to do otherwise */
            strbuf_release(&set);
            return 0;
        }
        sb = &ts->put;
        strbuf_addstr(sb, "UPDATE ONLY ");
        add_table(sb, r->t);
        strbuf_addstr(sb, " SET ");
        strbuf_add(sb, set.buf, set.len);
        strbuf_release(&set);
        add_row_match(sb, r, r->b, r->b_len, &c->tmp);
    }
    strbuf_addstr(sb, ";\n");
    ts->n++;
    return 0;
}

/* FK edges among the tables of RES on CONN: edge[i*nr+j] when table i references table j. */
static int fk_edges(PGconn *conn, const struct ddiff_result *res, bool *edge)
{
    PGresult *r = PQexec(conn,
                         "SELECT n1.nspname, c1.relname, n2.nspname, c2.relname"
                         " FROM pg_catalog.pg_constraint k"
                         " JOIN pg_catalog.pg_class c1 ON c1.oid = k.conrelid"
                         " JOIN pg_catalog.pg_namespace n1 ON n1.oid = c1.relnamespace"
                         " JOIN pg_catalog.pg_class c2 ON c2.oid = k.confrelid"
                         " JOIN pg_catalog.pg_namespace n2 ON n2.oid = c2.relnamespace"
                         " WHERE k.contype = 'f' AND k.conrelid <> k.confrelid");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        pg_print_result_error(r, "cannot read the foreign keys");
        PQclear(r);
        return -1;
    }
    for (int i = 0; i < PQntuples(r); i++) {
        long from = -1, to = -1;
        for (size_t t = 0; t < res->nr; t++) {
            if (!strcmp(res->v[t].schema, PQgetvalue(r, i, 0)) &&
                !strcmp(res->v[t].rel, PQgetvalue(r, i, 1)))
                from = (long)t;
            if (!strcmp(res->v[t].schema, PQgetvalue(r, i, 2)) &&
                !strcmp(res->v[t].rel, PQgetvalue(r, i, 3)))
                to = (long)t;
        }
        if (from >= 0 && to >= 0)
            edge[(size_t)from * res->nr + (size_t)to] = true;
    }
    PQclear(r);
    return 0;
}

int gen_data_sql(PGconn *from, PGconn *to, struct strbuf *out, size_t *n)
{
    struct ddiff_result res = {0};
    struct data_ctx c = {&res, NULL, 0, STRBUF_INIT};
    struct ddiff_opts o = {.name_a = "from", .name_b = "to", .context = 0,
                           .on_row = on_row, .on_row_arg = &c, .columns_of_b = true};
    *n = 0;
    int ret = -1;
    bool *edge = NULL;
    size_t *order = NULL;
    int hf = ddiff_has_hectic(from), ht = ddiff_has_hectic(to);
    if (hf < 0 || ht < 0)
        goto out;
    if (!hf && !ht) {
        ret = 0;
        goto out;
    }
    if (ddiff_run(hf ? from : NULL, to, &o, NULL, &res) < 0)
        goto out;
    if (!c.t) {
        ret = 0;
        goto out;
    }
    /* parents first: a table comes after every table it references */
    size_t nr = res.nr, done = 0;
    edge = xcalloc(nr * nr + 1, sizeof(*edge));
    order = xcalloc(nr + 1, sizeof(*order));
    bool *placed = xcalloc(nr + 1, sizeof(*placed));
    if (fk_edges(to, &res, edge) < 0) {
        free(placed);
        goto out;
    }
    while (done < nr) {
        size_t before = done;
        for (size_t i = 0; i < nr; i++) {
            if (placed[i])
                continue;
            bool ready = true;
            for (size_t j = 0; j < nr && ready; j++)
                ready = placed[j] || j == i || !edge[i * nr + j];
            if (ready) {
                placed[i] = true;
                order[done++] = i;
            }
        }
        if (done == before) /* a cycle: the rest in name order */
            for (size_t i = 0; i < nr; i++)
                if (!placed[i]) {
                    placed[i] = true;
                    order[done++] = i;
                }
    }
    free(placed);
    for (size_t k = nr; k-- > 0;)
        strbuf_add(out, c.t[order[k]].del.buf, c.t[order[k]].del.len);
    for (size_t k = 0; k < nr; k++)
        strbuf_add(out, c.t[order[k]].put.buf, c.t[order[k]].put.len);
    for (size_t i = 0; i < nr; i++)
        *n += c.t[i].n;
    ret = 0;
out:
    for (size_t i = 0; i < c.nt; i++) {
        strbuf_release(&c.t[i].del);
        strbuf_release(&c.t[i].put);
    }
    free(c.t);
    strbuf_release(&c.tmp);
    free(edge);
    free(order);
    ddiff_result_release(&res);
    return ret;
}

/* ---- the migration's text ---- */

static bool any_notx(const struct sqldiff *d)
{
    for (size_t i = 0; i < d->nr; i++)
        if (d->v[i].no_transaction)
            return true;
    return false;
}

static void hazard_line(struct strbuf *sb, const struct sqldiff_stmt *s, const char *mark)
{
    strbuf_addf(sb, "--%shazard ", mark);
    sqldiff_hazard_names(s->hazards, sb);
    if (s->rules) {
        strbuf_addstr(sb, " (");
        for (const char *p = s->rules; *p; p++) {
            strbuf_addch(sb, *p);
            if (*p == ',')
                strbuf_addch(sb, ' ');
        }
        strbuf_addch(sb, ')');
    }
    strbuf_addf(sb, ": %s\n", s->reason ? s->reason : "");
}

/* The hazard report as comment lines; REFUSED marks statements the allow list refuses. */
static size_t hazard_report(const struct sqldiff *d, const struct sqldiff_allow *allow,
                            struct strbuf *sb, size_t *refused)
{
    size_t n = 0;
    if (refused)
        *refused = 0;
    for (size_t i = 0; i < d->nr; i++) {
        const struct sqldiff_stmt *s = &d->v[i];
        if (!s->hazards)
            continue;
        unsigned r = allow ? sqldiff_stmt_refused(s, allow) : 0;
        if (r && refused)
            (*refused)++;
        hazard_line(sb, s, r ? "   REFUSED " : "   ");
        n++;
    }
    for (size_t i = 0; i < d->notes.nr; i++)
        strbuf_addf(sb, "--   note: %s\n", d->notes.v[i]);
    return n;
}

struct side_info {
    const char *what;      /* "the migrations of DIR" */
    char hash[SHA256_HEX_LEN];
    int major;
};

static void header(struct strbuf *sb, const char *name, bool down, const struct sqldiff *d,
                   size_t ndata, bool notx, const struct side_info *from,
                   const struct side_info *to, const struct sqldiff_allow *allow)
{
    char when[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", &tm);
    strbuf_addf(sb, "-- %s: %s, generated by 'migrator generate' (dbtool %s), %s.\n", name,
                down ? "down" : "up", DBTOOL_VERSION, when);
    strbuf_addf(sb, "-- From the schema of %s to that of %s:\n", from->what, to->what);
    strbuf_addf(sb, "-- %zu DDL statement%s", d->nr, d->nr == 1 ? "" : "s");
    if (ndata)
        strbuf_addf(sb, ", %zu reference data row%s (hectic.immutable tables, in migration mode)",
                    ndata, ndata == 1 ? "" : "s");
    strbuf_addstr(sb, ". Review it before applying.\n");
    if (notx)
        strbuf_addstr(sb, "-- Runs outside a transaction (migration.yaml): some statements cannot run in\n"
                          "-- one; the others are grouped in BEGIN/COMMIT blocks below.\n");
    strbuf_addstr(sb, "-- Baseline: the schema hash of the database this applies to. 'migrate' refuses\n"
                      "-- a database whose schema differs (changed by hand since) unless\n"
                      "-- --force-after-drift.\n");
    strbuf_addf(sb, BASELINE_TAG "sha256=%s server=%d\n", from->hash, from->major);
    struct strbuf rep = STRBUF_INIT;
    size_t nh = hazard_report(d, down ? NULL : allow, &rep, NULL);
    if (nh || d->notes.nr) {
        strbuf_addf(sb, "-- Hazards%s:\n", down ? " (of undoing; never refused)" : "");
        strbuf_add(sb, rep.buf, rep.len);
    } else {
        strbuf_addstr(sb, "-- Hazards: none.\n");
    }
    strbuf_release(&rep);
    strbuf_addch(sb, '\n');
}

/* The statements: plain for a transactional migration, in BEGIN/COMMIT blocks otherwise. */
static void body(struct strbuf *sb, const struct sqldiff *d, const char *data, size_t datalen,
                 bool notx)
{
    bool check_off = false;
    if (notx) {
        sqldiff_format_sql(d, sb);
        for (size_t i = 0; i < d->nr; i++)
            check_off = check_off || !strcmp(d->v[i].sql, "SET check_function_bodies = false");
    } else {
        for (size_t i = 0; i < d->nr; i++) {
            const struct sqldiff_stmt *s = &d->v[i];
            if (s->hazards)
                hazard_line(sb, s, " ");
            /* in the migration's transaction: not past it */
            if (!strcmp(s->sql, "SET check_function_bodies = false"))
                strbuf_addstr(sb, "SET LOCAL check_function_bodies = false;\n");
            else
                strbuf_addf(sb, "%s;\n", s->sql);
        }
    }
    if (datalen) {
        strbuf_addstr(sb, "\n-- reference data (tables inheriting hectic.immutable)\n");
        if (notx)
            strbuf_addstr(sb, "BEGIN;\n");
        strbuf_addstr(sb, "SET LOCAL hectic.migration_mode = 'on';\n");
        strbuf_add(sb, data, datalen);
        if (notx)
            strbuf_addstr(sb, "COMMIT;\n");
    }
    if (check_off)
        strbuf_addstr(sb, "RESET check_function_bodies;\n");
}

/* ---- the folder ---- */

/* TEXT with the first PLACEHOLDER replaced by NAME (malloc'd). */
static char *with_name(const struct strbuf *text, const char *placeholder, const char *name,
                       size_t *len)
{
    struct strbuf sb = STRBUF_INIT;
    const char *p = strstr(text->buf, placeholder);
    if (!p) {
        strbuf_add(&sb, text->buf, text->len);
    } else {
        strbuf_add(&sb, text->buf, (size_t)(p - text->buf));
        strbuf_addstr(&sb, name);
        strbuf_addstr(&sb, p + strlen(placeholder));
    }
    return strbuf_detach(&sb, len);
}

static int write_text(const char *dir, const char *file, const char *text, size_t len)
{
    char *f = path_join(dir, file);
    int r = write_file_atomic(f, text, len, 0644);
    if (r < 0)
        error_errno("cannot write '%s'", f);
    free(f);
    return r;
}

/*
 * Make DIR/<stamp>-LABEL (mig_create_folder) and write the files.
 * *PATH gets the folder. 0 or -1.
 */
static int write_migration(const char *dir, const char *label, const struct strbuf *up,
                           const struct strbuf *down, bool notx, char **path)
{
    int dfd;
    if (mig_create_folder(dir, label, path, &dfd) < 0)
        return -1;
    int ret = -1;
    /* the headers name the folder they are in */
    char *placeholder = xasprintf("<timestamp>-%s", label);
    const char *base = strrchr(*path, '/') + 1;
    size_t ulen, dlen;
    char *utext = with_name(up, placeholder, base, &ulen);
    char *dtext = with_name(down, placeholder, base, &dlen);
    int r = write_text(*path, "up.sql", utext, ulen);
    if (!r)
        r = write_text(*path, "down.sql", dtext, dlen);
    free(placeholder);
    free(utext);
    free(dtext);
    if (!r && notx) {
        static const char yaml[] =
            "# written by 'migrator generate': a statement of up.sql or down.sql cannot run\n"
            "# inside a transaction block (see the header of up.sql)\n"
            "transaction: false\n";
        r = write_text(*path, MIG_META_FILE, yaml, sizeof(yaml) - 1);
    }
    if (r < 0) {
        rm_rf(*path);
        goto out;
    }
    ret = 0;
out:
    close(dfd);
    if (ret < 0) {
        free(*path);
        *path = NULL;
    }
    return ret;
}

/* ---- the command ---- */

static struct side sides[2]; /* reachable from the cleanup stack */
static const char *const side_names[2] = {"migrations", "sources"};

/* PATH relative to ROOT when inside it. */
static const char *rel_to(const char *root, const char *path)
{
    size_t n = root ? strlen(root) : 0;
    if (!path)
        return "";
    if (n && !strncmp(path, root, n) && path[n] == '/')
        return path + n + 1;
    return path;
}

static int read_side(const char *url, struct catalog **cat, struct side_info *info)
{
    struct catalog_options co = {.owner = false};
    if (catalog_read_url(url, &co, cat) < 0)
        return -1;
    catalog_hash(*cat, info->hash);
    info->major = (*cat)->server_version / 10000;
    return 0;
}

int gen_run(const struct settings *s, const struct gen_opts *o)
{
    double t0 = now_monotonic();
    const char *local = set_get(s, SET_LOCAL_DIR);
    const char *mdir = o->migration_dir ? o->migration_dir : set_get(s, SET_MIGRATION_DIR);
    const char *why;
    char *logs = NULL, *bad = NULL, *path = NULL, *what_m = NULL, *what_s = NULL;
    struct catalog *cat[2] = {NULL, NULL};
    struct side_info info[2];
    PGconn *conn[2] = {NULL, NULL};
    struct sqldiff up, down;
    bool have_diff = false;
    struct strbuf data_up = STRBUF_INIT, data_down = STRBUF_INIT;
    struct strbuf up_sql = STRBUF_INIT, down_sql = STRBUF_INIT, rep = STRBUF_INIT;
    struct sqldiff_allow allow;
    memset(&allow, 0, sizeof(allow));
    allow.rules = (struct strvec)STRVEC_INIT;
    int r = 0;

    if (!o->label || !mig_label_valid(o->label, &why)) {
        error("invalid migration label '%s': %s", o->label ? o->label : "", o->label ? why : "missing");
        return EXIT_UNKNOWN;
    }
    if (sqldiff_allow_parse(o->allow_hazards, &allow, &bad) < 0) {
        error("--allow-hazards: unknown hazard '%s' (classes: data-loss, table-rewrite, "
              "full-scan-under-lock, blocking-index-build, mass-drop; or a 'migrator lint' rule "
              "such as drop-column; or all)", bad);
        free(bad);
        sqldiff_allow_release(&allow);
        return EXIT_UNKNOWN;
    }
    if (!local) {
        error("LOCAL_DIR is not set: export LOCAL_DIR to the project root (generate builds its "
              "sources)");
        r = EXIT_MISSING;
        goto out;
    }
    if (!mdir) {
        error("no migration folder: pass -d DIR or set MIGRATION_DIR");
        r = EXIT_MISSING;
        goto out;
    }
    if (o->server && !pg_url_supported(o->server)) {
        char *m = pg_mask_url(o->server);
        error("unsupported database URL '%s' for --server", m);
        free(m);
        r = EXIT_MISSING;
        goto out;
    }
    logs = path_join(local, "focus/generate-logs");
    for (int i = 0; i < 2; i++) {
        char *d = path_join(logs, side_names[i]);
        rm_rf(d);
        free(d);
    }

    /* both sides at once */
    for (int i = 0; i < 2 && !r; i++) {
        if (!i && o->base_url)
            continue;
        r = side_open(&sides[i], s, "generate", side_names[i], logs, NULL, 0, o->server);
        if (r)
            break;
        sides[i].build = i ? SIDE_SOURCES : SIDE_MIGRATIONS;
        sides[i].migration_dir = mdir;
        sides[i].mock = o->mock;
        sides[i].quiet = true;
        r = side_start(&sides[i]);
    }
    /* each catalog is read as soon as its side is built (the migrations side,
     * one transaction, is usually first: its read overlaps the hydrate) */
    double t_built = t0;
    for (int i = 0; i < 2; i++) {
        int rr = sides[i].job.pid > 0 ? side_finish(&sides[i]) : 0;
        if (rr && !r) {
            error("generate: building the %s side failed (see above; logs in %s/%s)",
                  side_names[i], logs, side_names[i]);
            r = rr;
        }
        if (r || interrupted)
            continue;
        t_built = now_monotonic();
        if (read_side(!i && o->base_url ? o->base_url : sides[i].url, &cat[i], &info[i]) < 0) {
            error("generate: cannot read the schema of the %s side", side_names[i]);
            r = EXIT_ERR;
        }
        debug(NS, "%s side read in %s", side_names[i], proj_duration(now_monotonic() - t_built));
    }
    if (r)
        goto out;
    if (interrupted) {
        error("interrupted");
        r = EXIT_ERR;
        goto out;
    }
    {
        char key[SHA256_HEX_LEN];
        if (drift_cache_key(s, o->mock, o->server, key) == 0)
            drift_cache_store(s, key, cat[1]);
    }
    /* paths as the project knows them: the headers go into the repository */
    what_m = o->base_what ? xstrdup(o->base_what) : xasprintf("the migrations (%s)", rel_to(local, mdir));
    what_s = xasprintf("the sources (%s)", rel_to(local, set_get(s, SET_DATABASE_SOURCE)));
    info[0].what = what_m;
    info[1].what = what_s;
    struct sqldiff_options so = {.plain_constraints = o->plain_constraints,
                                 .blocking_indexes = o->blocking_indexes};
    double t1 = now_monotonic();
    sqldiff_compute(cat[0], cat[1], &so, &up);
    sqldiff_compute(cat[1], cat[0], &so, &down);
    have_diff = true;
    debug(NS, "both diffs in %s", proj_duration(now_monotonic() - t1));
    t1 = now_monotonic();
    size_t nup = 0, ndown = 0;
    for (int i = 0; i < 2; i++)
        if (!(conn[i] = pg_connect(!i && o->base_url ? o->base_url : sides[i].url))) {
            r = EXIT_ERR;
            goto out;
        }
    if (gen_data_sql(conn[0], conn[1], &data_up, &nup) < 0 ||
        gen_data_sql(conn[1], conn[0], &data_down, &ndown) < 0) {
        error("generate: cannot compare the reference data");
        r = EXIT_ERR;
        goto out;
    }
    debug(NS, "reference data compared in %s", proj_duration(now_monotonic() - t1));
    debug(NS, "sides built in %s", proj_duration(t_built - t0));
    debug(NS, "catalogs read and compared in %s", proj_duration(now_monotonic() - t_built));
    if (!up.nr && !nup) {
        info("generate: nothing to generate: the migrations build the schema and reference data "
             "of the sources (%s)", proj_duration(now_monotonic() - t0));
        r = 0;
        goto out;
    }

    /* hazards: printed, and refused unless allowed */
    size_t refused = 0;
    if (hazard_report(&up, &allow, &rep, &refused) || up.notes.nr)
        fprintf(stderr, "generate: hazards of up.sql:\n%s", rep.buf);
    if (refused) {
        error("generate: refusing %zu hazardous statement%s (marked REFUSED above); review them and "
              "pass --allow-hazards with their classes or rules (e.g. --allow-hazards=data-loss or "
              "=drop-column), or all; nothing was written", refused, refused == 1 ? "" : "s");
        r = EXIT_ERR;
        goto out;
    }
    bool notx = any_notx(&up) || any_notx(&down);
    char *name = xasprintf("<timestamp>-%s", o->label);
    header(&up_sql, name, false, &up, nup, notx, &info[0], &info[1], &allow);
    body(&up_sql, &up, data_up.buf, data_up.len, notx);
    header(&down_sql, name, true, &down, ndown, notx, &info[1], &info[0], NULL);
    body(&down_sql, &down, data_down.buf, data_down.len, notx);
    free(name);
    if (o->dry_run) {
        fwrite(up_sql.buf, 1, up_sql.len, stdout);
        info("generate: --dry-run: nothing written (%zu statements, %zu rows)", up.nr, nup);
        goto out;
    }
    if (write_migration(mdir, o->label, &up_sql, &down_sql, notx, &path) < 0) {
        r = EXIT_ERR;
        goto out;
    }
    printf("%s\n", path);
    info("generate: wrote %s: %zu statement%s, %zu reference row%s%s, in %s", path, up.nr,
         up.nr == 1 ? "" : "s", nup, nup == 1 ? "" : "s", notx ? ", outside a transaction" : "",
         proj_duration(now_monotonic() - t0));
out:
    for (int i = 0; i < 2; i++) {
        if (conn[i])
            PQfinish(conn[i]);
        catalog_free(cat[i]);
    }
    for (int i = 0; i < 2; i++)
        side_stop_begin(&sides[i]);
    for (int i = 1; i >= 0; i--)
        side_close(&sides[i], r == 0);
    if (have_diff) {
        sqldiff_release(&up);
        sqldiff_release(&down);
    }
    sqldiff_allow_release(&allow);
    strbuf_release(&data_up);
    strbuf_release(&data_down);
    strbuf_release(&up_sql);
    strbuf_release(&down_sql);
    strbuf_release(&rep);
    free(what_m);
    free(what_s);
    free(path);
    free(logs);
    return r;
}

/* ---- the baseline check ---- */

/* The baseline recorded in FILE: 1 found (HEX, *MAJOR), 0 none, -1 unreadable. */
static int read_baseline(const char *file, char hex[SHA256_HEX_LEN], int *major)
{
    struct strbuf sb = STRBUF_INIT;
    const char *why;
    if (fs_read_regular(file, 64 << 20, &sb, &why) < 0) {
        error("cannot read '%s': %s", file, why);
        strbuf_release(&sb);
        return -1;
    }
    int found = 0;
    /* only the leading comment block: the header */
    for (const char *p = sb.buf; p && *p == '-' && p[1] == '-';) {
        const char *nl = strchr(p, '\n');
        if (starts_with(p, BASELINE_TAG)) {
            const char *h = strstr(p, "sha256=");
            const char *m = strstr(p, "server=");
            if (h && (!nl || h < nl) && strspn(h + 7, "0123456789abcdef") == SHA256_HEX_LEN - 1) {
                memcpy(hex, h + 7, SHA256_HEX_LEN - 1);
                hex[SHA256_HEX_LEN - 1] = 0;
                *major = m && (!nl || m < nl) ? atoi(m + 7) : 0;
                found = 1;
            }
            break;
        }
        p = nl ? nl + 1 : NULL;
    }
    strbuf_release(&sb);
    return found;
}

int gen_check_baseline(PGconn *conn, const char *entry, bool down, bool force)
{
    char *file = path_join(entry, down ? "down.sql" : "up.sql");
    char want[SHA256_HEX_LEN];
    int major = 0;
    int f = read_baseline(file, want, &major);
    free(file);
    if (f <= 0)
        return f;
    const char *name = strrchr(entry, '/') ? strrchr(entry, '/') + 1 : entry;
    if (major && major != PQserverVersion(conn) / 10000) {
        warn("%s was generated against PostgreSQL %d, this server is %d: its baseline schema hash "
             "cannot be compared; not checked", name, major, PQserverVersion(conn) / 10000);
        return 0;
    }
    double t0 = now_monotonic();
    struct catalog *cat;
    struct catalog_options co = {.owner = false};
    if (catalog_read(conn, &co, &cat) < 0)
        return error("cannot read the schema to check the baseline of %s", name);
    char have[SHA256_HEX_LEN];
    catalog_hash(cat, have);
    catalog_free(cat);
    debug(NS, "baseline of %s checked in %s", name, proj_duration(now_monotonic() - t0));
    if (!strcmp(have, want))
        return 0;
    if (force) {
        warn("%s was generated against a schema with hash %.12s, the database has %.12s "
             "(changed by hand since?); applying it anyway (--force-after-drift)", name, want, have);
        return 0;
    }
    error("refusing to %s %s: it was generated against a schema with hash %.12s, the database "
          "has %.12s: the schema was changed outside the migrations since ('database drift' "
          "shows how); regenerate it, or pass --force-after-drift", down ? "revert" : "apply",
          name, want, have);
    return 1;
}

int gen_baseline_hook(PGconn *conn, const struct mig_step *step, void *arg)
{
    bool force = arg && *(const bool *)arg;
    const struct mig *m = step->m;
    if (step->owned || !m || !(step->down ? m->down : m->up) || m->multi)
        return 0;
    /* ENTRY is the folder of the file */
    const char *file = step->down ? m->down : m->up;
    const char *slash = strrchr(file, '/');
    if (!slash)
        return 0;
    char *entry = xstrndup(file, (size_t)(slash - file));
    int r = gen_check_baseline(conn, entry, step->down, force);
    free(entry);
    return r != 0;
}
