/*
 * migimport.c — `migrator import --from TOOL SRC` (see migimport.h): read the
 * source folder with lib/migimport, map the names, write dbtool's layout.
 */
#include "ops/migimport.h"
#include "lib/fs.h"
#include "lib/migimport.h"
#include "lib/migrate.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

static char *read_text(const char *dir, const char *name)
{
    char *p = path_join(dir, name);
    struct strbuf sb = STRBUF_INIT;
    int r = strbuf_read_file(&sb, p);
    free(p);
    if (r < 0) {
        strbuf_release(&sb);
        return NULL;
    }
    return strbuf_detach(&sb, NULL);
}

/* The .sql (and other) file names of DIR, sorted. */
static int list_dir(const char *dir, struct strvec *names)
{
    DIR *d = opendir(dir);
    if (!d)
        return error_errno("cannot read '%s'", dir);
    for (struct dirent *de; (de = readdir(d));)
        if (de->d_name[0] != '.')
            strvec_push(names, de->d_name);
    closedir(d);
    for (size_t i = 1; i < names->nr; i++)
        for (size_t j = i; j > 0 && strcmp(names->v[j - 1], names->v[j]) > 0; j--) {
            char *t = names->v[j];
            names->v[j] = names->v[j - 1];
            names->v[j - 1] = t;
        }
    return 0;
}

static int cmp_version(const void *a, const void *b)
{
    const struct imp_mig *x = a, *y = b;
    int c = imp_version_cmp(x->version, y->version);
    return c ? c : strcmp(x->source, y->source);
}

static void unmapped(struct imp_set *set, const char *fmt, ...) PRINTF(2, 3);
static void unmapped(struct imp_set *set, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    strvec_push(&set->unmapped, sb.buf);
    strbuf_release(&sb);
}

/* ---- the readers ---- */

static int read_dbmate(const char *src, struct imp_set *set)
{
    struct strvec names = STRVEC_INIT;
    if (list_dir(src, &names) < 0)
        return -1;
    for (size_t i = 0; i < names.nr; i++) {
        char *v, *l, kind;
        if (imp_parse_filename(IMP_DBMATE, names.v[i], &v, &l, &kind, NULL, NULL) < 0) {
            if (ends_with(names.v[i], ".sql"))
                unmapped(set, "%s: not a dbmate migration name (VERSION_name.sql)", names.v[i]);
            continue;
        }
        char *text = read_text(src, names.v[i]), *up, *down, *err;
        bool un, dn;
        if (!text) {
            unmapped(set, "%s: cannot be read: %s", names.v[i], strerror(errno));
        } else if (imp_dbmate_split(text, &up, &down, &un, &dn, &err) < 0) {
            unmapped(set, "%s: %s", names.v[i], err);
            free(err);
        } else {
            struct imp_mig *m = imp_add(set, v, l, names.v[i]);
            m->up = up;
            m->down = down;
            m->no_tx = un;
            if (dn && !un)
                strvec_push(&m->notes, "its down section says transaction:false: the migration runs outside a "
                                       "transaction both ways");
            m->no_tx = un || dn;
        }
        free(text);
        free(v);
        free(l);
    }
    strvec_clear(&names);
    return 0;
}

