create table ce (v int);
insert into ce values (1);
\c dbtool_no_such_database_here
insert into ce values (2);
