create table ops (a int, b int, t text);
insert into ops values (1, 2, 'x'), (3, 4, 'y');
select a-b, a--b
, a/b from ops;
select a/*c*/+b, t||'--' from ops;
select 'a' ~ 'a', '{1,2}'::int[] @> '{1}', 1 <> 2, b!=a from ops;
select arr[1:2] from (select array[1,2,3] as arr) s;
insert into ops select 5, 6, 'z' where 1 >= 0;
