create table co (v int);
insert into co values (1), (2);
copy co to stdout;
copy (select v * 10 from co) to stdout with (format csv);
insert into co values (3);
