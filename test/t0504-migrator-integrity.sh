#!/bin/sh
# migrator integrity (issue 16), each a root cause the old migrator got wrong:
# a script that ends the migrator's transaction (ROLLBACK, COMMIT, BEGIN) is
# refused before it runs and nothing is recorded; rolled-back work is never
# recorded; a folder without a regular up.sql (UP.sql, a directory, a FIFO)
# or whose name is not YYYYMMDDHHMMSS-label (20-digit versions) stops migrate
# before anything past it is applied, naming it and the reason (exit 2).
. "${0%/*}/lib-pg.sh"
. "$TEST_DIR/lib-mig.sh"

T='(id int) INHERITS (hectic.created_at)'
pg_cluster pg || exit 1
has() { test "$(q "$1" "select to_regclass('$2') is not null")" = t; }

# --- the migrator's transaction -------------------------------------------------------

test_expect_code 4 'a migration that ends with ROLLBACK exits 4 (it was recorded as applied, exit 0)' '
    newdb rb >/dev/null &&
    mkmig RB 20240101000000-rolls-back "CREATE TABLE rb $T;
INSERT INTO rb (id) VALUES (1);
ROLLBACK;" "DROP TABLE rb;" &&
    mig rb RB migrate up 2>err
'
test_expect_success '...nothing recorded, nothing committed, the line and the reason named' '
    test "$(nmig rb)" = 0 && ! has rb rb &&
    grep -q "RB/20240101000000-rolls-back/up.sql:3: ROLLBACK in migration .20240101000000-rolls-back. (up) would end the transaction" err &&
    grep -q "nothing of it was committed, nothing recorded" err
'
test_expect_success 'a down.sql that ends with ROLLBACK is refused too: the row and the table stay' '
    newdb rbd >/dev/null &&
    mkmig RBD 20240101000000-t "CREATE TABLE t $T;" "DROP TABLE t; ROLLBACK;" &&
    mig rbd RBD migrate up 2>/dev/null && test "$(nmig rbd)" = 1 &&
    mig rbd RBD migrate down 2>err; test $? = 4 &&
    test "$(nmig rbd)" = 1 && has rbd t && grep -q "down.sql:1: ROLLBACK in migration .20240101000000-t. (down)" err
'
test_expect_code 4 'CREATE; COMMIT; CREATE; an error: exit 4 (both CREATEs stayed committed, reported "rolled back")' '
    newdb cm >/dev/null &&
    mkmig CM 20240101000000-commits "CREATE TABLE a $T;
COMMIT;
CREATE TABLE b $T;
SELECT 1/0;" "DROP TABLE b; DROP TABLE a;" &&
    mig cm CM migrate up 2>err
'
test_expect_success '...refused at the COMMIT: nothing of it is committed, nothing recorded' '
    ! has cm a && ! has cm b && test "$(nmig cm)" = 0 &&
    grep -q "up.sql:2: COMMIT in migration .20240101000000-commits. (up) would end the transaction" err &&
    ! grep -q "division by zero" err
'
test_expect_success '...and once fixed it applies from line 1 (no half-applied state to trip over)' '
    printf "CREATE TABLE a $T;\nCREATE TABLE b $T;\n" >CM/20240101000000-commits/up.sql &&
    mig cm CM migrate up 2>err && has cm a && has cm b && test "$(nmig cm)" = 1
'
test_expect_success 'BEGIN and PREPARE TRANSACTION are refused the same way; SAVEPOINTs are fine' '
    newdb bg >/dev/null &&
    mkmig BG 20240101000000-sp "CREATE TABLE sp $T; SAVEPOINT s; INSERT INTO sp (id) VALUES (1); ROLLBACK TO SAVEPOINT s; RELEASE s;" "DROP TABLE sp;" &&
    mig bg BG migrate up 2>err && test "$(q bg "select count(*) from sp")" = 0 &&
    mkmig BG 20240101000001-begin "BEGIN; CREATE TABLE x $T;" "DROP TABLE x;" &&
    mig bg BG migrate up 2>err; test $? = 4 && grep -q "up.sql:1: BEGIN in migration" err && ! has bg x &&
    printf "CREATE TABLE x $T;\nPREPARE TRANSACTION '"'p1'"';\n" >BG/20240101000001-begin/up.sql &&
    mig bg BG migrate up 2>err; test $? = 4 && grep -q "up.sql:2: PREPARE TRANSACTION in migration" err &&
    ! has bg x && test "$(q bg "select count(*) from pg_prepared_xacts")" = 0 && test "$(nmig bg)" = 1
'
test_expect_success 'transaction: false: the script may manage its own transactions' '
    printf "BEGIN;\nCREATE TABLE x $T;\nCOMMIT;\nBEGIN;\nINSERT INTO x (id) VALUES (1);\nCOMMIT;\n" >BG/20240101000001-begin/up.sql &&
    echo "transaction: false" >BG/20240101000001-begin/migration.yaml &&
    mig bg BG migrate up 2>err && test "$(nmig bg)" = 2 && test "$(q bg "select count(*) from x")" = 1 &&
    test "$(q bg "select count(*) from hectic.migration_step")" = 0
