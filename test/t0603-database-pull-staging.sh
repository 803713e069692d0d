#!/bin/sh
# database pull_staging: the exit-3 contract, then end to end against a real
# OpenSSH server on 127.0.0.1 (throwaway host key, authorized key, port) and a
# real staging cluster; table names and URLs full of quotes, ';' and $(...)
# reach pg_dump as data and nothing else runs on the remote side.
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src"
export LOCAL_DIR=$P
unset STAGING_SSH_HOST STAGING_DB_URL STAGING_DUMP_TABLES STAGING_DUMP_FLAGS STAGING_SSH_OPTS STAGING_PG_DUMP
echo "-- precious" >"$P/test-data.sql"

# ---- the contract ----
test_expect_code 3 'no STAGING_* variable: exit 3' '"$DBTOOL" database pull_staging >out 2>err'
test_expect_success '...each missing one named on stderr, in SPEC order' '
    grep -n "is not set" err | sed "s/.*error: \([A-Z_]*\) is not set.*/\1/" >names &&
    printf "STAGING_SSH_HOST\nSTAGING_DB_URL\nSTAGING_DUMP_TABLES\nSTAGING_DUMP_FLAGS\n" >expect &&
    test_cmp expect names
'
for missing in STAGING_SSH_HOST STAGING_DB_URL STAGING_DUMP_TABLES STAGING_DUMP_FLAGS; do
    test_expect_code 3 "only $missing missing: exit 3 naming it alone" '
        (export STAGING_SSH_HOST=h STAGING_DB_URL=u STAGING_DUMP_TABLES=t STAGING_DUMP_FLAGS=-a &&
            unset '$missing' && PATH=/nonexistent exec "$DBTOOL" database pull_staging) >out 2>err; rc=$?
        
        grep -q "'$missing' is not set" err && test "$(grep -c "is not set" err)" = 1 &&
        test "$(cat "$P/test-data.sql")" = "-- precious" && exit $rc
    '
done
test_expect_code 3 'the variables are checked before anything else (no ssh needed, no file touched)' '
    env PATH=/nonexistent STAGING_SSH_HOST=h "$DBTOOL" database pull_staging >out 2>err
'
test_expect_code 127 'all set but no ssh program: exit 127' '
    STAGING_SSH_HOST=h STAGING_DB_URL=u STAGING_DUMP_TABLES=t STAGING_DUMP_FLAGS=-a \
        PATH=/nonexistent "$DBTOOL" database pull_staging >out 2>err
'
test_expect_code 9 'pull_staging takes no arguments' '"$DBTOOL" database pull_staging extra 2>err'

# ---- a real sshd on 127.0.0.1 ----
if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
    test_skip 'end to end over ssh' 'needs root, /usr/sbin/sshd and ssh-keygen'
    test_done
fi
. "$TEST_DIR/lib-sshd.sh"
export SSH_BASE STAGING_SSH_OPTS="$SSH_BASE -p $PORT"
export STAGING_SSH_HOST=root@127.0.0.1

# the staging cluster, with a table whose name is an injection attempt
pg_cluster staging
STAGING_PGURL=$PGURL
unset PGURL
# markers: /tmp/pwTOKEN* (short: the table name must stay within 63 bytes)
TOKEN=$(od -An -N2 -tx2 /dev/urandom | tr -d " ")
ODD="o;\$(touch\${IFS}/tmp/pw${TOKEN}a)'q'\`touch\${IFS}/tmp/pw${TOKEN}b\`"
test_at_exit "rm -f /tmp/pw$TOKEN*"
cat >"$TRASH/staging.sql" <<EOF
CREATE TABLE users (id serial PRIMARY KEY, name text);
INSERT INTO users(name) SELECT 'user ' || g FROM generate_series(1, 42) g;
CREATE TABLE notes (body text);
INSERT INTO notes VALUES ('no id column here'), ('it''s; \$(touch $TRASH/pwned-data)');
CREATE TABLE "$(printf '%s' "$ODD" | sed 's/"/""/g')" (id serial PRIMARY KEY, v text);
INSERT INTO "$(printf '%s' "$ODD" | sed 's/"/""/g')"(v) VALUES ('a'), ('b'), ('c');
EOF
"$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$STAGING_PGURL" -f "$TRASH/staging.sql" || skip_all "staging setup failed"
# the URL as the staging host sees it, with shell metacharacters in a parameter
export STAGING_DB_URL="$STAGING_PGURL&application_name=it's;\$(touch $TRASH/pwned-url) \`touch $TRASH/pwned-url2\` ok"
export STAGING_DUMP_TABLES="users notes \"$ODD\""
export STAGING_DUMP_FLAGS="--column-inserts"
# the staging host's pg_dump: the suite's client (CLIENT_MATCHES_SERVER: a pg_dump older
# than the staging server refuses it, so the end-to-end tests need a matching one)
export STAGING_PG_DUMP=$PG_DUMP

# the local project: the same tables, made by hydrate
cat >"$P/db/src/entrypoint.sql" <<EOF
CREATE TABLE users (id serial PRIMARY KEY, name text) INHERITS (hectic.created_at);
CREATE TABLE notes (body text) INHERITS (hectic.created_at);
CREATE TABLE "$(printf '%s' "$ODD" | sed 's/"/""/g')" (id serial PRIMARY KEY, v text) INHERITS (hectic.created_at);
EOF
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"
no_pwn() { ! ls "$TRASH" | grep pwned && ! ls /tmp/pw$TOKEN* 2>/dev/null; }

test_expect_success CLIENT_MATCHES_SERVER 'pull_staging over ssh writes test-data.sql' '
    "$DBTOOL" database pull_staging >out 2>err && grep -q "pull_staging: wrote $P/test-data.sql" err
