create table q (id serial primary key, v text);
insert into q (v) values ('semi;colon'), ('it''s'), (''''), ('a '' ; '' b');
insert into q (v) values ('multi
line; string
-- not a comment
/* not a comment */');
insert into q (v) values ('back\slash'), ('trailing\'); insert into q (v) values ('two on a line');
insert into q (v) values ('--'), ('/*'), ('*/'), ('$$'), ('"');
