create table eu (v int);
insert into eu values (1);
insert into missing_table
  values (2);
insert into eu values (3);
