insert into ei values (2);
-- the next statement fails
insert into ei values ('not a number');
insert into ei values (3);
