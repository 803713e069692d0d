create table sc (v int);
\set SHOW_CONTEXT always
do $$ begin raise notice 'with context'; end $$;
\unset SHOW_CONTEXT
do $$ begin raise notice 'without context'; end $$;
\set SHOW_CONTEXT never
insert into sc values (1);
do $$ begin raise exception 'boom' using detail = 'a detail', hint = 'a hint'; end $$;
