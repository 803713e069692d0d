#!/bin/sh
# bench/sqlscript.sh — the in-process SQL runner (`dbtool sql -f`) against
# psql, medians of $RUNS runs (default 5) in one run, on one throwaway
# cluster (fsync off on both sides: this measures the client, not the disk):
#   A. a 200-file \ir tree of DDL      dbtool sql -f  vs  psql -f  vs  psql per file
#   B. a 100k-row COPY FROM stdin      dbtool sql -f  vs  psql -f
#   C. peak RSS on a ~100 MB COPY script (memory must stay flat)
# Every timed run gets a fresh database (created outside the timing).
# Usage: bench/sqlscript.sh   (RUNS=N, DBTOOL=path/to/dbtool)
set -eu
RUNS=${RUNS:-5}
BIG_MB=${BIG_MB:-100}
. "${0%/*}/lib.sh"
bench_cluster sqlbench

# --- workloads ---
T=$W/tree
mkdir -p "$T"
: >"$T/entry.sql"
for i in $(seq 0 199); do
    d=$(printf 'd%02d' $((i / 10)))
    mkdir -p "$T/$d"
    f=$(printf 'f%03d.sql' "$i")
    cat >"$T/$d/$f" <<EOF
-- generated DDL file $i
create table t$i (id bigint generated always as identity primary key, name text not null,
                  note text default 'n;o''te', created timestamptz default now());
create index t${i}_name on t$i (name);
create function f$i(x int) returns int language plpgsql as \$fn\$
begin
  return x + $i; -- semicolons; inside
end \$fn\$;
comment on table t$i is 'table $i; generated';
insert into t$i (name) values ('a'), ('b'), ('c');
create view v$i as select id, upper(name) as name from t$i;
EOF
    echo "\\ir $d/$f" >>"$T/entry.sql"
done
C=$W/copy.sql
{ echo "create table big (id int, name text, amount numeric, note text);"
  echo "copy big from stdin;"
  seq 1 100000 | awk '{ printf "%d\tname %d\t%d.25\tsome note text for row %d\n", $1, $1, $1 % 1000, $1 }'
  echo '\.'; } >"$C"
B=$W/big.sql
rows=$((BIG_MB * 1024 * 1024 / 64))
{ echo "create table huge (id int, note text);"
  echo "copy huge from stdin;"
  seq 1 "$rows" | awk '{ printf "%d\tpadding padding padding padding padding padding %d\n", $1, $1 }'
  echo '\.'; } >"$B"

n=0
fresh() { n=$((n + 1)); DB=b$n; admin "create database $DB"; }
timed() { # KIND FILE: fresh db, one run; prints "wall_us cpu_us" (client user+sys)
    fresh
    _u=$(url_for "$DB")
    _t0=$(now_us)
    case $1 in
    dbtool) /usr/bin/time -f '%U %S' -o "$W/cpu" "$DBTOOL" sql -q -u "$_u" -f "$2" >/dev/null ;;
    psql) /usr/bin/time -f '%U %S' -o "$W/cpu" "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$_u" -f "$2" >/dev/null ;;
    psql-per-file)
        /usr/bin/time -f '%U %S' -o "$W/cpu" sh -c 'for f in "$1"/d*/f*.sql; do
            "$2" -X -q -v ON_ERROR_STOP=1 -d "$3" -f "$f" >/dev/null || exit 1; done' - "$T" "$PSQL" "$_u" ;;
    esac
    _t1=$(now_us)
    admin "drop database $DB"
    echo "$((_t1 - _t0)) $(awk '{ printf "%d", ($1 + $2) * 1000000 }' "$W/cpu")"
}
wall() { printf '%s\n' "$1" | tr ';' '\n' | awk 'NF { print $1 }'; }
cpu() { printf '%s\n' "$1" | tr ';' '\n' | awk 'NF { print $2 }'; }

tree_dbt="" tree_psql="" tree_each="" copy_dbt="" copy_psql="" # "wall cpu;wall cpu;..."
for i in $(seq "$RUNS"); do
    # alternate who goes first: the server's state drifts between runs
    if [ $((i % 2)) = 1 ]; then
        tree_dbt="$tree_dbt;$(cd "$T" && timed dbtool entry.sql)"
        tree_psql="$tree_psql;$(cd "$T" && timed psql entry.sql)"
    else
        tree_psql="$tree_psql;$(cd "$T" && timed psql entry.sql)"
        tree_dbt="$tree_dbt;$(cd "$T" && timed dbtool entry.sql)"
    fi
    tree_each="$tree_each;$(timed psql-per-file)"
    copy_dbt="$copy_dbt;$(timed dbtool "$C")"
    copy_psql="$copy_psql;$(timed psql "$C")"
done

# peak RSS (KiB): the ~100 MB script vs a trivial one
fresh; u=$(url_for "$DB")
/usr/bin/time -f %M -o "$W/rss.dbt" "$DBTOOL" sql -q -u "$u" -f "$B" >/dev/null
admin "drop database $DB"
fresh; u=$(url_for "$DB")
/usr/bin/time -f %M -o "$W/rss.psql" "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$u" -f "$B" >/dev/null
admin "drop database $DB"
fresh; u=$(url_for "$DB")
/usr/bin/time -f %M -o "$W/rss.small" "$DBTOOL" sql -q -u "$u" -c "select 1" >/dev/null
admin "drop database $DB"

echo "PostgreSQL: $("$PG_BINDIR/postgres" --version)   runs: $RUNS (medians, fsync off)"
printf '%-34s %10s %10s %7s   %12s %12s\n' "workload (medians)" "dbtool ms" "psql ms" "ratio" "dbtool cpu" "psql cpu"
line() { # label dbtool-samples psql-samples
    _a=$(median "$(wall "$2")") _b=$(median "$(wall "$3")")
    _ca=$(median "$(cpu "$2")") _cb=$(median "$(cpu "$3")")
    printf '%-34s %10s %10s %7s   %9s ms %9s ms\n' "$1" "$(ms "$_a")" "$(ms "$_b")" "$(ratio "$_a" "$_b")" "$(ms "$_ca")" "$(ms "$_cb")"
}
line "200-file \\ir DDL tree vs psql -f" "$tree_dbt" "$tree_psql"
line "200-file DDL vs psql per file" "$tree_dbt" "$tree_each"
line "100k-row COPY FROM stdin" "$copy_dbt" "$copy_psql"
printf '%-34s %10s %10s   (KiB)\n' "peak RSS, $(($(wc -c <"$B") / 1048576)) MB COPY script" "$(tail -1 "$W/rss.dbt")" "$(tail -1 "$W/rss.psql")"
printf '%-34s %10s   (KiB)\n' "peak RSS, dbtool sql -c 'select 1'" "$(tail -1 "$W/rss.small")"
