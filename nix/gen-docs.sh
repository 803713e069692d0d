#!/bin/sh
# gen-docs.sh DBTOOL OUTDIR — man pages and bash/zsh/fish completions, generated
# from the command tables the binary carries (main.c's applet table, every
# option and subcommand table), read through the hidden `--dbtool-describe`
# at every level, so none of them can drift from the code:
#   OUTDIR/man/man1/dbtool.1, and NAME.1 for every linked applet (database,
#     migrator, postgres-init, postgres-cleanup): NAME, SYNOPSIS, DESCRIPTION,
#     OPTIONS, COMMANDS, EXAMPLES, ENVIRONMENT, EXIT STATUS, FILES, SEE ALSO
#   OUTDIR/completions/dbtool.bash  _dbtool  dbtool.fish: applets, subcommands
#     at every level, options, option values (--format text|json), directories
#     and files where an argument names one, migration names for `migrate to`
# A level whose command does not answer --dbtool-describe is read from its
# --help text instead (usage lines, "options:" and "subcommands:" sections).
set -eu
DBTOOL=$1
OUT=$2
mkdir -p "$OUT/man/man1" "$OUT/completions"
TAB=$(printf '\t')
US=$(printf '\037') # field separator of the completion records (empty fields stay fields)
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

"$DBTOOL" --dbtool-describe >"$T/top"
VERSION=$(awk -F'\t' '$1 == "version" { print $2 }' "$T/top")
APPLETS=$(awk -F'\t' '$1 == "applet" { print $2 }' "$T/top")
LINKS=$(awk -F'\t' '$1 == "applet" && $3 == "link" { print $2 }' "$T/top")

# describe WORDS...: the tables of that level, from --dbtool-describe or --help
describe() {
    if "$DBTOOL" "$@" --dbtool-describe 2>/dev/null >"$T/d" && grep -q "^usage$TAB" "$T/d"; then
        cat "$T/d"
        return
    fi
    "$DBTOOL" "$@" --help 2>/dev/null | awk -v TAB="$TAB" '
        /^usage: / { sub(/^usage: /, ""); print "usage" TAB $0; next }
        /^   or: / { sub(/^   or: /, ""); print "usage" TAB $0; next }
        /^[a-z][a-z ]*:$/ { sec = $0; next }
        /^$/ { next }
        sec == "options:" && /^ +-/ {
            line = $0; sub(/^ +/, "", line)
            s = ""; l = ""; a = ""
            n = split(line, w, / +/)
            for (i = 1; i <= n; i++) {
                x = w[i]; sub(/,$/, "", x)
                if (x ~ /^--[A-Za-z]/) l = x
                else if (x ~ /^-[A-Za-z]$/) s = x
                else if (x ~ /^[A-Z][A-Z_|]*$/ || x ~ /^[a-z]+\|[a-z|]+$/) a = x
                else break
            }
            h = line; sub(/^.*  +/, "", h)
            if (l != "--help") print "option" TAB s TAB l TAB a TAB h
            next
        }
        sec == "subcommands:" || sec == "commands:" {
            if ($0 ~ /^    [a-z]/) { n = $1; d = $0; sub(/^ +[^ ]+ +/, "", d); print "sub" TAB n TAB d }
            next
        }
        sec == "" { print "text" TAB $0 }'
}

