-- \gset: one row into variables (prefix, NULL unsets, \if on the result),
-- the previous statement re-sent when the buffer is empty, special variables
create table gs (k text, v text);
select 1 as one, 'two' as two, null as nothing \gset
insert into gs values ('one', :'one'), ('two', :'two');
\set nothing was_set
select 42 as answer, null as nothing \gset g_
insert into gs values ('g_answer', :'g_answer');
\if :{?g_nothing}
insert into gs values ('g_nothing', 'set');
\else
insert into gs values ('g_nothing', 'unset');
\endif
select count(*) > 0 as has_rows from gs \gset
\if :has_rows
insert into gs values ('has_rows', 'true');
\endif
select 7 as seven;
\gset
insert into gs values ('seven', :'seven');
select 1 as "ON_ERROR_STOP", 'x' as "VERBOSITY", 3 as ok \gset
insert into gs values ('ok', :'ok'), ('verbosity', :'VERBOSITY');
select 'a' as x \gset p_ extra
insert into gs values ('p_x', :'p_x');
select 'multi
line' as ml \gset
insert into gs values ('ml', :'ml');
