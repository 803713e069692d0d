-- psql's VERSION, VERSION_NAME, VERSION_NUM: the client's version (dbtool: libpq's)
create table vn (k text, v text);
insert into vn values ('num', :'VERSION_NUM'),
                      ('name', split_part(:'VERSION_NAME', ' ', 1)),
                      ('full', split_part(:'VERSION', ' ', 1) || ' ' || split_part(:'VERSION', ' ', 2)),
                      ('major', (:VERSION_NUM / 10000)::text);
select :VERSION_NUM >= 100000 as modern \gset
\if :modern
insert into vn values ('modern', 'yes');
\endif
