#!/bin/sh
# t0250-safety — issue 13 "safe by construction": every way an earlier build
# lost data or handed out privileges, planted here as an attack or a careless
# setting, must now be refused or harmless. Stand-in files play the targets
# (never real system files). Root-only attacks use a second local user,
# created for the run when missing (and removed at exit).
. "${0%/*}/lib-pg.sh"

unset PG_START_TIMEOUT PATCH_SQL PROFILE_DIR DBTOOL_CACHE_DIR DBTOOL_SYNC_CACHE \
      STAGING_SSH_HOST STAGING_DB_URL STAGING_DUMP_TABLES STAGING_DUMP_FLAGS STAGING_SSH_OPTS \
      STAGING_PG_DUMP PG_OS_USER
ROOT=false
[ "$(id -u)" = 0 ] && ROOT=true
EVIL=dbtool-evil
made_evil=false
if $ROOT && ! id "$EVIL" >/dev/null 2>&1; then
    useradd -M -r -s /bin/sh "$EVIL" 2>/dev/null && made_evil=true
fi
$made_evil && test_at_exit "userdel $EVIL"
have_evil() { $ROOT && id "$EVIL" >/dev/null 2>&1; }
as_evil() { runuser -u "$EVIL" -- "$@"; }
# the server user: who runs postgres (root hands it to PG_OS_USER)
SU=$(id -un)
$ROOT && SU=postgres
as_server() { if $ROOT; then runuser -u postgres -- "$@"; else "$@"; fi; }

init() { "$DBTOOL" postgres-init "$@"; }
W=$TRASH/w
export PG_WORKING_DIR=$W
test_at_exit "PG_WORKING_DIR=$W '$DBTOOL' postgres-cleanup"
# a stand-in for a file an attacker would like root to chown or write
standin() { echo original >"$1" && chmod 600 "$1"; }
untouched() { # FILE: still ours, still "original"
    test "$(stat -c %u "$1")" = "$(id -u)" && test "$(cat "$1")" = original
}
# no process left with its cwd in DIR
nothing_runs_in() {
    for p in $(pgrep -x postgres 2>/dev/null) $(pgrep -f slow-postgres 2>/dev/null); do
        d=$(readlink "/proc/$p/cwd" 2>/dev/null) || continue
        case "$d" in "$1"*) echo "process $p still runs in $d"; return 1;; esac
    done
    return 0
}

# ---- data loss -------------------------------------------------------------------

test_expect_success '#1 a cluster that cannot start is moved aside, never deleted, whatever names exist' '
    init --env >env 2>/dev/null && . ./env &&
    psql_c "create table keepme(x int); insert into keepme values (42)" &&
    "$DBTOOL" postgres-cleanup && rm "$W/data/global/pg_control" &&
    now=$(date -u +%s) && for i in 0 1 2 3 4 5; do
        d=$W/data.failed-$(date -u -d "@$((now + i))" +%Y%m%d%H%M%S) && mkdir -p "$d" && echo mine >"$d/sentinel"
    done &&
    PG_REUSE=1 init >/dev/null 2>err && grep -q "cannot start" err &&
    test "$(cat "$W"/data.failed-*/sentinel | grep -c mine)" = 6 &&
    test "$(ls -d "$W"/data.failed-*/base 2>/dev/null | wc -l)" = 1 &&
    rm -rf "$W"/data.failed-*
'
test_expect_success '#2 fresh init refuses a data/ without PG_VERSION; nothing renamed or chmodded' '
    mkdir -p "$TRASH/nd/data" && echo precious >"$TRASH/nd/data/notes" && chmod 755 "$TRASH/nd" &&
    before=$(stat -c "%i %a %u" "$TRASH/nd" "$TRASH/nd/data") &&
    ! PG_WORKING_DIR=$TRASH/nd init >/dev/null 2>err &&
    grep -q "not a PostgreSQL data directory" err &&
    test "$(stat -c "%i %a %u" "$TRASH/nd" "$TRASH/nd/data")" = "$before" &&
    test "$(cat "$TRASH/nd/data/notes")" = precious && test "$(ls -A "$TRASH/nd")" = data
