# A stub package set: just enough of nixpkgs for nix/*.nix to evaluate without
# a store. Derivations are plain attrsets that keep their arguments, so a test
# can inspect what the expressions would build.
let
  lib = rec {
    makeOverridable = f: args:
      (f args) // { override = newArgs: makeOverridable f (args // newArgs); };
    concatMapStrings = f: l: builtins.concatStringsSep "" (map f l);
    concatMapStringsSep = sep: f: l: builtins.concatStringsSep sep (map f l);
    escapeShellArg = a: "'" + builtins.replaceStrings [ "'" ] [ "'\\''" ] (toString a) + "'";
    escapeShellArgs = l: builtins.concatStringsSep " " (map escapeShellArg l);
    head = builtins.head;
    genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
    licenses.mit = "mit";
    platforms.unix = [ "x86_64-linux" "x86_64-darwin" ];
    platforms.linux = [ "x86_64-linux" ];
  };
  pg = v: rec {
    pname = "postgresql";
    version = v;
    outPath = "/stub/postgresql-${v}";
    withPackages = f: pg "${v}-with-${toString (builtins.length (f { pg_cron = "pg_cron"; }))}";
    pkgs = { pg_cron = "pg_cron"; };
  };
  self = {
    inherit lib;
    stdenv.mkDerivation = a: a // { type = "derivation"; outPath = "/stub/${a.pname}-${a.version}"; };
    runCommand = name: env: script: env // { inherit name script; type = "derivation"; outPath = "/stub/${name}"; };
    mkShell = a: a // { type = "derivation"; outPath = "/stub/shell"; };
    callPackage = path: overrides:
      let f = import path; in f ((builtins.intersectAttrs (builtins.functionArgs f) self) // overrides);
    makeWrapper = "/stub/makeWrapper";
    pkg-config = "/stub/pkg-config";
    libyaml = "/stub/libyaml";
    libpg_query = "/stub/libpg_query";
    protobufc = "/stub/protobufc";
    postgresql_17 = pg "17";
    postgresql_15 = pg "15";
  };
in
self
