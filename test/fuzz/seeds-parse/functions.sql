CREATE OR REPLACE FUNCTION s.f(a int, INOUT b varchar(3)[], OUT c text, VARIADIC d int[]) RETURNS SETOF record LANGUAGE sql AS $$
  WITH x AS (SELECT 1) SELECT y FROM x, tt WHERE g(1, 2) AND 'q'::regclass IS NOT NULL
$$;
CREATE FUNCTION f2() RETURNS int LANGUAGE sql AS 'SELECT count(*) FROM t WHERE x = ''a''';
CREATE PROCEDURE p() LANGUAGE sql BEGIN ATOMIC SELECT CASE WHEN true THEN 1 END; INSERT INTO log SELECT * FROM t2; END;
CREATE FUNCTION trg() RETURNS trigger LANGUAGE plpgsql AS $body$
DECLARE v t.c%TYPE; r record; w s.t%ROWTYPE; n numeric(10,2) := scale(1);
BEGIN
  SELECT c INTO v FROM t WHERE id = NEW.id;
  NEW.x := g(v) + 1;
  IF v > 0 THEN INSERT INTO log VALUES (v); ELSIF v < 0 THEN RAISE NOTICE '%', h(v); END IF;
  FOR r IN SELECT * FROM u LOOP PERFORM h(r.x); END LOOP;
  EXECUTE format('SELECT 1 FROM %I', 'x');
  RETURN NEW;
END $body$;
DO $$BEGIN PERFORM q(); END$$;
DO LANGUAGE plpgsql 'BEGIN PERFORM q(); END';
CREATE AGGREGATE agg(int, text) (sfunc = f, stype = int, finalfunc = ff);
CREATE AGGREGATE cnt(*) (sfunc = f, stype = int8);
CREATE TRIGGER tr BEFORE UPDATE ON s.t FOR EACH ROW EXECUTE FUNCTION hectic.set_updated_at();
CREATE POLICY pol ON s.t USING (owner = current_user);
CREATE TYPE e AS ENUM ('a'); CREATE TYPE c AS (a int); CREATE TYPE r AS RANGE (subtype = float8);
CREATE DOMAIN dd AS int CHECK (VALUE > 0);
CREATE SCHEMA sch CREATE TABLE t (a int) CREATE VIEW v AS SELECT 1;
CREATE MATERIALIZED VIEW mv AS SELECT * FROM t;
