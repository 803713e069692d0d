/*
 * t-tunnel.c — what `database session --ssh` forwards for a URL
 * (tunnel_target): the socket of a socket directory (the default one without
 * a host), host:port for TCP (IPv6 bracketed, hostaddr first), the other
 * parameters kept (the password too, quoted for libpq), and the refusals.
 */
#include "lib/common.h"
#include "ops/tunnel.h"
#include "test/unit/tap.h"

#include <stdlib.h>

static void target(const char *url, const char *remote, const char *port, const char *rest)
{
    char *r = NULL, *p = NULL, *x = NULL;
    int rc = tunnel_target(url, "URL", &r, &p, &x);
    char *what = xasprintf("%s: accepted", url);
    is_int(rc, 0, what);
    free(what);
    what = xasprintf("%s: remote", url);
    is_str(r ? r : "(null)", remote, what);
    free(what);
    what = xasprintf("%s: port", url);
    is_str(p ? p : "(null)", port, what);
    free(what);
    what = xasprintf("%s: the rest", url);
    is_str(x ? x : "(null)", rest, what);
    free(what);
    free(r);
    free(p);
    free(x);
}

static void refused(const char *url)
{
    char *r = NULL, *p = NULL, *x = NULL;
    char *what = xasprintf("%s: refused", url);
    is_int(tunnel_target(url, "URL", &r, &p, &x), -1, what);
    free(what);
    is_int(r == NULL && p == NULL && x == NULL, 1, "...nothing returned");
}

int main(void)
{
    target("postgresql://u@/db?host=/var/run/pg&port=6543", "/var/run/pg/.s.PGSQL.6543", "6543",
           "user='u' dbname='db'");
    target("postgresql:///db", "/var/run/postgresql/.s.PGSQL.5432", "5432", "dbname='db'");
    target("postgresql://u:p'w\\x@db.internal:5433/app?sslmode=require", "db.internal:5433", "5433",
           "user='u' password='p\\'w\\\\x' dbname='app' sslmode='require'");
    target("host=::1 dbname=d", "[::1]:5432", "5432", "dbname='d'");
    target("host=db.example hostaddr=10.0.0.7 port=5 dbname=d", "10.0.0.7:5", "5", "dbname='d'");
    target("dbname=x application_name='a;$(b)`c`'", "/var/run/postgresql/.s.PGSQL.5432", "5432",
           "dbname='x' application_name='a;$(b)`c`'");
    refused("postgresql://u@h1,h2/db");
    refused("host=/a,/b dbname=d");
    refused("postgresql://u@h/db?port=0");
    refused("postgresql://u@h/db?port=5432x");
    refused("postgresql://u@h/db?port=123456");
    refused("host=/run/a:b dbname=d");
    refused("host=@abstract dbname=d");
    refused("not a conninfo");
    return done_testing();
}
