insert into cwd values ('plain');
