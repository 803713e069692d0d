#!/bin/sh
# t0952-session-ssh — `database session start|deploy --ssh HOST`: the remote
# (a cluster listening on its socket directory only) reached through an ssh
# tunnel to a real OpenSSH server on 127.0.0.1 (throwaway keys, as t0603).
# Start as a SCRAM role whose password is in the URL (never in any process's
# argv, nor in ssh's environment), plan, deploy end to end through the
# tunnel; the tunnel (ssh and its private socket directory) is gone after
# success, after a failure (closed port, a URL with no server behind it, two
# hosts) and after SIGINT during start; hosts and URLs full of shell
# metacharacters are data.
if [ "$(id -u)" != 0 ] || [ ! -x /usr/sbin/sshd ] || ! command -v ssh-keygen >/dev/null; then
    . "${0%/*}/lib.sh"
    skip_all 'needs root (a throwaway sshd on 127.0.0.1 logging in as root), /usr/sbin/sshd and ssh-keygen'
fi
. "${0%/*}/lib-session.sh"
export STAGING_DUMP_TABLES='public.project task*'

. "$TEST_DIR/lib-sshd.sh"
export STAGING_SSH_OPTS="$SSH_BASE -p $PORT"
H=root@127.0.0.1
# the tunnels' private directories land here
export TMPDIR="$TRASH/tmp"
mkdir -p "$TMPDIR"

# the processes whose argv names one of our tunnels; none, and no directory left
tunnels() {
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' 2>/dev/null <"$f" | grep -F "$TMPDIR/dbtool-tunnel"
    done
    true
}
no_tunnel() {
    ls -A "$TMPDIR" | grep dbtool-tunnel && { echo "a tunnel directory is left"; return 1; }
    _t=$(tunnels) && test -z "$_t" || { echo "an ssh tunnel still runs: $_t"; return 1; }
}
# the argv of any process but the pid $2 holding WORD $1
argv_has() {
    for f in /proc/[0-9]*/cmdline; do
        [ "$f" != "/proc/${2-}/cmdline" ] || continue
        tr '\0' '\n' 2>/dev/null <"$f" | grep -qF "$1" && { echo "in $f"; return 0; }
    done
    return 1
}
ssh_env_has() {
    for f in /proc/[0-9]*/cmdline; do
        tr '\0' ' ' 2>/dev/null <"$f" | grep -qF "$TMPDIR/dbtool-tunnel" || continue
        d=${f%/cmdline}
        tr '\0' '\n' 2>/dev/null <"$d/environ" | grep -qF "$1" && { echo "in $d/environ"; return 0; }
    done
    return 1
}
holder_off() {
    rpsql "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'holder'" >/dev/null
}
# hold an ACCESS EXCLUSIVE lock on public.project on the remote (until holder_off)
holder_on() {
    { PGAPPNAME=holder "$PSQL" -X -q -d "$REMOTE" \
        -c "BEGIN; LOCK TABLE public.project IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(600)" >/dev/null 2>&1 & }
    wait_remote "SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = 'holder' AND l.mode = 'AccessExclusiveLock' AND l.granted"
}
# a session of dbtool waits for a lock on the remote
wait_blocked() {
    wait_remote "SELECT count(*) > 0 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
                 AND application_name IS DISTINCT FROM 'holder'"
}
TOKEN=$(od -An -N4 -tx4 /dev/urandom | tr -d " ")
PW="pw$TOKEN"
no_pwn() { ! ls "$TRASH" | grep pwned; }

test_expect_success 'setup: the remote at its first migration, a SCRAM role, the project one migration ahead' '
    remote_at_first_migration &&
    rpsql "SET password_encryption = '"'"'scram-sha-256'"'"';
           CREATE ROLE scram LOGIN PASSWORD '"'"'$PW'"'"'; $(read_all_sql scram)" &&
    hba="$TRASH/remote/data/pg_hba.conf" &&
    { echo "local all scram scram-sha-256"; cat "$hba"; } >"$TRASH/hba" && cat "$TRASH/hba" >"$hba" &&
    rpsql "SELECT pg_reload_conf()" >/dev/null &&
    SCRAM=$(printf "%s\n" "$REMOTE" | sed "s|^postgresql://[^@]*@|postgresql://scram@|") &&
    echo "$SCRAM" >"$TRASH/scram.url" &&
    ! "$PSQL" -X -At -d "$SCRAM" -c "SELECT 1" 2>err && test_grep "password" err &&
    PGPASSWORD=$PW "$PSQL" -X -At -d "$SCRAM" -c "SELECT 1"
