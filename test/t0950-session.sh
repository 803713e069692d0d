#!/bin/sh
# t0950-session — `database session` from a remote database to a deployed
# change: a second local cluster stands in for the remote. Start as a
# read-only role (the roles the remote's privileges name are made here),
# plan, abort (remote untouched), a failing rehearsal (remote untouched), a
# remote changed mid-session (refused, --force goes on), a deploy as a role
# that cannot write (fails cleanly), a deploy killed while it waits for a lock
# (a SHARE lock: the rehearsal's reads pass; run again, it resumes), no
# password in messages or state, and bad input.
. "${0%/*}/lib-session.sh"
export STAGING_DUMP_TABLES='public.project task*'
# the remote's schema and migration rows, to compare before/after
snap() {
    # pg_dump where it can read this server (16-18 need newer clients than Debian's), else
    # dbtool's own catalog dump
    if test_have_prereq CLIENT_MATCHES_SERVER; then
        "$PG_DUMP" --schema-only -d "$REMOTE" | grep -v '^.\(un\)\{0,1\}restrict ' >"$1"
    else
        "$DBTOOL" schema dump "$REMOTE" >"$1"
    fi &&
    rpsql "SELECT name FROM hectic.migration ORDER BY 1" >>"$1"
}
test_must_be_empty() { [ ! -s "$1" ] || { echo "$1 is not empty:"; cat "$1"; return 1; }; }
no_leftovers() {
    ls "$DBTOOL_SCRATCH_DIR" | grep -v "^\." >left
    test_must_be_empty left
}
# the remote URL as another role
as_role() { printf '%s\n' "$REMOTE" | sed "s|^postgresql://[^@]*@|postgresql://$1@|"; }

test_expect_success 'setup: a remote at its first migration with rows, a project one migration ahead' '
    remote_at_first_migration &&
    rpsql "CREATE TABLE public.other (id int) INHERITS (hectic.created_at); INSERT INTO public.other (id) VALUES (7);
           CREATE ROLE ro LOGIN; $(read_all_sql ro);
           CREATE ROLE \"app role\" NOLOGIN; GRANT SELECT ON public.project TO \"app role\"" &&
    snap "$TRASH/remote.0"
'

test_expect_success 'bad input: no --from 3, no session 3, an unreachable remote 1 (nothing kept)' '
    expect_rc 3 sess start 2>err && test_grep "missing --from" err &&
    expect_rc 3 sess status >out && test_grep "^no session$" out &&
    expect_rc 3 sess status --format json >out && test "$(cat out)" = null &&
    expect_rc 3 sess plan 2>err && test_grep "no session" err &&
    expect_rc 3 sess abort 2>err &&
    expect_rc 3 sess deploy --to "$REMOTE" 2>err && test_grep "no session" err &&
    expect_rc 3 sess deploy 2>err && test_grep "missing --to" err &&
    expect_rc 9 sess start --bogus 2>err &&
    expect_rc 9 sess nope 2>err &&
    expect_rc 1 sess start --from "postgresql://u:s3cret@/nodb?host=$TRASH/nowhere&port=1" 2>err &&
    test_grep -v s3cret err && test ! -e "$P/focus/session/state"
'

test_expect_success 'help: database help session' '
    "$DBTOOL" database help session >out && test_grep "start|plan|apply|commit|deploy|status|abort" out &&
    test_grep "Exit status" out && "$DBTOOL" database session deploy --help >out &&
    test_grep "dry-run" out
'

