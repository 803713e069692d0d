-- \c DBNAME: a new session on the same server (temp tables and SET are gone)
create table cn (k text, v text);
create temp table only_here (v int);
set search_path = nowhere, public;
\c :DBNAME
select to_regclass('only_here') is null as gone \gset
insert into cn values ('gone', :'gone'), ('path', current_setting('search_path'));
\connect -
insert into cn values ('db', current_database() = :'DBNAME');
\c ":DBNAME"
insert into cn values ('quoted', 'ok');