static int read_golang_migrate(const char *src, struct imp_set *set)
{
    struct strvec names = STRVEC_INIT;
    if (list_dir(src, &names) < 0)
        return -1;
    /* per version: the best up and down file (postgres > no dialect / all > nothing else) */
    struct file {
        char *version, *label, *dialect, *name;
        char kind;
        bool autocommit;
    } *files = xcalloc(names.nr ? names.nr : 1, sizeof(*files));
    size_t nf = 0;
    for (size_t i = 0; i < names.nr; i++) {
        struct file *f = &files[nf];
        if (imp_parse_filename(IMP_GOLANG_MIGRATE, names.v[i], &f->version, &f->label, &f->kind, &f->dialect,
                               &f->autocommit) < 0) {
            if (ends_with(names.v[i], ".sql"))
                unmapped(set, "%s: not a golang-migrate migration name (VERSION_name.up.sql)", names.v[i]);
            continue;
        }
        f->name = names.v[i];
        nf++;
    }
    struct strvec versions = STRVEC_INIT;
    for (size_t i = 0; i < nf; i++) {
        bool seen = false;
        for (size_t k = 0; k < versions.nr && !seen; k++)
            seen = !strcmp(versions.v[k], files[i].version);
        if (!seen)
            strvec_push(&versions, files[i].version);
    }
    for (size_t vi = 0; vi < versions.nr; vi++) {
        const char *ver = versions.v[vi];
        int rank_best[2] = {-1, -1};
        struct file *best[2] = {NULL, NULL}, *any = NULL;
        struct strbuf others = STRBUF_INIT;
        bool fizz = false;
        for (size_t j = 0; j < nf; j++) {
            struct file *f = &files[j];
            if (strcmp(f->version, ver))
                continue;
            any = f;
            int dir = f->kind == 'd' || f->kind == 'f' ? 1 : 0;
            int rank = -1;
            if (f->kind == 'f' || f->kind == 'F')
                fizz = true;
            else if (!f->dialect || !strcasecmp(f->dialect, "all"))
                rank = 1;
            else if (!strcasecmp(f->dialect, "postgres") || !strcasecmp(f->dialect, "postgresql") ||
                     !strcasecmp(f->dialect, "pg"))
                rank = 2;
            else if (!strstr(others.buf, f->dialect))
                strbuf_addf(&others, "%s%s", others.len ? ", " : "", f->dialect);
            if (rank > rank_best[dir]) {
                rank_best[dir] = rank;
                best[dir] = f;
            }
        }
        if (!best[0]) {
            if (fizz)
                unmapped(set, "%s_%s: a Pop fizz migration (not SQL)", ver, any->label);
            else
                unmapped(set, "%s_%s: no PostgreSQL up file (only %s)", ver, any->label,
                         others.len ? others.buf : "down files");
        } else {
            struct imp_mig *m = imp_add(set, ver, best[0]->label, best[0]->name);
            m->up = read_text(src, best[0]->name);
            if (!m->up) {
                unmapped(set, "%s: cannot be read: %s", best[0]->name, strerror(errno));
                m->up = xstrdup("");
            }
            m->no_tx = best[0]->autocommit;
            if (best[1]) {
                m->down = read_text(src, best[1]->name);
                m->no_tx = m->no_tx || best[1]->autocommit;
            }
            if (best[0]->dialect && others.len)
                strvec_pushf(&m->notes, "the %s file was taken; the %s ones were left out", best[0]->dialect,
                             others.buf);
        }
        strbuf_release(&others);
    }
    strvec_clear(&versions);
    for (size_t i = 0; i < nf; i++) {
        free(files[i].version);
        free(files[i].label);
        free(files[i].dialect);
    }
    free(files);
    strvec_clear(&names);
    return 0;
}

static int read_goose(const char *src, struct imp_set *set)
{
    struct strvec names = STRVEC_INIT;
    if (list_dir(src, &names) < 0)
        return -1;
    for (size_t i = 0; i < names.nr; i++) {
        char *v, *l, kind;
        if (imp_parse_filename(IMP_GOOSE, names.v[i], &v, &l, &kind, NULL, NULL) < 0) {
            if (ends_with(names.v[i], ".sql"))
                unmapped(set, "%s: not a goose migration name (VERSION_name.sql)", names.v[i]);
            continue;
        }
        if (kind == 'g') {
            unmapped(set, "%s: a Go migration (code, not SQL): write it as SQL by hand", names.v[i]);
        } else {
            char *text = read_text(src, names.v[i]), *up, *down, *err;
            bool notx, envsub;
            if (!text) {
                unmapped(set, "%s: cannot be read: %s", names.v[i], strerror(errno));
            } else if (imp_goose_split(text, &up, &down, &notx, &envsub, &err) < 0) {
                unmapped(set, "%s: %s", names.v[i], err);
                free(err);
            } else {
                struct imp_mig *m = imp_add(set, v, l, names.v[i]);
                m->up = up;
                m->down = down;
                m->no_tx = notx;
                if (envsub)
                    strvec_push(&m->notes, "ENVSUB ON: goose replaced ${VAR} from the environment; dbtool does "
                                           "not (use \\getenv and :'var')");
            }
            free(text);
        }
        free(v);
        free(l);
    }
    strvec_clear(&names);
    return 0;
}

