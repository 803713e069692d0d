create table "weird;table" ("a""b" int, "x;y" text, "--c" int, "/*d" int);
insert into "weird;table" values (1, 'v', 2, 3);
create table U&"d\0061ta" (U&"\0063ol" int);
insert into U&"d\0061ta" values (7);
create schema "My Schema";
create table "My Schema"."T" (id int);
insert into "My Schema"."T" values (1), (2);
