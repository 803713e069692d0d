/*
 * opt.c — the option parser behind every applet and subcommand.
 */
#include "lib/opt.h"
#include "lib/pager.h"
#include "lib/spawn.h"

#include <limits.h>
#include <unistd.h>

static void opt_name(struct strbuf *sb, const struct option *o)
{
    if (o->short_name && o->long_name)
        strbuf_addf(sb, "-%c, --%s", o->short_name, o->long_name);
    else if (o->short_name)
        strbuf_addf(sb, "-%c", o->short_name);
    else
        strbuf_addf(sb, "    --%s", o->long_name);
    if (o->argh)
        strbuf_addf(sb, " %s", o->argh);
}

void usage_format(struct strbuf *sb, const char *const *usage, const struct option *opts)
{
    size_t i = 0;
    for (; usage[i] && *usage[i]; i++)
        strbuf_addf(sb, "%s %s\n", i == 0 ? "usage:" : "   or:", usage[i]);
    if (usage[i])
        i++;
    for (; usage[i]; i++)
        strbuf_addf(sb, "\n%s\n", usage[i]);
    bool any = false;
    for (const struct option *o = opts; o && o->type != OPT_END_; o++) {
        if (!any)
            strbuf_addstr(sb, "\noptions:\n");
        any = true;
        struct strbuf n = STRBUF_INIT;
        strbuf_addstr(&n, "    ");
        opt_name(&n, o);
        if (n.len < 30)
            strbuf_addf(sb, "%-30s%s\n", n.buf, o->help ? o->help : "");
        else
            strbuf_addf(sb, "%s\n%-30s%s\n", n.buf, "", o->help ? o->help : "");
        strbuf_release(&n);
    }
    if (!any)
        strbuf_addstr(sb, "\noptions:\n");
    strbuf_addf(sb, "    %-26s%s\n", "-h, --help", "show this help and exit");
}

void usage_with_options(const char *const *usage, const struct option *opts)
{
    struct strbuf sb = STRBUF_INIT;
    usage_format(&sb, usage, opts);
    pager_write(sb.buf, sb.len);
    strbuf_release(&sb);
    dbtool_exit(EXIT_OK);
}

void usage_die(const char *const *usage, const char *fmt, ...)
{
    struct strbuf sb = STRBUF_INIT;
    va_list ap;
    va_start(ap, fmt);
    strbuf_vaddf(&sb, fmt, ap);
    va_end(ap);
    error("%s", sb.buf);
    if (usage && usage[0])
        fprintf(stderr, "usage: %s\n(see '%s --help')\n", usage[0], progname);
    strbuf_release(&sb);
    dbtool_exit(EXIT_UNKNOWN);
}

bool opt_format_json(const char *const *usage, const char *format)
{
    if (strcmp(format, "text") && strcmp(format, "json"))
        usage_die(usage, "--format must be text or json, not '%s'", format);
    return !strcmp(format, "json");
}

size_t opt_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b);
    if (la > 64 || lb > 64)
        return SIZE_MAX;
    size_t d[65][65];
    for (size_t i = 0; i <= la; i++)
        d[i][0] = i;
    for (size_t j = 0; j <= lb; j++)
        d[0][j] = j;
    for (size_t i = 1; i <= la; i++)
        for (size_t j = 1; j <= lb; j++) {
            size_t c = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            if (d[i - 1][j] + 1 < c)
                c = d[i - 1][j] + 1;
            if (d[i][j - 1] + 1 < c)
                c = d[i][j - 1] + 1;
            /* a swap of two neighbours is one typo */
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < c)
                c = d[i - 2][j - 2] + 1;
            d[i][j] = c;
        }
    return d[la][lb];
}

