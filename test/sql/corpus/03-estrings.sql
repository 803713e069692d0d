create table e (id serial primary key, v text);
insert into e (v) values (E'it\'s; fine'), (E'tab\there'), (E'nl\nx'), (E'\\'), (E'\\\'');
insert into e (v) values (e'lower e; \x41\101'), (E'quote '' doubled; \'');
insert into e (v) values (E'multi\
line; \''), (E'end\\');
insert into e (v) values ('std \' ), ('x');
