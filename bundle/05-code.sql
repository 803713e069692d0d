-- hectic bundle, part 5: schema as code.
--
-- hectic.code_object records the views, functions, types, triggers,
-- policies ... that `database apply` (and `migrator migrate` when a code
-- directory exists) created from the files of the code directory: one row
-- per object, written in the same transaction that created it. An object
-- whose text still hashes to sha256 is never re-created.
--
--   identity          dbtool's name for it: "view public.v", "function
--                     public.f(integer, text)", "trigger trg on public.t";
--                     a statement dbtool could not analyse: "statement SHA"
--   kind              view, materialized view, function, procedure,
--                     aggregate, type, domain, trigger, policy, index,
--                     statement
--   object_schema, object_name   as written (schema resolved); NULL for a statement
--   file, line        where it is defined (relative to the code directory)
--   sha256            of the object's statements as written (comments and
--                     blank lines around them do not count): moving an
--                     object to another file keeps it
--   file_sha256       of the whole file: an unchanged file is not parsed again
--   statements, statement_lines   the object's statements and where each starts:
--                     what re-creates it when its file is not parsed again
--   depends           identities of the code objects it needs first (from
--                     the parse and from pg_depend after creation)
--   body_depends      ... named only inside a function body (no pg_depend edge)
--   catalog_type, catalog_identity   pg_identify_object() of what it created
--   catalog_classid, catalog_objid   ... and its address (a row type as its relation): an
--                     object dropped by hand is noticed and created again
--   address_type, address_names, address_args   pg_identify_object_as_address()
--   drop_sql          the statement that removes it
--
-- Schema hectic is exempt from the inheritance rules. Plain SQL, idempotent:
-- a later bundle adds columns with ADD COLUMN IF NOT EXISTS.

CREATE SCHEMA IF NOT EXISTS hectic;

CREATE TABLE IF NOT EXISTS hectic.code_object (
    identity text PRIMARY KEY,
    kind text NOT NULL,
    object_schema text,
    object_name text,
    file text NOT NULL,
    line integer NOT NULL,
    sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
    file_sha256 text NOT NULL CHECK (file_sha256 ~ '^[0-9a-f]{64}$'),
    depends text[] NOT NULL DEFAULT '{}',
    body_depends text[] NOT NULL DEFAULT '{}',
    catalog_type text,
    catalog_identity text,
    catalog_classid oid,
    catalog_objid oid,
    address_type text,
    address_names text[],
    address_args text[],
    drop_sql text NOT NULL,
    statements text[] NOT NULL DEFAULT '{}',
    statement_lines integer[] NOT NULL DEFAULT '{}',
    applied_at timestamptz NOT NULL DEFAULT now()
);

COMMENT ON TABLE hectic.code_object IS
    'code objects created from the code directory by dbtool (database apply); see the README';
