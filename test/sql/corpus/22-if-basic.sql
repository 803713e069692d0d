create table ib (v text);
\if true
insert into ib values ('true branch');
\else
insert into ib values ('else branch');
\endif
\if false
insert into ib values ('never');
\elif yes
insert into ib values ('elif yes');
\elif true
insert into ib values ('not this');
\else
insert into ib values ('nor this');
\endif
\if off
\elif 0
\else
insert into ib values ('else after off/0');
\endif
