/*
 * staging.c — `database pull_staging` (see staging.h).
 *
 * ssh joins its command arguments with spaces and hands the result to the
 * remote user's shell, so quoting each word ourselves is the only way to
 * keep data data. The dump streams straight into a temp file beside
 * test-data.sql (memory stays bounded), renamed over it on success.
 */
#include "ops/staging.h"
#include "ops/project.h"
#include "lib/fs.h"
#include "lib/pg.h"
#include "lib/settings.h"
#include "lib/spawn.h"

#include <fcntl.h>
#include <time.h>
#include <unistd.h>

#define NS "staging"

int staging_check_env(const struct settings *s)
{
    static const enum set_key keys[] = {SET_STAGING_SSH_HOST, SET_STAGING_DB_URL,
                                        SET_STAGING_DUMP_TABLES, SET_STAGING_DUMP_FLAGS};
    int missing = 0;
    for (size_t i = 0; i < ARRAY_SIZE(keys); i++) {
        const char *v = set_get(s, keys[i]);
        if (!v || !*v) {
            error("%s is not set", set_name(keys[i]));
            missing++;
        }
    }
    if (missing)
        info("pull_staging needs STAGING_SSH_HOST, STAGING_DB_URL, STAGING_DUMP_TABLES and "
             "STAGING_DUMP_FLAGS (see 'database pull_staging --help')");
    return missing ? EXIT_MISSING : 0;
}

/* Split S on blanks into SV. */
static void split_words(struct strvec *sv, const char *s)
{
    char *copy = xstrdup(s ? s : ""), *save = NULL;
    for (char *w = strtok_r(copy, " \t\n", &save); w; w = strtok_r(NULL, " \t\n", &save))
        strvec_push(sv, w);
    free(copy);
}

static void add_word(struct strbuf *out, const char *w)
{
    if (out->len)
        strbuf_addch(out, ' ');
    strbuf_add_shquote(out, w);
}

void staging_remote_command(struct strbuf *out, const char *pg_dump, const char *flags,
                            const char *tables, const char *url)
{
    struct strvec f = STRVEC_INIT, t = STRVEC_INIT;
    split_words(&f, flags);
    split_words(&t, tables);
    add_word(out, pg_dump);
    add_word(out, "--data-only");
    for (size_t i = 0; i < f.nr; i++)
        add_word(out, f.v[i]);
    for (size_t i = 0; i < t.nr; i++) {
        char *w = xasprintf("--table=%s", t.v[i]);
        add_word(out, w);
        free(w);
    }
    /* --dbname=: a URL starting with '-' can never be taken for an option */
    char *d = xasprintf("--dbname=%s", url);
    add_word(out, d);
    free(d);
    strvec_clear(&f);
    strvec_clear(&t);
}

/* S for a one-line SQL comment: no line breaks. */
static void add_comment_text(struct strbuf *sb, const char *s)
{
    for (; *s; s++)
        strbuf_addch(sb, *s == '\n' || *s == '\r' ? ' ' : *s);
}

/* The sequence reset of TABLE as a DO block, dollar-quoted with a tag not inside TABLE. */
static void add_sequence_reset(struct strbuf *sb, const char *table)
{
    char *lit = pg_quote_literal(table);
    char tag[32];
    int n = 0;
    do
        snprintf(tag, sizeof(tag), n ? "$dbtool_reset%d$" : "$dbtool_reset$", n);
    while (strstr(lit, tag) && ++n);
    strbuf_addstr(sb, "-- ");
    add_comment_text(sb, table);
    strbuf_addch(sb, '\n');
    strbuf_addf(sb,
                "DO %s\n"
                "DECLARE\n"
                "    rel regclass := to_regclass(%s);\n"
                "    seq text;\n"
                "    top bigint;\n"
                "BEGIN\n"
                "    IF rel IS NULL OR NOT EXISTS (SELECT 1 FROM pg_catalog.pg_attribute\n"
                "            WHERE attrelid = rel AND attname = 'id' AND attnum > 0 AND NOT attisdropped) THEN\n"
                "        RETURN;\n"
                "    END IF;\n"
                "    seq := pg_catalog.pg_get_serial_sequence(rel::text, 'id');\n"
                "    IF seq IS NULL THEN\n"
                "        RETURN;\n"
                "    END IF;\n"
                "    EXECUTE pg_catalog.format('SELECT max(id)::bigint FROM %%s', rel) INTO top;\n"
                "    PERFORM pg_catalog.setval(seq, COALESCE(top, 1), top IS NOT NULL);\n"
                "END\n"
                "%s;\n",
                tag, lit, tag);
    free(lit);
}

