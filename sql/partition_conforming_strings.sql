-- manage_partitions whose first run fails raises the step's SQLSTATE, which it reads from the
-- end of the run's error row, also in a session with standard_conforming_strings off (a
-- database or role setting some older applications still need). The pattern that read it was
-- parsed under the caller's setting, which took its '\(' for '(': the error came as 55000,
-- with '(SQLSTATE …)' left in its message, after two escape-string WARNINGs.
SET client_min_messages = warning;
\i sql/include/try.sql
-- A DBA's event trigger refusing some tables: the partitions of 'refused' cannot be made.
CREATE FUNCTION refuse_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
DECLARE
    c record;
BEGIN
    FOR c IN SELECT * FROM pg_event_trigger_ddl_commands() LOOP
        IF c.object_identity ~ '^public[.]refused_[0-9]' THEN
            RAISE EXCEPTION 'not here: %', c.object_identity USING ERRCODE = 'P0042';
        END IF;
    END LOOP;
END $$;
CREATE EVENT TRIGGER refuse_ddl ON ddl_command_end EXECUTE FUNCTION refuse_ddl();
CREATE TABLE refused (at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT regexp_replace(pg_temp.try($$SELECT ai_scale.manage_partitions('refused', '1 day', 1)$$),
                      '[0-9]{8}', 'YYYYMMDD');
SET standard_conforming_strings = off;
SELECT regexp_replace(pg_temp.try($$SELECT ai_scale.manage_partitions('refused', '1 day', 1)$$),
                      '[0-9]{8}', 'YYYYMMDD');
RESET standard_conforming_strings;
-- Nothing was kept.
SELECT count(*) FROM ai_scale.partition_config WHERE parent = 'refused'::regclass;
SELECT count(*) FROM pg_inherits WHERE inhparent = 'refused'::regclass;
DROP EVENT TRIGGER refuse_ddl;
DROP FUNCTION refuse_ddl();
DROP TABLE refused;