'
test_expect_success '\connect in a migration is refused (it would leave the transaction), in transaction: false it works' '
    newdb cn >/dev/null &&
    mkmig CN 20240101000000-connect "CREATE TABLE c1 $T;
\\c postgres
CREATE TABLE c2 $T;" "DROP TABLE c1;" &&
    mig cn CN migrate up 2>err; test $? = 4 && grep -q "connect postgres would leave the transaction" err &&
    ! has cn c1 && test "$(nmig cn)" = 0 &&
    printf "CREATE TABLE c1 $T;\n\\\\c cn\nCREATE TABLE c2 $T;\n" >CN/20240101000000-connect/up.sql &&
    echo "transaction: false" >CN/20240101000000-connect/migration.yaml &&
    mig cn CN migrate up 2>err && has cn c1 && has cn c2 && test "$(nmig cn)" = 1
'

# --- folders in the way -------------------------------------------------------------------

setup_way() { # DB DIR: a applied; b incomplete in some way; c pending after it
    newdb "$1" >/dev/null &&
    mkmig "$2" 20240101000000-a "CREATE TABLE a $T;" "DROP TABLE a;" &&
    mig "$1" "$2" migrate up 2>/dev/null &&
    mkdir -p "$2/20240102000000-b" && echo "DROP TABLE a;" >"$2/20240102000000-b/down.sql" &&
    mkmig "$2" 20240103000000-c "CREATE TABLE c $T;" "DROP TABLE c;"
}
test_expect_code 2 'an UP.sql typo stops migrate (it was skipped and c applied past it)' '
    setup_way w1 W1 && echo "CREATE TABLE b $T;" >W1/20240102000000-b/UP.sql && mig w1 W1 migrate up all 2>err
'
test_expect_success '...naming the folder and the reason, nothing applied' '
    grep -q "W1/20240102000000-b: incomplete migration: no up.sql (there is .UP.sql.: the up file must be named exactly up.sql)" err &&
    ! has w1 c && test "$(nmig w1)" = 1 &&
    mig w1 W1 status >out; grep -q "^incomplete  20240102000000-b  (no up.sql (there is .UP.sql." out
'
test_expect_success 'up.sql as a directory and as a FIFO stop it too, with the reason' '
    setup_way w2 W2 && mkdir W2/20240102000000-b/up.sql && mig w2 W2 migrate up all 2>err; test $? = 2 &&
    grep -q "20240102000000-b: incomplete migration: up.sql is a directory" err && ! has w2 c &&
    setup_way w3 W3 && mkfifo W3/20240102000000-b/up.sql && timeout 20 migrator -u "$(dburl w3)" -d W3 migrate up all 2>err; test $? = 2 &&
    grep -q "20240102000000-b: incomplete migration: up.sql is not a regular file" err && ! has w3 c
'
test_expect_success '...but what lies before it still applies: up 1 does not pass it' '
    mkmig W4 20240101000000-a "CREATE TABLE a $T;" "DROP TABLE a;" && newdb w4 >/dev/null &&
    mkdir -p W4/20240102000000-b && mig w4 W4 migrate up 1 2>err && test "$(nmig w4)" = 1 &&
    mkmig W4 20240103000000-c "CREATE TABLE c $T;" "DROP TABLE c;" &&
    mig w4 W4 migrate up 1 2>err; test $? = 2 && grep -q "20240102000000-b: incomplete" err && ! has w4 c
'
test_expect_code 2 '20-digit versions (Ory Kratos) are reported, not "there are none" (it said so, exit 0)' '
    mkdir -p K/20200519101057000000_identities K/20200519101058000000_credentials &&
    echo "CREATE TABLE i $T;" >K/20200519101057000000_identities/up.sql &&
    echo "CREATE TABLE c $T;" >K/20200519101058000000_credentials/up.sql &&
    newdb k >/dev/null && mig k K migrate up all 2>err
'
test_expect_success '...each named with the reason and what to do' '
    grep -q "K/20200519101057000000_identities: not a migration: the version has 20 digits, dbtool.s has 14" err &&
    grep -q "K/20200519101058000000_credentials: not a migration:.*migrator import" err &&
    ! has k hectic.migration && mig k K list >out && grep -q "^20200519101057000000_identities: not a migration name$" out
'
test_expect_success 'a bad name after everything applied still stops up all; files that look like migrations too' '
    newdb bn >/dev/null && mkmig BN 20240101000000-a "CREATE TABLE a $T;" "DROP TABLE a;" &&
    mig bn BN migrate up all 2>/dev/null &&
    echo "CREATE TABLE z $T;" >BN/20240201000000_late.sql &&
    mig bn BN migrate up all 2>err; test $? = 2 && grep -q "20240201000000_late.sql: not a migration: .\\_. after the version" err &&
    rm BN/20240201000000_late.sql && echo x >BN/20240201000000-file && mig bn BN migrate up all 2>err; test $? = 2 &&
    grep -q "20240201000000-file: not a migration: not a directory" err &&
    rm BN/20240201000000-file && mkdir BN/notes BN/.git && echo x >BN/README.md && mig bn BN migrate up all 2>err
'
test_done
