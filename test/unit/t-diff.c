/*
 * t-diff.c — schema dump normalisation of `database diff`: what differs
 * between identical schemas (pg_dump/server versions, \restrict keys, session
 * SETs, blank-line runs) goes; everything else stays, byte for byte.
 */
#include "lib/common.h"
#include "ops/diff.h"
#include "test/unit/tap.h"

static char *norm(const char *in)
{
    struct strbuf sb = STRBUF_INIT;
    diff_schema_normalize(in, strlen(in), &sb);
    return strbuf_detach(&sb, NULL);
}

int main(void)
{
    char *a = norm("--\n-- PostgreSQL database dump\n--\n\n"
                   "\\restrict AbCdEf123\n\n"
                   "-- Dumped from database version 15.18 (Debian 15.18-0+deb12u1)\n"
                   "-- Dumped by pg_dump version 15.18 (Debian 15.18-0+deb12u1)\n\n"
                   "SET statement_timeout = 0;\nSET transaction_timeout = 0;\n"
                   "SET client_encoding = 'UTF8';\n"
                   "SELECT pg_catalog.set_config('search_path', '', false);\n\n\n\n"
                   "CREATE TABLE public.t (\n    id integer NOT NULL\n);\n\n\n"
                   "\\unrestrict AbCdEf123\n\n");
    char *b = norm("--\n-- PostgreSQL database dump\n--\n\n"
                   "\\restrict ZZZ\n"
                   "-- Dumped from database version 17.2\n"
                   "-- Dumped by pg_dump version 17.2\n"
                   "SET statement_timeout = 0;\nSET client_encoding = 'UTF8';\n\n"
                   "CREATE TABLE public.t (\n    id integer NOT NULL\n);\n"
                   "\\unrestrict ZZZ\n");
    is_str(a, b, "version comments, \\restrict keys, SET lines and blank runs do not count");
    is_str(a, "--\n-- PostgreSQL database dump\n--\n\nCREATE TABLE public.t (\n    id integer NOT NULL\n);\n",
           "...and the rest is kept as it was");
    free(a);
    free(b);
    a = norm("CREATE FUNCTION f() RETURNS int\n    LANGUAGE sql\n    AS $$\nSET x = 1;\n$$;\n");
    ok(strstr(a, "SET x = 1;") != NULL, "a SET line after the preamble (a function body) stays");
    free(a);
    a = norm("ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT 1;\n  SET search_path = x;\n");
    is_str(a, "ALTER TABLE ONLY public.t ALTER COLUMN id SET DEFAULT 1;\n  SET search_path = x;\n",
           "SET inside statements and indented SET lines stay");
    free(a);
    a = norm("a\r\nb\r\n");
    is_str(a, "a\nb\n", "CRLF line ends are normalised");
    free(a);
    return done_testing();
}
