create table ct (id int, t text, n numeric);
copy ct from stdin;
1	plain	1.5
2	with\ttab	2
3	\N	\N
4	semi; colon	4
5	back\\slash	5
6	$$ dollar	6
7	-- not comment	7
\.
insert into ct values (8, 'after copy', 8);
