create table es (v int);
insert into es values (1);
select 1,
  2,
  3 bogus tokens here,
  4;
insert into es values (2);
