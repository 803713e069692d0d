create table ec (id int, v text);
insert into ec values (0, $$before$$);
copy ec from stdin;
1	ok
x	bad id
3	ok
\.
insert into ec values (4, $$after$$);
