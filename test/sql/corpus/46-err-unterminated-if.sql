create table eif (v int);
\if true
insert into eif values (1);
