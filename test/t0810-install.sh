#!/bin/sh
# make install into a temp prefix: every name runs from there, the shim sources
# in dash and bash, completions load in bash, the man page renders, bundle SQL
# is under share/hectic.
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
test_expect_success 'the man page renders and carries every applet help' '
    MANWIDTH=100 man -l "$TRASH/prefix/share/man/man1/dbtool.1" >man.txt 2>err &&
    grep -q "postgres-init \[--env\] \[--reuse" man.txt &&
    for a in $("$DBTOOL" --list); do grep -q "usage: .*$a" man.txt || { echo "no $a"; exit 1; }; done
'
test_done
