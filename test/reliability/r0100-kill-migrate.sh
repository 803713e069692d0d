#!/bin/sh
# SIGKILL of dbtool at random points of `migrate up all`, TRIALS times (default
# 60): after every kill each migration is either applied AND recorded or
# neither (its effect and its hectic.migration row agree), and a re-run
# completes with every migration applied exactly once.
TEST_LIB=$(cd "${0%/*}/.." && pwd); . "$TEST_LIB/lib-pg.sh"
# a failing trial, said on stdout and kept for the failing test's report
trial_log() { echo "$*"; echo "$*" >>"$TRASH/trials.log"; }

TRIALS=${TRIALS:-60}
N=25
pg_cluster main
ADMIN=$(echo "$PGURL" | sed 's|@/[^?]*?|@/postgres?|')
mkdir mig
i=1
while [ $i -le $N ]; do
    d=$(printf "mig/2026010100%04d-step%d" $i $i)
    mkdir "$d"
    # each migration: DDL, DML and a little time, so kills land inside transactions too
    cat >"$d/up.sql" <<SQL
CREATE TABLE public.t$i (id int PRIMARY KEY) INHERITS (hectic.created_at);
INSERT INTO public.t$i (id) SELECT g FROM generate_series(1, 2000) g;
INSERT INTO public.effects (name) VALUES ('${d#mig/}');
SELECT pg_sleep(0.01);
SQL
    printf 'DROP TABLE public.t%d;\nDELETE FROM public.effects WHERE name = %s;\n' $i "'${d#mig/}'" >"$d/down.sql"
    i=$((i + 1))
done

# check DB: effects and bookkeeping agree; prints the number of applied migrations
consistent() {
    "$PSQL" -X -At -v ON_ERROR_STOP=1 -d "$1" <<'SQL'
SELECT CASE WHEN
    (SELECT count(*) FROM hectic.migration m FULL JOIN public.effects e ON e.name = m.name
      WHERE m.name IS NULL OR e.name IS NULL) = 0
    AND (SELECT count(*) FROM public.effects) = (SELECT count(DISTINCT name) FROM public.effects)
    AND (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^t[0-9]+$')
        = (SELECT count(*) FROM hectic.migration)
  THEN 'ok ' || (SELECT count(*) FROM hectic.migration) ELSE 'BROKEN' END;
SQL
}

bad=0 killed_mid=0
t=1
while [ $t -le $TRIALS ]; do
    db=trial$t
    "$PSQL" -X -q -d "$ADMIN" -c "CREATE DATABASE $db" &&
    url=$(echo "$PGURL" | sed "s|@/[^?]*?|@/$db?|") &&
    "$DBTOOL" migrator -u "$url" init >/dev/null 2>&1 &&
    "$PSQL" -X -q -d "$url" -c "CREATE TABLE public.effects (name text) INHERITS (hectic.created_at)" || exit 1
    # a random point: 0..600 ms into the run
    delay=$(awk -v s="$t" 'BEGIN { srand(s * 7919); printf "%.3f", rand() * 0.6 }')
    "$DBTOOL" migrator -u "$url" -d mig migrate up all >/dev/null 2>"run$t.err" &
    pid=$!
    sleep "$delay"
    kill -9 $pid 2>/dev/null
    wait $pid 2>/dev/null
    state=$(consistent "$url")
    case $state in
    "ok 0"|"ok $N") ;;
    ok*) killed_mid=$((killed_mid + 1)) ;; # killed with part of the run done
    *) bad=$((bad + 1)); trial_log "# trial $t: inconsistent after kill at ${delay}s" ;;
    esac
    # the re-run completes: all N applied exactly once
    "$DBTOOL" migrator -u "$url" -d mig migrate up all >/dev/null 2>"rerun.err" || { bad=$((bad + 1)); cat rerun.err; }
    state=$(consistent "$url")
    [ "$state" = "ok $N" ] || { bad=$((bad + 1)); trial_log "# trial $t: after re-run: $state"; }
    "$PSQL" -X -q -d "$ADMIN" -c "DROP DATABASE $db" >/dev/null
    t=$((t + 1))
done
echo "# r0100 kill-migrate: trials=$TRIALS killed-with-partial-progress=$killed_mid failures=$bad data-lost=$bad"
test_expect_success "$TRIALS SIGKILLed runs left every migration applied+recorded or neither; re-runs completed" "
    test $bad = 0 || { cat \"$TRASH/trials.log\"; false; }
"
test_expect_success 'at least a third of the kills landed mid-run (some applied, some not)' "test $killed_mid -ge $((TRIALS / 3))"
test_done