'
test_expect_success '#2 ...and a directory of user files' '
    mkdir -p "$TRASH/uf" && echo precious >"$TRASH/uf/thesis.tex" && mkdir "$TRASH/uf/sock" &&
    before=$(stat -c "%i %a %u" "$TRASH/uf") &&
    ! PG_WORKING_DIR=$TRASH/uf init >/dev/null 2>err && grep -q "thesis.tex" err &&
    test "$(stat -c "%i %a %u" "$TRASH/uf")" = "$before" && test "$(ls -A "$TRASH/uf" | tr "\n" " ")" = "sock thesis.tex "
'
test_expect_success '#2 ...and PG_WORKING_DIR=$HOME, even one holding only a cluster' '
    mkdir -p "$TRASH/home/data" && echo 15 >"$TRASH/home/data/PG_VERSION" &&
    before=$(stat -c "%i %a %u" "$TRASH/home" "$TRASH/home/data") &&
    ! HOME=$TRASH/home PG_WORKING_DIR=$TRASH/home init >/dev/null 2>err && grep -q "it is \$HOME" err &&
    test "$(stat -c "%i %a %u" "$TRASH/home" "$TRASH/home/data")" = "$before" && ! test -e "$TRASH/home/data.previous"
'
test_expect_success '#3 database cleanup refuses a directory with cluster-like names but no cluster' '
    mkdir -p "$TRASH/p3/wd/data" "$TRASH/p3/wd/sock" && echo x >"$TRASH/p3/wd/postgres.log" &&
    echo precious >"$TRASH/p3/wd/data/report" &&
    ! LOCAL_DIR=$TRASH/p3 PG_WORKING_DIR=$TRASH/p3/wd "$DBTOOL" database cleanup >/dev/null 2>err &&
    grep -q "refusing to remove" err && test "$(cat "$TRASH/p3/wd/data/report")" = precious
'

# a postgres that takes its time to start (the real one, after a sleep)
mkdir -p "$TRASH/slow"
for f in "$PG_BINDIR"/*; do [ "${f##*/}" = postgres ] || ln -s "$f" "$TRASH/slow/"; done
cat >"$TRASH/slow/postgres" <<EOF
#!/bin/sh
# slow-postgres
case "\$1" in -V|--version) exec "$PG_BINDIR/postgres" "\$@";; esac
sleep 20
exec "$PG_BINDIR/postgres" "\$@"
EOF
chmod 755 "$TRASH/slow/postgres"

test_expect_success '#4 a start that times out stops the server it started and moves nothing' '
    init --reuse >/dev/null 2>&1 && "$DBTOOL" postgres-cleanup &&
    ino=$(stat -c %i "$W/data") &&
    { PG_START_TIMEOUT=1 PG_BINDIR=$TRASH/slow PG_REUSE=1 init >/dev/null 2>err; test $? = 1; } &&
    grep -q "did not become ready within 1 s" err && grep -q "stopped the server that was starting" err &&
    test "$(stat -c %i "$W/data")" = "$ino" && ! ls -d "$W"/data.failed-* 2>/dev/null &&
    nothing_runs_in "$W" &&
    PG_REUSE=1 init --env >env 2>/dev/null && . ./env && test "$(psql_c "select 1")" = 1
