#!/bin/sh
# Secrets: dotenv parsing round-trips through hectic.get_secret, values are
# encrypted with a key that lives in the data directory (in no table), no
# logical dump shows a value or the key, the dotenv text never shows up in
# any process's argv, and ordinary roles need EXECUTE.
. "${0%/*}/lib-pg.sh"

dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl t)" -c "$1"; }
# secret KEY: the decrypted value, exactly (no trailing newline added by psql)
secret() { q "SELECT encode(convert_to(hectic.get_secret('$1'), 'UTF8'), 'base64')" | base64 -d; }

pg_cluster pg || exit 1
"$PSQL" -X -q -d "$PGURL" -c "CREATE DATABASE t" || exit 1
"$DBTOOL" bundle apply -u "$(dburl t)" 2>/dev/null || exit 1

marker=zqx$$MARK
cat >dotenv <<EOF
# a comment line

   # an indented comment
PLAIN=plain-value-$marker
SPACED =   spaced value   
EQUALS=a=b==c
DOUBLE="double quoted # not a comment"
SINGLE='single "inner" \$HOME \n'
ESCAPED="say \"hi\" \\\\ done"
UNICODE=ünïcödé ✓ 日本
MULTI="line one
line two

line four"
export EXPORTED=yes
INLINE=value # trailing comment
EMPTY=
QUOTED_EMPTY=""
DUP=first
DUP=second
EOF
printf 'CRLF=windows\r\nLAST=no newline at end' >>dotenv

test_expect_success 'bundle load-secrets loads a dotenv file' '
    "$DBTOOL" bundle load-secrets -u "$(dburl t)" dotenv 2>err &&
    grep -q "loaded 15 secrets" err &&
    test "$(q "select count(*) from hectic.secret")" = 15
'
check() { # KEY EXPECTED
    printf '%s' "$2" >want.$1 && secret "$1" >got.$1 && test_cmp want.$1 got.$1
}
test_expect_success 'plain values, spaces trimmed, = inside values' '
    check PLAIN "plain-value-$marker" && check SPACED "spaced value" && check EQUALS "a=b==c"
'
test_expect_success 'double and single quotes, escapes in double quotes only' '
    check DOUBLE "double quoted # not a comment" &&
    check SINGLE "single \"inner\" \$HOME \\n" &&
    check ESCAPED "say \"hi\" \\ done"
'
test_expect_success 'unicode and newlines inside quotes' '
    check UNICODE "ünïcödé ✓ 日本" &&
    check MULTI "line one
line two

line four"
'
test_expect_success 'export prefix, inline comments, empty values, duplicates, CRLF, no final newline' '
    check EXPORTED yes && check INLINE value && check EMPTY "" && check QUOTED_EMPTY "" &&
    check DUP second && check CRLF windows && check LAST "no newline at end"
'
test_expect_success 'an unknown key gives NULL' '
    test "$(q "select hectic.get_secret('"'NOPE'"') is null")" = t
'
test_expect_success 'get_secret works from a later, plain connection' '
    test "$("$PSQL" -X -At -d "$(dburl t)" -c "select hectic.get_secret('"'EQUALS'"')")" = "a=b==c"
'
test_expect_success 'values are stored encrypted (PGP), not as text' '
    test "$(q "select bool_and(position(convert_to('"'plain-value-'"', '"'UTF8'"') in value) = 0) from hectic.secret")" = t &&
    test "$(q "select bool_and(pg_typeof(value) = '"'bytea'"'::regtype and value is not null) from hectic.secret")" = t
'
test_expect_success 'the key is a file in the data dir (0700), owned by the server user' '
    key=$TRASH/pg/data/hectic_secret.key && test -f "$key" &&
    test "$(stat -c %a "$TRASH/pg/data")" = 700 &&
    test "$(stat -c %U "$key")" = "$(stat -c %U "$TRASH/pg/data")" &&
    grep -Eq "^[0-9a-f]{64}$" "$key"
'
test_expect_success CLIENT_MATCHES_SERVER 'pg_dump shows no secret value and no key' '
    "$PG_DUMP" -d "$(dburl t)" >dump.sql 2>err && grep -q "hectic.secret" dump.sql &&
    ! grep -q "$marker" dump.sql && ! grep -q "a=b==c" dump.sql && ! grep -q "line two" dump.sql &&
    ! grep -q "ünïcödé" dump.sql && ! grep -q "$(cat "$TRASH/pg/data/hectic_secret.key")" dump.sql &&
    "$PG_DUMP" --column-inserts -d "$(dburl t)" >dump2.sql 2>err && ! grep -q "$marker" dump2.sql
'
test_expect_success 'loading again replaces the previous set' '
    printf "ONLY=one\n" | "$DBTOOL" bundle load-secrets -u "$(dburl t)" 2>err &&
    grep -q "loaded 1 secret$" err &&
    test "$(q "select string_agg(key, '"','"') from hectic.secret")" = ONLY &&
    test "$(q "select hectic.get_secret('"'PLAIN'"') is null")" = t && check ONLY one
'
cat >load.sql <<'EOF'
SELECT hectic.load_secrets_from_env(E'A=1\nB="two"\n# c\n');
EOF
test_expect_success 'load_secrets_from_env works from SQL too and returns the count' '
    test "$("$PSQL" -X -q -At -d "$(dburl t)" -f load.sql)" = 2 && check B two
