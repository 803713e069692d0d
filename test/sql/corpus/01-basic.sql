create table item (id int primary key, name text not null, qty int default 0);
insert into item values (1, 'apple', 3), (2, 'pear', 5);
update item set qty = qty + 1 where id = 1;
delete from item where id = 2;
insert into item (id, name) values (3, 'plum');