test_expect_success 'start as a read-only role: schema, listed rows, migrations, fingerprint' '
    url="$(as_role ro)&password=s3cret" &&
    sess start --from "$url" >"$TRASH/local.url" 2>err &&
    test_grep -v s3cret err && test_grep -v s3cret "$P/focus/session/state" &&
    test_grep "created the role \"app role\" (NOLOGIN)" err &&
    test "$(lpsql "SELECT has_table_privilege('"'"'app role'"'"', '"'"'public.project'"'"', '"'"'SELECT'"'"')")" = t &&
    test_grep "demo_session" "$TRASH/local.url" &&
    test "$(lpsql "SELECT string_agg(title, '"'"','"'"' ORDER BY id) FROM task")" = x,y &&
    test "$(lpsql "SELECT count(*) FROM project")" = 2 &&
    test "$(lpsql "SELECT nextval('"'"'project_id_seq'"'"')")" = 3 &&
    test "$(lpsql "SELECT count(*) FROM public.other")" = 0 &&
    test "$(lpsql "SELECT name FROM hectic.migration")" = 20250101000000-init &&
    "$DBTOOL" schema hash "$REMOTE" >want && "$DBTOOL" schema hash "$(cat "$TRASH/local.url")" >got &&
    test_cmp want got && test_grep "^fingerprint $(cat want)$" "$P/focus/session/state" &&
    sess status >out && test_grep "1 applied, 1 pending" out &&
    snap "$TRASH/remote.1" && test_cmp "$TRASH/remote.0" "$TRASH/remote.1"
'

test_expect_success 'a second start while a session exists: 2' '
    expect_rc 2 sess start --from "$REMOTE" 2>err && test_grep "session exists already" err
'

test_expect_success 'plan: the pending migration, its hazard, exit 1; the session database unchanged' '
    expect_rc 1 sess plan >out 2>err &&
    test_grep "^pending migrations: 1$" out && test_grep "20260101000000-add-priority" out &&
    test_grep "missing-lock-timeout" out &&
    test_grep "changes the sources need after the migrations" out &&
    test "$(lpsql "SELECT count(*) FROM hectic.migration")" = 1 && no_leftovers
'

test_expect_success 'plan --format json: one object with the same parts, the same exit code' '
    expect_rc 1 sess plan --format json >j 2>err &&
    python3 -c "