'
SCRAM=$(cat "$TRASH/scram.url")

test_expect_success 'help: database help session and start --help name --ssh' '
    "$DBTOOL" database help session >out && test_grep "ssh -N" out &&
    sess start --help >out && test_grep "ssh HOST" out &&
    sess deploy --help >out && test_grep "ssh HOST" out
'

test_expect_success 'a closed ssh port: exit 1, ssh s message, nothing left' '
    expect_rc 1 env STAGING_SSH_OPTS="$SSH_BASE -p 1" "$DBTOOL" database session start \
        --ssh "$H" --from "$SCRAM&password=$PW" >out 2>err &&
    test_grep "ssh to .root@127.0.0.1. failed (exit status 255): .*refused" err &&
    test_grep -v "$PW" err && test ! -e "$P/focus/session/state" && no_tunnel
'

test_expect_success 'a host that looks like an ssh option or holds shell code is data: exit 1, nothing ran' '
    expect_rc 1 sess start --ssh "-oProxyCommand=touch $TRASH/pwned-host" --from "$REMOTE" 2>err &&
    expect_rc 1 sess start --ssh "root@127.0.0.1;touch $TRASH/pwned-semi" --from "$REMOTE" 2>err &&
    expect_rc 1 sess start --ssh "\$(touch $TRASH/pwned-sub)@127.0.0.1" --from "$REMOTE" 2>err &&
    no_pwn && no_tunnel && test ! -e "$P/focus/session/state"
'

test_expect_success 'bad URLs: two hosts refused before ssh; no server behind the socket: exit 1' '
    expect_rc 1 sess start --ssh "$H" --from "postgresql://u@h1,h2/db" 2>err &&
    test_grep "several hosts" err && no_tunnel &&
    expect_rc 1 sess start --ssh "$H" --from "postgresql://u:$PW@/db?host=$TRASH/nowhere&port=5" 2>err &&
    test_grep "cannot connect" err && test_grep -v "$PW" err && no_tunnel &&
    test ! -e "$P/focus/session/state"
'

test_expect_success 'SIGINT during start: exit 130, the tunnel is gone, no session' '
    holder_on && test_when_finished holder_off &&
    { "$DBTOOL" database session start --ssh "$H" --from "$SCRAM&password=$PW" >out 2>err & pid=$!; } &&
    test_when_finished "kill $pid 2>/dev/null; wait $pid 2>/dev/null; true" &&
    wait_blocked && test -n "$(tunnels)" &&
    ! argv_has "$PW" $pid && ! ssh_env_has "$PW" &&
    kill -INT $pid && { wait $pid; rc=$?; } && test $rc = 130 &&
    no_tunnel && test ! -e "$P/focus/session/state"
'

test_expect_success 'a dbtool killed (SIGKILL) leaves its tunnel; the next --ssh command stops it' '
    holder_on && test_when_finished holder_off &&
    { "$DBTOOL" database session start --ssh "$H" --from "$REMOTE" >out 2>err & pid=$!; } &&
    test_when_finished "kill $pid 2>/dev/null; wait $pid 2>/dev/null; true" &&
    wait_blocked && kill -9 $pid && { wait $pid; true; } &&
    test -n "$(tunnels)" && ls "$TMPDIR" | grep -q dbtool-tunnel &&
    holder_off &&
    expect_rc 1 env STAGING_SSH_OPTS="$SSH_BASE -p 1" "$DBTOOL" database session start --ssh "$H" \
        --from "$REMOTE" 2>err &&
    test_grep "stopped the ssh tunnel (pid [0-9]*) a killed dbtool left" err &&
    _i=0 && until no_tunnel >/dev/null; do
        _i=$((_i + 1)); [ $_i -lt 200 ] || { no_tunnel; break; }; sleep 0.05
    done && no_tunnel && test ! -e "$P/focus/session/state"
'

