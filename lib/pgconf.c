/*
 * pgconf.c — data/dbtool.conf, postgresql.conf's include, pg_hba.conf (see pgconf.h).
 */
#include "lib/pgconf.h"
#include "lib/fs.h"

#include <sys/stat.h>
#include <unistd.h>

#define INCLUDE_LINE "include_if_exists = '" PGCONF_RUNTIME "'"

void pgconf_quote(struct strbuf *sb, const char *key, const char *value)
{
    strbuf_addf(sb, "%s = '", key);
    for (const char *p = value; *p; p++) {
        if (*p == '\'' || *p == '\\')
            strbuf_addch(sb, *p);
        strbuf_addch(sb, *p);
    }
    strbuf_addstr(sb, "'\n");
}

static void runtime_conf(struct cluster *c, struct strbuf *sb)
{
    strbuf_addstr(sb, "# Written by dbtool postgres-init on every start; edits here are overwritten.\n"
                      "# Put your own settings in postgresql.conf (or PG_CONF_FILE).\n");
    strbuf_addf(sb, "port = %d\n", c->port);
    pgconf_quote(sb, "unix_socket_directories", c->sock_dir);
    char *hba = path_join(c->data_dir, "pg_hba.conf");
    char *ident = path_join(c->data_dir, "pg_ident.conf");
    pgconf_quote(sb, "hba_file", hba);
    pgconf_quote(sb, "ident_file", ident);
    free(hba);
    free(ident);
    if (!c->conf_file) {
        strbuf_addstr(sb, "listen_addresses = ''\n");
        strbuf_addf(sb, "logging_collector = %s\n", c->disable_logging ? "off" : "on");
        if (!c->disable_logging)
            pgconf_quote(sb, "log_directory", c->log_dir);
        pgconf_quote(sb, "shared_preload_libraries", c->preload);
        if (strstr(c->preload, "pg_cron")) {
            pgconf_quote(sb, "cron.database_name", c->database);
            pgconf_quote(sb, "cron.host", c->sock_dir);
        }
    }
    if (!c->fsync)
        strbuf_addstr(sb, "fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n");
}

/* Write DATA (LEN bytes) to DIR/NAME as the server user, atomically. 0 or -1. */
static int write_as_server(struct cluster *c, const char *name, const char *data, size_t len)
{
    char *path = path_join(c->data_dir, name);
    int r = fs_write_as(path, data, len, 0600, c->switch_user, c->uid, c->gid);
    if (r < 0)
        error_errno("cannot write '%s'", path);
    free(path);
    return r;
}

/* Append the include line to postgresql.conf when it is not there yet. */
static int ensure_include(struct cluster *c)
{
    char *conf = path_join(c->data_dir, "postgresql.conf");
    struct strbuf sb = STRBUF_INIT;
    int ret = 0;
    if (fs_read_regular(conf, 16 << 20, &sb, NULL) < 0 && errno != ENOENT) {
        ret = error_errno("cannot read '%s'", conf);
    } else if (!strstr(sb.buf, INCLUDE_LINE)) {
        if (sb.len && sb.buf[sb.len - 1] != '\n')
            strbuf_addch(&sb, '\n');
        strbuf_addstr(&sb, "\n# dbtool: runtime settings (port, socket, logging, preload)\n" INCLUDE_LINE "\n");
        ret = write_as_server(c, "postgresql.conf", sb.buf, sb.len);
    }
    strbuf_release(&sb);
    free(conf);
    return ret;
}

/*
 * PG_LOG_PATH: created (parents 0755) and handed to the server user when
 * missing; an existing one is used as it is (never chowned: it may be
 * anybody's), and it must be a directory, not a link to one.
 */
int pgconf_make_log_dir(struct cluster *c)
{
    char *parent = xstrdup(c->log_dir);
    char *slash = strrchr(parent, '/');
    if (slash && slash != parent) {
        *slash = 0;
        if (mkdir_p(parent, 0755) < 0) {
            int r = error_errno("cannot create '%s'", parent);
            free(parent);
            return r;
        }
    }
    free(parent);
    if (mkdir(c->log_dir, 0700) == 0) {
        if (c->switch_user && fs_chown_dir_nofollow(c->log_dir, c->uid, c->gid) < 0)
            return error_errno("cannot hand '%s' to %s", c->log_dir, c->user);
        return 0;
    }
    if (errno != EEXIST)
        return error_errno("cannot create the log directory '%s'", c->log_dir);
    struct stat st;
    if (lstat(c->log_dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return error("PG_LOG_PATH '%s' is not a directory (a symbolic link is not followed)",
                     c->log_dir);
    return 0;
}

int pgconf_write_runtime(struct cluster *c)
{
    if (c->log_dir_set && pgconf_make_log_dir(c) < 0)
        return -1;
    struct strbuf sb = STRBUF_INIT;
    runtime_conf(c, &sb);
    int ret = write_as_server(c, PGCONF_RUNTIME, sb.buf, sb.len);
    strbuf_release(&sb);
    return ret ? -1 : ensure_include(c);
}

bool pgconf_runtime_matches(struct cluster *c)
{
    struct strbuf want = STRBUF_INIT, have = STRBUF_INIT;
    runtime_conf(c, &want);
    char *path = path_join(c->data_dir, PGCONF_RUNTIME);
    bool same = fs_read_regular(path, 1 << 20, &have, NULL) == 0 && !strcmp(want.buf, have.buf);
    free(path);
    strbuf_release(&want);
    strbuf_release(&have);
    return same;
}

int pgconf_read_conf_file(const char *path, struct strbuf *sb)
{
    const char *why = NULL;
    if (fs_read_regular(path, 1 << 20, sb, &why) < 0)
        return error("PG_CONF_FILE not readable: %s (%s)", path, why);
    return 0;
}

int pgconf_write_fresh(struct cluster *c)
{
    if (c->conf_file) {
        struct strbuf sb = STRBUF_INIT;
        int r = pgconf_read_conf_file(c->conf_file, &sb);
        if (!r)
            r = write_as_server(c, "postgresql.conf", sb.buf, sb.len);
        strbuf_release(&sb);
        if (r < 0)
            return -1;
    }
    static const char hba[] =
        "# Written by dbtool postgres-init: a local development cluster, trust over the socket.\n"
        "local   all             all                                     trust\n"
        "local   replication     all                                     trust\n"
        "host    all             all             127.0.0.1/32            trust\n"
        "host    all             all             ::1/128                 trust\n"
        "host    replication     all             127.0.0.1/32            trust\n";
    return write_as_server(c, "pg_hba.conf", hba, sizeof(hba) - 1);
}
