create table vt (id int primary key);
\set VERBOSITY terse
select nope
  from vt;
