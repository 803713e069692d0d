create table vv (id int primary key, c int check (c > 0));
insert into vv values (1, 1);
\set VERBOSITY verbose
insert into vv values (1, 1);
