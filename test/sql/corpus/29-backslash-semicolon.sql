create table bsc (v int)\; insert into bsc values (1)\; insert into bsc values (2);
insert into bsc values (3)\;
insert into bsc values (4);
