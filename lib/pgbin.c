/*
 * pgbin.c — the PostgreSQL installation: bin dirs, programs, major version,
 * libraries. See pgbin.h.
 */
#include "lib/pgbin.h"
#include "lib/fs.h"
#include "lib/spawn.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#define NS "pgbin"

/* `pg_config --bindir` of the pg_config on PATH whose bin dir holds postgres, or NULL. */
static char *bindir_from_pg_config(void)
{
    char *pgc = find_in_path("pg_config");
    if (!pgc)
        return NULL;
    char *dir = NULL;
    struct child c = CHILD_INIT;
    struct strbuf out = STRBUF_INIT;
    strvec_pushl(&c.args, pgc, "--bindir", NULL);
    c.err = SPAWN_DEVNULL;
    if (spawn_capture(&c, &out) == 0) {
        strbuf_trim_trailing(&out);
        char *p = path_join(out.buf, "postgres");
        if (access(p, X_OK) == 0)
            dir = strbuf_detach(&out, NULL);
        free(p);
    }
    strbuf_release(&out);
    child_clear(&c);
    free(pgc);
    return dir;
}

/* /usr/lib/postgresql/<highest>/bin when it holds postgres, or NULL. */
static char *bindir_debian(void)
{
    DIR *d = opendir("/usr/lib/postgresql");
    int best = 0;
    if (!d)
        return NULL;
    struct dirent *de;
    while ((de = readdir(d))) {
        int v = atoi(de->d_name);
        if (v > best) {
            char *p = xasprintf("/usr/lib/postgresql/%s/bin/postgres", de->d_name);
            if (access(p, X_OK) == 0)
                best = v;
            free(p);
        }
    }
    closedir(d);
    return best ? xasprintf("/usr/lib/postgresql/%d/bin", best) : NULL;
}

int pgbin_find(struct pgbin *b, const char *explicit, const char *client)
{
    memset(b, 0, sizeof(*b));
    if (explicit) {
        char *p = path_join(explicit, "postgres");
        bool ok = access(p, X_OK) == 0;
        free(p);
        if (!ok)
            return error("PG_BINDIR '%s' has no executable 'postgres'", explicit);
        b->bindir = xstrdup(explicit);
        b->source = "PG_BINDIR";
    }
    if (!b->bindir) {
        char *p = find_in_path("postgres");
        char *real = p ? realpath(p, NULL) : NULL;
        free(p);
        if (real) {
            *strrchr(real, '/') = 0;
            b->bindir = real;
            b->source = "PATH";
        }
    }
    if (!b->bindir && (b->bindir = bindir_from_pg_config()))
        b->source = "pg_config --bindir";
    if (!b->bindir && (b->bindir = bindir_debian()))
        b->source = "/usr/lib/postgresql";
    if (!b->bindir) {
        errno = ENOENT;
        return error("PostgreSQL server programs not found: put 'postgres' in PATH, or set "
                     "PG_BINDIR to the directory holding initdb and postgres");
    }
    b->client_bindir = client ? xstrdup(client) : NULL;
    debug(NS, "using PostgreSQL binaries from %s (found via %s)", b->bindir, b->source);
    return 0;
}

void pgbin_release(struct pgbin *b)
{
    free(b->bindir);
    free(b->client_bindir);
    memset(b, 0, sizeof(*b));
}

char *pgbin_server(const struct pgbin *b, const char *name)
{
    return path_join(b->bindir, name);
}

char *pgbin_client(const struct pgbin *b, const char *name)
{
    const char *dir = b->client_bindir ? b->client_bindir : b->bindir;
    char *p = path_join(dir, name);
    char *server = pgbin_server(b, "postgres");
    int smajor = 0;
    if (access(p, X_OK) < 0) {
        smajor = pgbin_program_major(server);
        struct strbuf want = STRBUF_INIT;
        if (smajor > 0)
            strbuf_addf(&want, "the client programs of PostgreSQL %d or newer (e.g. Debian's "
                               "postgresql-client-%d)", smajor, smajor);
        else
            strbuf_addstr(&want, "the client programs of the server's PostgreSQL version or newer");
        if (b->client_bindir)
            error("'%s' not found in PG_CLIENT_BINDIR '%s': install %s and point PG_CLIENT_BINDIR "
                  "at their bin dir", name, dir, want.buf);
        else
            error("'%s' not found in the server's bin dir '%s' (found via %s): install %s and set "
                  "PG_CLIENT_BINDIR to their bin dir", name, dir, b->source, want.buf);
        strbuf_release(&want);
        free(server);
        free(p);
        errno = ENOENT;
        return NULL;
    }
    if (b->client_bindir) {
        /* another installation: it must be at least as new as the server */
        int cmajor = pgbin_program_major(p);
        smajor = pgbin_program_major(server);
        if (cmajor > 0 && smajor > 0 && cmajor < smajor) {
            error("'%s' is PostgreSQL %d, older than the server (PostgreSQL %d, %s), which it "
                  "cannot work with: install the client programs of PostgreSQL %d or newer (e.g. "
                  "Debian's postgresql-client-%d) and set PG_CLIENT_BINDIR to their bin dir",
                  p, cmajor, smajor, b->bindir, smajor, smajor);
            free(server);
            free(p);
            errno = ENOENT;
            return NULL;
        }
        debug(NS, "%s: PostgreSQL %d client for a PostgreSQL %d server", p, cmajor, smajor);
    }
    free(server);
    return p;
}

