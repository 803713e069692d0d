create table iv (v text);
\set flag on
\set off_flag Of
\if :flag
insert into iv values ('flag on');
\endif
\if :off_flag
insert into iv values ('never');
\else
insert into iv values ('off prefix');
\endif
\if :{?flag}
insert into iv values ('flag defined');
\endif
\if :{?nope}
insert into iv values ('never');
\elif T
insert into iv values ('T');
\endif
\if 1
insert into iv values ('one');
\endif
