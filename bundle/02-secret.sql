-- hectic bundle, part 2: secrets.
--
--   hectic.secret                       key -> value, the value encrypted (pgcrypto, PGP symmetric, AES-256)
--   hectic.load_secrets_from_env(text)  parse dotenv text, replace the whole set; returns the count
--   hectic.get_secret(text)             the decrypted value, NULL when the key is unknown
--
-- Where the key lives: a random 256-bit key in the file `hectic_secret.key`
-- in the cluster's data directory (owned by the server's OS user; the data
-- directory is 0700), created on first use by hectic.secret_key() through
-- COPY ... TO and read with pg_read_binary_file(). It is in no table, so no logical dump
-- (pg_dump) contains it, and pg_dump shows only ciphertext. A physical backup
-- of the data directory (pg_basebackup) carries the file along, so a restored
-- cluster can still decrypt. Anyone who can read the data directory or is a
-- superuser can read the secrets; other roles need EXECUTE on get_secret.
--
-- Needs a superuser (or pg_read_server_files + pg_write_server_files) as the
-- owner of these SECURITY DEFINER functions. Plain SQL, idempotent.

CREATE SCHEMA IF NOT EXISTS hectic;

DO $hectic$
BEGIN
    -- pgcrypto ships with the server; when a database already has it (in any
    -- schema) it is used where it is, otherwise it goes into hectic so that
    -- nothing is added to public.
    IF NOT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pgcrypto') THEN
        CREATE EXTENSION pgcrypto SCHEMA hectic;
    END IF;
END
$hectic$;

CREATE TABLE IF NOT EXISTS hectic.secret (
    id serial PRIMARY KEY,
    key text NOT NULL UNIQUE,
    value bytea NOT NULL
);
COMMENT ON TABLE hectic.secret IS
    'secrets loaded by hectic.load_secrets_from_env(); value is PGP-encrypted with the key in $PGDATA/hectic_secret.key';

-- The cluster key (hex text). Creates the key file when CREATE_MISSING and
-- there is none. Not callable by ordinary roles.
CREATE OR REPLACE FUNCTION hectic.secret_key(create_missing boolean DEFAULT false)
RETURNS text
LANGUAGE plpgsql
SECURITY DEFINER
AS $hectic$
DECLARE
    key_file constant text := 'hectic_secret.key';
    k text;
BEGIN
    IF (pg_stat_file(key_file, true)).size IS NULL THEN
        IF NOT create_missing THEN
            RAISE EXCEPTION 'hectic secret key file "%" is missing from the data directory', key_file
                USING ERRCODE = 'object_not_in_prerequisite_state',
                      HINT = 'load the secrets again with hectic.load_secrets_from_env() (dbtool database hydrate)';
        END IF;
        -- two sessions creating the key at once would overwrite each other
        PERFORM pg_advisory_xact_lock(hashtext('hectic.secret_key'));
        IF (pg_stat_file(key_file, true)).size IS NULL THEN
            EXECUTE format('COPY (SELECT encode(gen_random_bytes(32), %L)) TO %L', 'hex',
                           current_setting('data_directory') || '/' || key_file);
        END IF;
    END IF;
    k := btrim(convert_from(pg_read_binary_file(key_file), 'UTF8'), E' \t\r\n');
    IF k !~ '^[0-9a-f]{64}$' THEN
        RAISE EXCEPTION 'hectic secret key file "%" in the data directory is not a 64-digit hex key', key_file
            USING ERRCODE = 'data_corrupted';
    END IF;
    RETURN k;
END
$hectic$;

CREATE OR REPLACE FUNCTION hectic.secret_encrypt(plain text, create_key boolean DEFAULT true)
RETURNS bytea
LANGUAGE plpgsql
SECURITY DEFINER
AS $hectic$
BEGIN
    IF plain IS NULL THEN
        RETURN NULL;
    END IF;
    RETURN pgp_sym_encrypt(plain, hectic.secret_key(create_key), 'cipher-algo=aes256');
