-- hectic bundle, part 3: the migration table.
--
-- hectic.migration records applied migrations, one row each, written by the
-- migrator in the migration's own transaction. Compatible with the rows the
-- shell migrator wrote: name is the folder name (YYYYMMDDHHMMSS-label), hash
-- the sha256 of the up file in hex; upper-case hex is accepted and stored
-- lower-cased by the trigger hectic_t_sha256_lower (a domain check runs
-- before any trigger, so the domain accepts both cases).
--
-- Plain SQL, idempotent.

CREATE SCHEMA IF NOT EXISTS hectic;

DO $hectic$
BEGIN
    IF to_regtype('hectic.migration_name') IS NULL THEN
        CREATE DOMAIN hectic.migration_name AS text
            CHECK (VALUE ~ '^[0-9]{14}-.*');
    END IF;
    IF to_regtype('hectic.sha256') IS NULL THEN
        CREATE DOMAIN hectic.sha256 AS text
            CHECK (VALUE ~ '^[0-9a-fA-F]{64}$');
    END IF;
END
$hectic$;

CREATE TABLE IF NOT EXISTS hectic.migration (
    id serial PRIMARY KEY,
    name hectic.migration_name NOT NULL UNIQUE,
    hash hectic.sha256 NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now()
);
COMMENT ON TABLE hectic.migration IS 'migrations applied by dbtool migrator (and the shell migrator before it)';

CREATE OR REPLACE FUNCTION hectic.sha256_lower()
RETURNS trigger
LANGUAGE plpgsql
AS $hectic$
BEGIN
    NEW.hash := lower(NEW.hash);
    RETURN NEW;
END
$hectic$;

DO $hectic$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                    WHERE tgrelid = 'hectic.migration'::regclass AND tgname = 'hectic_t_sha256_lower') THEN
        CREATE TRIGGER hectic_t_sha256_lower
            BEFORE INSERT OR UPDATE OF hash ON hectic.migration
            FOR EACH ROW EXECUTE FUNCTION hectic.sha256_lower();
    END IF;
END
$hectic$;
