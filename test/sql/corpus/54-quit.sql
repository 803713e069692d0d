create table qt (v int);
insert into qt values (1);
\q
insert into qt values (2);
