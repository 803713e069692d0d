#!/bin/sh
# t0951-session-apply — `database session apply` (infra/, migrations + code,
# grants/, seeds/; resumable after a failing seed) and `session commit LABEL`
# on a session started from a second local cluster standing in for the remote.
. "${0%/*}/lib-session.sh"
export STAGING_DUMP_TABLES='public.project'

test_expect_success 'setup: the demo deployed on the remote with its migration, a session' '
    cp -R "$TEST_DIR/../examples/demo" "$P" &&
    "$DBTOOL" migrator -u "$REMOTE" -d "$TRASH/none" init 2>err &&
    LOCAL_DIR="$P" DB_URL="$REMOTE" "$DBTOOL" database hydrate >/dev/null 2>err &&
    "$DBTOOL" migrator -u "$REMOTE" -d "$M" baseline 2>err &&
    sess start --from "$REMOTE" >"$TRASH/local.url" 2>err &&
    mkdir "$P/db/infra" "$P/db/grants" "$P/db/seeds" &&
    echo "CREATE SCHEMA IF NOT EXISTS extra;" >"$P/db/infra/01-schemas.sql" &&
    echo "GRANT USAGE ON SCHEMA extra TO PUBLIC;" >"$P/db/grants/01-extra.sql" &&
    echo "INSERT INTO public.project (name) VALUES ('"'"'seeded'"'"');" >"$P/db/seeds/01-projects.sql" &&
    printf "INSERT INTO public.project (name) VALUES ('"'"'two'"'"');\nSELECT 1/0;\n" >"$P/db/seeds/02-broken.sql"
'

test_expect_success 'apply: infra, migrations, grants, seeds; a failing seed stops it (4), rolled back' '
    expect_rc 4 sess apply 2>err && test_grep "seeds/02-broken.sql failed" err &&
    test "$(lpsql "SELECT count(*) FROM pg_namespace WHERE nspname = '"'"'extra'"'"'")" = 1 &&
    test "$(lpsql "SELECT count(*) FROM project WHERE name = '"'"'seeded'"'"'")" = 1 &&
    test "$(lpsql "SELECT count(*) FROM project WHERE name = '"'"'two'"'"'")" = 0 &&
    test_grep "^applied seeds/01-projects.sql$" "$P/focus/session/state" &&
    test_grep -v "02-broken" "$P/focus/session/state"
'

test_expect_success 'apply again after the fix goes on from the failed seed' '
    echo "INSERT INTO public.project (name) VALUES ('"'"'two'"'"');" >"$P/db/seeds/02-broken.sql" &&
    sess apply 2>err && test_grep "session apply: done" err &&
    test "$(lpsql "SELECT count(*) FROM project WHERE name = '"'"'seeded'"'"'")" = 1 &&
    test "$(lpsql "SELECT count(*) FROM project WHERE name = '"'"'two'"'"'")" = 1 &&
    sess apply 2>err && test "$(lpsql "SELECT count(*) FROM project")" = 2
'

test_expect_success 'commit LABEL: the sources change as one migration folder; plan shows it pending' '
    sed -i "s/name text NOT NULL UNIQUE/name text NOT NULL UNIQUE,\n    archived boolean NOT NULL DEFAULT false/" "$P/db/src/schema/tables.sql" &&
    expect_rc 3 sess commit 2>err &&
    sess commit add-archived >path 2>err && dir=$(cat path) && test -d "$dir" &&
    test_grep "^-- dbtool-baseline: sha256=" "$dir/up.sql" && test_grep "ADD COLUMN archived" "$dir/up.sql" &&
    test_grep "^log committed .* add-archived$" "$P/focus/session/state" &&
    expect_rc 1 sess plan >out 2>err && test_grep "add-archived" out
'

test_expect_success 'abort' '
    sess abort 2>err && test ! -e "$P/focus/session"
'

test_done
