create table cwd (v text);
\i inc/plain.sql
\include inc/plain.sql
insert into cwd values ('done');
