-- \getenv VAR ENVVAR: set from the environment; an unset one leaves VAR alone
create table ge (k text, v text);
\getenv home HOME
insert into ge values ('home', :'home');
\set keep kept
\getenv keep DBTOOL_TEST_SURELY_UNSET_VARIABLE
insert into ge values ('keep', :'keep');
