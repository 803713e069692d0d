create table log (id serial primary key, msg text);
create function add_log(m text) returns int language plpgsql as $fn$
declare
  n int;
begin
  insert into log (msg) values (m || ';' || $$x$$);
  select count(*) into n from log;
  return n;
end;
$fn$;
select add_log('first');
do $$
begin
  perform add_log('from do; block');
  raise notice 'count is %', (select count(*) from log);
end
$$;
create or replace function twice(i int) returns int as 'select i * 2;' language sql;
insert into log (msg) select twice(21)::text;
