create table s (v text);
set standard_conforming_strings = off;
set escape_string_warning = off;
insert into s values ('it\'s; escaped'), ('back\\slash');
insert into s values ('two\'; ''quotes');
set standard_conforming_strings = on;
insert into s values ('plain \'); insert into s values ('after');
