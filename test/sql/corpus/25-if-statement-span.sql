create table sp (v int);
insert into sp values
\if true
(1);
\else
(2);
\endif
insert into sp
\if false
values (3);
\endif
values (4);
