create table epl (v int);
insert into epl values (1);
do $$
begin
  insert into epl values (2);
  raise exception 'custom failure; code %', 42 using detail = 'some detail', hint = 'a hint';
end $$;
insert into epl values (3);
