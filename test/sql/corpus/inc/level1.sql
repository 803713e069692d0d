insert into tree values (1, 'level1');
\ir sub/level2.sql
\ir sub/leaf.sql;
insert into tree values (1, 'level1 end');
