/*
 * code_show.c — a plan as text and as JSON (`database plan`).
 */
#include "ops/code.h"
#include "ops/code_int.h"

#define NS "code"

/* ---- showing a plan ---------------------------------------------------------------- */

const char *code_status_word(const struct code_plan *p, size_t i)
{
    const struct code_unit *u = &p->cs.units[i];
    const struct code_uinfo *x = &p->ui[i];
    switch (u->status) {
    case CODE_NEW:
        return x->adopt ? "adopt" : "new";
    case CODE_CHANGED: {
        const struct code_row *w = u->priv;
        if (w && w->missing && !strcmp(w->sha, u->sha256))
            return "missing";
        return x->in_place && !x->affected ? "replace" : "changed";
    }
    case CODE_MOVED:
        return x->affected || x->target ? "re-create" : "moved";
    case CODE_REMOVED:
        return "removed";
    case CODE_UNCHANGED:
        return x->affected || x->target ? "re-create" : NULL;
    }
    return NULL;
}

/* "DROP VIEW x" -> "DROP VIEW IF EXISTS x" (the kind words are upper case, the name is not). */
char *code_drop_if_exists(const char *drop_sql)
{
    const char *p = drop_sql + 5; /* after "DROP " */
    while (*p && ((*p >= 'A' && *p <= 'Z') || (*p == ' ' && p[1] >= 'A' && p[1] <= 'Z')))
        p++;
    return xasprintf("%.*s IF EXISTS%s", (int)(p - drop_sql), drop_sql, p);
}

const char *code_mig_path(const struct mig_step *s)
{
    return s->down ? s->m->down : s->m->up;
}