'
test_expect_success '#4 Ctrl-C during a start: exit 130, the server stopped, the cluster kept and startable' '
    "$DBTOOL" postgres-cleanup && ino=$(stat -c %i "$W/data") || exit 1
    PG_BINDIR=$TRASH/slow PG_REUSE=1 "$DBTOOL" postgres-init >/dev/null 2>err &
    pid=$!
    i=0; until pgrep -f "slow-postgres|$TRASH/slow/postgres" >/dev/null; do
        i=$((i + 1)); [ $i -lt 400 ] || { kill $pid; echo "the slow server never started"; exit 1; }; sleep 0.05
    done &&
    kill -INT $pid; wait $pid; rc=$? &&
    test $rc = 130 && grep -q "interrupted" err && ! grep -q "cannot start" err &&
    test "$(stat -c %i "$W/data")" = "$ino" && ! ls -d "$W"/data.failed-* 2>/dev/null &&
    nothing_runs_in "$W" && PG_REUSE=1 init >/dev/null 2>&1
'
test_expect_success '#6 a fresh init keeps the replaced cluster for one generation, and --previous goes back' '
    init --env >env 2>/dev/null && . ./env && psql_c "create table gen1(x int)" &&
    init --env >env 2>err && grep -q "kept the replaced cluster as $W/data.previous" err && grep -q -- "--previous" err &&
    . ./env && psql_c "create table gen2(x int)" &&
    init >/dev/null 2>&1 && test -d "$W/data.previous" && ! ls -d "$W"/.previous-* 2>/dev/null &&
    init --previous --env >env 2>/dev/null && . ./env &&
    test "$(psql_c "select count(*) from pg_tables where tablename = \$\$gen2\$\$")" = 1
'
test_expect_success '#6 ...and the hint for a stopped cluster says --reuse, never a plain init' '
    mkdir -p "$TRASH/p6/db/src" && echo "select 1;" >"$TRASH/p6/db/src/entrypoint.sql" &&
    ! LOCAL_DIR=$TRASH/p6 PG_WORKING_DIR=$TRASH/p6/nope "$DBTOOL" database hydrate >/dev/null 2>err &&
    grep -q "database init --reuse" err
'

# ---- privilege and integrity (root) ------------------------------------------------

if $ROOT; then
test_expect_success '#7 root never opens a link planted at $PG_WORKING_DIR/postgres.log' '
    "$DBTOOL" postgres-cleanup && standin "$TRASH/shadow7" &&
    rm -f "$W/postgres.log" && as_server ln -s "$TRASH/shadow7" "$W/postgres.log" &&
    { PG_REUSE=1 init >/dev/null 2>err; true; } && untouched "$TRASH/shadow7" &&
    rm -f "$W/postgres.log" && PG_REUSE=1 init >/dev/null 2>&1
'
test_expect_success '#7 ...nor a link planted at data/dbtool.conf or data/postgresql.conf' '
    "$DBTOOL" postgres-cleanup && standin "$TRASH/shadow7b" && standin "$TRASH/shadow7c" &&
    rm -f "$W/data/dbtool.conf" && as_server ln -s "$TRASH/shadow7b" "$W/data/dbtool.conf" &&
    PG_REUSE=1 init >/dev/null 2>err && untouched "$TRASH/shadow7b" && ! test -L "$W/data/dbtool.conf"
'
fi
if have_evil; then
test_expect_success '#8 a project of another user: focus/postgresql -> a stand-in dir is refused' '
    mkdir -p "$TRASH/p8" && chown "$EVIL" "$TRASH/p8" && mkdir "$TRASH/etc8" && chmod 755 "$TRASH/etc8" &&
    as_evil mkdir "$TRASH/p8/focus" && as_evil ln -s "$TRASH/etc8" "$TRASH/p8/focus/postgresql" &&
    before=$(stat -c "%u %g %a" "$TRASH/etc8") &&
    ! LOCAL_DIR=$TRASH/p8 PG_WORKING_DIR= "$DBTOOL" database init >/dev/null 2>err &&
    grep -q "symbolic link" err && test "$(stat -c "%u %g %a" "$TRASH/etc8")" = "$before" &&
    test "$(ls -A "$TRASH/etc8")" = ""
