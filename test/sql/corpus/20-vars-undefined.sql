create table ud (v text);
insert into ud values (':undefined'), (':''undefined''');
\echo :undefined :'undefined' :"undefined"
insert into ud values ('x') ; -- :undefined in a comment
select :{?undefined} as defined;