test_expect_success 'start through ssh as the SCRAM role (PGPASSWORD): the password in no argv, not in ssh s environment' '
    holder_on && test_when_finished holder_off &&
    url="$SCRAM&application_name=it'"'"'s;\$(touch $TRASH/pwned-url)\`touch $TRASH/pwned-url2\`" &&
    { PGPASSWORD=$PW "$DBTOOL" database session start --ssh "$H" --from "$url" >"$TRASH/local.url" 2>err &
      pid=$!; } &&
    test_when_finished "kill $pid 2>/dev/null; wait $pid 2>/dev/null; true" &&
    wait_blocked && test -n "$(tunnels)" &&
    ! argv_has "$PW" && ! ssh_env_has "$PW" &&
    test "$(rpsql "SELECT count(*) FROM pg_stat_activity WHERE usename = '"'"'scram'"'"'")" -ge 1 &&
    holder_off && wait $pid &&
    test_grep "via ssh root@127.0.0.1" err && test_grep -v "$PW" err &&
    test_grep -v "$PW" "$P/focus/session/state" &&
    test "$(lpsql "SELECT count(*) FROM project")" = 2 &&
    test "$(lpsql "SELECT name FROM hectic.migration")" = 20250101000000-init &&
    no_tunnel && no_pwn
'

test_expect_success 'plan sees the pending migration (local only)' '

    { expect_rc 1 sess plan >out 2>err || { cat out err; false; }; } &&
    test_grep "^pending migrations: 1$" out && no_tunnel
'

test_expect_success 'SIGINT during the remote migrate through ssh: 130, rolled back, the tunnel is gone' '
    { PGAPPNAME=holder "$PSQL" -X -q -d "$REMOTE" \
        -c "BEGIN; LOCK TABLE public.task IN SHARE MODE; SELECT pg_sleep(600)" >/dev/null 2>&1 & } &&
    test_when_finished holder_off &&
    wait_remote "SELECT count(*) > 0 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
                 WHERE a.application_name = '"'"'holder'"'"' AND l.mode = '"'"'ShareLock'"'"' AND l.granted" &&
    { "$DBTOOL" database session deploy --ssh "$H" --to "$REMOTE" >out 2>err & pid=$!; } &&
    test_when_finished "kill $pid 2>/dev/null; wait $pid 2>/dev/null; true" &&
    wait_blocked && test -n "$(tunnels)" &&
    kill -INT $pid && { wait $pid; rc=$?; } && test $rc = 130 &&
    test "$(rpsql "SELECT count(*) FROM hectic.migration")" = 1 &&
    no_tunnel && test -z "$(ls "$DBTOOL_SCRATCH_DIR" | grep -v "^\.")"
'

test_expect_success 'deploy through ssh: rehearsal and the remote migrate through the tunnel' '
    { sess deploy --ssh "$H" --to "$REMOTE&password=$PW" >out 2>err || { cat err; false; }; } &&
    test_grep -v "dbtool-tunnel" err &&
    test_grep "reading .* via ssh root@127.0.0.1 (read-only)" err &&
    test_grep "deploying to .* via ssh root@127.0.0.1" err && test_grep -v "$PW" err &&
    test "$(rpsql "SELECT count(*) FROM hectic.migration")" = 2 &&
    test "$(rpsql "SELECT count(*) FROM task WHERE priority = 0")" = 2 &&
    sess status >out && test_grep "2 applied, 0 pending" out && test_grep "^deployed " out &&
    test_grep -v "$PW" "$P/focus/session/state" && no_tunnel
'

test_expect_success 'deploy again through ssh: nothing to apply; a closed port fails cleanly' '
    sess deploy --ssh "$H" --to "$REMOTE" 2>err && test_grep "nothing to apply" err && no_tunnel &&
    expect_rc 1 env STAGING_SSH_OPTS="$SSH_BASE -p 1" "$DBTOOL" database session deploy --ssh "$H" \
        --to "$REMOTE" 2>err && test_grep "ssh to .root@127.0.0.1. failed" err && no_tunnel
'

test_expect_success 'abort: local only; nothing left' '
    sess abort 2>err && test ! -e "$P/focus/session" && no_tunnel && no_pwn
'

test_done