# walk PATH...: describe every level below it into $T/tree ("PATH<TAB>record")
walk() {
    describe "$@" | while IFS= read -r rec; do printf '%s\t%s\n' "$*" "$rec"; done >>"$T/tree"
    for s in $(describe "$@" | awk -F'\t' '$1 == "sub" { print $2 }'); do
        [ $# -lt 4 ] && walk "$@" "$s"
    done
}
: >"$T/tree"
for a in $APPLETS; do walk "$a"; done

# ---- man pages ---------------------------------------------------------------
man_esc() { sed -e 's/\\/\\e/g' -e 's/^\./\\\&./' -e "s/^'/\\\\\\&'/" -e 's/-/\\-/g'; }
unesc() { sed 's/\\n/\n/g'; }
# indented lines (lists, examples inside the help text) keep their layout
keep_layout() { awk '/^  / { if (!nf) print ".nf"; nf = 1; print; next } { if (nf) print ".fi"; nf = 0; print } END { if (nf) print ".fi" }'; }
field() { awk -F'\t' -v k="$1" -v n="$2" '$1 == k && $2 == n { sub(/^[^\t]*\t[^\t]*\t/, ""); print }' "$T/top" | unesc; }

# options_man PATH: .TP entries of that level's options
options_man() {
    awk -F'\t' -v p="$1" '$1 == p && $2 == "option" {
        s = $3; l = $4; a = $5; h = $6
        name = ""
        if (s != "") name = "\\fB" s "\\fR"
        if (l != "") name = name (name != "" ? ", " : "") "\\fB" l "\\fR"
        if (a != "") name = name " \\fI" a "\\fR"
        print ".TP"; print name; print h }' "$T/tree" | sed 's/-/\\-/g'
}

# level_man PATH HEADING: usage, text, options of one level (and below, as .SS)
level_man() {
    p=$1
    printf '.SS "%s"\n.nf\n' "$p"
    awk -F'\t' -v p="$p" '$1 == p && $2 == "usage" { print $3 }' "$T/tree" | man_esc
    printf '.fi\n'
    awk -F'\t' -v p="$p" '$1 == p && $2 == "text" { print $3 }' "$T/tree" | unesc | man_esc | keep_layout |
        awk 'BEGIN { print ".PP" } { print }'
    options_man "$p"
    for s in $(awk -F'\t' -v p="$p" '$1 == p && $2 == "sub" { print $3 }' "$T/tree"); do
        level_man "$p $s"
    done
}

env_man() { # the applet's environment variables (env field: names, or "*")
    vars=$(field env "$1")
    [ -n "$vars" ] || return 0
    printf '.SH ENVIRONMENT\n'
    printf 'Command-line flags win over the environment, which wins over dbtool.yaml, which wins over the defaults; \\fBdbtool config\\fR shows every resolved value and its source.\n'
    awk -F'\t' -v vars=" $vars " '$1 == "setting" && (vars == " * " || index(vars, " " $2 " ")) {
        print ".TP"; print "\\fB" $2 "\\fR" ($3 != "-" ? " (dbtool.yaml: \\fI" $3 "\\fR)" : "")
        print ($4 != "" ? $4 : "see README.md") }' "$T/top" | sed 's/-/\\-/g'
}

examples_man() {
    ex=$(field examples "$1")
    [ -n "$ex" ] || return 0
    printf '.SH EXAMPLES\n'
    printf '%s\n' "$ex" | awk -F'\t' '{ c = $1; d = $2; sub(/^# */, "", d); print ".TP"; print "\\fB" c "\\fR"; print d }' |
        sed -e 's/\\\([^f]\)/\\e\1/g' -e 's/-/\\-/g'
}

files_man() {
    f=$(field files "$1")
    [ -n "$f" ] || return 0
    printf '.SH FILES\n'
    printf '%s\n' "$f" | awk -F'\t' '{ print ".TP"; print "\\fI" $1 "\\fR"; print $2 }' | sed 's/-/\\-/g'
}

exit_man() {
    printf '.SH "EXIT STATUS"\n'
    awk -F'\t' '$1 == "exit" { print ".TP"; print "\\fB" $2 "\\fR"; print $3 }' "$T/top"
}

see_also() { # NAME: the other pages
    printf '.SH "SEE ALSO"\n'
    for m in dbtool $LINKS; do [ "$m" = "$1" ] || printf '\\fB%s\\fR(1), ' "$m"; done
    printf '\\fBpsql\\fR(1), \\fBpg_dump\\fR(1); README.md of the dbtool sources.\n'
}

