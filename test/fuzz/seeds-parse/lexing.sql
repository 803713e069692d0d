select (1;2); /* nested /* comment */ ; */ select $tag$ ; $tag$; -- ;
select E'\';'