\set bs 'back\\slash'
\set tricky 'semi;colon '' quote'
\set ident 'Mixed Case'
create table :"ident" (v text);
insert into :"ident" values (:'bs'), (:'tricky');
insert into :"ident" values (':bs'), ($$:bs$$), (E':tricky');
\set stmt 'insert into "Mixed Case" values (1); insert into "Mixed Case" values (2)'
:stmt;
select 1 as "col::text";
select 1::text;
