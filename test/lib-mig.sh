# test/lib-mig.sh — helpers for the migrator tests. Source after lib-pg.sh.
#   dburl DB         the cluster's URL with the database DB
#   q DB SQL         psql -At on DB
#   newdb DB         drop and create DB
#   mkmig DIR NAME UP [DOWN]   a migration folder DIR/NAME with up.sql and down.sql
#   mig DB DIR ARGS  migrator -u URL(DB) -d DIR ARGS
#   applied DB       the applied names, space-separated
dburl() { printf '%s' "$PGURL" | sed "s|@/[^?]*?|@/$1?|"; }
q() { "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$(dburl "$1")" -c "$2"; }
newdb() { q postgres "DROP DATABASE IF EXISTS $1" >/dev/null 2>&1; q postgres "CREATE DATABASE $1"; }
mkmig() {
    mkdir -p "$1/$2" && printf '%s\n' "$3" >"$1/$2/up.sql" && printf '%s\n' "${4:--- nothing}" >"$1/$2/down.sql"
}
mig() {
    _db=$1 _dir=$2
    shift 2
    migrator -u "$(dburl "$_db")" -d "$_dir" "$@"
}
applied() { q "$1" "select coalesce(string_agg(name, ' ' order by name), '') from hectic.migration"; }
# hash_of DB NAME: the recorded hash; nmig DB: the number of rows of hectic.migration
hash_of() { q "$1" "select hash from hectic.migration where name = '$2'"; }
nmig() { q "$1" "select count(*) from hectic.migration"; }
# ntables DB: tables in schema public
ntables() { q "$1" "select count(*) from pg_tables where schemaname = 'public'"; }