END
$hectic$;

-- Parse dotenv text: blank lines and # comments skipped; [export] KEY=VALUE;
-- VALUE optionally in '...' (literal) or "..." (\" and \\ escapes), quoted
-- values may span lines; unquoted values are trimmed and lose a trailing
-- " # comment". Errors name the line, never a value.
CREATE OR REPLACE FUNCTION hectic.parse_dotenv(env text)
RETURNS TABLE (ord integer, key text, value text)
LANGUAGE plpgsql
IMMUTABLE
AS $hectic$
DECLARE
    ch text[] := string_to_array(replace(coalesce(env, ''), E'\r\n', E'\n'), NULL);
    n integer;
    i integer := 1;
    line integer := 1;
    start_line integer;
    st integer;
    c text;
    q text;
    k text;
    v text;
BEGIN
    n := coalesce(array_length(ch, 1), 0);
    ord := 0;
    WHILE i <= n LOOP
        WHILE i <= n AND ch[i] IN (' ', E'\t') LOOP
            i := i + 1;
        END LOOP;
        EXIT WHEN i > n;
        IF ch[i] = E'\n' THEN
            i := i + 1;
            line := line + 1;
            CONTINUE;
        END IF;
        IF ch[i] = '#' THEN
            WHILE i <= n AND ch[i] <> E'\n' LOOP
                i := i + 1;
            END LOOP;
            CONTINUE;
        END IF;
        start_line := line;
        st := i;
        WHILE i <= n AND ch[i] NOT IN ('=', E'\n') LOOP
            i := i + 1;
        END LOOP;
        IF i > n OR ch[i] <> '=' THEN
            RAISE EXCEPTION 'dotenv line %: expected KEY=VALUE', start_line
                USING ERRCODE = 'invalid_parameter_value';
        END IF;
        k := btrim(array_to_string(ch[st:i - 1], ''), E' \t');
        IF k ~ E'^export[ \t]' THEN
            k := btrim(substr(k, 8), E' \t');
        END IF;
        IF k !~ '^[A-Za-z_][A-Za-z0-9_.-]*$' THEN
            RAISE EXCEPTION 'dotenv line %: invalid key name', start_line
                USING ERRCODE = 'invalid_parameter_value',
                      HINT = 'keys are letters, digits, "_", "." and "-", not starting with a digit';
        END IF;
        i := i + 1;
        WHILE i <= n AND ch[i] IN (' ', E'\t') LOOP
            i := i + 1;
        END LOOP;
        IF i <= n AND ch[i] IN ('"', '''') THEN
            q := ch[i];
            i := i + 1;
            st := i;
            v := '';
            LOOP
                IF i > n THEN
                    RAISE EXCEPTION 'dotenv line %: unterminated % quote', start_line, q
                        USING ERRCODE = 'invalid_parameter_value';
                END IF;
                c := ch[i];
                EXIT WHEN c = q;
                IF q = '"' AND c = '\' AND i < n AND ch[i + 1] IN ('"', '\') THEN
                    v := v || array_to_string(ch[st:i - 1], '') || ch[i + 1];
                    i := i + 2;
                    st := i;
                    CONTINUE;
                END IF;
                IF c = E'\n' THEN
                    line := line + 1;
                END IF;
                i := i + 1;
            END LOOP;
            v := v || array_to_string(ch[st:i - 1], '');
            i := i + 1;
            WHILE i <= n AND ch[i] IN (' ', E'\t') LOOP
                i := i + 1;
            END LOOP;
            IF i <= n AND ch[i] NOT IN (E'\n', '#') THEN
                RAISE EXCEPTION 'dotenv line %: unexpected text after the closing quote', line
                    USING ERRCODE = 'invalid_parameter_value';
            END IF;
            WHILE i <= n AND ch[i] <> E'\n' LOOP
                i := i + 1;
            END LOOP;
        ELSE
            st := i;
            WHILE i <= n AND ch[i] <> E'\n' LOOP
                i := i + 1;
            END LOOP;
            v := array_to_string(ch[st:i - 1], '');
            v := regexp_replace(v, E'[ \t]+#.*$', '');
            v := rtrim(v, E' \t');
        END IF;
        ord := ord + 1;
        key := k;
        value := v;
        RETURN NEXT;
    END LOOP;
END
$hectic$;

CREATE OR REPLACE FUNCTION hectic.load_secrets_from_env(env text)
RETURNS integer
LANGUAGE plpgsql
SECURITY DEFINER
AS $hectic$
DECLARE
    k text := hectic.secret_key(true);
    loaded integer;
BEGIN
    DELETE FROM hectic.secret;
    INSERT INTO hectic.secret (key, value)
    SELECT DISTINCT ON (d.key) d.key, pgp_sym_encrypt(d.value, k, 'cipher-algo=aes256')
      FROM hectic.parse_dotenv(env) d
     ORDER BY d.key, d.ord DESC;
    GET DIAGNOSTICS loaded = ROW_COUNT;
    RETURN loaded;
END
$hectic$;

CREATE OR REPLACE FUNCTION hectic.get_secret(secret_name text)
RETURNS text
LANGUAGE plpgsql
STABLE
SECURITY DEFINER
AS $hectic$
DECLARE
    enc bytea;
    k text;
BEGIN
    SELECT s.value INTO enc FROM hectic.secret s WHERE s.key = secret_name;
    IF NOT FOUND OR enc IS NULL THEN
        RETURN NULL;
    END IF;
    k := hectic.secret_key(false);
    BEGIN
        RETURN pgp_sym_decrypt(enc, k);
    EXCEPTION WHEN OTHERS THEN
        RAISE EXCEPTION 'hectic secret "%" cannot be decrypted with this cluster''s key', secret_name
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = SQLERRM,
                  HINT = 'the secrets come from another cluster (e.g. a logical dump); load them again with hectic.load_secrets_from_env()';
    END;
END
$hectic$;

-- The SECURITY DEFINER functions run with a fixed search_path: the catalog,
-- hectic and the schema pgcrypto lives in, never a schema others can write to first.
DO $hectic$
DECLARE
    ext_schema name;
    fn text;
    path text;
BEGIN
    SELECT n.nspname INTO ext_schema
      FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace
     WHERE e.extname = 'pgcrypto';
    path := 'pg_catalog, hectic, ' || quote_ident(ext_schema) || ', pg_temp';
    FOREACH fn IN ARRAY ARRAY['hectic.secret_key(boolean)', 'hectic.secret_encrypt(text, boolean)',
                              'hectic.load_secrets_from_env(text)', 'hectic.get_secret(text)',
                              'hectic.parse_dotenv(text)'] LOOP
        EXECUTE format('ALTER FUNCTION %s SET search_path = %s', fn, path);
    END LOOP;

    -- A 0.1.0 database (carried forward by `dbtool bundle upgrade`) holds
    -- plaintext values: encrypt them in place, nothing is lost.
    IF (SELECT a.atttypid FROM pg_attribute a
         WHERE a.attrelid = 'hectic.secret'::regclass AND a.attname = 'value' AND NOT a.attisdropped)
       <> 'bytea'::regtype THEN
        ALTER TABLE hectic.secret ALTER COLUMN value TYPE bytea USING hectic.secret_encrypt(value::text, true);
    END IF;
END
$hectic$;

REVOKE ALL ON TABLE hectic.secret FROM PUBLIC;
REVOKE ALL ON FUNCTION hectic.secret_key(boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION hectic.secret_encrypt(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION hectic.load_secrets_from_env(text) FROM PUBLIC;
REVOKE ALL ON FUNCTION hectic.get_secret(text) FROM PUBLIC;
