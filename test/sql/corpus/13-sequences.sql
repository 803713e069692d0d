create sequence seq_a start 100 increment 5;
create table sq (id int default nextval('seq_a'), v text);
insert into sq (v) values ('a'), ('b');
select setval('seq_a', 1000, true);
insert into sq (v) values ('c');
create table ident (id int generated always as identity, v text);
insert into ident (v) values ('x'), ('y');
