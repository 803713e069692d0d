create table acct (id int primary key, balance int, updated int default 0);
create function bump() returns trigger language plpgsql as $$
begin
  new.updated := old.updated + 1;
  return new;
end $$;
create trigger acct_bump before update on acct for each row execute function bump();
insert into acct values (1, 100), (2, 50);
update acct set balance = balance - 10 where id = 1;
update acct set balance = balance + 10;
