create table us (v text);
\set x 1
insert into us select :{?x}::text;
\unset x
insert into us select :{?x}::text;
\set y :x
insert into us values (:'y');
