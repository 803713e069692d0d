create table nts (v int);
insert into nts values (1);
insert into nts values (2)
