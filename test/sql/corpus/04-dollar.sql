create table d (id serial primary key, v text);
insert into d (v) values ($$semi; colon$$), ($$it's$$), ($x$ $$ nested; $$ $x$), ($_9$a$_9$);
insert into d (v) values ($a$ $ab$ ; $b$ $a$);
insert into d (v) values ($$multi
line; $ dollar $
$$);
create table a$b (c$d int);
insert into a$b values (1);
prepare p1(int) as select $1 + 1;
execute p1(41);
