-- hectic bundle, part 1: version.
--
-- One row ('hectic', VERSION) in hectic.version for the whole hectic system.
-- A database carrying another version is refused before anything else is
-- touched: this part runs first, in its own transaction, and raises before
-- it creates or changes anything. Databases made by the shell tools carry
-- 0.1.0, those of dbtool 0.2 carry 0.2.0; `dbtool bundle upgrade` carries
-- both forward.
--
-- Plain SQL (no psql meta-commands), idempotent.

DO $hectic$
DECLARE
    bundle_version constant text := '0.3.0';
    -- versions `dbtool bundle upgrade` carries forward (an upgrade-X.sql each)
    upgradable constant text[] := ARRAY['0.1.0', '0.2.0'];
    db_version text;
BEGIN
    IF to_regclass('hectic.version') IS NOT NULL THEN
        SELECT v.version INTO db_version FROM hectic.version v WHERE v.name = 'hectic';
    END IF;
    IF db_version IS NOT NULL AND db_version <> bundle_version THEN
        IF db_version = ANY (upgradable) THEN
            RAISE EXCEPTION 'hectic bundle version mismatch: the database has % and this bundle is %',
                    db_version, bundle_version
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'run "dbtool bundle upgrade" to carry the database to ' || bundle_version
                             || ' (migrations and secrets kept)';
        END IF;
        RAISE EXCEPTION 'hectic bundle version mismatch: the database has % and this bundle is %',
                db_version, bundle_version
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  HINT = 'use the dbtool release that ships hectic bundle ' || db_version
                         || ', or "dbtool bundle upgrade" when an upgrade path exists';
    END IF;

    CREATE SCHEMA IF NOT EXISTS hectic;
    CREATE TABLE IF NOT EXISTS hectic.version (
        name text PRIMARY KEY,
        version text NOT NULL,
        installed_at timestamptz NOT NULL DEFAULT now()
    );
    IF db_version IS NULL THEN
        INSERT INTO hectic.version (name, version) VALUES ('hectic', bundle_version)
            ON CONFLICT (name) DO NOTHING;
    END IF;
END
$hectic$;

COMMENT ON TABLE hectic.version IS 'hectic bundle version (one row); see dbtool bundle';