'
cat >bad.env <<EOF
GOOD=fine
this line is a secret $marker without equals
EOF
test_expect_success 'a malformed dotenv is refused naming the line, not the text, and changes nothing' '
    ! "$DBTOOL" bundle load-secrets -u "$(dburl t)" bad.env 2>err &&
    grep -q "dotenv line 2: expected KEY=VALUE" err && ! grep -q "$marker" err &&
    check B two
'
test_expect_success 'an unterminated quote is refused' '
    printf "K=\"open\nno end\n" >open.env &&
    ! "$DBTOOL" bundle load-secrets -u "$(dburl t)" open.env 2>err &&
    grep -q "dotenv line 1: unterminated" err
'
test_expect_code 3 'load-secrets without a URL exits 3' 'env -u PGURL "$DBTOOL" bundle load-secrets dotenv 2>err'

test_expect_success 'the dotenv text never appears in any process argv (nor the statement text)' '
    "$DBTOOL" bundle load-secrets -u "$(dburl t)" dotenv 2>err &&
    { "$PSQL" -X -q -d "$(dburl t)" -c "BEGIN" -c "LOCK TABLE hectic.secret IN ACCESS EXCLUSIVE MODE" \
          -c "SELECT pg_sleep(120) AS hectic_lock_holder" -c "COMMIT" >/dev/null 2>&1 & } && holder=$! &&
    n=0 && until test "$(q "select count(*) from pg_locks l join pg_class c on c.oid = l.relation where c.relname = '"'secret'"' and l.mode = '"'AccessExclusiveLock'"' and l.granted")" = 1; do
        n=$((n+1)); test $n -lt 600 || exit 1; sleep 0.05; done &&
    { "$DBTOOL" bundle load-secrets -u "$(dburl t)" dotenv 2>load.err & } && loader=$! &&
    n=0 && until test "$(q "select count(*) from pg_stat_activity where wait_event_type = '"'Lock'"' and query like '"'%load_secrets_from_env%'"'")" = 1; do
        n=$((n+1)); test $n -lt 600 || exit 1; sleep 0.05; done &&
    for p in /proc/[0-9]*; do cat $p/cmdline 2>/dev/null | tr "\0" " "; echo; done >argv.txt &&
    for p in /proc/[0-9]*; do cat $p/environ 2>/dev/null | tr "\0" " "; echo; done >environ.txt &&
    q "select query from pg_stat_activity" >activity.txt &&
    q "select pg_terminate_backend(pid) from pg_stat_activity where query like '"'%hectic_lock_holder%'"' and pid <> pg_backend_pid()" >/dev/null &&
    { wait $holder || true; } && wait $loader &&
    grep -q "bundle load-secrets" argv.txt &&
    grep -q "load_secrets_from_env(\$1" activity.txt &&
    ! grep -q "$marker" argv.txt && ! grep -q "$marker" environ.txt && ! grep -q "$marker" activity.txt
'
test_expect_success 'roles without EXECUTE cannot read secrets; GRANT EXECUTE lets them' '
    q "CREATE ROLE app LOGIN" &&
    app=$(dburl t | sed "s|//[^@]*@|//app@|") &&
    ! "$PSQL" -X -At -d "$app" -c "select hectic.get_secret('"'PLAIN'"')" 2>err &&
    grep -q "permission denied" err &&
    ! "$PSQL" -X -At -d "$app" -c "select hectic.secret_key()" 2>err && grep -q "permission denied" err &&
    ! "$PSQL" -X -At -d "$app" -c "select * from hectic.secret" 2>err && grep -q "permission denied" err &&
    q "GRANT USAGE ON SCHEMA hectic TO app; GRANT EXECUTE ON FUNCTION hectic.get_secret(text) TO app" &&
    test "$("$PSQL" -X -At -d "$app" -c "select hectic.get_secret('"'PLAIN'"')")" = "plain-value-$marker" &&
    ! "$PSQL" -X -At -d "$app" -c "select hectic.secret_key()" 2>err
'
test_expect_success 'secrets survive a server restart (the key file stays)' '
    PG_WORKING_DIR=$TRASH/pg "$DBTOOL" postgres-cleanup 2>/dev/null &&
    PG_REUSE=1 PG_WORKING_DIR=$TRASH/pg "$DBTOOL" postgres-init --env >/dev/null 2>&1 &&
    check PLAIN "plain-value-$marker"
'
PGURL_T=$PGURL
pg_cluster other || exit 1
OTHER=$PGURL
PGURL=$PGURL_T
test_expect_success CLIENT_MATCHES_SERVER 'secrets restored into another cluster fail clearly until reloaded' '
    "$PG_DUMP" -Fc -d "$(dburl t)" >t.dump &&
    PGURL=$OTHER && "$PSQL" -X -q -d "$PGURL" -c "CREATE DATABASE t" &&
    { "$PG_RESTORE" -d "$(dburl t)" t.dump 2>restore.err; true; } &&
    "$PSQL" -X -q -d "$(dburl t)" -c "select hectic.secret_key(true)" >/dev/null &&
    ! q "select hectic.get_secret('"'PLAIN'"')" 2>err &&
    grep -q "cannot be decrypted with this cluster" err && grep -q "load them again" err &&
    "$DBTOOL" bundle load-secrets -u "$(dburl t)" dotenv 2>/dev/null && check PLAIN "plain-value-$marker"
'

test_done
