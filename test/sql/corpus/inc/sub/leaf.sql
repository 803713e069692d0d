insert into tree values (3, coalesce(:'from_level2', 'leaf'));
-- file ends without newline and without semicolon
insert into tree values (3, 'leaf tail')