create table ecn (id int primary key, v int check (v > 0));
insert into ecn values (1, 1);
insert into ecn values
  (2, 2),
  (1, 3);
