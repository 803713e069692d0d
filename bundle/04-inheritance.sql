-- hectic bundle, part 4: inheritance rules (also shipped alone as
-- share/hectic/hectic-inheritance.sql).
--
--   hectic.created_at(created_at)  every user table must inherit it: CREATE TABLE
--                                  without it is refused (event trigger
--                                  hectic_enforce_created_at_inheritance), and so is
--                                  ALTER TABLE ... NO INHERIT that takes it away
--   hectic.updated_at(updated_at)  inheriting it attaches BEFORE UPDATE row trigger
--                                  hectic_set_updated_at (hectic.set_updated_at())
--   hectic.immutable()             marker: inheriting it attaches two triggers that refuse
--                                  DML unless the transaction ran
--                                  SET LOCAL hectic.migration_mode = 'on':
--                                  hectic_block_immutable_dml (BEFORE INSERT/UPDATE/DELETE,
--                                  FOR EACH ROW: rows changed through a parent table too) and
--                                  hectic_block_immutable_truncate (BEFORE INSERT/UPDATE/
--                                  DELETE/TRUNCATE, FOR EACH STATEMENT: an UPDATE or DELETE
--                                  that matches no row is refused as well). Row and statement
--                                  level, folded into the two trigger names of 0.1.0.
--
-- Triggers are attached at CREATE TABLE and also when a table gains a parent
-- later (ALTER TABLE ... INHERIT), to the table and all its descendants; a
-- re-apply attaches any that are missing on existing tables.
--
-- Exempt from all of it: schemas hectic, information_schema and pg_*,
-- temporary tables, declarative partitions, objects created by an extension's
-- script, and the schemas listed in the GUC
-- hectic.inheritance_extra_excluded_schemas (comma-separated; e.g.
-- ALTER DATABASE mydb SET hectic.inheritance_extra_excluded_schemas = 'legacy,etl').
-- A partitioned table (PARTITION BY) is not exempt: PostgreSQL forbids it
-- INHERITS, so it is refused like any table without hectic.created_at and
-- belongs in an excluded schema; its partitions are exempt.
--
-- Plain SQL (no psql meta-commands), idempotent. Creating event triggers needs a superuser.

CREATE SCHEMA IF NOT EXISTS hectic;

