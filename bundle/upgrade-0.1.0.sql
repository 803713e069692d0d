-- hectic bundle upgrade 0.1.0 -> 0.2.0 (run by `dbtool bundle upgrade`).
--
-- Upgrade scripts form a chain (this one, then upgrade-0.2.0, ...): each moves
-- the version row one step. They run in ONE transaction together with all the
-- bundle parts that follow the last of them, so the upgrade either completes
-- or leaves the 0.1.0 database untouched.
-- This script only clears what the parts cannot replace in place; the parts
-- then do the rest: 02-secret encrypts the plaintext values of hectic.secret,
-- 04-inheritance recreates the event triggers and attaches triggers missing
-- on tables that gained hectic.updated_at / hectic.immutable by ALTER TABLE.
-- hectic.migration and its rows are kept as they are.

DO $hectic$
DECLARE
    db_version text;
BEGIN
    IF to_regclass('hectic.version') IS NOT NULL THEN
        SELECT v.version INTO db_version FROM hectic.version v WHERE v.name = 'hectic';
    END IF;
    IF db_version IS DISTINCT FROM '0.1.0' THEN
        RAISE EXCEPTION 'hectic upgrade from 0.1.0: the database has version %', coalesce(db_version, '(none)')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE hectic.version SET version = '0.2.0', installed_at = now() WHERE name = 'hectic';
END
$hectic$;

-- recreated by 04-inheritance; gone now so nothing fires half-upgraded
DROP EVENT TRIGGER IF EXISTS hectic_enforce_created_at_inheritance;
DROP EVENT TRIGGER IF EXISTS hectic_attach_updated_at_trigger;
DROP EVENT TRIGGER IF EXISTS hectic_attach_immutable_triggers;

-- return type and parameter names changed: recreated by 02-secret
DROP FUNCTION IF EXISTS hectic.load_secrets_from_env(text);
DROP FUNCTION IF EXISTS hectic.get_secret(text);
