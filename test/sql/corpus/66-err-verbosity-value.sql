create table vb (v int);
\set VERBOSITY loud
insert into vb values (1);
