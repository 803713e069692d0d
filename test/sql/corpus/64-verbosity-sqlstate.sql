create table vs (id int primary key);
insert into vs values (1);
\set VERBOSITY SQLSTATE
\echo :VERBOSITY
insert into vs values (1);
