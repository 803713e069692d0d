/*
 * spawn.h — running programs: argv arrays, explicit environment changes,
 * redirections, an optional drop to another OS user, a daemon mode that
 * detaches and closes every inherited descriptor, and waits with timeouts.
 * Never a shell string.
 */
#ifndef DBTOOL_SPAWN_H
#define DBTOOL_SPAWN_H

#include "lib/common.h"

#define SPAWN_INHERIT (-1)
#define SPAWN_DEVNULL (-2)

struct child {
    struct strvec args;     /* args.v[0]: program (absolute path or looked up in PATH) */
    struct strvec env;      /* "NAME=VALUE" to set, "NAME" to unset, applied to environ */
    int in, out, err;       /* fd to use, SPAWN_INHERIT or SPAWN_DEVNULL */
    const char *out_path;   /* if set: stdout and stderr appended to this file */
    const char *dir;        /* chdir before exec */
    bool as_user;           /* switch to uid/gid (root only) */
    uid_t uid;
    gid_t gid;
    bool daemon;            /* new session, no inherited descriptors, survives us */
    pid_t pid;
    /*
     * The environment the child starts from (before ENV is applied):
     * SPAWN_ENV_CLEAN (default) keeps only an allow-list (PATH, HOME, USER,
     * locale, TZ, TMPDIR, TERM, LD_LIBRARY_PATH, libpq's non-secret PG*
     * settings, ssh's agent ...); SPAWN_ENV_USER (an editor, a pager) keeps
     * everything but the secrets (DB_URL, PGURL, STAGING_DB_URL, PGPASSWORD
     * and whatever variable holds a URL with a password).
     */
    int env_mode;
};
#define SPAWN_ENV_CLEAN 0
#define SPAWN_ENV_USER 1
#define CHILD_INIT {STRVEC_INIT, STRVEC_INIT, SPAWN_INHERIT, SPAWN_INHERIT, SPAWN_INHERIT, \
                    NULL, NULL, false, 0, 0, false, 0, SPAWN_ENV_CLEAN}

/* Start C. Returns 0, or -1 (message printed; errno ENOENT when the program is missing). */
int spawn_start(struct child *c);
/*
 * Wait for C up to TIMEOUT seconds (< 0: forever). Returns the exit status
 * (128+signal when killed), or -1 on timeout (child still running).
 */
int spawn_wait(struct child *c, double timeout);
/* Start and wait. Returns the exit status, or -1 when it could not start. */
int spawn_run(struct child *c);
/* Run with stdout captured into OUT (stderr as configured). Exit status or -1. */
int spawn_capture(struct child *c, struct strbuf *out);
/*
 * Run C with TEXT (LEN bytes) on its standard input, then wait. The exit
 * status, or -1 when it could not start (errno ENOENT: program missing).
 */
int spawn_feed(struct child *c, const char *text, size_t len);
/* Release the strvecs of C. */
void child_clear(struct child *c);

/* Look NAME up in PATH; malloc'd absolute path or NULL. */
char *find_in_path(const char *name);
/* Close every descriptor >= FROM (in a child, before exec). */
void close_fds_from(int from);
/* Sleep for SECONDS (fractional). */
void sleep_seconds(double seconds);

#endif