CREATE TABLE IF NOT EXISTS hectic.created_at (
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS hectic.updated_at (
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE TABLE IF NOT EXISTS hectic.immutable ();

COMMENT ON TABLE hectic.created_at IS 'parent of every user table: INHERITS (hectic.created_at)';
COMMENT ON TABLE hectic.updated_at IS 'inherit to get updated_at maintained by trigger hectic_set_updated_at';
COMMENT ON TABLE hectic.immutable IS 'inherit to refuse DML outside SET LOCAL hectic.migration_mode = ''on''';

-- Whether the bundle leaves relation REL alone (NULL rel: yes).
CREATE OR REPLACE FUNCTION hectic.inheritance_exempt(rel oid)
RETURNS boolean
LANGUAGE sql
STABLE
AS $hectic$
    SELECT coalesce((
        SELECT c.relkind NOT IN ('r', 'p')
            OR c.relpersistence = 't'
            OR c.relispartition
            OR n.nspname IN ('hectic', 'information_schema')
            OR n.nspname LIKE 'pg\_%'
            OR n.nspname IN (
                SELECT btrim(s)
                  FROM unnest(string_to_array(
                           coalesce(current_setting('hectic.inheritance_extra_excluded_schemas', true), ''),
                           ',')) AS s)
          FROM pg_catalog.pg_class c
          JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = rel), true)
$hectic$;

-- Whether REL has ANCESTOR among its parents, at any depth.
CREATE OR REPLACE FUNCTION hectic.inherits_from(rel oid, ancestor oid)
RETURNS boolean
LANGUAGE sql
STABLE
AS $hectic$
    WITH RECURSIVE up(oid) AS (
        SELECT i.inhparent FROM pg_catalog.pg_inherits i WHERE i.inhrelid = rel
        UNION
        SELECT i.inhparent FROM pg_catalog.pg_inherits i JOIN up ON i.inhrelid = up.oid
    )
    SELECT EXISTS (SELECT 1 FROM up WHERE up.oid = ancestor)
$hectic$;

-- REL and all its descendants.
CREATE OR REPLACE FUNCTION hectic.inheritance_tree(rel oid)
RETURNS SETOF oid
LANGUAGE sql
STABLE
AS $hectic$
    WITH RECURSIVE down(oid) AS (
        SELECT rel
        UNION
        SELECT i.inhrelid FROM pg_catalog.pg_inherits i JOIN down ON i.inhparent = down.oid
    )
    SELECT down.oid FROM down
$hectic$;

CREATE OR REPLACE FUNCTION hectic.set_updated_at()
RETURNS trigger
LANGUAGE plpgsql
AS $hectic$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END
$hectic$;

CREATE OR REPLACE FUNCTION hectic.block_immutable_dml()
RETURNS trigger
LANGUAGE plpgsql
AS $hectic$
BEGIN
    IF current_setting('hectic.migration_mode', true) = 'on' THEN
        IF TG_LEVEL = 'STATEMENT' THEN
            RETURN NULL;
        ELSIF TG_OP = 'DELETE' THEN
            RETURN OLD;
        END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION '% on immutable table %.% is refused outside migration mode',
            TG_OP, quote_ident(TG_TABLE_SCHEMA), quote_ident(TG_TABLE_NAME)
        USING ERRCODE = 'insufficient_privilege',
              HINT = 'change immutable tables only in a migration: BEGIN; SET LOCAL hectic.migration_mode = ''on''; ...; COMMIT;';
END
$hectic$;

-- Make trigger NAME on table T (REL) the one DEFINITION describes: created
-- when missing, recreated when it differs (its pg_trigger.tgtype is not
-- TGTYPE, or it calls another function), left alone otherwise. tgtype bits:
-- 1 row, 2 before, 4 insert, 8 delete, 16 update, 32 truncate.
CREATE OR REPLACE FUNCTION hectic.ensure_trigger(rel oid, t text, name text, tgtype int, func regprocedure,
                                                 definition text)
RETURNS void
LANGUAGE plpgsql
AS $hectic$
DECLARE
    have record;
BEGIN
    SELECT g.tgtype, g.tgfoid INTO have
      FROM pg_catalog.pg_trigger g WHERE g.tgrelid = rel AND g.tgname = name;
    IF FOUND AND have.tgtype = tgtype AND have.tgfoid = func THEN
        RETURN;
    END IF;
    IF FOUND THEN
        EXECUTE format('DROP TRIGGER %I ON %s', name, t);
    END IF;
    EXECUTE format('CREATE TRIGGER %I %s', name, definition);
END
$hectic$;

-- Attach the triggers REL needs for its hectic parents, when missing or
-- different; KINDS selects 'updated_at' and/or 'immutable'.
CREATE OR REPLACE FUNCTION hectic.attach_inheritance_triggers(rel oid, kinds text[])
RETURNS void
LANGUAGE plpgsql
AS $hectic$
DECLARE
    t text;
BEGIN
    IF hectic.inheritance_exempt(rel) THEN
        RETURN;
    END IF;
    SELECT format('%I.%I', n.nspname, c.relname) INTO t
      FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     WHERE c.oid = rel;
    IF 'updated_at' = ANY (kinds) AND hectic.inherits_from(rel, 'hectic.updated_at'::regclass)
       AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_trigger
                        WHERE tgrelid = rel AND tgname = 'hectic_set_updated_at') THEN
        EXECUTE format('CREATE TRIGGER hectic_set_updated_at BEFORE UPDATE ON %s '
                       'FOR EACH ROW EXECUTE FUNCTION hectic.set_updated_at()', t);
    END IF;
    IF 'immutable' = ANY (kinds) AND hectic.inherits_from(rel, 'hectic.immutable'::regclass) THEN
        -- each row, also when changed through a parent table (UPDATE parent ... reaches it)
        PERFORM hectic.ensure_trigger(rel, t, 'hectic_block_immutable_dml', 1 | 2 | 4 | 8 | 16,
                                      'hectic.block_immutable_dml()'::regprocedure,
                                      format('BEFORE INSERT OR UPDATE OR DELETE ON %s '
                                             'FOR EACH ROW EXECUTE FUNCTION hectic.block_immutable_dml()', t));
        -- each statement: an UPDATE or DELETE matching no row is refused too, and TRUNCATE
        PERFORM hectic.ensure_trigger(rel, t, 'hectic_block_immutable_truncate', 2 | 4 | 8 | 16 | 32,
                                      'hectic.block_immutable_dml()'::regprocedure,
                                      format('BEFORE INSERT OR UPDATE OR DELETE OR TRUNCATE ON %s '
                                             'FOR EACH STATEMENT EXECUTE FUNCTION hectic.block_immutable_dml()', t));
    END IF;
END
$hectic$;

-- The tables of the current DDL command (and their descendants for ALTER TABLE,
-- which may have given a whole subtree a new parent).
CREATE OR REPLACE FUNCTION hectic.ddl_tables()
RETURNS TABLE (rel oid, command_tag text, direct boolean)
LANGUAGE sql
STABLE
AS $hectic$
    SELECT t.t, d.command_tag, bool_or(t.t = d.objid)
      FROM pg_event_trigger_ddl_commands() d
      JOIN pg_catalog.pg_class c ON c.oid = d.objid
     CROSS JOIN LATERAL (
         SELECT hectic.inheritance_tree(d.objid) AS t WHERE d.command_tag = 'ALTER TABLE'
         UNION ALL
         SELECT d.objid WHERE d.command_tag <> 'ALTER TABLE'
     ) t
     WHERE d.classid = 'pg_catalog.pg_class'::regclass
       AND NOT d.in_extension
       AND c.relkind IN ('r', 'p')
     GROUP BY t.t, d.command_tag
     -- the tables named in the command first, so errors name them
     ORDER BY 3 DESC, 1
$hectic$;

CREATE OR REPLACE FUNCTION hectic.attach_updated_at_trigger()
RETURNS event_trigger
LANGUAGE plpgsql
AS $hectic$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM hectic.ddl_tables() LOOP
        PERFORM hectic.attach_inheritance_triggers(r.rel, ARRAY['updated_at']);
    END LOOP;
END
$hectic$;

CREATE OR REPLACE FUNCTION hectic.attach_immutable_triggers()
RETURNS event_trigger
LANGUAGE plpgsql
AS $hectic$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT * FROM hectic.ddl_tables() LOOP
        PERFORM hectic.attach_inheritance_triggers(r.rel, ARRAY['immutable']);
    END LOOP;
END
$hectic$;

-- ddl_command_start of ALTER TABLE: remember which tables inherit
-- hectic.created_at now, so that the end trigger can tell a table that lost
-- it (refused) from one that never had it (created before the bundle: left alone).
CREATE OR REPLACE FUNCTION hectic.remember_created_at_inheritance()
RETURNS event_trigger
LANGUAGE plpgsql
AS $hectic$
BEGIN
    PERFORM set_config('hectic.created_at_inheritors',
                       coalesce((SELECT array_agg(t)::text
                                   FROM hectic.inheritance_tree('hectic.created_at'::regclass) t
                                  WHERE t <> 'hectic.created_at'::regclass), '{}'),
                       true);
END
$hectic$;

CREATE OR REPLACE FUNCTION hectic.enforce_created_at_inheritance()
RETURNS event_trigger
LANGUAGE plpgsql
AS $hectic$
DECLARE
    r record;
    t text;
    nsp text;
    before oid[];
BEGIN
    FOR r IN SELECT * FROM hectic.ddl_tables() LOOP
        CONTINUE WHEN hectic.inheritance_exempt(r.rel)
                   OR hectic.inherits_from(r.rel, 'hectic.created_at'::regclass);
        SELECT format('%I.%I', n.nspname, c.relname), n.nspname INTO t, nsp
          FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
         WHERE c.oid = r.rel;
        IF r.command_tag = 'ALTER TABLE' THEN
            before := coalesce(nullif(current_setting('hectic.created_at_inheritors', true), ''), '{}')::oid[];
            CONTINUE WHEN NOT r.rel = ANY (before);
            RAISE EXCEPTION 'table % must keep inheriting hectic.created_at', t
                USING ERRCODE = 'invalid_table_definition',
                      HINT = format('tables outside the exempt schemas always inherit hectic.created_at; '
                                    'to opt schema %s out, list it in hectic.inheritance_extra_excluded_schemas',
                                    quote_ident(nsp));
        END IF;
        IF (SELECT c.relkind FROM pg_catalog.pg_class c WHERE c.oid = r.rel) = 'p' THEN
            RAISE EXCEPTION 'partitioned table % must inherit hectic.created_at, which PostgreSQL does not allow', t
                USING ERRCODE = 'invalid_table_definition',
                      HINT = format('put partitioned tables in a schema listed in hectic.inheritance_extra_excluded_schemas: '
                                    'ALTER DATABASE ... SET hectic.inheritance_extra_excluded_schemas = %L '
                                    '(its partitions are exempt anywhere)', nsp);
        END IF;
        RAISE EXCEPTION 'table % must inherit hectic.created_at', t
            USING ERRCODE = 'invalid_table_definition',
                  HINT = format('CREATE TABLE %s (...) INHERITS (hectic.created_at); to opt schema %s out: '
                                'ALTER DATABASE ... SET hectic.inheritance_extra_excluded_schemas = %L',
                                t, quote_ident(nsp), nsp);
    END LOOP;
END
$hectic$;

-- Event triggers: (re)created only when missing or different, so a re-apply changes nothing.
DO $hectic$
DECLARE
    want record;
    have record;
BEGIN
    FOR want IN
        SELECT * FROM (VALUES
            ('hectic_attach_immutable_triggers', 'ddl_command_end',
             ARRAY['ALTER TABLE', 'CREATE TABLE'], 'hectic.attach_immutable_triggers()'),
            ('hectic_attach_updated_at_trigger', 'ddl_command_end',
             ARRAY['ALTER TABLE', 'CREATE TABLE'], 'hectic.attach_updated_at_trigger()'),
            ('hectic_enforce_created_at_inheritance', 'ddl_command_end',
             ARRAY['ALTER TABLE', 'CREATE TABLE', 'CREATE TABLE AS', 'SELECT INTO'],
             'hectic.enforce_created_at_inheritance()'),
            ('hectic_remember_created_at_inheritance', 'ddl_command_start',
             ARRAY['ALTER TABLE'], 'hectic.remember_created_at_inheritance()')
        ) AS w(name, event, tags, func)
    LOOP
        SELECT e.evtevent, e.evtfoid, e.evttags, e.evtenabled INTO have
          FROM pg_catalog.pg_event_trigger e WHERE e.evtname = want.name;
        IF FOUND AND have.evtevent = want.event AND have.evtenabled = 'O'
           AND have.evtfoid = want.func::regprocedure
           AND (SELECT array_agg(x ORDER BY x) FROM unnest(have.evttags) x) = want.tags THEN
            CONTINUE;
        END IF;
        IF FOUND THEN
            EXECUTE format('DROP EVENT TRIGGER %I', want.name);
        END IF;
        EXECUTE format('CREATE EVENT TRIGGER %I ON %s WHEN TAG IN (%s) EXECUTE FUNCTION %s',
                       want.name, want.event,
                       (SELECT string_agg(quote_literal(x), ', ') FROM unnest(want.tags) x),
                       want.func);
    END LOOP;
END
$hectic$;

-- Close the holes left by older bundles: tables that gained hectic.updated_at
-- or hectic.immutable through ALTER TABLE ... INHERIT get their triggers now.
DO $hectic$
BEGIN
    PERFORM hectic.attach_inheritance_triggers(t, ARRAY['updated_at', 'immutable'])
       FROM (SELECT hectic.inheritance_tree('hectic.updated_at'::regclass) AS t
             UNION
             SELECT hectic.inheritance_tree('hectic.immutable'::regclass)) AS s
      WHERE t NOT IN ('hectic.updated_at'::regclass, 'hectic.immutable'::regclass);
END
$hectic$;
