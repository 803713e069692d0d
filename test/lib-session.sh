# lib-session.sh — shared by the t095x `database session` tests: a second
# local cluster standing in for the remote ($REMOTE), the project $P (the demo
# copied by the test) as LOCAL_DIR with its cluster removed at exit,
# throwaway clusters in $DBTOOL_SCRATCH_DIR, and helpers.
. "${TEST_LIB:-${0%/*}}/lib-pg.sh"
pg_cluster remote || skip_all "could not start a cluster"
REMOTE=$PGURL
unset PGURL DB_URL

P="$TRASH/proj"
M="$P/db/migration"
export DBTOOL_SCRATCH_DIR="$TRASH/scratch"
mkdir -p "$DBTOOL_SCRATCH_DIR"
export LOCAL_DIR="$P"
test_at_exit "LOCAL_DIR='$P' '$DBTOOL' database cleanup"

sess() { "$DBTOOL" database session "$@"; }
# SQL on the remote / on the session database (its URL in $TRASH/local.url)
rpsql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$REMOTE" -c "$1"; }
lpsql() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(cat "$TRASH/local.url")" -c "$1"; }
# expect_rc CODE COMMAND...: COMMAND must exit CODE
expect_rc() {
    _w=$1; shift
    "$@"; _r=$?
    [ "$_r" = "$_w" ] || { echo "expected exit $_w, got $_r: $*"; return 1; }
}
# SQL that lets role $1 read everything a session start reads: pg_read_all_data
# on 14+, on 13 (which lacks it) SELECT on the tables of public and hectic
read_all_sql() {
    if [ "${PG_SERVER_MAJOR:-0}" -ge 14 ]; then
        echo "GRANT pg_read_all_data TO $1"
    else
        echo "GRANT USAGE ON SCHEMA public, hectic TO $1; GRANT SELECT ON ALL TABLES IN SCHEMA public, hectic TO $1;
              GRANT SELECT ON ALL SEQUENCES IN SCHEMA public, hectic TO $1"
    fi
}
# wait (up to 60 s) until SQL on the remote returns t
wait_remote() {
    _i=0
    until [ "$(rpsql "$1")" = t ]; do
        _i=$((_i + 1)); [ $_i -lt 1200 ] || { echo "timed out waiting for: $1"; return 1; }
        sleep 0.05
    done
}
# The demo project in $P, one migration ahead of the remote: the remote has
# 20250101000000-init (project, task, task_status with two rows) applied and
# two projects with a task each; $TRASH/m1 holds that first migration.
remote_at_first_migration() {
    cp -R "$TEST_DIR/../examples/demo" "$P" &&
    mkdir -p "$TRASH/m1/20250101000000-init" &&
    cat >"$TRASH/m1/20250101000000-init/up.sql" <<-\EOF &&
	CREATE TABLE public.project (id bigserial PRIMARY KEY, name text NOT NULL UNIQUE)
	    INHERITS (hectic.created_at, hectic.updated_at);
	CREATE TABLE public.task (id bigserial PRIMARY KEY, project_id bigint NOT NULL REFERENCES public.project(id),
	    title text NOT NULL, done boolean NOT NULL DEFAULT false) INHERITS (hectic.created_at, hectic.updated_at);
	CREATE TABLE public.task_status (code text PRIMARY KEY, label text NOT NULL)
	    INHERITS (hectic.created_at, hectic.immutable);
	INSERT INTO public.task_status (code, label) VALUES ('open', 'Open'), ('done', 'Done');
	EOF
    echo "DROP TABLE public.task_status, public.task, public.project;" >"$TRASH/m1/20250101000000-init/down.sql" &&
    cp -R "$TRASH/m1/20250101000000-init" "$M/" &&
    "$DBTOOL" migrator -u "$REMOTE" -d "$TRASH/m1" migrate up all 2>"$TRASH/m1.err" &&
    rpsql "INSERT INTO project (name) VALUES ('a'), ('b');
           INSERT INTO task (project_id, title) VALUES (1, 'x'), (2, 'y')"
}
