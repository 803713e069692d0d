create table ei (v int);
insert into ei values (1);
\ir inc/bad.sql
insert into ei values (99);