'
test_expect_success CLIENT_MATCHES_SERVER '...with a header naming the host and the UTC time' '
    head -n 6 "$P/test-data.sql" >head &&
    grep -q "^-- host: root@127.0.0.1$" head &&
    grep -q "^-- time: [0-9]\{4\}-[0-9][0-9]-[0-9][0-9] [0-9:]\{8\} UTC$" head
'
test_expect_success CLIENT_MATCHES_SERVER '...the data of every table (pg_dump flags honoured)' '
    grep -q "^INSERT INTO public.users" "$P/test-data.sql" &&
    test "$(grep -c "^INSERT INTO public.users" "$P/test-data.sql")" = 42 &&
    grep -q "no id column here" "$P/test-data.sql" && grep -q "VALUES (3, .c.)" "$P/test-data.sql"
'
test_expect_success CLIENT_MATCHES_SERVER '...and a guarded sequence reset per table' '
    test "$(grep -c "pg_get_serial_sequence" "$P/test-data.sql")" = 3
'
test_expect_success CLIENT_MATCHES_SERVER 'nothing ran on the remote side but pg_dump: no marker file exists' 'no_pwn'
test_expect_success CLIENT_MATCHES_SERVER 'deploy applies it: rows in, sequences continue after max(id), notes without id fine' '
    "$DBTOOL" database deploy >out 2>err && U=$(tail -n 1 out) &&
    test "$("$PSQL" -X -At -d "$U" -c "select count(*) from users")" = 42 &&
    test "$("$PSQL" -X -q -At -d "$U" -c "insert into users(name) values (\$\$new\$\$) returning id")" = 43 &&
    test "$("$PSQL" -X -At -d "$U" -c "select count(*) from notes")" = 2 &&
    no_pwn
'
test_expect_success CLIENT_MATCHES_SERVER 'the odd table arrived too, its sequence reset' '
    U=$(tail -n 1 out) && oddq=$(printf "%s" "$ODD" | sed "s/\"/\"\"/g") &&
    test "$("$PSQL" -X -q -At -d "$U" -c "insert into \"$oddq\"(v) values (\$\$d\$\$) returning id")" = 4 &&
    no_pwn
'
# the exact argv pg_dump receives on the remote side
cat >"$TRASH/argv-recorder" <<EOF
#!/bin/sh
for a in "\$@"; do printf '%s\n' "\$a"; done >"$TRASH/argv.txt"
echo "-- fake dump"
EOF
chmod +x "$TRASH/argv-recorder"
test_expect_success 'every word reaches the remote pg_dump unchanged, as one argument each' '
    STAGING_PG_DUMP=$TRASH/argv-recorder STAGING_DUMP_FLAGS="--column-inserts --rows-per-insert=2" \
        "$DBTOOL" database pull_staging >out 2>err &&
    {
        echo --data-only; echo --column-inserts; echo --rows-per-insert=2
        echo --table=users; echo --table=notes; printf "%s\n" "--table=\"$ODD\""
        printf "%s\n" "--dbname=$STAGING_DB_URL"
    } >expect && test_cmp expect "$TRASH/argv.txt" && no_pwn
'
test_expect_success 'a host that looks like an ssh option is a destination, not an option' '
    STAGING_SSH_HOST="-oProxyCommand=touch $TRASH/pwned-host" "$DBTOOL" database pull_staging >out 2>err;
    test $? = 1 && no_pwn
'
test_expect_code 1 'ssh failure (closed port): exit 1' '
    cp "$P/test-data.sql" "$TRASH/td.before" &&
    STAGING_SSH_OPTS="$SSH_BASE -p 1" "$DBTOOL" database pull_staging >out 2>err
'
test_expect_success '...saying ssh failed; test-data.sql untouched, no temp file left' '
    grep -q "ssh to .root@127.0.0.1. failed" err && test_cmp "$TRASH/td.before" "$P/test-data.sql" &&
    ! ls "$P" | grep -q "test-data.sql.pull-"
'
test_expect_code 1 'remote pg_dump failure (no such table): exit 1' '
    STAGING_DUMP_TABLES="no_such_table" "$DBTOOL" database pull_staging >out 2>err
'
test_expect_success CLIENT_MATCHES_SERVER '...pg_dump s message shown; test-data.sql untouched' '
    grep -q "no matching tables" err && grep -q "pg_dump on .root@127.0.0.1. failed" err &&
    test_cmp "$TRASH/td.before" "$P/test-data.sql"
'
test_expect_success CLIENT_MATCHES_SERVER 'PROFILE_DIR receives test-data.sql when set' '
    mkdir -p "$TRASH/prof" && STAGING_DUMP_TABLES=users PROFILE_DIR=$TRASH/prof \
        "$DBTOOL" database pull_staging >out 2>err && grep -q "public.users" "$TRASH/prof/test-data.sql"
'
test_expect_success 'the password of the staging URL is never printed or written' '
    STAGING_DB_URL="postgresql://postgres:hunter2@/postgres?host=/nonexistent" STAGING_DUMP_TABLES=users \
        "$DBTOOL" database pull_staging >out 2>err; ! grep -q hunter2 out err "$P/test-data.sql"
'
test_expect_success 'control: sent unquoted, the same name does run its payload (the markers work)' '
    ssh $STAGING_SSH_OPTS -- root@127.0.0.1 "echo --table=$ODD" >/dev/null 2>&1;
    test -e /tmp/pw${TOKEN}a && test -e /tmp/pw${TOKEN}b && rm -f /tmp/pw$TOKEN*
'
test_done