const char *opt_suggest(const char *word, const char *const *cands, size_t n)
{
    const char *best = NULL, *prefix = NULL;
    size_t bd = SIZE_MAX, nprefix = 0;
    bool tie = false;
    size_t wl = strlen(word);
    for (size_t i = 0; i < n; i++) {
        if (!cands[i])
            continue;
        if (wl && starts_with(cands[i], word)) {
            prefix = cands[i];
            nprefix++;
        }
        size_t d = opt_edit_distance(word, cands[i]);
        if (d < bd) {
            bd = d;
            best = cands[i];
            tie = false;
        } else if (d == bd) {
            tie = true;
        }
    }
    if (best && !tie && bd <= 2 && bd * 2 < (wl > 2 ? wl : 2))
        return best;
    if (nprefix == 1)
        return prefix;
    return NULL;
}

/* Print "KEY\tTEXT" with TEXT's newlines and tabs escaped (for --dbtool-describe). */
static void describe_field(const char *key, const char *text)
{
    fputs(key, stdout);
    putchar('\t');
    for (const char *p = text ? text : ""; *p; p++) {
        if (*p == '\n')
            fputs("\\n", stdout);
        else if (*p == '\t')
            putchar(' ');
        else
            putchar(*p);
    }
}

static NORETURN void describe(const char *const *usage, const struct option *opts,
                              const struct subcommand *subs, size_t nsubs)
{
    size_t i = 0;
    for (; usage && usage[i] && *usage[i]; i++) {
        describe_field("usage", usage[i]);
        putchar('\n');
    }
    if (usage && usage[i])
        i++;
    for (; usage && usage[i]; i++) {
        describe_field("text", usage[i]);
        putchar('\n');
    }
    for (const struct option *o = opts; o && o->type != OPT_END_; o++) {
        char sh[3] = {0};
        if (o->short_name)
            sh[0] = '-', sh[1] = (char)o->short_name;
        printf("option\t%s\t%s%s\t%s", sh, o->long_name ? "--" : "", o->long_name ? o->long_name : "",
               o->argh ? o->argh : "");
        describe_field("", o->help);
        putchar('\n');
    }
    for (size_t j = 0; j < nsubs; j++) {
        if (subs[j].flags & SUB_HIDDEN)
            continue;
        printf("sub\t%s", subs[j].name);
        describe_field("", subs[j].summary);
        putchar('\n');
    }
    dbtool_exit(EXIT_OK);
}

void opt_describe(const char *const *usage, const struct option *opts, const struct subcommand *subs,
                  size_t nsubs)
{
    describe(usage, opts, subs, nsubs);
}

static bool has_long(const struct option *opts, const char *name)
{
    for (const struct option *o = opts; o && o->type != OPT_END_; o++)
        if (o->long_name && !strcmp(o->long_name, name))
            return true;
    return false;
}

static NORETURN void print_version(void)
{
    printf("%s (dbtool) %s\n", progname, DBTOOL_VERSION);
    dbtool_exit(EXIT_OK);
}

/* usage_die() for an unknown long option NAME (NLEN bytes), with a suggestion. */
static NORETURN void unknown_long(const char *const *usage, const struct option *opts, const char *name,
                                  size_t nlen)
{
    char *w = xstrndup(name, nlen);
    const char *cands[64];
    size_t n = 0;
    for (const struct option *o = opts; o && o->type != OPT_END_ && n < ARRAY_SIZE(cands); o++)
        if (o->long_name)
            cands[n++] = o->long_name;
    const char *near = opt_suggest(w, cands, n);
    if (near)
        usage_die(usage, "unknown option '--%s' (did you mean '--%s'?)", w, near);
    usage_die(usage, "unknown option '--%s'", w);
}

static void apply(const struct option *o, const char *arg, bool negated, const char *const *usage)
{
    switch (o->type) {
    case OPT_BOOL_:
        *(int *)o->value = negated ? 0 : 1;
        break;
    case OPT_STRING_:
        *(const char **)o->value = arg;
        break;
    case OPT_INT_: {
        char *end;
        errno = 0;
        long v = strtol(arg, &end, 10);
        if (!*arg || *end || errno || v < INT_MIN || v > INT_MAX)
            usage_die(usage, "option '%s' expects a number, got '%s'",
                      o->long_name ? o->long_name : (char[]){(char)o->short_name, 0}, arg);
        *(int *)o->value = (int)v;
        break;
    }
    case OPT_LIST_:
        strvec_push((struct strvec *)o->value, arg);
        break;
    case OPT_CALLBACK_:
        if (o->callback(o, arg))
            usage_die(usage, "invalid value for option '%s': '%s'",
                      o->long_name ? o->long_name : (char[]){(char)o->short_name, 0},
                      arg ? arg : "");
        break;
    case OPT_END_:
        BUG("apply OPT_END");
    }
}

