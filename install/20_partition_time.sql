-- Partitioning: time and bounds. The planner (which ranges to create, drop, detach or tier) and
-- the cells of an interval, in C (src/partition/planner.cpp behind planner_sql.cpp); a table's
-- partition bounds read from pg_class.relpartbound (_bounds, bounds.cpp); local times and
-- instants in a table's time zone (across DST changes), the retention and cold cutoffs, bounds
-- as literals of the key type and as text, and the parts of a range no partition covers.

CREATE FUNCTION ai_scale._plan(partition_interval interval, premake int, retention interval,
                               retention_mode text, cold_after interval, now_local timestamp,
                               lowers timestamp[], uppers timestamp[], cold boolean[],
                               retain_before timestamp DEFAULT NULL,
                               cold_before timestamp DEFAULT NULL,
                               OUT action text, OUT idx int, OUT lower timestamp,
                               OUT upper timestamp, OUT suffix text)
    RETURNS SETOF record LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_plan';

CREATE FUNCTION ai_scale._cells(partition_interval interval, from_local timestamp,
                                to_local timestamp,
                                OUT lower timestamp, OUT upper timestamp, OUT suffix text)
    RETURNS SETOF record LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_cells';

-- Called once per row of the default partition by rescue_default, so it carries no SET clause
-- (that would cost a GUC save and restore per row); it is C and names nothing.
CREATE FUNCTION ai_scale._cell_lower(partition_interval interval, t timestamp) RETURNS timestamp
    LANGUAGE c IMMUTABLE STRICT PARALLEL SAFE
    AS 'MODULE_PATHNAME', 'ai_scale_partition_cell_lower';

CREATE FUNCTION ai_scale._bounds(parent regclass, zone text,
                                 upper_after timestamp DEFAULT NULL,
                                 lower_before timestamp DEFAULT NULL,
                                 upper_until timestamp DEFAULT NULL,
                                 cold_oid oid DEFAULT NULL,
                                 retain_until timestamp DEFAULT NULL,
                                 OUT partition regclass, OUT lower timestamp,
                                 OUT upper timestamp, OUT is_default boolean,
                                 OUT upper_first_pass boolean)
    RETURNS SETOF record LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_partition_bounds';

-- The first instant whose local time in zone is t or later: t's own instant (for a local time
-- that a fall-back change repeats, the later one, as Postgres reads it), or, for a local time
-- that a spring-forward change skips, the instant of the change. Postgres would read a skipped
-- time with the offset from before the change, an instant past it, so that cells starting
-- inside the skipped span would overlap the cells after it.
CREATE FUNCTION ai_scale._local_start(t timestamp, zone text) RETURNS timestamptz
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    hi timestamptz := t AT TIME ZONE zone;
    lo timestamptz;
    span bigint := 86400000000; -- microseconds from lo to hi
    half bigint;
    mid timestamptz;
BEGIN
    IF (hi AT TIME ZONE zone) = t THEN
        RETURN hi;
    END IF;
    -- Skipped: hi, read with the offset from before the change, lies past it, and its local
    -- time after t; a day before, the local time is before t (hi lies less than the skipped
    -- span past the change, and no change skips more than a day: Apia skipped one). The
    -- change is found to the microsecond between them, for changes need not fall on a whole
    -- minute (Amsterdam's clocks went from +01:19:32 to +01:20 in 1937, skipping 28 seconds:
    -- the next whole minute made the cells there meet 32 seconds late). Intervals of
    -- microseconds alone add elapsed time, whatever the session's zone.
    lo := hi - interval '24 hours';
    WHILE span > 1 LOOP
        half := span / 2;
        mid := lo + interval '1 microsecond' * half;
        IF (mid AT TIME ZONE zone) >= t THEN
            hi := mid;
            span := half;
        ELSE
            lo := mid;
            span := span - half;
        END IF;
    END LOOP;
    RETURN hi;
END $$;

-- The local time in zone before which a timestamptz partition is older than span at instant
-- at: a partition whose local upper bound is at or before it ends at or before at - span. As
-- Postgres subtracts an interval from a timestamptz, its months and days count on the local
-- calendar and its time part in elapsed time: 2 hours before 03:30 on a spring-forward night
-- is 00:30, where the wall clock says 01:30 (and a partition ending at 01:00 still holds rows
-- younger than 2 hours). An instant in the first pass of a local time that a fall-back change
-- repeats has the local time of its second pass, an hour later; the cutoff is then taken an
-- hour earlier than its local time, so that no partition ending after the instant is chosen.
CREATE FUNCTION ai_scale._cutoff(at timestamptz, span interval, zone text) RETURNS timestamp
    LANGUAGE plpgsql STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    calendar interval := date_trunc('day', span); -- months and days
    instant timestamptz := at;
    cutoff timestamp;
    ahead interval;
