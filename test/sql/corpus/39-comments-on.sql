create table cmt (id int);
comment on table cmt is 'table; with ''quotes'' and $$dollars$$';
comment on column cmt.id is E'escaped \' quote; \\ backslash';
comment on table cmt is $c$final; comment$c$;
