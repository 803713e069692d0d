/* leading block comment; with semicolon */
-- line comment; with semicolon
create table c (id int /* inline; */, v text -- trailing; comment
);
/* nested /* comment ; */ still comment; */ insert into c values (1, 'a');
insert into c values (2, '/* not; comment */'); -- after; statement
/*
multi-line comment
select 1;
*/
insert into c values (3 /* ; */, 'x'); /* trailing */
--
-- ;
insert into c values (4, 'b')-- comment right after
;
