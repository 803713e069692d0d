create table gm (v int);
\getenv only_one
insert into gm values (1);
