# Flake entry: packages.<system>.{dbtool,db-tool,postgres-init,postgres-cleanup,
# migrator,hectic-inheritance} and a devShell. (Lives in nix/: use
# `nix build ./nix#db-tool` or copy it to the repository root.)
{
  description = "dbtool: local PostgreSQL clusters, SQL scripts and migrations";
  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
  outputs = { self, nixpkgs }:
    let
      # Linux only (see meta.platforms in package.nix)
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAll = f: nixpkgs.lib.genAttrs systems (s: f nixpkgs.legacyPackages.${s});
    in
    {
      packages = forAll (pkgs: import ./default.nix { inherit pkgs; });
      devShells = forAll (pkgs: { default = import ./shell.nix { inherit pkgs; }; });
    };
}
