create table meas (id int, at date not null) partition by range (at);
create table meas_2024 partition of meas for values from ('2024-01-01') to ('2025-01-01');
create table meas_2025 partition of meas for values from ('2025-01-01') to ('2026-01-01');
insert into meas values (1, '2024-05-01'), (2, '2025-05-01');
create index on meas (at);
