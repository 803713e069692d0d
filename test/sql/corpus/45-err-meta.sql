create table em (v int);
insert into em values (1);
\this_is_not_a_command arg
insert into em values (2);