void code_print_text(const struct code_plan *p, FILE *f)
{
    const struct code_set *cs = &p->cs;
    size_t nunchanged = 0;
    for (size_t i = 0; i < cs->units_nr; i++)
        nunchanged += !code_status_word(p, i);
    if (!code_plan_has_work(p)) {
        fprintf(f, "Nothing to do: %zu code object%s as in %s, no pending migration.\n",
                nunchanged, nunchanged == 1 ? "" : "s", cs->dir ? cs->dir : "(no code directory)");
        for (size_t i = 0; i < p->notes.nr; i++)
            fprintf(f, "note: %s\n", p->notes.v[i]);
        return;
    }
    if (p->steps.nr) {
        fprintf(f, "Pending migrations (%zu):\n", p->steps.nr);
        for (size_t i = 0; i < p->steps.nr; i++) {
            const struct mig_step *s = &p->steps.v[i];
            fprintf(f, "  %-4s %s\n", s->down ? "down" : "up", s->m->name);
            for (size_t k = 0; k < p->eff[i].targets_nr; k++) {
                const struct code_target *t = &p->eff[i].targets[k];
                struct strbuf q = STRBUF_INIT;
                code_qualified(&q, t->schema, t->name);
                fprintf(f, "         %s of %s (%s:%u)\n", t->what, q.buf, t->file, t->line);
                strbuf_release(&q);
            }
        }
    }
    fprintf(f, "Code objects (%s): %zu new, %zu changed, %zu moved, %zu removed, %zu re-created, "
               "%zu unchanged",
            cs->dir ? cs->dir : "no code directory", p->nnew, p->nchanged, p->nmoved, p->nremoved,
            p->naffected, nunchanged);
    if (p->nmissing)
        fprintf(f, ", %zu missing from the database", p->nmissing);
    fputc('\n', f);
    size_t w = 0;
    for (size_t i = 0; i < cs->units_nr; i++)
        if (code_status_word(p, i) && strlen(cs->units[i].identity) > w)
            w = strlen(cs->units[i].identity);
    if (w > 60)
        w = 60;
    for (size_t i = 0; i < cs->units_nr; i++) {
        const char *sw = code_status_word(p, i);
        const struct code_unit *u = &cs->units[i];
        if (!sw)
            continue;
        const struct code_row *row = u->priv;
        if (u->status == CODE_REMOVED)
            fprintf(f, "  %-9s %-*s  (was %s:%u)\n", sw, (int)w, u->identity, u->file, u->line);
        else if (u->status == CODE_MOVED && row)
            fprintf(f, "  %-9s %-*s  %s (was %s:%u)\n", sw, (int)w, u->identity,
                    code_unit_where(u), row->file, row->line);
        else
            fprintf(f, "  %-9s %-*s  %s\n", sw, (int)w, u->identity, code_unit_where(u));
        if (p->ui[i].reason && (p->ui[i].affected || p->ui[i].target))
            fprintf(f, "            %s\n", p->ui[i].reason);
    }
    for (size_t i = 0; i < p->notes.nr; i++)
        fprintf(f, "note: %s\n", p->notes.v[i]);
    if (p->split)
        fprintf(f, "\nNot in one transaction: %s. Drops commit first, then the migrations run as "
                   "the migrator runs them, then the creates.\n", p->split_why);
    fprintf(f, "\nSQL, in order%s:\n", p->split ? "" : " (one transaction)");
    size_t n = 0;
    if (!p->split)
        fprintf(f, "BEGIN;\n");
    if (p->steps.nr && !p->split)
        fprintf(f, "SET LOCAL hectic.migration_mode = 'on';\n");
    for (size_t i = 0; i < p->ndrops; i++) {
        const struct code_unit *u = &cs->units[p->drops[i]];
        fprintf(f, "-- %zu. drop %s%s\n%s;\n", ++n, u->identity,
                u->status == CODE_REMOVED ? " (removed)" : " (created again below)", u->drop_sql);
    }
    for (size_t i = 0; i < p->accept_names.nr; i++)
        fprintf(f, "-- %zu. record the new hash of changed migration %s\n", ++n, p->accept_names.v[i]);
    for (size_t i = 0; i < p->steps.nr; i++) {
        const struct mig_step *s = &p->steps.v[i];
        fprintf(f, "-- %zu. migration %s (%s)\n\\i %s\n", ++n, s->m->name, s->down ? "down" : "up",
                code_mig_path(s) ? code_mig_path(s) : "(missing)");
    }
    for (size_t i = p->ncreates; i-- > 0;) {
        const struct code_unit *u = &cs->units[p->creates[i]];
        if (!p->ui[p->creates[i]].target || !u->drop_sql)
            continue;
        char *d = code_drop_if_exists(u->drop_sql);
        fprintf(f, "-- %zu. drop %s if the migrations left it\n%s;\n", ++n, u->identity, d);
        free(d);
    }
    for (size_t i = 0; i < p->ncreates; i++) {
        const struct code_unit *u = &cs->units[p->creates[i]];
        fprintf(f, "-- %zu. create %s (%s)\n", ++n, u->identity, code_unit_where(u));
        struct strbuf sb = STRBUF_INIT;
        code_unit_sql(u, &sb);
        fputs(sb.buf, f);
        strbuf_release(&sb);
    }
    if (!p->o->stateless)
        fprintf(f, "-- %zu. record them in hectic.code_object\n", ++n);
    if (!p->split)
        fprintf(f, "COMMIT;\n");
}

static void json_unit(struct strbuf *sb, const struct code_plan *p, size_t i)
{
    const struct code_unit *u = &p->cs.units[i];
    strbuf_addstr(sb, "\"identity\":");
    strbuf_add_json_str(sb, u->identity);
    strbuf_addstr(sb, ",\"kind\":");
    strbuf_add_json_str(sb, code_kind_name(u->kind));
    strbuf_addstr(sb, ",\"file\":");
    strbuf_add_json_str(sb, u->file);
    strbuf_addf(sb, ",\"line\":%u", u->line);
}

