\set tbl vars_t
\set a 'hello'
\set b 'wor' 'ld'
\set empty
\set quoted 'it''s'
create table :tbl (k text, v text);
insert into :tbl values ('a', :'a'), ('b', :'b'), ('empty', :'empty'), ('quoted', :'quoted');
\set n 5
insert into :"tbl" values ('n', :n + 1);
\set cast int
insert into :tbl values ('cast', 7::text::integer::text);