'
test_expect_success '#8 ...a symlinked parent of the working dir too' '
    mkdir "$TRASH/etc8b" && chmod 755 "$TRASH/etc8b" && mkdir -p "$TRASH/p8b" && chown "$EVIL" "$TRASH/p8b" &&
    as_evil ln -s "$TRASH/etc8b" "$TRASH/p8b/focus" &&
    ! LOCAL_DIR=$TRASH/p8b PG_WORKING_DIR= "$DBTOOL" database init >/dev/null 2>err &&
    grep -q "symbolic link that another user" err && test "$(ls -A "$TRASH/etc8b")" = "" &&
    test "$(stat -c %u "$TRASH/etc8b")" = 0
'
test_expect_success '#8 ...and a working dir that belongs to another user' '
    mkdir -p "$TRASH/p8c/focus" && chown -R "$EVIL" "$TRASH/p8c" && as_evil mkdir "$TRASH/p8c/focus/postgresql" &&
    ! LOCAL_DIR=$TRASH/p8c PG_WORKING_DIR= "$DBTOOL" database init >/dev/null 2>err &&
    grep -q "belongs to another user ($EVIL)" err && test "$(stat -c %U "$TRASH/p8c/focus/postgresql")" = "$EVIL"
'
fi
if $ROOT; then
test_expect_success '#9 PATCH_LOG under a PG_LOG_PATH of the server user: a planted link is not followed by root' '
    mkdir -p "$TRASH/p9/db/src" && echo "select 1;" >"$TRASH/p9/db/src/entrypoint.sql" && echo "select 2;" >"$TRASH/p9/test-data.sql" &&
    export LOCAL_DIR=$TRASH/p9 PG_LOG_PATH=$TRASH/p9/logs PG_WORKING_DIR= &&
    "$DBTOOL" database deploy >/dev/null 2>&1 && test "$(stat -c %U "$TRASH/p9/logs")" = postgres &&
    standin "$TRASH/shadow9" && rm -f "$TRASH/p9/logs/patch.stdout.log" &&
    as_server ln -s "$TRASH/shadow9" "$TRASH/p9/logs/patch.stdout.log" &&
    { "$DBTOOL" database patch >/dev/null 2>err; true; } && untouched "$TRASH/shadow9" &&
    LOCAL_DIR=$TRASH/p9 "$DBTOOL" database cleanup >/dev/null 2>&1
'
fi
test_expect_success '#10 cleanup never signals a pid read from a file in the working dir' '
    init --reuse >/dev/null 2>&1 || exit 1
    setsid sleep 300 >/dev/null 2>&1 &
    victim=$!
    test_when_finished "kill $victim 2>/dev/null" &&
    as_server sh -c "echo $victim >$W/.dbtool-bg.pid" &&
    LOCAL_DIR=$TRASH PG_WORKING_DIR=$W "$DBTOOL" database cleanup >/dev/null 2>&1 &&
    ! test -e "$W" && kill -0 $victim
'
test_expect_success NONROOT 'a removal that cannot finish keeps the marker last: the next cleanup still finds the dir ours' '
    init >/dev/null 2>&1 && mkdir -p "$W/data/zz-stuck" && : >"$W/data/zz-stuck/f" && chmod 500 "$W/data/zz-stuck" &&
    test_when_finished "chmod 700 \"$W/data/zz-stuck\" 2>/dev/null; \"$DBTOOL\" postgres-cleanup >/dev/null 2>&1; rm -rf \"$W\"" &&
    ! LOCAL_DIR=$TRASH PG_WORKING_DIR=$W "$DBTOOL" database cleanup >/dev/null 2>err &&
    test -f "$W/.dbtool-cluster" && test -f "$W/data/PG_VERSION" && ! test -e "$W/data/base" &&
    chmod 700 "$W/data/zz-stuck" && LOCAL_DIR=$TRASH PG_WORKING_DIR=$W "$DBTOOL" database cleanup >/dev/null 2>err &&
    ! test -e "$W"
