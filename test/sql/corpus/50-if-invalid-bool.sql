create table ivb (v text);
\if 42
insert into ivb values ('then');
\else
insert into ivb values ('else: invalid is false');
\endif
\if
insert into ivb values ('empty then');
\endif
