# A dev shell as the README describes it: the project's cluster starts on entry.
#   nix-shell nix/shell.nix
{ pkgs ? import <nixpkgs> { } }:

let
  hectic = import ./default.nix { inherit pkgs; };
  myPg = pkgs.postgresql_17.withPackages (p: [ p.pg_cron ]);
in
pkgs.mkShell {
  packages = [
    (hectic.db-tool.override { postgresql = myPg; })
    (hectic.postgres-init.override { postgresql = myPg; })
    (hectic.postgres-cleanup.override { postgresql = myPg; })
    (hectic.migrator.override { postgresql = myPg; })
  ];
  shellHook = ''
    export LOCAL_DIR="$PWD"
    export DATABASE_DIR="$LOCAL_DIR/db"
    export PG_WORKING_DIR="$LOCAL_DIR/focus/postgresql"
    export PG_REUSE=1
    . postgres-init
    export DB_URL="$PGURL"
  '';
}