int parse_options(int argc, char **argv, const struct option *opts, const char *const *usage,
                  int flags)
{
    int out = 0;
    int i = 1;
    for (; i < argc; i++) {
        char *a = argv[i];
        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || a[1] == 0) {
            if (flags & PARSE_OPT_STOP_AT_NON_OPTION)
                break;
            argv[out++] = a;
            continue;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t nlen = eq ? (size_t)(eq - name) : strlen(name);
            if (nlen == 4 && !strncmp(name, "help", 4))
                usage_with_options(usage, opts);
            if (!strcmp(a, OPT_DESCRIBE))
                describe(usage, opts, NULL, 0);
            if (!strcmp(a, "--version") && !has_long(opts, "version"))
                print_version();
            const struct option *o = NULL;
            bool negated = false;
            for (const struct option *p = opts; p && p->type != OPT_END_; p++) {
                if (p->long_name && strlen(p->long_name) == nlen && !strncmp(p->long_name, name, nlen)) {
                    o = p;
                    break;
                }
            }
            if (!o && nlen > 3 && !strncmp(name, "no-", 3)) {
                for (const struct option *p = opts; p && p->type != OPT_END_; p++) {
                    if (p->type == OPT_BOOL_ && p->long_name && strlen(p->long_name) == nlen - 3 &&
                        !strncmp(p->long_name, name + 3, nlen - 3)) {
                        o = p;
                        negated = true;
                        break;
                    }
                }
            }
            if (!o && (flags & PARSE_OPT_KEEP_UNKNOWN)) {
                argv[out++] = a;
                continue;
            }
            if (!o)
                unknown_long(usage, opts, name, nlen);
            const char *arg = NULL;
            if (o->argh) {
                if (eq)
                    arg = eq + 1;
                else if (i + 1 < argc)
                    arg = argv[++i];
                else
                    usage_die(usage, "option '--%s' requires a value", o->long_name);
            } else if (eq) {
                usage_die(usage, "option '--%s' takes no value", o->long_name);
            }
            apply(o, arg, negated, usage);
            continue;
        }
        /* clustered short options: -abc, -dVALUE, -d VALUE */
        if (flags & PARSE_OPT_KEEP_UNKNOWN) {
            /* an unknown letter keeps the whole word, before any of it is applied */
            bool known = true;
            for (char *c = a + 1; *c && known; c++) {
                const struct option *o = NULL;
                for (const struct option *p = opts; p && p->type != OPT_END_; p++)
                    if (p->short_name == *c)
                        o = p;
                known = *c == 'h' || o;
                if (o && o->argh)
                    break;
            }
            if (!known) {
                argv[out++] = a;
                continue;
            }
        }
        for (char *c = a + 1; *c; c++) {
            if (*c == 'h')
                usage_with_options(usage, opts);
            const struct option *o = NULL;
            for (const struct option *p = opts; p && p->type != OPT_END_; p++)
                if (p->short_name == *c) {
                    o = p;
                    break;
                }
            if (!o)
                usage_die(usage, "unknown option '-%c'", *c);
            if (o->argh) {
                const char *arg;
                if (c[1])
                    arg = c + 1;
                else if (i + 1 < argc)
                    arg = argv[++i];
                else
                    usage_die(usage, "option '-%c' requires a value", *c);
                apply(o, arg, false, usage);
                break;
            }
            apply(o, NULL, false, usage);
        }
    }
    for (; i < argc; i++)
        argv[out++] = argv[i];
    argv[out] = NULL;
    return out;
}

