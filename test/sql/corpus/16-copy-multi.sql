create table m1 (a int); create table m2 (b text);
copy m1 from stdin;
1
2
3
\.
copy m2 from stdin;
x
y;z
\.
copy m1 (a) from stdin;
\.
insert into m1 values (99);