static int read_flyway(const char *src, struct imp_set *set)
{
    struct strvec names = STRVEC_INIT;
    if (list_dir(src, &names) < 0)
        return -1;
    for (size_t i = 0; i < names.nr; i++) {
        char *v, *l, kind;
        if (ends_with(names.v[i], ".conf"))
            continue;
        if (imp_parse_filename(IMP_FLYWAY, names.v[i], &v, &l, &kind, NULL, NULL) < 0) {
            if (ends_with(names.v[i], ".sql"))
                unmapped(set, "%s: not a Flyway migration name (V<version>__<description>.sql; callbacks "
                              "are not migrations)", names.v[i]);
            continue;
        }
        if (kind == 'r') {
            unmapped(set, "%s: a repeatable migration (re-run whenever it changes): dbtool has no such kind; "
                          "keep it in the sources", names.v[i]);
        } else if (kind == 'b') {
            unmapped(set, "%s: a baseline migration: 'migrator baseline' records the state instead", names.v[i]);
        } else if (kind == 'u') {
            struct imp_mig *m = imp_add(set, v, l, names.v[i]);
            m->up = read_text(src, names.v[i]);
            if (!m->up) {
                unmapped(set, "%s: cannot be read: %s", names.v[i], strerror(errno));
                m->up = xstrdup("");
            }
            char *conf_name = xasprintf("%s.conf", names.v[i]);
            char *conf = read_text(src, conf_name);
            if (conf && imp_flyway_conf_notx(conf))
                m->no_tx = true;
            free(conf);
            free(conf_name);
            char *ph;
            if (imp_flyway_placeholders(m->up, &ph)) {
                strvec_pushf(&m->notes, "uses Flyway placeholders (%s): replace them with :'var' and --set", ph);
                free(ph);
            }
        }
        free(v);
        free(l);
    }
    /* undo files: the down of the V file with the same version */
    for (size_t i = 0; i < names.nr; i++) {
        char *v, *l, kind;
        if (imp_parse_filename(IMP_FLYWAY, names.v[i], &v, &l, &kind, NULL, NULL) < 0)
            continue;
        if (kind == 'd') {
            struct imp_mig *m = NULL;
            for (size_t k = 0; k < set->nr && !m; k++)
                if (!imp_version_cmp(set->v[k].version, v))
                    m = &set->v[k];
            if (!m)
                unmapped(set, "%s: an undo migration without its V file", names.v[i]);
            else
                m->down = read_text(src, names.v[i]);
        }
        free(v);
        free(l);
    }
    strvec_clear(&names);
    return 0;
}

