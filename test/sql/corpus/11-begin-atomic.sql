create table ba (v int);
create function inc(i int) returns int language sql
begin atomic
  select i + 1;
end;
create or replace function cased(i int) returns text language sql
begin atomic
  select case when i > 0 then 'pos;' else 'neg;' end;
end;
create procedure insert_two() language sql
begin atomic
  insert into ba values (1);
  insert into ba values (case when true then 2 end);
end;
call insert_two();
insert into ba select inc(10);