import json
d = json.load(open(\"j\"))
assert d[\"pending\"] == [\"20260101000000-add-priority\"], d[\"pending\"]
assert any(f[\"rule\"] == \"missing-lock-timeout\" for f in d[\"hazards\"][\"findings\"]), d[\"hazards\"]
assert isinstance(d[\"changes\"][\"statements\"], list), d[\"changes\"]
assert d[\"work\"] is True
" && expect_rc 9 sess plan --format yaml 2>err && test_grep "text or json" err &&
    test "$(lpsql "SELECT count(*) FROM hectic.migration")" = 1 && no_leftovers
'

test_expect_success 'status --format json: the state as one object' '
    sess status --format json >j 2>err &&
    python3 -c "
import json
d = json.load(open(\"j\"))
assert d[\"remote_migrations\"] == 1 and d[\"pending_here\"] == 1, d
assert d[\"database\"] == \"demo_session\", d
assert len(d[\"fingerprint\"]) == 64 and d[\"deploying\"] is None, d
assert \"public.project\" in d[\"tables\"] and \"s3cret\" not in d[\"from\"], d
" && expect_rc 9 sess status --format yaml 2>err && test_grep "text or json" err
'

test_expect_success 'abort drops the session database only; start again' '
    sess abort 2>err && test ! -e "$P/focus/session" &&
    expect_rc 3 sess status >out &&
    snap "$TRASH/remote.2" && test_cmp "$TRASH/remote.0" "$TRASH/remote.2" &&
    sess start --from "$REMOTE" >"$TRASH/local.url" 2>err
'

test_expect_success 'a failing rehearsal stops the deploy; the remote is untouched' '
    mkdir "$M/20260102000000-broken" &&
    printf "ALTER TABLE public.task ADD COLUMN z int;\nSELECT 1/0;\n" >"$M/20260102000000-broken/up.sql" &&
    echo "SELECT 1;" >"$M/20260102000000-broken/down.sql" &&
    test_when_finished "rm -rf \"$M/20260102000000-broken\"" &&
    expect_rc 4 sess deploy --to "$REMOTE" >out 2>err &&
    test_grep "rehearsal failed" err && test_grep "division by zero" err &&
    snap "$TRASH/remote.3" && test_cmp "$TRASH/remote.0" "$TRASH/remote.3" && no_leftovers
'

test_expect_success 'deploy as a role that cannot write fails cleanly; the remote is untouched' '
    test_must_fail_rc() { "$@"; test $? -ne 0; } &&
    test_must_fail_rc sess deploy --to "$(as_role ro)" >out 2>err &&
    test_grep "deploy to .* failed" err &&
    snap "$TRASH/remote.4" && test_cmp "$TRASH/remote.0" "$TRASH/remote.4" &&
    sess status >out && test_grep "deploy-failed" out && test_grep -v "did not finish" out
'

test_expect_success 'dry run: the rehearsal only' '
    sess deploy --dry-run --to "$REMOTE&password=s3cret" >out 2>err && test_grep "dry run" err &&
    test_grep -v s3cret err && test_grep -v s3cret out && test_grep -v s3cret "$P/focus/session/state" &&
    snap "$TRASH/remote.5" && test_cmp "$TRASH/remote.0" "$TRASH/remote.5" && no_leftovers
'

test_expect_success 'the remote changed mid-session: deploy refuses (2), --force goes on' '
    rpsql "CREATE INDEX other_id ON public.other (id)" && snap "$TRASH/remote.6" &&
    expect_rc 2 sess deploy --to "$REMOTE" >out 2>err && test_grep "changed since the session started" err &&
    snap "$TRASH/remote.7" && test_cmp "$TRASH/remote.6" "$TRASH/remote.7" &&
    sess deploy --force --to "$REMOTE" >out 2>err &&
    test "$(rpsql "SELECT count(*) FROM hectic.migration")" = 2 &&
    test "$(rpsql "SELECT count(*) FROM task WHERE priority = 0")" = 2 &&
    sess status >out && test_grep "2 applied, 0 pending" out && test_grep "^deployed " out &&
    test "$(lpsql "SELECT count(*) FROM hectic.migration")" = 2 &&
    sess deploy --to "$REMOTE" 2>err && test_grep "nothing to apply" err && no_leftovers
'

test_expect_success 'a deploy killed while it waits for a lock resumes when run again' '
    mkdir "$M/20260103000000-label" &&
    echo "ALTER TABLE public.project ADD COLUMN label text;" >"$M/20260103000000-label/up.sql" &&
    echo "ALTER TABLE public.project DROP COLUMN label;" >"$M/20260103000000-label/down.sql" &&
    { PGAPPNAME=holder "$PSQL" -X -q -d "$REMOTE" \
        -c "BEGIN; LOCK TABLE public.project IN SHARE MODE; SELECT pg_sleep(600)" >/dev/null 2>&1 & } &&
    test_when_finished "rpsql \"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"'"'holder'"'"'\" >/dev/null" &&
    wait_remote "SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = '"'"'holder'"'"' AND l.mode = '"'"'ShareLock'"'"' AND l.granted" &&
    { "$DBTOOL" database session deploy --to "$REMOTE" >deploy.out 2>deploy.err & pid=$!; } &&
    wait_remote "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = '"'"'Lock'"'"' AND query LIKE '"'"'%ADD COLUMN label%'"'"'" &&
    kill -9 $pid && { wait $pid; true; } &&
    rpsql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = '"'"'holder'"'"'" >/dev/null &&
    sess status >out && test_grep "did not finish" out &&
    sess deploy --to "$REMOTE" >out 2>err &&
    test_grep "did not finish: resuming it" err &&
    test "$(rpsql "SELECT count(*) FROM hectic.migration")" = 3 &&
    rpsql "SELECT label FROM project LIMIT 1" &&
    sess status >out && test_grep -v "did not finish" out && test_grep "3 applied, 0 pending" out
'

test_expect_success 'abort at the end: the remote keeps what was deployed' '
    snap "$TRASH/remote.8" && sess abort 2>err &&
    snap "$TRASH/remote.9" && test_cmp "$TRASH/remote.8" "$TRASH/remote.9" &&
    ! lpsql "SELECT 1" 2>/dev/null &&
    no_leftovers
'

test_done
