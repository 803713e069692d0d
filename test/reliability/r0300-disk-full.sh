#!/bin/sh
# Disk full in PG_WORKING_DIR (a small tmpfs): during init, and during a
# migration. Clear error, non-zero exit, nothing half-recorded, and the
# migration applies once space is back.
TEST_LIB=$(cd "${0%/*}/.." && pwd); . "$TEST_LIB/lib-pg.sh"

[ "$(id -u)" = 0 ] || skip_all "needs root to mount a tmpfs"
mkdir small big
mount -t tmpfs -o size=20m,mode=755 tmpfs small 2>/dev/null || skip_all "cannot mount tmpfs here"
test_at_exit "umount '$TRASH/small'"

test_expect_success 'init on a full filesystem: non-zero exit, clear message, no half data dir' '
    ! PG_WORKING_DIR=$TRASH/small/w "$DBTOOL" postgres-init >out 2>err &&
    grep -qi "no space left\|not enough space" err && ! test -e "$TRASH/small/w/data/PG_VERSION"
'
mount -t tmpfs -o size=120m,mode=755 tmpfs big || exit 1
test_at_exit "umount '$TRASH/big'"
export PG_WORKING_DIR=$TRASH/big/w
test_at_exit "PG_WORKING_DIR=$TRASH/big/w '$DBTOOL' postgres-cleanup"
mkdir -p mig/20260101000001-big
cat >mig/20260101000001-big/up.sql <<'SQL'
CREATE TABLE public.big (id int, pad text) INHERITS (hectic.created_at);
INSERT INTO public.big (id, pad) SELECT g, repeat('x', 1000) FROM generate_series(1, 15000) g;
SQL
echo 'DROP TABLE public.big;' >mig/20260101000001-big/down.sql
test_expect_success 'a migration that fills the disk fails (exit 4) and records nothing' '
    eval "$("$DBTOOL" postgres-init --env 2>/dev/null)" &&
    "$DBTOOL" migrator init >/dev/null 2>&1 &&
    avail=$(df -k --output=avail "$TRASH/big" | tail -n 1) &&
    fallocate -l $(( (avail - 12000) * 1024 )) "$TRASH/big/filler" &&
    ! "$DBTOOL" migrator -d mig migrate up all >out 2>err && cat err &&
    grep -qi "space\|could not\|terminat\|connection" err &&
    rm -f "$TRASH/big/filler" &&
    eval "$(PG_REUSE=1 "$DBTOOL" postgres-init --env 2>/dev/null)" &&
    test "$(psql_c "select count(*) from hectic.migration")" = 0 &&
    test "$(psql_c "select count(*) from pg_tables where tablename = '"'big'"'")" = 0
'
test_expect_success '...and applies once space is back' '
    eval "$(PG_REUSE=1 "$DBTOOL" postgres-init --env 2>/dev/null)" &&
    df -h "$TRASH/big" && "$DBTOOL" migrator -d mig migrate up all >out 2>err; cat err;
    test "$(psql_c "select count(*) from hectic.migration")" = 1 &&
    test "$(psql_c "select count(*) from hectic.migration")" = 1
'
echo "# r0300 disk-full: trials=2 (init, migration)"
test_done
