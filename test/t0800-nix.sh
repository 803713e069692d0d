#!/bin/sh
# nix/: every file parses, and the package set evaluates against a stub nixpkgs:
# output names, the default postgresql_17, .override { postgresql = ...; } reaching
# the wrappers, the install recipe, and the share/hectic files matching what
# `dbtool bundle write` produces.
. "${0%/*}/lib.sh"

command -v nix-instantiate >/dev/null || skip_all "nix-instantiate not installed (Debian: nix-bin)"
export NIX_STATE_DIR=$TRASH/nix-state NIX_STORE_DIR=$TRASH/nix-store NIX_CONF_DIR=$TRASH

ev() { nix-instantiate --eval --strict --json -E "let pkgs = import $SRC_DIR/test/nix/stub-pkgs.nix; out = import $SRC_DIR/nix/default.nix { inherit pkgs; }; in $1"; }

for f in "$SRC_DIR"/nix/*.nix; do
    test_expect_success "nix/${f##*/} parses" "nix-instantiate --parse '$f' >/dev/null"
done
test_expect_success 'the outputs are named like the shell packages' '
    ev "builtins.attrNames out" >out &&
    test "$(cat out)" = "[\"db-tool\",\"dbtool\",\"hectic-inheritance\",\"migrator\",\"postgres-cleanup\",\"postgres-init\"]"
'
test_expect_success 'default postgresql is postgresql_17' '
    ev "out.db-tool.passthru.postgresql.outPath" >out && grep -q "/stub/postgresql-17" out &&
    ev "out.db-tool.passthru.base.passthru.wrapperArgs" >out && grep -q "/stub/postgresql-17/bin" out
'
for o in db-tool postgres-init postgres-cleanup migrator hectic-inheritance dbtool; do
    test_expect_success "$o.override { postgresql = ...; } reaches the wrappers" "
        ev 'let p = (out.\"$o\".override { postgresql = pkgs.postgresql_15; }); b = p.passthru.base or p; in b.passthru.wrapperArgs' >out &&
        grep -q '/stub/postgresql-15/bin' out && ! grep -q postgresql-17 out
    "
done
test_expect_success 'the build uses make with pkg-config, libpq (postgresql), libyaml and libpg_query' '
    ev "out.dbtool.nativeBuildInputs ++ out.dbtool.buildInputs" >out &&
    grep -q pkg-config out && grep -q makeWrapper out && grep -q libyaml out && grep -q postgresql-17 out &&
    grep -q libpg_query out && grep -q protobufc out &&
    ev "out.dbtool.makeFlags" >out && grep -q "PG_QUERY_A=/stub/libpg_query/lib/libpg_query.a" out &&
    ev "out.dbtool.meta.platforms" >out && test "$(cat out)" = "[\"x86_64-linux\"]" &&
    ev "out.dbtool.installPhase" >out && ! grep -q "bin/bundle" out &&
    ev "out.dbtool.installPhase" >out && grep -q "make install PREFIX=\$out" out &&
    for n in dbtool database postgres-cleanup migrator; do grep -q "bin/$n .*--argv0" out || exit 1; done
'
test_expect_success 'wrappers set PG_BINDIR and PATH from the postgresql argument' '
    ev "out.dbtool.passthru.wrapperArgs" >out &&
    grep -q "\"--set-default\",\"PG_BINDIR\",\"/stub/postgresql-17/bin\"" out &&
    grep -q "\"--prefix\",\"PATH\",\":\",\"/stub/postgresql-17/bin\"" out
'
test_expect_success 'each output links the files it names from the build' '
    ev "out.postgres-init.script" >out && grep -q "bin/postgres-init" out &&
    ev "out.db-tool.passthru.files" >out && grep -q "bin/database" out
'
test_expect_success 'hectic-inheritance ships exactly what dbtool bundle write produces' '
    "$DBTOOL" bundle write "$TRASH/share" >/dev/null &&
    (cd "$TRASH/share" && ls | sed "s|^|share/hectic/|" | sort) >want &&
    ev "out.hectic-inheritance.passthru.files" | tr -d "[]\"" | tr , "\n" | sort >got &&
    test_cmp want got
'
test_expect_success 'the dev shell evaluates and sources postgres-init' '
    nix-instantiate --eval --strict --json -E "(import $SRC_DIR/nix/shell.nix { pkgs = import $SRC_DIR/test/nix/stub-pkgs.nix; }).shellHook" >out &&
    grep -q ". postgres-init" out
'
test_done