static int read_sqitch(const char *src, struct imp_set *set)
{
    char *text = read_text(src, "sqitch.plan");
    if (!text)
        return error_errno("no sqitch.plan in '%s'", src);
    struct imp_sqitch_plan plan;
    char *err;
    if (imp_sqitch_parse(text, &plan, &err) < 0) {
        error("%s/%s", src, err);
        free(err);
        free(text);
        return -1;
    }
    free(text);
    bool verify = false;
    for (size_t i = 0; i < plan.nr; i++) {
        const struct imp_sqitch_change *c = &plan.v[i];
        char *dep = xasprintf("deploy/%s.sql", c->script), *rev = xasprintf("revert/%s.sql", c->script);
        char *ver = xasprintf("verify/%s.sql", c->script);
        char *source = xasprintf("sqitch.plan:%u %s", c->line, c->script);
        char *up = read_text(src, dep);
        if (!up) {
            unmapped(set, "%s: %s/%s cannot be read: %s", source, src, dep, strerror(errno));
        } else {
            struct imp_mig *m = imp_add(set, c->stamp, c->name, source);
            m->up = up;
            m->down = read_text(src, rev);
            char *vp = path_join(src, ver);
            if (access(vp, F_OK) == 0)
                verify = true;
            free(vp);
        }
        free(dep);
        free(rev);
        free(ver);
        free(source);
    }
    if (verify)
        strvec_pushf(&set->notes, "%s/verify/: sqitch's verify scripts have no counterpart (they were left out; "
                                  "database test can run such checks)", src);
    imp_sqitch_release(&plan);
    return 0;
}

/* ---- writing ---- */

static int write_one(const char *tmp, const struct imp_mig *m, enum imp_tool tool)
{
    char *dir = path_join(tmp, m->name);
    int r = 0;
    if (mkdir(dir, 0755) < 0) {
        r = error_errno("cannot create '%s'", dir);
        free(dir);
        return r;
    }
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "-- imported from %s: %s\n", imp_tool_name(tool), m->source);
    strbuf_addstr(&sb, m->up ? m->up : "");
    char *p = path_join(dir, "up.sql");
    if (write_file_atomic(p, sb.buf, sb.len, 0644) < 0)
        r = error_errno("cannot write '%s'", p);
    free(p);
    if (!r && m->down) {
        strbuf_reset(&sb);
        strbuf_addf(&sb, "-- imported from %s: %s (down)\n", imp_tool_name(tool), m->source);
        strbuf_addstr(&sb, m->down);
        p = path_join(dir, "down.sql");
        if (write_file_atomic(p, sb.buf, sb.len, 0644) < 0)
            r = error_errno("cannot write '%s'", p);
        free(p);
    }
    if (!r && m->no_tx) {
        static const char yaml[] = "# imported: the source ran it outside a transaction\ntransaction: false\n";
        p = path_join(dir, MIG_META_FILE);
        if (write_file_atomic(p, yaml, sizeof(yaml) - 1, 0644) < 0)
            r = error_errno("cannot write '%s'", p);
        free(p);
    }
    strbuf_release(&sb);
    free(dir);
    return r;
}

