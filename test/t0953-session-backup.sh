#!/bin/sh
# t0953-session-backup — `database session start --from BACKUP`: a physical
# backup (`database backup`'s directory) of the remote is the source instead of
# a live database: restored into a throwaway cluster, read like a remote, the
# cluster removed after; the session then deploys to the live remote, whose
# fingerprint matches the backup's.
. "${0%/*}/lib-session.sh"
test_have_prereq CLIENT_MATCHES_SERVER || skip_all "$test_missing_reason (database backup)"
export STAGING_DUMP_TABLES='public.item'

test_expect_success 'setup: a remote with a table, rows and a migration; its backup; a project one migration ahead' '
    mkdir -p "$TRASH/m1/20250101000000-init" "$M" "$TRASH/rp" &&
    echo "CREATE TABLE public.item (id int PRIMARY KEY, name text) INHERITS (hectic.created_at);" \
        >"$TRASH/m1/20250101000000-init/up.sql" &&
    echo "DROP TABLE public.item;" >"$TRASH/m1/20250101000000-init/down.sql" &&
    cp -R "$TRASH/m1/20250101000000-init" "$M/" &&
    mkdir -p "$M/20250201000000-note" &&
    echo "ALTER TABLE public.item ADD COLUMN note text;" >"$M/20250201000000-note/up.sql" &&
    echo "ALTER TABLE public.item DROP COLUMN note;" >"$M/20250201000000-note/down.sql" &&
    "$DBTOOL" migrator -u "$REMOTE" -d "$TRASH/m1" migrate up all 2>err &&
    rpsql "INSERT INTO public.item (id, name) VALUES (1, '"'"'one'"'"'), (2, '"'"'two'"'"')" &&
    PG_WORKING_DIR=$TRASH/remote LOCAL_DIR=$TRASH/rp "$DBTOOL" database backup "$TRASH/bk" >out 2>err &&
    test -s "$TRASH/bk/base.tar.gz"
'

test_expect_success 'start --from BACKUP: the schema, the listed rows, the migrations, the fingerprint' '
    sess start --from "$TRASH/bk" >"$TRASH/local.url" 2>err &&
    test_grep "restoring $TRASH/bk into a throwaway cluster" err &&
    test_grep "the remote has 1 migration" err &&
    test "$(lpsql "SELECT string_agg(name, '"'"','"'"' ORDER BY id) FROM public.item")" = "one,two" &&
    sess status >out && test_grep "from the backup $TRASH/bk" out &&
    test_grep "^fingerprint: $("$DBTOOL" schema hash "$REMOTE")" out
'

test_expect_success '...the throwaway cluster of the backup is gone' '
    ls "$DBTOOL_SCRATCH_DIR" | grep -v "^\." >left; test ! -s left || { cat left; exit 1; }
'

test_expect_success 'plan shows the pending migration; deploy --to the live remote applies it' '
    { sess plan >out 2>err; test $? = 1; } && test_grep "20250201000000-note" out &&
    sess deploy --to "$REMOTE" >out 2>err &&
    test "$(rpsql "SELECT count(*) FROM hectic.migration")" = 2 &&
    test "$(rpsql "SELECT count(*) FROM information_schema.columns WHERE table_name = '"'"'item'"'"' AND column_name = '"'"'note'"'"'")" = 1
'

test_expect_success 'a second start: exit 2; --ssh with a backup: exit 9; a directory that is no backup: an error' '
    { sess start --from "$TRASH/bk" 2>err; test $? = 2; } &&
    sess abort 2>err &&
    { sess start --from "$TRASH/bk" --ssh somehost 2>err; test $? = 9; } && test_grep "is a backup directory" err &&
    mkdir -p "$TRASH/notabackup" &&
    { sess start --from "$TRASH/notabackup" 2>err; test $? -ne 0; } &&
    sess status >out 2>&1; test_grep "^no session$" out
'
test_done
