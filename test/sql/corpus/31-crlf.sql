create table crlf (v text);
insert into crlf values ('a');
insert into crlf values ('multi\r\nline')
;