void code_print_json(const struct code_plan *p, FILE *f)
{
    const struct code_set *cs = &p->cs;
    struct strbuf sb = STRBUF_INIT;
    strbuf_addf(&sb, "{\"changes\":%s,\"one_transaction\":%s,\"code_dir\":",
                code_plan_has_work(p) ? "true" : "false", p->split ? "false" : "true");
    strbuf_add_json_str(&sb, cs->dir);
    strbuf_addstr(&sb, ",\"migrations\":[");
    for (size_t i = 0; i < p->steps.nr; i++) {
        const struct mig_step *s = &p->steps.v[i];
        strbuf_addstr(&sb, i ? ",{\"name\":" : "{\"name\":");
        strbuf_add_json_str(&sb, s->m->name);
        strbuf_addf(&sb, ",\"direction\":\"%s\",\"file\":", s->down ? "down" : "up");
        strbuf_add_json_str(&sb, code_mig_path(s));
        strbuf_addstr(&sb, ",\"alters\":[");
        for (size_t k = 0; k < p->eff[i].targets_nr; k++) {
            const struct code_target *t = &p->eff[i].targets[k];
            struct strbuf q = STRBUF_INIT;
            code_qualified(&q, t->schema, t->name);
            strbuf_addstr(&sb, k ? ",{\"object\":" : "{\"object\":");
            strbuf_add_json_str(&sb, q.buf);
            strbuf_addstr(&sb, ",\"what\":");
            strbuf_add_json_str(&sb, t->what);
            strbuf_addstr(&sb, ",\"file\":");
            strbuf_add_json_str(&sb, t->file);
            strbuf_addf(&sb, ",\"line\":%u}", t->line);
            strbuf_release(&q);
        }
        strbuf_addstr(&sb, "]}");
    }
    strbuf_addstr(&sb, "],\"objects\":[");
    bool first = true;
    for (size_t i = 0; i < cs->units_nr; i++) {
        const char *sw = code_status_word(p, i);
        if (!sw)
            continue;
        strbuf_addstr(&sb, first ? "{" : ",{");
        first = false;
        json_unit(&sb, p, i);
        strbuf_addstr(&sb, ",\"status\":");
        strbuf_add_json_str(&sb, sw);
        if (p->ui[i].reason && (p->ui[i].affected || p->ui[i].target)) {
            strbuf_addstr(&sb, ",\"reason\":");
            strbuf_add_json_str(&sb, p->ui[i].reason);
        }
        strbuf_addch(&sb, '}');
    }
    strbuf_addstr(&sb, "],\"steps\":[");
    first = true;
    for (size_t i = 0; i < p->ndrops; i++) {
        strbuf_addstr(&sb, first ? "{\"action\":\"drop\"," : ",{\"action\":\"drop\",");
        first = false;
        json_unit(&sb, p, p->drops[i]);
        strbuf_addstr(&sb, ",\"sql\":");
        strbuf_add_json_str(&sb, cs->units[p->drops[i]].drop_sql);
        strbuf_addch(&sb, '}');
    }
    for (size_t i = 0; i < p->steps.nr; i++) {
        strbuf_addstr(&sb, first ? "{\"action\":\"migrate\",\"name\":"
                                 : ",{\"action\":\"migrate\",\"name\":");
        first = false;
        strbuf_add_json_str(&sb, p->steps.v[i].m->name);
        strbuf_addstr(&sb, ",\"file\":");
        strbuf_add_json_str(&sb, code_mig_path(&p->steps.v[i]));
        strbuf_addch(&sb, '}');
    }
    for (size_t i = p->ncreates; i-- > 0;) {
        const struct code_unit *u = &cs->units[p->creates[i]];
        if (!p->ui[p->creates[i]].target || !u->drop_sql)
            continue;
        char *d = code_drop_if_exists(u->drop_sql);
        strbuf_addstr(&sb, first ? "{\"action\":\"drop if exists\","
                                 : ",{\"action\":\"drop if exists\",");
        first = false;
        json_unit(&sb, p, p->creates[i]);
        strbuf_addstr(&sb, ",\"sql\":");
        strbuf_add_json_str(&sb, d);
        strbuf_addch(&sb, '}');
        free(d);
    }
    for (size_t i = 0; i < p->ncreates; i++) {
        const struct code_unit *u = &cs->units[p->creates[i]];
        strbuf_addstr(&sb, first ? "{\"action\":\"create\"," : ",{\"action\":\"create\",");
        first = false;
        json_unit(&sb, p, p->creates[i]);
        struct strbuf q = STRBUF_INIT;
        code_unit_sql(u, &q);
        strbuf_addstr(&sb, ",\"sql\":");
        strbuf_add_json_str(&sb, q.buf);
        strbuf_release(&q);
        strbuf_addch(&sb, '}');
    }
    strbuf_addstr(&sb, "],\"notes\":[");
    for (size_t i = 0; i < p->notes.nr; i++) {
        if (i)
            strbuf_addch(&sb, ',');
        strbuf_add_json_str(&sb, p->notes.v[i]);
    }
    strbuf_addstr(&sb, "]}\n");
    fputs(sb.buf, f);
    strbuf_release(&sb);
}