'
if have_evil; then
test_expect_success '#11 the scratch sweep never deletes another user'"'"'s directory in a shared base' '
    mkdir -p "$TRASH/shared" "$TRASH/p11/db/src" && chmod 1777 "$TRASH/shared" &&
    echo "select 1;" >"$TRASH/p11/db/src/entrypoint.sql" && : >"$TRASH/p11/test-data.sql" &&
    as_evil mkdir "$TRASH/shared/victim" "$TRASH/shared/victim2" &&
    as_evil sh -c "echo precious >$TRASH/shared/victim/file; : >$TRASH/shared/.victim.lock; : >$TRASH/shared/victim2/.dbtool-cluster; : >$TRASH/shared/.victim2.lock" &&
    LOCAL_DIR=$TRASH/p11 DBTOOL_SCRATCH_DIR=$TRASH/shared "$DBTOOL" database check >/dev/null 2>&1 &&
    test "$(cat "$TRASH/shared/victim/file")" = precious && test -e "$TRASH/shared/victim2/.dbtool-cluster"
'
fi

# ---- staging: the password reaches the remote side on stdin ------------------------

mkdir -p "$TRASH/fake"
cat >"$TRASH/fake/ssh" <<'EOF'
#!/bin/sh
# a stand-in ssh: records its argv, then runs the remote command here (the last argument)
printf '%s\n' "$@" >"$TRASH/ssh.argv"
env >"$TRASH/ssh.env"
for last; do :; done
exec sh -c "$last"
EOF
cat >"$TRASH/fake/pg_dump" <<'EOF'
#!/bin/sh
printf '%s\n' "$@" >"$TRASH/pg_dump.argv"
printf '%s\n' "${PGPASSWORD-unset}" >"$TRASH/pg_dump.password"
echo "-- a dump"
EOF
chmod 755 "$TRASH/fake/ssh" "$TRASH/fake/pg_dump"
test_expect_success '#12 the staging password is never in an argv or a log line' '
    mkdir -p "$TRASH/p12" &&
    LOCAL_DIR=$TRASH/p12 PATH=$TRASH/fake:$PATH HECTIC_LOG=debug STAGING_SSH_HOST=stage \
        STAGING_DB_URL="postgresql://app:s3cr3t-pw@db.internal:5432/app" STAGING_DUMP_TABLES=users \
        STAGING_DUMP_FLAGS=--inserts STAGING_PG_DUMP=$TRASH/fake/pg_dump \
        "$DBTOOL" database pull_staging >out 2>err &&
    test "$(cat "$TRASH/pg_dump.password")" = s3cr3t-pw &&
    ! grep -q s3cr3t-pw "$TRASH/ssh.argv" "$TRASH/pg_dump.argv" err out "$TRASH/p12/test-data.sql" &&
    grep -q "host=.db.internal." "$TRASH/pg_dump.argv" && grep -q "a dump" "$TRASH/p12/test-data.sql" &&
    ! grep -q s3cr3t-pw "$TRASH/ssh.env"
'

test_expect_success 'no child of dbtool inherits a secret: the server'"'"'s environment has no password' '
    "$DBTOOL" postgres-cleanup &&
    DB_URL="postgresql://u:pw-one@/x" PGURL="postgresql://u:pw-two@/x" STAGING_DB_URL="host=h password=pw-three" \
        MY_URL="postgresql://app:pw-four@db/app" PGPASSWORD=pw-five PG_REUSE=1 init >/dev/null 2>&1 &&
    pm=$(head -n 1 "$W/data/postmaster.pid") && test -r "/proc/$pm/environ" &&
    ! tr "\0" "\n" <"/proc/$pm/environ" | grep -e pw-one -e pw-two -e pw-three -e pw-four -e pw-five
'

# ---- concurrency and the socket dir -----------------------------------------------

