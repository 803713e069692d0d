# Outputs named like the shell packages they replace, each overridable:
#   (import ./nix { inherit pkgs; }).db-tool.override { postgresql = myPg; }
# db-tool: bin/database (+ dbtool); postgres-init: the sourceable bin/postgres-init;
# postgres-cleanup; migrator; hectic-inheritance: share/hectic/*.sql.
{ pkgs ? import <nixpkgs> { } }:

let
  inherit (pkgs) lib;

  dbtoolFor = postgresql: pkgs.callPackage ./package.nix { inherit postgresql; };

  # one output = the dbtool build for a postgresql, plus a selection of its files
  output = name: files: lib.makeOverridable
    ({ postgresql ? pkgs.postgresql_17 }:
      let base = dbtoolFor postgresql; in
      pkgs.runCommand name
        {
          passthru = { inherit base postgresql; files = files; };
          meta = base.meta // { mainProgram = lib.head (files ++ [ "dbtool" ]); };
        }
        (''
          mkdir -p $out/bin $out/share
        '' + lib.concatMapStrings (f: ''
          mkdir -p $out/$(dirname ${f})
          ln -s ${base}/${f} $out/${f}
        '') files))
    { };
in
{
  dbtool = lib.makeOverridable ({ postgresql ? pkgs.postgresql_17 }: dbtoolFor postgresql) { };
  db-tool = output "db-tool" [ "bin/database" "bin/dbtool" ];
  postgres-init = output "postgres-init" [ "bin/postgres-init" "bin/dbtool" ];
  postgres-cleanup = output "postgres-cleanup" [ "bin/postgres-cleanup" ];
  migrator = output "migrator" [ "bin/migrator" ];
  # every part of bundle/ (NN-name.sql), as `dbtool bundle write` writes them
  hectic-inheritance = output "hectic-inheritance" ([ "share/hectic/hectic-inheritance.sql" ]
    ++ map (f: "share/hectic/${f}")
      (builtins.filter (f: builtins.match "[0-9][0-9]-.*[.]sql" f != null)
        (builtins.attrNames (builtins.readDir ../bundle))));
}
