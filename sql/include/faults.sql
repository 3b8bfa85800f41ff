-- faults(): this backend's minor page faults so far (Linux's /proc/self/stat, field 10).
-- Shared by the regression tests of the kept heap (\i sql/include/faults.sql).
CREATE FUNCTION pg_temp.faults() RETURNS bigint LANGUAGE sql AS $$
    SELECT split_part(split_part(pg_read_file('/proc/self/stat'), ') ', 2), ' ', 8)::bigint
$$;
