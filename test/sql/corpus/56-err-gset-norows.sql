create table gn (v int);
insert into gn values (1);
select v from gn where v > 1 \gset
insert into gn values (2);