/*
 * Split URL into a conninfo without the password (*CONNINFO, key=value, to
 * pass in the remote command) and the password (*PASSWORD, NULL when there
 * is none), so the password reaches the remote pg_dump on ssh's standard
 * input: never in an argv, here or on the staging host. -1 after a message.
 */
static int split_password(const char *url, char **conninfo, char **password)
{
    *conninfo = *password = NULL;
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(url, &err);
    if (!opts) {
        char *m = pg_mask_url(url);
        error("STAGING_DB_URL '%s' is not a valid connection string: %s", m, err ? err : "?");
        free(m);
        PQfreemem(err);
        return -1;
    }
    struct strbuf ci = STRBUF_INIT;
    for (PQconninfoOption *o = opts; o->keyword; o++) {
        if (!o->val || !*o->val)
            continue;
        if (!strcmp(o->keyword, "password")) {
            *password = xstrdup(o->val);
            continue;
        }
        if (ci.len)
            strbuf_addch(&ci, ' ');
        strbuf_addf(&ci, "%s='", o->keyword);
        for (const char *v = o->val; *v; v++) {
            if (*v == '\\' || *v == '\'')
                strbuf_addch(&ci, '\\');
            strbuf_addch(&ci, *v);
        }
        strbuf_addch(&ci, '\'');
    }
    PQconninfoFree(opts);
    if (*password && strpbrk(*password, "\n\r")) {
        error("the password of STAGING_DB_URL contains a line break: use a .pgpass file on the "
              "staging host instead");
        explicit_bzero(*password, strlen(*password));
        free(*password);
        *password = NULL;
        strbuf_release(&ci);
        return -1;
    }
    *conninfo = strbuf_detach(&ci, NULL);
    return 0;
}

static int write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t w = write(fd, buf, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        buf += w;
        len -= (size_t)w;
    }
    return 0;
}

