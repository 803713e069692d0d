create table "ünïcødé" ("naïve" text, "日本" int);
insert into "ünïcødé" values ('héllo; wörld', 1), ('😀 emoji $$', 2), (E'\u00e9', 3);
comment on table "ünïcødé" is 'комментарий; с точкой';