/* "... (PostgreSQL) 15.18 (Debian ...)" -> 15; 0 when it does not parse. */
static int parse_major(const char *out)
{
    const char *p = strstr(out, ") ");
    if (!p)
        return 0;
    p += 2;
    int major = atoi(p);
    return major > 0 && major < 1000 ? major : 0;
}

int pgbin_program_major(const char *path)
{
    struct child ch = CHILD_INIT;
    struct strbuf out = STRBUF_INIT;
    strvec_pushl(&ch.args, path, "--version", NULL);
    ch.err = SPAWN_DEVNULL;
    int major = spawn_capture(&ch, &out) == 0 ? parse_major(out.buf) : 0;
    strbuf_release(&out);
    child_clear(&ch);
    return major;
}

void pgbin_identity(const struct pgbin *b, struct strbuf *sb)
{
    char *pg = path_join(b->bindir, "postgres");
    char *real = realpath(pg, NULL);
    struct stat st;
    if (real && stat(real, &st) == 0)
        strbuf_addf(sb, "bin=%s\nsize=%lld\nmtime=%lld.%09ld\nino=%llu\n", real,
                    (long long)st.st_size, (long long)st.st_mtim.tv_sec, st.st_mtim.tv_nsec,
                    (unsigned long long)st.st_ino);
    free(real);
    free(pg);
}

int pgbin_server_major(const struct pgbin *b, const char *cache_dir)
{
    struct strbuf id = STRBUF_INIT;
    pgbin_identity(b, &id);
    char *path = NULL;
    int major = 0;
    if (cache_dir && id.len) {
        path = xasprintf("%s/major-%016llx", cache_dir, (unsigned long long)hash_fnv1a(id.buf, id.len));
        struct strbuf sb = STRBUF_INIT;
        if (fs_read_regular(path, 64, &sb, NULL) == 0)
            major = atoi(sb.buf);
        strbuf_release(&sb);
    }
    if (!major) {
        char *pg = pgbin_server(b, "postgres");
        major = pgbin_program_major(pg);
        free(pg);
        if (major && path && is_dir(cache_dir)) {
            char buf[16];
            int n = snprintf(buf, sizeof(buf), "%d\n", major);
            write_file_atomic(path, buf, (size_t)n, 0644);
        }
    }
    free(path);
    strbuf_release(&id);
    return major;
}

bool pgbin_lib_installed(const struct pgbin *b, const char *name)
{
    if (name[0] == '$' || strchr(name, '/'))
        return true; /* $libdir/x or a path: let the server judge */
    char *cands[2] = {xasprintf("%s/../lib/postgresql/%s.so", b->bindir, name),
                      xasprintf("%s/../lib/%s.so", b->bindir, name)};
    bool found = access(cands[0], F_OK) == 0 || access(cands[1], F_OK) == 0;
    free(cands[0]);
    free(cands[1]);
    if (found)
        return true;
    /* the server's own pg_config only: another installation's says nothing about this one */
    char *pgc = path_join(b->bindir, "pg_config");
    if (access(pgc, X_OK) == 0) {
        struct child ch = CHILD_INIT;
        struct strbuf out = STRBUF_INIT;
        strvec_pushl(&ch.args, pgc, "--pkglibdir", NULL);
        ch.err = SPAWN_DEVNULL;
        if (spawn_capture(&ch, &out) == 0) {
            strbuf_trim_trailing(&out);
            char *p = xasprintf("%s/%s.so", out.buf, name);
            found = access(p, F_OK) == 0;
            free(p);
        }
        strbuf_release(&out);
        child_clear(&ch);
    }
    free(pgc);
    return found;
}