test_expect_success '#13 two postgres-init on one working dir at once both succeed, nothing left over' '
    (init >/dev/null 2>err1; echo $? >rc1) & (init >/dev/null 2>err2; echo $? >rc2) & wait &&
    test "$(cat rc1)" = 0 && test "$(cat rc2)" = 0 &&
    ! ls -A "$W" | grep -v -e "^data$" -e "^data.previous$" -e "^sock$" -e "^postgres.log$" -e "^.dbtool-cluster$" &&
    init --reuse --env >env 2>/dev/null && . ./env && test "$(psql_c "select 1")" = 1
'
if have_evil; then
test_expect_success '#13 a squatted private socket dir is not used: a new one is, the squatter'"'"'s untouched' '
    deep=$TRASH/$(printf "deep-directory-name-number-%s/" 1 2 3 4)w &&
    PG_WORKING_DIR=$deep init --env >envd 2>/dev/null && . ./envd && sd=$POSTGRESQL_HOST &&
    PG_WORKING_DIR=$deep "$DBTOOL" postgres-cleanup && rm -rf "$deep" "$sd" &&
    as_evil mkdir -m 700 "$sd" && test_when_finished "rm -rf $sd" &&
    PG_WORKING_DIR=$deep init --env >envd 2>err && . ./envd &&
    test_when_finished "PG_WORKING_DIR=$deep $DBTOOL postgres-cleanup" &&
    test "$POSTGRESQL_HOST" != "$sd" && test "$(psql_c "select 1")" = 1 && grep -q "not ours" err &&
    test "$(stat -c %U "$sd")" = "$EVIL"
'
fi
test_expect_success '#15 DBTOOL_SYNC_CACHE=1 database check does not wait for itself' '
    mkdir -p "$TRASH/p15/db/src" && echo "select 1;" >"$TRASH/p15/db/src/entrypoint.sql" && : >"$TRASH/p15/test-data.sql" &&
    LOCAL_DIR=$TRASH/p15 DBTOOL_SYNC_CACHE=1 timeout 120 "$DBTOOL" database check >/dev/null 2>err
'

# ---- #16: each bad input a clear error and its exit code --------------------------

test_expect_success '#16 PG_CONF_FILE naming a FIFO or a device: exit 1 at once, naming why' '
    mkfifo "$TRASH/fifo" &&
    { PG_CONF_FILE=$TRASH/fifo timeout 20 "$DBTOOL" postgres-init >/dev/null 2>err; test $? = 1; } &&
    grep -q "PG_CONF_FILE not readable: $TRASH/fifo (not a regular file)" err &&
    { PG_CONF_FILE=/dev/urandom timeout 20 "$DBTOOL" postgres-init >/dev/null 2>err; test $? = 1; } &&
    grep -q "not a regular file" err
'
test_expect_code 3 '#16 a newline in PG_DATABASE: exit 3' 'PG_DATABASE="a
b" "$DBTOOL" postgres-init 2>err'
test_expect_success '#16 ...saying so' 'grep -q "PG_DATABASE: must not contain a newline" err'
test_expect_code 3 '#16 a newline in PG_WORKING_DIR: exit 3' 'PG_WORKING_DIR="$TRASH/a
b" "$DBTOOL" postgres-init 2>err'
test_expect_code 3 '#16 PG_START_TIMEOUT=nan: exit 3' 'PG_START_TIMEOUT=nan "$DBTOOL" postgres-init 2>err'
test_expect_success '#16 working_dir: "" in dbtool.yaml: exit 3 naming its place' '
    mkdir -p "$TRASH/p16" && printf "paths:\n  working_dir: \"\"\n" >"$TRASH/p16/dbtool.yaml" &&
    { LOCAL_DIR=$TRASH/p16 PG_WORKING_DIR= "$DBTOOL" database init >/dev/null 2>err; test $? = 3; } &&
    grep -q "dbtool.yaml:2:16: .paths.working_dir.: must not be empty" err && ! grep -q ": : " err
