create table tree (depth int, name text);
\ir inc/level1.sql
\include_relative inc/sub/leaf.sql
insert into tree values (0, 'root end');
