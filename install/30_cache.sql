-- Multi-level prediction cache: L1 in shared memory, L2 in Redis (writes to the primary, reads
-- from replicas), L3 the prediction store. See docs/cache.md.

-- Per row (loading the store computes it for every row) and names nothing: no SET search_path
-- clause, which made it 7x slower (0.7 s against 0.1 s for a million rows).
CREATE FUNCTION ai_scale.input_hash(input jsonb) RETURNS bigint
    LANGUAGE c IMMUTABLE PARALLEL SAFE STRICT
    AS 'MODULE_PATHNAME', 'ai_scale_input_hash';
COMMENT ON FUNCTION ai_scale.input_hash(jsonb) IS
    'XXH3-64 of the jsonb binary with every number at its minimal scale, as stored in the prediction store''s input_hash column';

-- The prediction store L3 reads (ai_scale.store_table), resolved as cache_get resolves it;
-- null when there is none or the caller may not read it (USAGE on its schema, SELECT on it).
CREATE FUNCTION ai_scale._readable_store() RETURNS regclass
    LANGUAGE c STABLE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_readable_store';

-- The table a value of ai_scale.store_table names, resolved as the setting is (a name without a
-- schema in public); null when none. For _store_last_version.
CREATE FUNCTION ai_scale._store_named(name text) RETURNS regclass
    LANGUAGE c STABLE STRICT
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_store_named';

-- Per row, like predict and score: no SET search_path clause (entering and leaving one costs
-- about as much as an L1 hit); its store lookup runs under a search_path pinned in C.
-- COST 100, as predict(): an L1 miss costs a Redis round trip, and at COST 1 the planner
-- evaluated it before cheaper filters.
-- The cache functions are PARALLEL RESTRICTED, run by the leader of a parallel query only: a
-- worker would open Redis connections of its own for one query, and it gets the leader's
-- settings as their text, which for ai_scale.redis_password is a mask (the password is kept in
-- the setting's extra): it could not authenticate, and its failures count toward the breaker
-- every backend shares (sql/extension.sql lists every function's label).
CREATE FUNCTION ai_scale.cache_get(model text, version int, input jsonb) RETURNS jsonb
    LANGUAGE c VOLATILE PARALLEL RESTRICTED COST 100
    AS 'MODULE_PATHNAME', 'ai_scale_cache_get';
COMMENT ON FUNCTION ai_scale.cache_get(text, int, jsonb) IS
    'cached output for the input, looked up in L1, then Redis, then the prediction store; null on a miss';

-- COST 100, as cache_get: at least one Redis round trip when L1 misses.
CREATE FUNCTION ai_scale.cache_get_many(model text, version int, inputs jsonb[]) RETURNS jsonb[]
    LANGUAGE c VOLATILE PARALLEL RESTRICTED COST 100
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_cache_get_many';
COMMENT ON FUNCTION ai_scale.cache_get_many(text, int, jsonb[]) IS
    'cache_get for many inputs: one Redis round trip (per 1000 keys) for all L1 misses; null elements are misses';

-- A Redis write: COST 100, as cache_get.
CREATE FUNCTION ai_scale.cache_put(model text, version int, input jsonb, output jsonb,
                                   ttl interval DEFAULT NULL) RETURNS void
    LANGUAGE c VOLATILE PARALLEL RESTRICTED COST 100
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_cache_put';
COMMENT ON FUNCTION ai_scale.cache_put(text, int, jsonb, jsonb, interval) IS
    'stores output in L1 and Redis for ttl (default ai_scale.cache_ttl)';
-- Whoever may put can make every reader see a wrong prediction: granted explicitly.
REVOKE ALL ON FUNCTION ai_scale.cache_put(text, int, jsonb, jsonb, interval) FROM PUBLIC;

CREATE FUNCTION ai_scale.cache_invalidate(model text, version int DEFAULT NULL) RETURNS void
    LANGUAGE c VOLATILE PARALLEL RESTRICTED
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_cache_invalidate';
COMMENT ON FUNCTION ai_scale.cache_invalidate(text, int) IS
    'makes every cached output of one version of the model (with a null version, the '
    'default: of every version) unreachable, in O(1)';
REVOKE ALL ON FUNCTION ai_scale.cache_invalidate(text, int) FROM PUBLIC;

-- VOLATILE, as pg_is_in_recovery(): a promotion changes the answer within a statement.
CREATE FUNCTION ai_scale.node_role() RETURNS text
    LANGUAGE c VOLATILE PARALLEL SAFE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_node_role';
COMMENT ON FUNCTION ai_scale.node_role() IS 'primary, or standby while the server is in recovery';

CREATE FUNCTION ai_scale.redis_status(
        OUT endpoint text, OUT configured_as text, OUT reported_role text, OUT breaker text,
        OUT failures int, OUT trips bigint, OUT last_error text, OUT last_error_at timestamptz,
        OUT last_latency_ms float8)
    RETURNS SETOF record
    LANGUAGE c VOLATILE
    SET search_path = pg_catalog, pg_temp
    AS 'MODULE_PATHNAME', 'ai_scale_redis_status';
COMMENT ON FUNCTION ai_scale.redis_status() IS
    'each configured Redis endpoint: the role it reports, its circuit breaker, last error and latency';