'
test_expect_success CLIENT_MATCHES_SERVER '#16 a killed restore leaves nothing the next restore does not remove' '
    init --env >env 2>/dev/null && . ./env && mkdir -p "$TRASH/p16b" &&
    LOCAL_DIR=$TRASH/p16b "$DBTOOL" database backup "$TRASH/bk" >/dev/null 2>&1 &&
    as_server mkdir "$W/.restore-99999" "$W/.restore-99999-tablespaces" &&
    as_server sh -c "head -c 1000000 /dev/zero >$W/.restore-99999/big" &&
    LOCAL_DIR=$TRASH/p16b "$DBTOOL" database restore "$TRASH/bk" >/dev/null 2>err &&
    ! ls -d "$W"/.restore-* 2>/dev/null && grep -q "left by a restore that was killed" err
'
mkdir -p "$TRASH/p16c"
if $ROOT && mount -t tmpfs -o size=80m none "$TRASH/p16c" 2>/dev/null; then
    test_at_exit "umount -l $TRASH/p16c"
    test_expect_success CLIENT_MATCHES_SERVER '#16 a full disk during restore says "disk full", in a few lines, and changes nothing' '
        dd if=/dev/urandom of="$TRASH/rand" bs=1M count=90 2>/dev/null &&
        mkdir -p "$TRASH/bkbig" "$TRASH/x" && cp "$TRASH/bk"/* "$TRASH/bkbig/" &&
        tar -xzf "$TRASH/bk/base.tar.gz" -C "$TRASH/x" && cp "$TRASH/rand" "$TRASH/x/ballast" &&
        tar -czf "$TRASH/bkbig/base.tar.gz" -C "$TRASH/x" . &&
        PG_WORKING_DIR=$TRASH/p16c/w init >/dev/null 2>&1 &&
        test_when_finished "PG_WORKING_DIR=$TRASH/p16c/w $DBTOOL postgres-cleanup" &&
        ! LOCAL_DIR=$TRASH PG_WORKING_DIR=$TRASH/p16c/w "$DBTOOL" database restore "$TRASH/bkbig" >/dev/null 2>err &&
        grep -q "is full" err && test "$(wc -l <err)" -lt 15 && ! ls -d "$TRASH"/p16c/w/.restore-* 2>/dev/null &&
        PG_WORKING_DIR=$TRASH/p16c/w PG_REUSE=1 init >/dev/null 2>&1
    '
fi

# ---- #5: a restored backup never archives into its source's archive -----------------

test_expect_success CLIENT_MATCHES_SERVER '#5 restore turns archiving off and drops the source'"'"'s recovery settings' '
    mkdir -p "$TRASH/archive" && chmod 777 "$TRASH/archive" && init --env >env 2>/dev/null && . ./env &&
    psql_c "alter system set archive_mode = on" && psql_c "alter system set archive_command = \$\$cp %p $TRASH/archive/%f\$\$" &&
    psql_c "alter system set primary_conninfo = \$\$host=prod password=topsecret\$\$" &&
    "$DBTOOL" postgres-cleanup && PG_REUSE=1 init --env >env 2>/dev/null && . ./env &&
    test "$(psql_c "show archive_mode")" = on &&
    LOCAL_DIR=$TRASH/p16b "$DBTOOL" database backup "$TRASH/bk5" >/dev/null 2>&1 &&
    LOCAL_DIR=$TRASH/p16b "$DBTOOL" database restore "$TRASH/bk5" >/dev/null 2>err && . ./env &&
    test "$(psql_c "show archive_mode")" = off &&
    test "$(psql_c "select count(*) from pg_stat_activity where backend_type = \$\$archiver\$\$")" = 0 &&
    ! grep -q -e topsecret -e archive_command "$W/data/postgresql.auto.conf" &&
    grep -q "dropped 3 archive/recovery/replication settings" err
'
test_done