applet_page() { # NAME: NAME.1
    a=$1
    summary=$(awk -F'\t' -v a="$a" '$1 == "applet" && $2 == a { print $4 }' "$T/top")
    {
        printf '.TH %s 1 "" "dbtool %s" "User Commands"\n' "$(echo "$a" | tr a-z A-Z)" "$VERSION"
        printf '.SH NAME\n%s \\- %s\n' "$(echo "$a" | man_esc)" "$(echo "$summary" | man_esc)"
        printf '.SH SYNOPSIS\n.nf\n'
        awk -F'\t' -v p="$a" '$1 == p && $2 == "usage" { print $3 }' "$T/tree" | man_esc
        printf '\\fBdbtool %s\\fR ...\n.fi\n' "$a"
        printf '.SH DESCRIPTION\n'
        awk -F'\t' -v p="$a" '$1 == p && $2 == "text" { print $3 }' "$T/tree" | unesc | man_esc | keep_layout |
            awk 'NR > 1 && /^$/ { print ".PP"; next } { print }'
        if awk -F'\t' -v p="$a" '$1 == p && $2 == "option"' "$T/tree" | grep -q .; then
            printf '.SH OPTIONS\n'
            options_man "$a"
        fi
        printf '.TP\n\\fB\\-h\\fR, \\fB\\-\\-help\\fR\nshow the help and exit (also \\fB%s help\\fR \\fICOMMAND\\fR)\n' "$a"
        subs=$(awk -F'\t' -v p="$a" '$1 == p && $2 == "sub" { print $3 }' "$T/tree")
        if [ -n "$subs" ]; then
            printf '.SH COMMANDS\n'
            for s in $subs; do level_man "$a $s"; done
        fi
        examples_man "$a"
        env_man "$a"
        exit_man
        files_man "$a"
        see_also "$a"
    } >"$OUT/man/man1/$a.1"
}

for a in $LINKS; do applet_page "$a"; done

# dbtool(1): the dispatcher, the applets without a link of their own in full
{
    printf '.TH DBTOOL 1 "" "dbtool %s" "User Commands"\n' "$VERSION"
    printf '.SH NAME\ndbtool \\- PostgreSQL development clusters, SQL scripts and migrations in one binary\n'
    printf '.SH SYNOPSIS\n.nf\n\\fBdbtool\\fR \\fIAPPLET\\fR [\\fIARGS\\fR]\n\\fBdbtool help\\fR \\fIAPPLET\\fR\n\\fBdbtool \\-\\-list\\fR | \\fB\\-\\-help\\fR | \\fB\\-\\-version\\fR\n\\fIAPPLET\\fR [\\fIARGS\\fR]   (a link named after the applet)\n.fi\n'
    printf '.SH DESCRIPTION\n'
    "$DBTOOL" --help | sed -n '/^PostgreSQL/,/^applets:/p' | sed '$d' | man_esc
    printf '.SH APPLETS\n'
    awk -F'\t' '$1 == "applet" { d = $4; gsub(/\\/, "\\e", d)
        print ".TP"; print "\\fB" $2 "\\fR" ($3 == "link" ? " (see \\fB" $2 "\\fR(1))" : ""); print d }' "$T/top" |
        sed 's/-/\\-/g'
    for a in $APPLETS; do
        case " $(echo $LINKS) " in *" $a "*) continue;; esac
        printf '.SH "DBTOOL %s"\n.nf\n' "$(echo "$a" | tr a-z A-Z)"
        awk -F'\t' -v p="$a" '$1 == p && $2 == "usage" { print $3 }' "$T/tree" | man_esc
        printf '.fi\n'
        awk -F'\t' -v p="$a" '$1 == p && $2 == "text" { print $3 }' "$T/tree" | unesc | man_esc | keep_layout |
            awk 'BEGIN { print ".PP" } { print }'
        options_man "$a"
        for s in $(awk -F'\t' -v p="$a" '$1 == p && $2 == "sub" { print $3 }' "$T/tree"); do level_man "$a $s"; done
    done
    printf '.SH EXAMPLES\n'
    for a in $APPLETS; do
        case " $(echo $LINKS) " in *" $a "*) continue;; esac
        field examples "$a" | awk -F'\t' 'NF { c = $1; d = $2; sub(/^# */, "", d); print ".TP"; print "\\fB" c "\\fR"; print d }' |
            sed -e 's/\\\([^f]\)/\\e\1/g' -e 's/-/\\-/g'
    done
    env_man config
    exit_man
    printf '.SH FILES\n.TP\n\\fI$XDG_CACHE_HOME/dbtool\\fR\nthe initdb template cache (DBTOOL_CACHE_DIR)\n.TP\n\\fIdbtool.yaml\\fR\nthe project file\n'
    see_also dbtool
} >"$OUT/man/man1/dbtool.1"

