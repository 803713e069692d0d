#!/bin/sh
# make install into a temp prefix: every name runs from there, the shim sources
# in dash and bash, completions load in bash and complete at every level, one
# man page per linked applet plus dbtool(1) renders with its sections, no bare
# `bundle` on PATH, bundle SQL is under share/hectic.
. "${0%/*}/lib-pg.sh"

P=/opt/dbtool-test-$$
D=$TRASH/dest
test_expect_success 'make install PREFIX DESTDIR' '
    make -C "$SRC_DIR" -s O="$DBTOOL_BUILD" install PREFIX=$P DESTDIR=$D >out 2>&1 &&
    test -x "$D$P/bin/dbtool"
'
for n in dbtool $("$DBTOOL" --list | grep -v "^postgres-init$"); do
    test_expect_success "installed $n exists and answers --help" "
        test -e '$D$P/bin/$n' || exit 0 # applets without an installed name (sql, config) are dbtool-only
        test -e '$D$P/bin/$n' && '$D$P/bin/$n' --help >out 2>&1 || { test '$n' = dbtool && '$D$P/bin/$n' --help >out; }
    "
done
test_expect_success 'the installed shim calls the installed binary by absolute path' '
    grep -q "\"$P/bin/dbtool\" postgres-init" "$D$P/bin/postgres-init"
'
# without DESTDIR the shim can run from the prefix itself
test_expect_success 'make install into a real prefix; the shim sources in dash and bash' '
    R=$TRASH/prefix && make -C "$SRC_DIR" -s O="$DBTOOL_BUILD" install PREFIX=$R >out 2>&1 &&
    test_at_exit "PG_WORKING_DIR=$TRASH/w \"$R/bin/postgres-cleanup\"" &&
    for sh in dash bash; do
        PG_WORKING_DIR=$TRASH/w $sh -c ". \"$R/bin/postgres-init\" && \"\$PSQL\" -X -At -d \"\$PGURL\" -c \"select 7\"" >o 2>e &&
        test "$(cat o)" = 7 || { cat e; exit 1; }
    done
'
test_expect_success 'the installed names are the applet table'"'"'s links, and no bare bundle' '
    R=$TRASH/prefix && ls "$R/bin" | sort >names &&
    { echo dbtool; "$DBTOOL" --list-links; } | sort >want && test_cmp want names &&
    ! test -e "$R/bin/bundle"
'
test_expect_success 'installed names dispatch by argv[0]' '
    R=$TRASH/prefix && "$R/bin/postgres-cleanup" --help | grep -q "^usage: postgres-cleanup" &&
    "$R/bin/database" --help | grep -q "^usage: database"
'
test_expect_success 'bundle SQL is installed under share/hectic' '
    test -s "$TRASH/prefix/share/hectic/hectic-inheritance.sql"
'
test_expect_success 'bash completion loads without errors and completes applets and options' '
    bash -c ". \"$TRASH/prefix/share/bash-completion/completions/dbtool\" && complete -p database >/dev/null &&
        COMP_WORDS=(dbtool post); COMP_CWORD=1; _dbtool; printf \"%s\n\" \"\${COMPREPLY[@]}\"" >out 2>err &&
    ! test -s err && grep -qx postgres-init out && grep -qx postgres-cleanup out &&
    bash -c ". \"$TRASH/prefix/share/bash-completion/completions/dbtool\" &&
        COMP_WORDS=(database c); COMP_CWORD=1; _dbtool; printf \"%s\n\" \"\${COMPREPLY[@]}\"" >out &&
    grep -qx cleanup out &&
    bash -c ". \"$TRASH/prefix/share/bash-completion/completions/dbtool\" &&
        COMP_WORDS=(postgres-init --r); COMP_CWORD=1; _dbtool; printf \"%s\n\" \"\${COMPREPLY[@]}\"" >out &&
    grep -qx -- --reuse out
'
test_expect_success 'zsh and fish completion files are generated' '
    head -n 1 "$TRASH/prefix/share/zsh/site-functions/_dbtool" | grep -q "^#compdef dbtool" &&
    grep -q "complete -c database" "$TRASH/prefix/share/fish/vendor_completions.d/dbtool.fish"
'
test_expect_success 'one man page per linked applet, and dbtool(1)' '
    ls "$TRASH/prefix/share/man/man1" >pages &&
    printf "%s\n" database.1 dbtool.1 migrator.1 postgres-cleanup.1 postgres-init.1 >want && test_cmp want pages
'
for page in database migrator postgres-init postgres-cleanup dbtool; do
    test_expect_success "man $page renders with SYNOPSIS, EXAMPLES, ENVIRONMENT, EXIT STATUS, FILES" "
        MANWIDTH=100 man -l '$TRASH/prefix/share/man/man1/$page.1' >man-$page.txt 2>err &&
        for sec in NAME SYNOPSIS DESCRIPTION EXAMPLES ENVIRONMENT 'EXIT STATUS' FILES 'SEE ALSO'; do
            grep -q \"^\$sec\\\$\" man-$page.txt || { echo \"no \$sec\"; exit 1; }
        done &&
        grep -q '^ *130 ' man-$page.txt && ! grep -q 'warning' err
    "
done
test_expect_success 'database(1) documents every subcommand with its options' '
    for s in $("$DBTOOL" database --dbtool-describe | sed -n "s/^sub\t\([^\t]*\)\t.*/\1/p"); do
        grep -q "^   database $s\$" man-database.txt || { echo "no $s"; exit 1; }
    done &&
    grep -q "^ *-P, --no-patch" man-database.txt && grep -q "^ *PG_WORKING_DIR (dbtool.yaml: paths.working_dir)" man-database.txt
'
test_expect_success 'dbtool(1) carries the applets without a page of their own' '
    grep -q "^DBTOOL BUNDLE" man-dbtool.txt && grep -q "^DBTOOL SQL" man-dbtool.txt &&
    grep -q "^   bundle upgrade" man-dbtool.txt && grep -q "database(1)" man-dbtool.txt
'
# c WORDS...: what bash completes for the last word
cat >complete.sh <<EOF
. "$TRASH/prefix/share/bash-completion/completions/dbtool"
COMP_WORDS=("\$@"); COMP_CWORD=\$((\$# - 1)); COMPREPLY=(); _dbtool; printf "%s\n" "\${COMPREPLY[@]}"
EOF
c() { bash "$TRASH/complete.sh" "$@"; }
test_expect_success 'bash completes at every level: subcommands, their options, values, directories' '
    mkdir -p cdir/sub && cd cdir &&
    c database help de >out && grep -qx deploy out &&
    c database deploy --no- >out && grep -qx -- --no-patch out && grep -qx -- --no-hydrate out &&
    c dbtool bundle up >out && grep -qx upgrade out &&
    c database diff --format "" >out && grep -qx text out && grep -qx json out &&
    c database new "" >out && grep -qx sub out &&
    c database -u URL dep >out && grep -qx deploy out
'
test_done
