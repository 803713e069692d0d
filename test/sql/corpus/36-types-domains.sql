create type mood as enum ('sad', 'ok', 'happy;');
create type pair as (a int, b text);
create domain posint as int check (value > 0);
create table tt (m mood, p pair, d posint, arr int[], j jsonb);
insert into tt values ('happy;', row(1, 'x;y'), 5, '{1,2,3}', '{"k": "v;", "q": "it''s"}');
insert into tt values ('ok', (2, $$dollar$$)::pair, 1, array[4, 5], '[]');
