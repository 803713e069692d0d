create table etx (v int);
insert into etx values (1);
begin;
insert into etx values (2);
insert into etx values (1/0);
commit;
