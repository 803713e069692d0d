#!/bin/sh
# database deploy | hydrate | patch | test: options, outputs, exit codes, on a
# real cluster of the project (LOCAL_DIR=$TRASH/proj).
. "${0%/*}/lib-pg.sh"

P=$TRASH/proj
mkdir -p "$P/db/src/inc" "$P/db/test" "$P/plain"
export LOCAL_DIR=$P
test_at_exit "LOCAL_DIR=$P '$DBTOOL' postgres-cleanup"

cat >"$P/db/src/entrypoint.sql" <<'EOF'
\ir inc/tables.sql
\if :{?USE_MOCK}
INSERT INTO item(name) VALUES ('mock');
\endif
EOF
cat >"$P/db/src/inc/tables.sql" <<'EOF'
CREATE TABLE item (id serial PRIMARY KEY, name text NOT NULL) INHERITS (hectic.created_at);
INSERT INTO item(name) VALUES ('hydrated');
EOF
echo "INSERT INTO item(name) VALUES ('patched');" >"$P/test-data.sql"
cat >"$P/db/test/test.sql" <<'EOF'
DO $$ BEGIN
  IF (SELECT count(*) FROM item WHERE name = 'patched') <> 1 THEN
    RAISE EXCEPTION 'expected one patched row';
  END IF;
END $$;
EOF
# a source tree that needs no bundle (for --no-hook)
echo "CREATE TABLE plain (x int);" >"$P/plain/entrypoint.sql"

