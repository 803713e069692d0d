-- hectic bundle upgrade 0.2.0 -> 0.3.0 (run by `dbtool bundle upgrade`, after
-- upgrade-0.1.0 for a shell-era database).
--
-- Runs in ONE transaction with the upgrade scripts before it and all the
-- bundle parts after it: the upgrade completes or changes nothing. This step
-- only moves the version row; the parts, re-applied after it, do the rest:
-- 04-inheritance recreates hectic_block_immutable_truncate on every immutable
-- table as the statement-level trigger of 0.3.0 (BEFORE INSERT/UPDATE/DELETE/
-- TRUNCATE, so an UPDATE or DELETE matching no row is refused too), and from
-- now on refuses a partitioned table outside the exempt schemas. Partitioned
-- tables that already exist are left as they are. Parts added in 0.3.0 (any
-- NN-*.sql) are idempotent and simply installed. hectic.migration, its rows
-- and the secrets are kept as they are.

DO $hectic$
DECLARE
    db_version text;
BEGIN
    IF to_regclass('hectic.version') IS NOT NULL THEN
        SELECT v.version INTO db_version FROM hectic.version v WHERE v.name = 'hectic';
    END IF;
    IF db_version IS DISTINCT FROM '0.2.0' THEN
        RAISE EXCEPTION 'hectic upgrade from 0.2.0: the database has version %', coalesce(db_version, '(none)')
            USING ERRCODE = 'object_not_in_prerequisite_state';
    END IF;
    UPDATE hectic.version SET version = '0.3.0', installed_at = now() WHERE name = 'hectic';
END
$hectic$;