# ---- completion data: one record per level -------------------------------------
# kind of a value or argument name: dir, file, migration, words:a b c, or none
kind_of() { # NAME PATH
    case $1 in
    *'|'*) case "$1$2" in *NAME*migrat* | *migrat*NAME*) echo "migration $(echo "$1" | tr '|' '\n' | grep -v '^[A-Z]' | tr '\n' ' ')";;
           *) echo "words $(echo "$1" | tr '|' '\n' | grep -v '^[A-Z_]*$' | tr '\n' ' ')";; esac;;
    DIR | *_DIR | *DIR | PATH | *_PATH | PREFIX) echo dir;;
    FILE | *FILE | *_SQL) echo file;;
    *) echo none;;
    esac
}
# the positional argument of a level: the first word of its first usage line that is
# not the command path, an option or a bracketed option
arg_of() { # PATH
    p=$1
    awk -F'\t' -v p="$p" '$1 == p && $2 == "usage" { print $3; exit }' "$T/tree" |
        awk -v p="$p" '{
            n = split(p, pw, " "); for (i = 1; i <= n; i++) skip[pw[i]] = 1
            skip["dbtool"] = 1
            line = $0; gsub(/\[-[^]]*\]/, "", line); gsub(/\[GLOBAL OPTIONS\]/, "", line)
            m = split(line, w, " ")
            for (i = 1; i <= m; i++) { x = w[i]; gsub(/[][]/, "", x)
                if (x == "" || skip[x] || x ~ /^-/ || x == "...") continue
                print x; exit }
        }'
}
{
    for p in $(awk -F'\t' '{ print $1 }' "$T/tree" | sort -u | tr ' ' '/'); do
        sp=$(echo "$p" | tr '/' ' ')
        subs=$(awk -F'\t' -v p="$sp" '$1 == p && $2 == "sub" { printf "%s ", $3 }' "$T/tree")
        opts=$(awk -F'\t' -v p="$sp" '$1 == p && $2 == "option" { if ($3 != "") printf "%s ", $3; if ($4 != "") printf "%s ", $4 }' "$T/tree")
        vals=$(awk -F'\t' -v p="$sp" '$1 == p && $2 == "option" && $5 != "" { print ($4 != "" ? $4 : $3) "\t" $5; if ($3 != "" && $4 != "") print $3 "\t" $5 }' "$T/tree" |
            while IFS="$TAB" read -r o a; do printf '%s=%s;' "$o" "$(kind_of "$a" "$sp" | tr ' ' ',')"; done)
        arg=$(arg_of "$sp")
        printf '%s\037%s\037%s--help\037%s\037%s\n' "$p" "$subs" "$opts" "$vals" "$(kind_of "${arg:-}" "$sp" | tr ' ' ',')"
    done
} >"$T/comp"

