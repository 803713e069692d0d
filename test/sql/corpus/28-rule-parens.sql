create table r1 (v int);
create table r2 (v int);
create table r3 (v int);
create rule r1_fan as on insert to r1 do also (
  insert into r2 values (new.v);
  insert into r3 values (new.v * 2);
);
insert into r1 values (1), (2);
select (1 +
  2);
