-- try(stmt): runs a statement and returns 'ok', or its SQLSTATE and message instead of failing.
-- Shared by the regression tests that list many expected errors (\i sql/include/try.sql).
CREATE FUNCTION pg_temp.try(stmt text) RETURNS text LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE stmt;
    RETURN 'ok';
EXCEPTION WHEN OTHERS THEN
    RETURN SQLSTATE || ': ' || SQLERRM;
END $$;
