create table open_tx (v int);
begin;
insert into open_tx values (1);
