create table csv (id int, a text, b text);
copy csv (id, a, b) from stdin with (format csv, header true);
id,a,b
1,"quoted, comma","x"
2,"doubled ""quote""",
3,,"empty a"
4,"multi
line",y
\.
select count(*) from csv;
