# postgres-init — dbtool's sourceable shim (POSIX sh).
#
# Sourced (`. postgres-init`, as existing shellHooks do): runs
# `dbtool postgres-init --env` and evals its export lines into the calling
# shell, returning its status. Executed: execs `dbtool postgres-init`.
# @DBTOOL@ is replaced with the absolute path of dbtool at build/install time.
__dbtool_sourced=1
case ${0##*/} in
postgres-init) __dbtool_sourced=0 ;;
esac
if [ -n "${BASH_VERSION-}" ]; then
    # bash tells for sure: BASH_SOURCE differs from $0 only when sourced
    eval '[ "${BASH_SOURCE[0]}" != "$0" ]' && __dbtool_sourced=1 || __dbtool_sourced=0
elif [ -n "${ZSH_EVAL_CONTEXT-}" ]; then
    case $ZSH_EVAL_CONTEXT in *:file*) __dbtool_sourced=1 ;; *) __dbtool_sourced=0 ;; esac
fi
if [ "$__dbtool_sourced" = 0 ]; then
    unset __dbtool_sourced
    exec "@DBTOOL@" postgres-init "$@"
fi
unset __dbtool_sourced
if __dbtool_env=$("@DBTOOL@" postgres-init --env); then
    eval "$__dbtool_env"
    unset __dbtool_env
    return 0 2>/dev/null || true
else
    __dbtool_rc=$?
    unset __dbtool_env
    return "$__dbtool_rc" 2>/dev/null || exit "$__dbtool_rc"
fi