static void format_front(struct strbuf *sb, const char *const *usage, const struct option *opts,
                         const struct subcommand *subs, size_t nsubs)
{
    usage_format(sb, usage, opts);
    strbuf_addstr(sb, "\nsubcommands:\n");
    for (size_t i = 0; i < nsubs; i++)
        if (!(subs[i].flags & SUB_HIDDEN))
            strbuf_addf(sb, "    %-18s %s\n", subs[i].name, subs[i].summary);
}

static const struct subcommand *find_sub(const char *name, const struct subcommand *subs, size_t nsubs)
{
    for (size_t i = 0; i < nsubs; i++)
        if (!strcmp(subs[i].name, name))
            return &subs[i];
    return NULL;
}

static NORETURN void unknown_sub(const char *name, const struct subcommand *subs, size_t nsubs)
{
    const char **cands = xcalloc(nsubs ? nsubs : 1, sizeof(*cands));
    for (size_t i = 0; i < nsubs; i++)
        cands[i] = subs[i].flags & SUB_HIDDEN ? NULL : subs[i].name;
    const char *near = opt_suggest(name, cands, nsubs);
    free(cands);
    if (near)
        die(EXIT_UNKNOWN, "unknown subcommand '%s' (did you mean '%s'? see '%s --help')", name, near,
            progname);
    die(EXIT_UNKNOWN, "unknown subcommand '%s' (see '%s --help')", name, progname);
}

bool args_want_help(int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help") || !strcmp(argv[i], OPT_DESCRIBE))
            return true;
    return false;
}

/* Does ARG name an option of OPTS that takes its value from the next word? */
static bool takes_next(const char *arg, const struct option *opts)
{
    for (const struct option *o = opts; o && o->type != OPT_END_; o++) {
        if (!o->argh)
            continue;
        if (o->long_name && starts_with(arg, "--") && !strcmp(arg + 2, o->long_name))
            return true;
        if (o->short_name && arg[0] == '-' && arg[1] == o->short_name && !arg[2])
            return true;
    }
    return false;
}

const struct subcommand *parse_subcommand(int *argc, char ***argv, const struct option *opts,
                                          const char *const *usage, const struct subcommand *subs,
                                          size_t nsubs)
{
    /* --help before the subcommand lists the subcommands too */
    for (int i = 1; i < *argc && (*argv)[i][0] == '-'; i++) {
        if (!strcmp((*argv)[i], OPT_DESCRIBE))
            describe(usage, opts, subs, nsubs);
        if (!strcmp((*argv)[i], "--version") && !has_long(opts, "version"))
            print_version();
        if (!strcmp((*argv)[i], "-h") || !strcmp((*argv)[i], "--help")) {
            struct strbuf sb = STRBUF_INIT;
            format_front(&sb, usage, opts, subs, nsubs);
            pager_write(sb.buf, sb.len);
            strbuf_release(&sb);
            dbtool_exit(EXIT_OK);
        }
        if (takes_next((*argv)[i], opts))
            i++;
    }
    *argc = parse_options(*argc, *argv, opts, usage, PARSE_OPT_STOP_AT_NON_OPTION);
    if (*argc == 0) {
        struct strbuf sb = STRBUF_INIT;
        format_front(&sb, usage, opts, subs, nsubs);
        fputs(sb.buf, stderr);
        strbuf_release(&sb);
        dbtool_exit(EXIT_ERR);
    }
    const struct subcommand *sub = find_sub((*argv)[0], subs, nsubs);
    if (sub)
        return sub;
    if (!strcmp((*argv)[0], "help")) {
        /* git's `help X`: X --help; `help` alone: the front door's help */
        if (*argc == 1) {
            struct strbuf sb = STRBUF_INIT;
            format_front(&sb, usage, opts, subs, nsubs);
            pager_write(sb.buf, sb.len);
            strbuf_release(&sb);
            dbtool_exit(EXIT_OK);
        }
        if (!(sub = find_sub((*argv)[1], subs, nsubs)))
            unknown_sub((*argv)[1], subs, nsubs);
        static char help_opt[] = "--help";
        (*argv)[0] = (*argv)[1];
        (*argv)[1] = help_opt;
        *argc = 2;
        (*argv)[2] = NULL;
        return sub;
    }
    unknown_sub((*argv)[0], subs, nsubs);
}
