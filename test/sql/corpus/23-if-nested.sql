create table inn (v text);
\if false
  this is not sql at all ;
  \if true
    insert into inn values ('nested in false');
  \else
    also garbage ;
  \endif
  \echo not printed :undefined
  \set notset 1
\else
  \if true
    insert into inn values ('nested true');
    \if false
      garbage ;
    \endif
  \endif
\endif
insert into inn select coalesce(:{?notset}::text, 'none');
