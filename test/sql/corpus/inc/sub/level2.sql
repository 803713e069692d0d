insert into tree values (2, 'level2');
\set from_level2 'set in level2'
\ir leaf.sql
