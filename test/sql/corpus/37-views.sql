create table vbase (id int, v text);
insert into vbase values (1, 'a'), (2, 'b');
create view v1 as select id, upper(v) as v from vbase where v <> ';';
create materialized view mv1 as select count(*) as n from vbase;
create view v2 as
  with x as (select 1 as k)
  select * from x;
