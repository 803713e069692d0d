\set who world
\echo hello :who
\echo -n no newline
\echo
\echo 'quoted ; args' "double quoted" :'who' :"who"
\qecho to the query output
\echo tab:'\t'end octal:'\101' hex:'\x41'
create table echoed (v int);