int staging_pull(const struct settings *s)
{
    int r = staging_check_env(s);
    if (r)
        return r;
    double t0 = now_monotonic();
    const char *host = set_get(s, SET_STAGING_SSH_HOST);
    const char *url = set_get(s, SET_STAGING_DB_URL);
    const char *tables = set_get(s, SET_STAGING_DUMP_TABLES);
    const char *flags = set_get(s, SET_STAGING_DUMP_FLAGS);
    const char *pg_dump = set_get(s, SET_STAGING_PG_DUMP);
    char *file = proj_test_data_path(s);
    char *tmp = xasprintf("%s.pull-%d", file, (int)getpid());
    char *ssh = NULL, *murl = pg_mask_url(url), *conninfo = NULL, *password = NULL;
    struct strbuf remote = STRBUF_INIT, sb = STRBUF_INIT;
    struct strvec tv = STRVEC_INIT;
    struct child ch = CHILD_INIT;
    int fd = -1;

    if (!(ssh = find_in_path("ssh"))) {
        error("required program 'ssh' not found in PATH");
        r = EXIT_NO_PROGRAM;
        goto out;
    }
    split_words(&tv, tables);
    if (!tv.nr) {
        error("STAGING_DUMP_TABLES is not set (it holds no table names)");
        r = EXIT_MISSING;
        goto out;
    }
    if (split_password(url, &conninfo, &password) < 0) {
        r = EXIT_MISSING;
        goto out;
    }
    if (password) {
        /* the remote shell reads it from ssh's stdin with a builtin: no argv sees it */
        strbuf_addstr(&remote, "IFS= read -r PGPASSWORD && export PGPASSWORD && exec");
        staging_remote_command(&remote, pg_dump ? pg_dump : "pg_dump", flags, tables, conninfo);
    } else {
        staging_remote_command(&remote, pg_dump ? pg_dump : "pg_dump", flags, tables, url);
    }

    char *dir = xstrdup(file);
    *strrchr(dir, '/') = 0;
    mkdir_p(dir, 0755);
    free(dir);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        error_errno("cannot create '%s'", tmp);
        r = EXIT_ERR;
        goto out;
    }
    {
        char stamp[64];
        time_t now = time(NULL);
        strftime(stamp, sizeof(stamp), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
        strbuf_addstr(&sb, "-- test-data.sql: pulled from staging by `database pull_staging`\n-- host: ");
        add_comment_text(&sb, host);
        strbuf_addf(&sb, "\n-- time: %s\n-- database: ", stamp);
        add_comment_text(&sb, murl);
        strbuf_addstr(&sb, "\n-- tables:");
        for (size_t i = 0; i < tv.nr; i++) {
            strbuf_addch(&sb, ' ');
            add_comment_text(&sb, tv.v[i]);
        }
        strbuf_addstr(&sb, "\n-- Running pull_staging again overwrites this file.\n\n");
        if (write_all(fd, sb.buf, sb.len) < 0) {
            error_errno("cannot write '%s'", tmp);
            r = EXIT_ERR;
            goto out;
        }
    }

    strvec_push(&ch.args, ssh);
    ch.env_mode = SPAWN_ENV_USER; /* ssh's own settings (agent, config); never the secrets */
    split_words(&ch.args, set_get(s, SET_STAGING_SSH_OPTS));
    strvec_pushl(&ch.args, "--", host, remote.buf, NULL);
    ch.out = fd;
    debug(NS, "remote command: %s", remote.buf);
    info("pull_staging: pg_dump of %zu table%s on %s (%s)", tv.nr, tv.nr == 1 ? "" : "s", host, murl);
    int st;
    if (password) {
        char *line = xasprintf("%s\n", password);
        st = spawn_feed(&ch, line, strlen(line));
        explicit_bzero(line, strlen(line));
        free(line);
    } else {
        ch.in = SPAWN_DEVNULL;
        st = spawn_run(&ch);
    }
    if (st) {
        if (st == 255)
            error("ssh to '%s' failed (exit status 255); %s is untouched", host, file);
        else if (st > 0)
            error("pg_dump on '%s' failed (exit status %d); %s is untouched", host, st, file);
        else
            error("cannot run ssh; %s is untouched", file);
        r = st < 0 && errno == ENOENT ? EXIT_NO_PROGRAM : EXIT_ERR;
        goto out;
    }
    strbuf_reset(&sb);
    strbuf_addstr(&sb, "\n-- dbtool: reset each pulled table's id sequence to max(id)\n");
    for (size_t i = 0; i < tv.nr; i++)
        add_sequence_reset(&sb, tv.v[i]);
    if (write_all(fd, sb.buf, sb.len) < 0 || fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        error_errno("cannot write '%s'", tmp);
        r = EXIT_ERR;
        goto out;
    }
    fd = -1;
    if (rename(tmp, file) < 0) {
        error_errno("cannot rename '%s' to '%s'", tmp, file);
        r = EXIT_ERR;
        goto out;
    }
    info("pull_staging: wrote %s in %s; apply it with 'database patch' (or deploy)", file,
         proj_duration(now_monotonic() - t0));
out:
    if (fd >= 0)
        close(fd);
    if (r)
        unlink(tmp);
    child_clear(&ch);
    strvec_clear(&tv);
    strbuf_release(&remote);
    strbuf_release(&sb);
    free(ssh);
    free(murl);
    free(conninfo);
    if (password)
        explicit_bzero(password, strlen(password));
    free(password);
    free(file);
    free(tmp);
    return r;
}
