-- Hydrate entrypoint of the demo project: `database hydrate` runs it with the
-- hectic bundle already applied (unless --no-hook). Includes resolve relative
-- to this file, exactly as psql's \ir does.
\ir schema/tables.sql
\ir schema/functions.sql
\if :{?USE_MOCK}
\echo 'loading mock data (database deploy --mock)'
\ir mock.sql
\endif
