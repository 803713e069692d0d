create table eln (v int);
\elif true
insert into eln values (1);