int migimport_run(const char *tool_name, const char *src, const char *dest, bool dry_run)
{
    int t = imp_tool_lookup(tool_name);
    if (t < 0) {
        error("unknown --from '%s' (dbmate, golang-migrate, goose, flyway or sqitch)", tool_name);
        return EXIT_UNKNOWN;
    }
    enum imp_tool tool = (enum imp_tool)t;
    if (!is_dir(src)) {
        error("'%s' is not a folder to import from", src);
        return EXIT_MISSING;
    }
    struct imp_set set = {0};
    set.unmapped = (struct strvec)STRVEC_INIT;
    set.notes = (struct strvec)STRVEC_INIT;
    int r;
    switch (tool) {
    case IMP_DBMATE:
        r = read_dbmate(src, &set);
        break;
    case IMP_GOLANG_MIGRATE:
        r = read_golang_migrate(src, &set);
        break;
    case IMP_GOOSE:
        r = read_goose(src, &set);
        break;
    case IMP_FLYWAY:
        r = read_flyway(src, &set);
        break;
    default:
        r = read_sqitch(src, &set);
        break;
    }
    int rc = EXIT_OK;
    if (r < 0) {
        rc = EXIT_MISSING;
        goto out;
    }
    if (!set.nr && !set.unmapped.nr) {
        error("no %s migrations in '%s'", imp_tool_name(tool), src);
        rc = EXIT_MISSING;
        goto out;
    }
    /* the order: sqitch's plan as it is, the others by version */
    if (tool != IMP_SQITCH && set.nr > 1)
        qsort(set.v, set.nr, sizeof(*set.v), cmp_version);
    for (size_t i = 0; i < set.nr; i++) {
        struct imp_mig *m = &set.v[i];
        const char *what;
        char *s = imp_strip_tx(m->up ? m->up : "", &what);
        if (what && !strcmp(what, "dropped")) {
            free(m->up);
            m->up = s;
            strvec_push(&m->notes, "the BEGIN/COMMIT around it was dropped (each migration is one transaction)");
            s = NULL;
        } else if (what && !m->no_tx) {
            m->no_tx = true;
            strvec_push(&m->notes, "it manages its own transactions: transaction: false");
        }
        free(s);
        if (m->down) {
            s = imp_strip_tx(m->down, &what);
            if (what && !strcmp(what, "dropped")) {
                free(m->down);
                m->down = s;
                s = NULL;
            } else if (what && !m->no_tx) {
                m->no_tx = true;
                strvec_push(&m->notes, "its down manages its own transactions: transaction: false");
            }
            free(s);
        }
    }
    imp_map_names(&set);
    /* nothing is written when a name exists already */
    for (size_t i = 0; i < set.nr; i++) {
        char *p = path_join(dest, set.v[i].name);
        bool exists = access(p, F_OK) == 0;
        free(p);
        if (exists) {
            error("'%s/%s' exists already: nothing was imported (import into an empty folder, or remove it)",
                  dest, set.v[i].name);
            rc = EXIT_AMBIGUOUS;
            goto out;
        }
    }
    char *tmp = NULL;
    if (!dry_run) {
        if (mkdir_p(dest, 0755) < 0) {
            error_errno("cannot create the migration folder '%s'", dest);
            rc = EXIT_ERR;
            goto out;
        }
        tmp = xasprintf("%s/.import-%d", dest, (int)getpid());
        if (mkdir(tmp, 0755) < 0) {
            error_errno("cannot create '%s'", tmp);
            free(tmp);
            rc = EXIT_ERR;
            goto out;
        }
        for (size_t i = 0; i < set.nr && !rc; i++)
            if (write_one(tmp, &set.v[i], tool) < 0)
                rc = EXIT_ERR;
        /* into place, in order; the names were checked above */
        for (size_t i = 0; i < set.nr && !rc; i++) {
            char *from = path_join(tmp, set.v[i].name), *to = path_join(dest, set.v[i].name);
            if (rename(from, to) < 0) {
                error_errno("cannot move '%s' into place", to);
                rc = EXIT_ERR;
            }
            free(from);
            free(to);
        }
        if (rc) {
            error("the import into '%s' stopped; the folders written so far stay (see '%s')", dest, tmp);
        } else {
            rmdir(tmp);
        }
        free(tmp);
    }
    for (size_t i = 0; i < set.nr; i++) {
        const struct imp_mig *m = &set.v[i];
        printf("%s -> %s%s\n", m->source, m->name, m->no_tx ? " (transaction: false)" : "");
        for (size_t k = 0; k < m->notes.nr; k++)
            notice("%s: %s", m->name, m->notes.v[k]);
    }
    fflush(stdout);
    for (size_t i = 0; i < set.notes.nr; i++)
        notice("%s", set.notes.v[i]);
    for (size_t i = 0; i < set.unmapped.nr; i++)
        error("not imported: %s", set.unmapped.v[i]);
    if (!rc) {
        info("%s %zu %s migration%s into %s%s%s", dry_run ? "would import" : "imported", set.nr,
             imp_tool_name(tool), set.nr == 1 ? "" : "s", dest,
             set.unmapped.nr ? "; not imported: " : "", set.unmapped.nr ? "see above" : "");
        if (set.nr && !dry_run)
            info("a database these migrations were applied to: 'migrator baseline %s' records them",
                 set.v[set.nr - 1].name);
        if (set.unmapped.nr)
            rc = EXIT_ERR;
    }
out:
    imp_set_release(&set);
    return rc;
}
