create table bits (b bit varying(16), x bytea, n text);
insert into bits values (B'1010', '\x41', N'nat;ional'), (b'11', decode('ff', 'hex'), n'x''y');
insert into bits values (X'1F', '\xdeadbeef', 'z');
