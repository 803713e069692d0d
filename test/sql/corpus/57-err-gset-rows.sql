create table gr (v int);
insert into gr values (1), (2);
select v from gr \gset
insert into gr values (3);
