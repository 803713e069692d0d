#!/bin/sh
# Hygiene: data and socket dirs 0700, no TCP listener by default, no password
# from a URL in any output or log line.
TEST_LIB=$(cd "${0%/*}/.." && pwd); . "$TEST_LIB/lib-pg.sh"

pg_cluster main
test_expect_success 'data dir and socket dir are 0700' '
    test "$(stat -c %a "$TRASH/main/data")" = 700 && test "$(stat -c %a "$TRASH/main/sock")" = 700
'
test_expect_success 'no TCP listener by default' '
    pid=$(head -n 1 "$TRASH/main/data/postmaster.pid") &&
    if command -v ss >/dev/null; then ! ss -ltnp 2>/dev/null | grep -q "pid=$pid,"; fi &&
    ! grep -q "0x" /dev/null && test "$(psql_c "show listen_addresses")" = ""
'
SECRET=Sup3rS3cretPw
bad_url=$(echo "$PGURL" | sed "s|://\([^@]*\)@|://\1:$SECRET@|")
nodb_url=$(echo "$bad_url" | sed "s|@/[^?]*?|@/no_such_db?|")
test_expect_success 'a URL password never appears in any output or log' '
    mkdir -p proj/db/src && echo "select 1/0;" >proj/db/src/entrypoint.sql &&
    { "$DBTOOL" sql -u "$nodb_url" -c "select 1"
      "$DBTOOL" sql -u "$bad_url" -c "select 1/0"
      "$DBTOOL" migrator -u "$nodb_url" status
      "$DBTOOL" bundle apply -u "$nodb_url"
      LOCAL_DIR=$TRASH/proj "$DBTOOL" database -u "$bad_url" hydrate
      LOCAL_DIR=$TRASH/proj "$DBTOOL" database -u "$nodb_url" test
      DB_URL=$bad_url "$DBTOOL" config
      DB_URL=$bad_url HECTIC_LOG=trace "$DBTOOL" doctor
    } >all.out 2>&1; cat all.out | head -n 40 &&
    ! grep -q "$SECRET" all.out &&
    ! grep -rq "$SECRET" "$TRASH/main/data/log" "$TRASH/main/postgres.log"
'
test_done
