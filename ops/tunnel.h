/*
 * tunnel.h — a PostgreSQL server reached through an ssh tunnel (`database
 * session --ssh HOST`): nothing runs on the ssh host but sshd's own port
 * forwarding.
 *
 * tunnel_open() parses URL (a libpq URL or key=value string, as seen from
 * the ssh host) with PQconninfoParse, makes a private 0700 directory DIR
 * (mkdtemp under $TMPDIR, else /tmp) and starts, as an argv array with the
 * clean environment of lib/spawn (the password is in neither),
 *
 *   ssh -N -o ExitOnForwardFailure=yes -o BatchMode=yes [STAGING_SSH_OPTS...]
 *       -L DIR/.s.PGSQL.PORT:REMOTE -- HOST
 *
 * where REMOTE is the URL's socket (SOCKETDIR/.s.PGSQL.PORT; no host:
 * /var/run/postgresql, the Debian default) or HOST:PORT for a TCP host
 * (hostaddr wins over host). It waits (30 s at most, interruptible) for the
 * socket to appear; when ssh exits first its stderr is summarised. Then
 * T->conninfo is the URL's parameters with host=DIR port=PORT (hostaddr
 * dropped): what to give libpq. It holds the password: keep it in memory,
 * never print it (T->what is the text for messages: the masked URL "via ssh
 * HOST").
 *
 * The tunnel is closed (ssh killed and reaped, DIR removed) by
 * tunnel_close() and, on any exit path (die(), SIGINT then dbtool_exit),
 * by the cleanup stack. A dbtool killed with SIGKILL cannot: its DIR holds
 * a lock file (flocked, so free once the process is gone) and ssh.pid;
 * the next tunnel_open() in the same base stops that ssh and removes DIR.
 * A URL with several hosts is refused.
 */
#ifndef DBTOOL_TUNNEL_H
#define DBTOOL_TUNNEL_H

#include "lib/common.h"
#include "lib/spawn.h"

struct tunnel {
    struct child ch;
    char *dir;      /* the private directory */
    char *sock;     /* DIR/.s.PGSQL.PORT */
    char *errpath;  /* DIR/ssh.err: ssh's stderr */
    char *conninfo; /* for libpq, through the tunnel (secret: may hold the password) */
    char *what;     /* for messages: "MASKED-URL via ssh HOST" */
    int lock_fd;    /* DIR/lock, flocked while the tunnel is ours */
    int cookie;
    bool running;
};

/* The socket's wait: seconds. */
#define TUNNEL_TIMEOUT 30.0

/*
 * Open the tunnel to URL through ssh HOST with SSH_OPTS (blank-separated
 * words, NULL: none). 0, or an exit code after a message: 1 (ssh failed,
 * timeout, bad URL), 127 (no ssh), 9 (a host with control characters).
 * Nothing is left behind on failure.
 */
int tunnel_open(struct tunnel *t, const char *host, const char *ssh_opts, const char *url);
/*
 * What tunnel_open() makes of URL (messages name MASKED): *REMOTE the -L
 * target ("/dir/.s.PGSQL.5432", "host:5432", "[::1]:5432"), *PORT, *REST the
 * conninfo without host, hostaddr and port (key='value' ..., the password
 * included). 0, or -1 after a message (not a conninfo, several hosts, a bad
 * port, a socket path ssh cannot forward); malloc'd results, NULL on error.
 */
int tunnel_target(const char *url, const char *masked, char **remote, char **port, char **rest);
/* Kill ssh, remove DIR, free T; idempotent (T zeroed or opened). */
void tunnel_close(struct tunnel *t);

#endif
