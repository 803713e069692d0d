#!/bin/sh
# bench/migrator.sh — `migrator` against the floor, medians of $RUNS runs
# (default 3) in one run, on one throwaway cluster (fsync off on both sides):
# for N trivial migrations (CREATE TABLE / DROP TABLE):
#   up all     migrator migrate up all   vs  one psql session running N blocks
#              BEGIN; \i up.sql; INSERT INTO hectic.migration ...; COMMIT;
#   down all   migrator migrate down all vs  the same with down.sql and DELETE
#   no-op      migrator migrate up all over N applied  vs  psql reading hectic.migration
#              (noop: with the hash cache of earlier runs; noop-cold: the cache removed first,
#              every applied up file read, as in a fresh CI checkout)
# plus migrator's peak RSS (/usr/bin/time %M) for each. Each timed up starts
# from a fresh database with the bundle applied (outside the timing).
# Usage: bench/migrator.sh   (NS="50 200 1000 5000", RUNS=N, DBTOOL=path/to/dbtool)
set -eu
RUNS=${RUNS:-3}
NS=${NS:-50 200 1000}
. "${0%/*}/lib.sh"
bench_cluster migbench
newdb() { admin "DROP DATABASE IF EXISTS $1" && admin "CREATE DATABASE $1" &&
          "$DBTOOL" bundle apply -u "$(url_for "$1")" >/dev/null 2>&1; }
per() { awk -v u="$1" -v n="$2" 'BEGIN { printf "%.3f", u / 1000 / n }'; }
# timed CMD...: microseconds into $T_US, peak RSS (KB) into $T_RSS; a failure aborts the bench
timed() {
    _t0=$(now_us)
    /usr/bin/time -f %M -o "$W/rss" "$@" >/dev/null 2>"$W/err" || { echo "bench: failed: $*" >&2; cat "$W/err" >&2; exit 1; }
    _t1=$(now_us)
    T_US=$((_t1 - _t0))
    T_RSS=$(tail -n 1 "$W/rss")
}

mkfolder() { # N -> $W/m$N with the migrations and the floor scripts
    _d=$W/m$1
    mkdir -p "$_d"
    : >"$W/floor-up-$1.sql"
    : >"$W/floor-down-$1.sql"
    _i=1
    while [ $_i -le "$1" ]; do
        _n=$(printf '20240101%06d-t%d' $_i $_i)
        mkdir "$_d/$_n"
        echo "CREATE TABLE t$_i (id int) INHERITS (hectic.created_at);" >"$_d/$_n/up.sql"
        echo "DROP TABLE t$_i;" >"$_d/$_n/down.sql"
        _h=$(sha256sum "$_d/$_n/up.sql" | cut -d' ' -f1)
        printf "BEGIN;\n\\\\i %s\nINSERT INTO hectic.migration (name, hash) VALUES ('%s', '%s');\nCOMMIT;\n" \
            "$_d/$_n/up.sql" "$_n" "$_h" >>"$W/floor-up-$1.sql"
        _i=$((_i + 1))
    done
    _i=$1
    while [ $_i -ge 1 ]; do
        _n=$(printf '20240101%06d-t%d' $_i $_i)
        printf "BEGIN;\n\\\\i %s\nDELETE FROM hectic.migration WHERE name = '%s';\nCOMMIT;\n" \
            "$_d/$_n/down.sql" "$_n" >>"$W/floor-down-$1.sql"
        _i=$((_i - 1))
    done
}

echo "# migrator bench: $RUNS runs each, medians; $(uname -m), $(nproc) CPUs, $("$PSQL" --version)"
printf '%-6s %-8s %10s %10s %8s %11s %11s %9s\n' N op "migrator" floor ratio "ms/mig" "floor ms/mig" "RSS KB"
for n in $NS; do
    mkfolder "$n"
    for op in up down noop cold; do eval "m_$op=''; f_$op=''; r_$op=''"; done
    r=1
    while [ $r -le "$RUNS" ]; do
        # floor
        newdb fl
        U=$(url_for fl)
        timed "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$U" -f "$W/floor-up-$n.sql"; f_up="$f_up $T_US"
        timed "$PSQL" -X -q -v ON_ERROR_STOP=1 -At -d "$U" -c "SELECT name, hash FROM hectic.migration"; f_noop="$f_noop $T_US"
        timed "$PSQL" -X -q -v ON_ERROR_STOP=1 -d "$U" -f "$W/floor-down-$n.sql"; f_down="$f_down $T_US"
        # migrator
        newdb mg
        U=$(url_for mg)
        timed "$DBTOOL" migrator -u "$U" -d "$W/m$n" migrate up all; m_up="$m_up $T_US"; r_up="$r_up $T_RSS"
        rm -rf "$XDG_CACHE_HOME/dbtool/migrator"
        timed "$DBTOOL" migrator -u "$U" -d "$W/m$n" migrate up all; m_cold="$m_cold $T_US"; r_cold="$r_cold $T_RSS"
        timed "$DBTOOL" migrator -u "$U" -d "$W/m$n" migrate up all; m_noop="$m_noop $T_US"; r_noop="$r_noop $T_RSS"
        timed "$DBTOOL" migrator -u "$U" -d "$W/m$n" migrate down all; m_down="$m_down $T_US"; r_down="$r_down $T_RSS"
        r=$((r + 1))
    done
    f_cold=$f_noop
    for op in up down noop cold; do
        eval "m=\$(median \"\$m_$op\"); f=\$(median \"\$f_$op\"); rs=\$(median \"\$r_$op\")"
        if [ $op = noop ] || [ $op = cold ]; then
            printf '%-6s %-8s %10s %10s %8s %11s %11s %9s\n' "$n" "$([ $op = cold ] && echo noop-cold || echo noop)" \
                "$(ms "$m") ms" "$(ms "$f") ms" "$(ratio "$m" "$f")" "-" "-" "$rs"
        else
            printf '%-6s %-8s %10s %10s %8s %11s %11s %9s\n' "$n" "$op" "$(ms "$m") ms" "$(ms "$f") ms" "$(ratio "$m" "$f")" \
                "$(per "$m" "$n")" "$(per "$f" "$n")" "$rs"
        fi
    done
done