# ---- bash (zsh loads the same through bashcompinit) ------------------------------
bash_body() {
    echo '_dbtool_level() { # PATH (a/b/c) -> subs opts vals arg'
    echo '    case $1 in'
    while IFS="$US" read -r p subs opts vals arg; do
        printf "    %s) subs='%s'; opts='%s'; vals='%s'; arg='%s';;\n" "$p" "$subs" "$opts" "$vals" "$arg"
    done <"$T/comp"
    echo "    *) subs=''; opts='--help'; vals=''; arg='file';;"
    echo '    esac'
    echo '}'
    cat <<'EOF'
_dbtool_kind() { # KIND (dir, file, migration,WORDS, words,WORDS, none) -> COMPREPLY
    local k=${1%%,*} w=${1#*,} cur=$2
    [ "$w" = "$1" ] && w=
    w=${w//,/ }
    case $k in
    dir) COMPREPLY=($(compgen -d -- "$cur"));;
    file) COMPREPLY=($(compgen -f -- "$cur"));;
    words) COMPREPLY=($(compgen -W "$w" -- "$cur"));;
    migration)
        local d=${MIGRATION_DIR:-} m=
        [ -n "$d" ] || { [ -d db/migration ] && d=db/migration || d=migration; }
        for m in "$d"/[0-9]*-*/; do [ -d "$m" ] && m=${m%/} && w="$w ${m##*/}"; done
        COMPREPLY=($(compgen -W "$w" -- "$cur"));;
    *) COMPREPLY=();;
    esac
}
_dbtool_val() { # OPTION -> the kind of its value (from $vals), or nothing
    local x IFS=';'
    for x in $vals; do
        [ "${x%%=*}" = "$1" ] && { echo "${x#*=}"; return 0; }
    done
    return 1
}
_dbtool() {
    local cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]} i=1 w p subs opts vals arg v
    p=${COMP_WORDS[0]##*/}
    if [ "$p" = dbtool ]; then
        if [ "$COMP_CWORD" -eq 1 ]; then
EOF
    printf '            COMPREPLY=($(compgen -W "%s help --list --help --version" -- "$cur")); return\n' "$(echo $APPLETS)"
    cat <<'EOF'
        fi
        p=${COMP_WORDS[1]}; i=2
    fi
    [ "$p" = help ] && { _dbtool_level dbtool; return; }
    _dbtool_level "$p"
    for ((; i < COMP_CWORD; i++)); do
        w=${COMP_WORDS[i]}
        case $w in -*) continue;; esac
        _dbtool_val "${COMP_WORDS[i-1]}" >/dev/null && continue # an option's value
        [ "$w" = help ] && { COMPREPLY=($(compgen -W "$subs" -- "$cur")); return; }
        case " $subs " in *" $w "*) p="$p/$w"; _dbtool_level "$p";; esac
    done
    if v=$(_dbtool_val "$prev"); then _dbtool_kind "$v" "$cur"; return; fi
    case $cur in -*) COMPREPLY=($(compgen -W "$opts" -- "$cur")); return;; esac
    if [ -n "$subs" ]; then COMPREPLY=($(compgen -W "$subs" -- "$cur")); return; fi
    _dbtool_kind "$arg" "$cur"
}
EOF
}
{
    echo "# bash completion for dbtool and its applet names (generated by nix/gen-docs.sh)"
    bash_body
    echo "complete -F _dbtool dbtool $(echo $LINKS)"
} >"$OUT/completions/dbtool.bash"

{
    echo "#compdef dbtool $(echo $LINKS)"
    echo "# zsh completion for dbtool (generated by nix/gen-docs.sh): the bash one, through bashcompinit"
    echo 'autoload -U +X bashcompinit && bashcompinit'
    bash_body
    echo '_dbtool_zsh() { local COMP_WORDS=("${words[@]}") COMP_CWORD=$((CURRENT - 1)) COMPREPLY=(); _dbtool; compadd -- "${COMPREPLY[@]}"; }'
    echo 'compdef _dbtool_zsh dbtool '"$(echo $LINKS)"
} >"$OUT/completions/_dbtool"

# ---- fish ---------------------------------------------------------------------
{
    echo "# fish completion for dbtool (generated by nix/gen-docs.sh)"
    echo "complete -c dbtool -f -n '__fish_use_subcommand' -a '$(echo $APPLETS) help'"
    while IFS="$US" read -r p subs opts vals arg; do
        a=${p%%/*}
        last=${p##*/}
        for c in $a dbtool; do
            # the applet's own level: no subcommand yet (as dbtool: right after the applet name)
            if [ "$p" = "$a" ] && [ "$c" = "$a" ]; then cond="__fish_use_subcommand"
            else cond="__fish_seen_subcommand_from $last"; fi
            [ -n "$subs" ] && echo "complete -c $c -f -n '$cond' -a '$subs'"
            for o in $opts; do
                case $o in --help) ;; --*) echo "complete -c $c -n '$cond' -l ${o#--}";; -?) echo "complete -c $c -n '$cond' -s ${o#-}";; esac
            done
        done
    done <"$T/comp"
} >"$OUT/completions/dbtool.fish"