url() { tail -n 1 "$1"; }
names() { q "select string_agg(name, ',' order by id) from item"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$U" -c "$1"; }

test_expect_success 'database --help lists every subcommand' '
    "$DBTOOL" database --help >out &&
    for s in deploy init hydrate patch test check cleanup log migrator backup restore pull_staging; do
        grep -q "^    $s " out || { echo "missing $s"; exit 1; }
    done
'
for s in deploy hydrate patch test check; do
    test_expect_code 9 "database $s --frob exits 9" '"$DBTOOL" database '$s' --frob 2>err'
    test_expect_success "database $s --help exits 0 and shows usage" '
        "$DBTOOL" database '$s' --help >out && grep -q "database '$s'" out'
done
test_expect_code 9 'database test with an extra argument exits 9' '"$DBTOOL" database test extra 2>err'

test_expect_code 1 'hydrate with no URL and no cluster running fails' '
    "$DBTOOL" database hydrate >out 2>err
'
test_expect_success '...and says how to start the cluster' 'grep -q "database init" err'

test_expect_success 'deploy: fresh cluster, hydrate, patch; prints the URL last' '
    "$DBTOOL" database deploy >out 2>err &&
    U=$(url out) && case "$U" in postgresql://*host=$P/focus/postgresql/sock*) ;; *) exit 1;; esac &&
    test "$(names)" = hydrated,patched &&
    test "$(q "select count(*) from hectic.version")" = 1
'
test_expect_success '...announcing each step with its duration on stderr' '
    grep -q "init: a fresh cluster" err && grep -q "cluster ready in" err &&
    grep -q "hydrate: done in [0-9]" err && grep -q "patch: done in [0-9]" err &&
    grep -q "deploy: done in [0-9]" err
'
U=$(url out)
export U
test_expect_success 'PATCH_SQL names the test data file patch runs' '
    echo "INSERT INTO item(name) VALUES ('"'from-patch-sql'"');" >"$TRASH/other-data.sql" &&
    PATCH_SQL=$TRASH/other-data.sql "$DBTOOL" database patch >pout 2>perr &&
    grep -q "patch: running $TRASH/other-data.sql" perr &&
    test "$("$PSQL" -X -At -d "$U" -c "select count(*) from item where name = '"'from-patch-sql'"'")" = 1 &&
    "$PSQL" -X -q -d "$U" -c "delete from item where name = '"'from-patch-sql'"'"
'
test_expect_success 'deploy --reuse keeps the data and skips hydrate and patch' '
    q "create table kept (x int) inherits (hectic.created_at); insert into kept(x) values (7)" &&
    "$DBTOOL" database deploy --reuse >out 2>err &&
    test "$(url out)" = "$U" &&
    test "$(q "select x from kept")" = 7 &&
    test "$(q "select count(*) from item")" = 2 &&
    ! grep -q "hydrate:" err
'
test_expect_success 'deploy (no --reuse) starts over: old data gone' '
    "$DBTOOL" database deploy >out 2>err &&
    test "$(q "select to_regclass(\$\$kept\$\$) is null")" = t
'
test_expect_success 'deploy -m hydrates with USE_MOCK=1' '
    "$DBTOOL" database deploy -m >out 2>err &&
    test "$(names)" = hydrated,mock,patched
'
test_expect_success 'deploy -P skips the patch' '
    "$DBTOOL" database deploy -P >out 2>err &&
    test "$(names)" = hydrated
'
test_expect_success 'deploy --no-hydrate --no-patch: an empty database' '
    "$DBTOOL" database deploy --no-hydrate --no-patch >out 2>err &&
    test "$(q "select to_regclass(\$\$item\$\$) is null")" = t &&
    test "$(q "select count(*) from pg_namespace where nspname = \$\$hectic\$\$")" = 0
'
test_expect_success 'deploy -H still patches (and fails when the patch needs hydrate)' '
    echo "create table pt (x int);" >"$TRASH/pt.sql" &&
    mkdir -p "$TRASH/prof" && cp "$TRASH/pt.sql" "$TRASH/prof/test-data.sql" &&
    PROFILE_DIR=$TRASH/prof "$DBTOOL" database deploy -H >out 2>err &&
    test "$(q "select to_regclass(\$\$pt\$\$) is not null")" = t &&
    ! "$DBTOOL" database deploy -H >out 2>err
'
test_expect_success 'deploy --cleanup stops the server after success and keeps data' '
    "$DBTOOL" database deploy -c >out 2>err &&
    ! grep -q "^postgresql://" out && ! test -e "$P/focus/postgresql/data/postmaster.pid" &&
    test -f "$P/focus/postgresql/data/PG_VERSION" && grep -q "cluster stopped" err &&
    ! "$PSQL" -X -At -d "$U" -c "select 1" 2>/dev/null
'
test_expect_success 'a failing deploy exits 1 and leaves the cluster running for inspection' '
    echo "SELECT nosuchfunction();" >"$TRASH/bad.sql" && mkdir -p "$TRASH/badsrc" &&
    cp "$TRASH/bad.sql" "$TRASH/badsrc/entrypoint.sql" &&
    { DATABASE_SOURCE=$TRASH/badsrc "$DBTOOL" database deploy >out 2>err; test $? = 1; } &&
    grep -q "entrypoint.sql:1: ERROR:" err && q "select 1" >/dev/null
'

# hydrate / patch / test against a running cluster
test_expect_success 'set up: a fresh empty database' '"$DBTOOL" database deploy -H -P >/dev/null 2>&1'
test_expect_success 'hydrate --no-hook creates no hectic schema' '
    DATABASE_SOURCE=$P/plain "$DBTOOL" database hydrate --no-hook >out 2>err &&
    test "$(q "select count(*) from pg_namespace where nspname = \$\$hectic\$\$")" = 0 &&
    test "$(q "select to_regclass(\$\$plain\$\$) is not null")" = t
'
test_expect_success 'hydrate (default) applies the bundle and uses the project cluster URL' '
    "$DBTOOL" database hydrate >out 2>err &&
    test "$(q "select version from hectic.version")" = 0.3.0 &&
    test "$(q "select count(*) from item")" = 1 && grep -q "CREATE TABLE" out
'
test_expect_success 'HECTIC_DOTENV_FILE is loaded into hectic.secret' '
    printf "# comment\nAPI_KEY=s3cr3t\nOTHER=\"quoted value\"\n" >"$TRASH/my.env" &&
    "$DBTOOL" database deploy -H -P >/dev/null 2>&1 &&
    HECTIC_DOTENV_FILE=$TRASH/my.env "$DBTOOL" database hydrate >/dev/null 2>err &&
    test "$(q "select hectic.get_secret(\$\$API_KEY\$\$)")" = s3cr3t &&
    test "$(q "select hectic.get_secret(\$\$OTHER\$\$)")" = "quoted value" &&
    grep -q "loaded 2 secrets" err
'
test_expect_success '$LOCAL_DIR/.env.$ENVIRONMENT is the default dotenv file' '
    "$DBTOOL" database deploy -H -P >/dev/null 2>&1 &&
    echo "FROM_ENV_FILE=yes" >"$P/.env.dev" &&
    ENVIRONMENT=dev "$DBTOOL" database hydrate >/dev/null 2>err && rm "$P/.env.dev" &&
    test "$(q "select hectic.get_secret(\$\$FROM_ENV_FILE\$\$)")" = yes
'
test_expect_code 1 'an unreadable HECTIC_DOTENV_FILE is an error' '
    HECTIC_DOTENV_FILE=$TRASH/nope.env "$DBTOOL" database hydrate >out 2>err
'
test_expect_success '...naming the variable and the file' 'grep -q "HECTIC_DOTENV_FILE not readable: .*nope.env" err'
test_expect_success 'hydrate --no-hook on a database without the bundle skips secrets with a warning' '
    "$DBTOOL" database deploy -H -P >/dev/null 2>&1 &&
    HECTIC_DOTENV_FILE=$TRASH/my.env DATABASE_SOURCE=$P/plain "$DBTOOL" database hydrate -H >out 2>err &&
    grep -q "not loading secrets" err
'
test_expect_success 'HYDRATE_ENTRYPOINT renames the entry file; HYDRATE_LOG gets the output' '
    "$DBTOOL" database deploy -H -P >/dev/null 2>&1 &&
    cp "$P/db/src/entrypoint.sql" "$P/db/src/main.sql" &&
    HYDRATE_ENTRYPOINT=main.sql HYDRATE_LOG=$TRASH/logs/h.log "$DBTOOL" database hydrate >out 2>err &&
    ! test -s out && grep -q "CREATE TABLE" "$TRASH/logs/h.log" &&
    test "$(q "select count(*) from item")" = 1
'
mv "$P/db/src/main.sql" "$P/db/src/entrypoint.sql"
test_expect_code 1 'hydrate with a missing entry point exits 1' '
    HYDRATE_ENTRYPOINT=nothere.sql "$DBTOOL" database hydrate >out 2>err
'
test_expect_success '...naming the file' 'grep -q "nothere.sql" err'
test_expect_success 'PG_LOG_PATH makes the default HYDRATE_LOG and PATCH_LOG' '
    "$DBTOOL" database deploy -H -P >/dev/null 2>&1 &&
    mkdir -p "$TRASH/pglog" &&
    { PG_LOG_PATH=$TRASH/pglog "$DBTOOL" database -u "$U" hydrate >out 2>err || { cat err; false; }; } &&
    PG_LOG_PATH=$TRASH/pglog "$DBTOOL" database -u "$U" patch >>out 2>>err &&
    ! test -s out && grep -q "CREATE TABLE" "$TRASH/pglog/hydrate.stdout.log" &&
    grep -q "INSERT 0 1" "$TRASH/pglog/patch.stdout.log"
'
test_expect_success 'database -u URL beats DB_URL, which beats the cluster' '
    DB_URL="postgresql://nobody@/nodb?host=/nonexistent" "$DBTOOL" database -u "$U" test >out 2>err &&
    ! DB_URL="postgresql://nobody@/nodb?host=/nonexistent" "$DBTOOL" database test >out 2>err &&
    grep -q "cannot connect" err
'
test_expect_code 3 'an unsupported URL scheme exits 3' '"$DBTOOL" database -u sqlite:///x.db test 2>err'
test_expect_success 'test passes: exit 0 and a pass message' '
    "$DBTOOL" database test >out 2>err && grep -q "all tests passed" err
'
test_expect_code 1 'test fails: exit 1' '
    q "delete from item where name = \$\$patched\$\$" && "$DBTOOL" database test >out 2>err
'
test_expect_success '...with the error location and a FAILED message' '
    grep -q "test.sql:[0-9]*: ERROR:  expected one patched row" err && grep -q "tests FAILED" err
'
test_expect_code 1 'test with no test.sql exits 1' 'DATABASE_DIR=$TRASH/none "$DBTOOL" database test 2>err'
test_expect_success '...saying so' 'grep -q "no tests to run" err'

test_expect_success 'patch creates an empty test-data.sql when missing (PROFILE_DIR)' '
    "$DBTOOL" database deploy -P >/dev/null 2>&1 &&
    PROFILE_DIR=$TRASH/newprof "$DBTOOL" database patch >out 2>err &&
    test -f "$TRASH/newprof/test-data.sql" && ! test -s "$TRASH/newprof/test-data.sql" &&
    grep -q "created an empty" err
'
test_expect_success 'patch --edit runs $EDITOR (with its arguments, no shell) first' '
    cat >"$TRASH/ed" <<-\EOF &&
	#!/bin/sh
	# fake editor: $1 is an argument from EDITOR, $2 the file
	echo "INSERT INTO item(name) VALUES ($1);" >>"$2"
	EOF
    chmod +x "$TRASH/ed" && cp "$P/test-data.sql" "$TRASH/td.save" &&
    EDITOR="$TRASH/ed \$\$edited\$\$" "$DBTOOL" database patch -e >out 2>err &&
    test "$(names)" = hydrated,patched,edited &&
    grep -q edited "$P/test-data.sql"
'
cp "$TRASH/td.save" "$P/test-data.sql"
test_expect_code 1 'patch --edit with a failing editor applies nothing' '
    before=$(q "select count(*) from item") &&
    EDITOR=false "$DBTOOL" database patch --edit >out 2>err; rc=$? &&
    test "$(q "select count(*) from item")" = "$before" && exit $rc
'
test_expect_code 127 'patch --edit with a missing editor exits 127' '
    EDITOR=/nonexistent/editor "$DBTOOL" database patch --edit >out 2>err
'
test_expect_code 1 'a failing patch exits 1 with the location' '
    echo "INSERT INTO nosuch VALUES (1);" >"$TRASH/prof/test-data.sql" &&
    PROFILE_DIR=$TRASH/prof "$DBTOOL" database patch >out 2>err
'
test_expect_success '...FILE:LINE on stderr' 'grep -q "test-data.sql:1: ERROR:" err'
test_expect_success 'database log list exits 0 (logs exist)' '"$DBTOOL" database log list >out 2>err'
test_expect_success 'database log list on an empty log dir warns and exits 0' '
    mkdir -p "$TRASH/emptylogs" && PG_LOG_PATH=$TRASH/emptylogs "$DBTOOL" database log list >out 2>err &&
    grep -q "no server logs" err
'
test_done
