create table emi (v int);
\ir inc/does-not-exist.sql
insert into emi values (1);
