create table u (v text);
insert into u values (U&'d\0061t\+000061;'), (U&'d!0061t!+000061;' uescape '!');
insert into u values (u&'x''y;');
