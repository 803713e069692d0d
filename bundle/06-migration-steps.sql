-- hectic bundle, part 6: the committed steps of unfinished migrations.
--
-- A migration that cannot run as one transaction commits in steps: the
-- statements that cannot run inside a transaction block (CREATE INDEX
-- CONCURRENTLY, VACUUM, ...) run after its transactional part commits, and a
-- migration declared `transaction: false` commits statement by statement.
-- The migrator records each committed step here (step 0: the transactional
-- part; 1, 2, ...: the statements after it, in order), with the sha256 of
-- what ran and where it stands (FILE:LINE). When the whole migration is done,
-- its hectic.migration row is written and its rows here are deleted in one
-- transaction; rows exist only while a migration is unfinished, so a run that
-- failed half-way resumes at the failing statement instead of running
-- committed work again.
--
-- Plain SQL, idempotent; needs part 3 (the domains).

CREATE SCHEMA IF NOT EXISTS hectic;

CREATE TABLE IF NOT EXISTS hectic.migration_step (
    name hectic.migration_name NOT NULL,
    direction text NOT NULL CHECK (direction IN ('up', 'down')),
    step integer NOT NULL CHECK (step >= 0),
    hash hectic.sha256 NOT NULL,
    location text NOT NULL,
    done_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (name, direction, step)
);
COMMENT ON TABLE hectic.migration_step IS
    'committed steps of unfinished migrations (dbtool migrator); empty when every migration completed';
