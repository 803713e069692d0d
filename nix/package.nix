# The dbtool build. Every PostgreSQL program dbtool runs (initdb, postgres,
# pg_dump, pg_basebackup, pg_config) comes from the `postgresql` argument:
# the wrappers put its bin/ first in PATH and set PG_BINDIR (a user's own
# PG_BINDIR still wins). Override it with `.override { postgresql = myPg; }`,
# e.g. myPg = pkgs.postgresql_17.withPackages (p: [ p.pg_cron ]).
{ lib
, stdenv
, makeWrapper
, pkg-config
, libyaml
, libpg_query
, protobufc
, postgresql_17
, postgresql ? postgresql_17
, src ? ../.
}:

let
  # the names `make install` links (main.c's APPLET_LINK rows; postgres-init is the shim)
  names = [ "dbtool" "database" "postgres-cleanup" "migrator" ];
  # arguments of every wrapper; exposed (passthru) so they can be checked
  wrapperArgs = name: [
    "--argv0" name
    "--prefix" "PATH" ":" "${postgresql}/bin"
    "--set-default" "PG_BINDIR" "${postgresql}/bin"
  ];
in
stdenv.mkDerivation {
  pname = "dbtool";
  version = "0.3.0";
  inherit src;

  nativeBuildInputs = [ pkg-config makeWrapper ];
  # libpg_query: PostgreSQL's parser (lib/parse); its protobuf header needs protobuf-c's
  buildInputs = [ postgresql libyaml libpg_query protobufc ];

  makeFlags = [ "DEVELOPER=0" "PG_QUERY_A=${libpg_query}/lib/libpg_query.a" ];
  doCheck = false; # the suite starts real servers; run it with `make test` in a dev shell

  installPhase = ''
    runHook preInstall
    # PG_BINDIR: make install also builds the generic initdb template of this server
    # (share/dbtool/templates), so a first postgres-init on a fresh machine runs no initdb
    PG_BINDIR=${postgresql}/bin make install PREFIX=$out
    mv $out/bin/dbtool $out/bin/.dbtool-unwrapped
    rm -f ${lib.concatMapStringsSep " " (n: "$out/bin/${n}") names}
  '' + lib.concatMapStrings (n: ''
    makeWrapper $out/bin/.dbtool-unwrapped $out/bin/${n} ${lib.escapeShellArgs (wrapperArgs n)}
  '') names + ''
    # bin/postgres-init (the sourceable shim) already calls $out/bin/dbtool, now the wrapper
    runHook postInstall
  '';

  passthru = {
    inherit postgresql;
    wrapperArgs = wrapperArgs "dbtool";
  };

  meta = {
    description = "One binary for local PostgreSQL development clusters, SQL scripts and migrations";
    license = lib.licenses.mit;
    # Linux only, honestly: dbtool uses pipe2, copy_file_range, getrandom, statfs
    # filesystem magic numbers and /proc (README: Platforms)
    platforms = lib.platforms.linux;
    mainProgram = "dbtool";
  };
}