BEGIN
    IF calendar <> interval '0' THEN
        instant := ai_scale._local_start((at AT TIME ZONE zone) - calendar, zone);
    END IF;
    instant := instant - (span - calendar);
    cutoff := instant AT TIME ZONE zone;
    ahead := ai_scale._local_start(cutoff, zone) - instant;
    IF ahead > interval '0' THEN
        cutoff := (instant - ahead) AT TIME ZONE zone;
    END IF;
    RETURN cutoff;
END $$;

-- ' BC' for a time before year 1, else nothing: to_char's YYYY leaves the era out, and a bound
-- literal without it would be read as a year AD.
CREATE FUNCTION ai_scale._era(t timestamp) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$ SELECT CASE WHEN t < timestamp '0001-01-01 00:00' THEN ' BC' ELSE '' END $$;

-- t as text that reads back as t in every DateStyle (YYYY-MM-DD first, the era when BC); an
-- infinite one as such. t::text is in the session's DateStyle, which 'SQL, YMD' writes
-- month first and reads year first.
CREATE FUNCTION ai_scale._timestamp_text(t timestamp) RETURNS text
    LANGUAGE sql IMMUTABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE WHEN NOT isfinite(t) THEN t::text
                ELSE to_char(t, 'YYYY-MM-DD HH24:MI:SS.US') || ai_scale._era(t) END
$$;

-- A local wall-clock time as a bound literal of the key type (unambiguous: UTC with offset);
-- an infinite one as such.
CREATE FUNCTION ai_scale._bound_literal(t timestamp, key_type regtype, zone text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT quote_literal(CASE
        WHEN NOT isfinite(t) THEN t::text
        WHEN key_type = 'timestamptz'::regtype
            THEN to_char(ai_scale._local_start(t, zone) AT TIME ZONE 'UTC',
                         'YYYY-MM-DD HH24:MI:SS.US') || '+00'
                 || ai_scale._era(ai_scale._local_start(t, zone) AT TIME ZONE 'UTC')
        WHEN key_type = 'date'::regtype THEN to_char(t, 'YYYY-MM-DD') || ai_scale._era(t)
        ELSE ai_scale._timestamp_text(t) END)
$$;

-- A local bound as text of the key type, in the session's time zone for timestamptz keys.
CREATE FUNCTION ai_scale._bound_text(t timestamp, key_type regtype, zone text) RETURNS text
    LANGUAGE sql STABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
    SELECT CASE
        WHEN key_type = 'timestamptz'::regtype THEN ai_scale._local_start(t, zone)::text
        WHEN key_type = 'date'::regtype THEN t::date::text
        ELSE t::text END
$$;

-- The parts of [lo, hi) that no range [bound_lo[m], bound_hi[m]) covers, oldest first: the
-- ranges of a table's partitions, ordered by their lower bound (partitions do not overlap).
CREATE FUNCTION ai_scale._uncovered_parts(lo timestamp, hi timestamp, bound_lo timestamp[],
                                          bound_hi timestamp[],
                                          OUT lows timestamp[], OUT highs timestamp[])
    LANGUAGE plpgsql IMMUTABLE
    SET search_path = pg_catalog, pg_temp
    AS $$
DECLARE
    cursor timestamp := lo;
BEGIN
    lows := '{}';
    highs := '{}';
    FOR m IN 1 .. coalesce(array_length(bound_lo, 1), 0) LOOP
        EXIT WHEN bound_lo[m] >= hi; -- (ordered: no range after it reaches [lo, hi) either)
        CONTINUE WHEN bound_hi[m] <= lo;
        IF bound_lo[m] > cursor THEN
            lows := lows || cursor;
            highs := highs || bound_lo[m];
        END IF;
        cursor := greatest(cursor, bound_hi[m]);
    END LOOP;
    IF cursor < hi THEN
        lows := lows || cursor;
        highs := highs || hi;
    END IF;
END $$;
