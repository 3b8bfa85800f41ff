-- Partitioning: the names of partitions: the suffix of a piece of a cell, and a free name in
-- the parent's schema within 63 bytes. (The suffix of a whole cell is the planner's:
-- src/partition/planner.cpp.)

-- The name suffix of a piece of a cell (a partition that starts inside one, where another
-- partition takes the rest) starting at local time at: YYYYMMDD_HHMI, with the years before 1
-- written as the cells' names write them (planner.cpp, name_suffix): astronomical, 1 BC is
-- 0000, 44 BC -043. to_char's year dropped the era, and a piece of 44 BC was named as one of
-- AD 44.
CREATE FUNCTION ai_scale._piece_suffix(at timestamp) RETURNS text
    LANGUAGE sql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
SELECT CASE WHEN at >= '0001-01-01' THEN to_char(at, 'YYYYMMDD_HH24MI')
            WHEN y = 0 THEN '0000' || to_char(at, 'MMDD_HH24MI')
            ELSE '-' || lpad((-y)::text, greatest(3, length((-y)::text)), '0')
                 || to_char(at, 'MMDD_HH24MI') END
  FROM (SELECT extract(year FROM at)::int + 1 AS y) a
$$;

-- A free name <table>_<suffix> (then <table>_<suffix>_1, _2, ... while taken) in the parent's
-- schema, shortening the table part (never the suffix) to stay within 63 bytes. A suffix that
-- leaves no byte of the table's name is refused (42622): every caller's suffix is short, but
-- anyone may call this one with any.
CREATE FUNCTION ai_scale._partition_name(nsp name, base name, suffix text) RETURNS name
    LANGUAGE plpgsql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    tail text;
    head text;
    qualified text;
    n int := 0;
BEGIN
    IF octet_length(suffix) > 48 THEN
        RAISE EXCEPTION 'partition name suffix "%" is longer than 48 bytes', suffix
            USING ERRCODE = 'name_too_long';
    END IF;
    LOOP
        tail := '_' || suffix || CASE WHEN n = 0 THEN '' ELSE '_' || n END;
        head := base;
        WHILE octet_length(head) + octet_length(tail) > 63 LOOP
            head := left(head, -1);
        END LOOP;
        -- A table needs its name free for its row type too: a type of that name (an enum, a
        -- domain) made CREATE TABLE fail, at every run.
        qualified := format('%I.%I', nsp, head || tail);
        IF to_regclass(qualified) IS NULL AND to_regtype(qualified) IS NULL THEN
            RETURN head || tail;
        END IF;
        n := n + 1;
    END LOOP;
END $$;
