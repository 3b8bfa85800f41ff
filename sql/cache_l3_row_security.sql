-- The L3 lookup is a query on the store as the caller: row-level security applies to it as to
-- any query (docs/cache.md, Security). Under a policy a caller sees only its rows; with
-- row_security = off the lookup fails with Postgres's own 42501 rather than skipping the
-- policy (or quietly skipping L3).
\i sql/include/try.sql
SET ai_scale.cache_use_l1 = off;
SET ai_scale.redis_primary = '';
SET ai_scale.store_table = 'public.rls_store';
CREATE TABLE public.rls_store (
    model_name text NOT NULL,
    model_version int NOT NULL,
    input_data jsonb NOT NULL,
    output_data jsonb,
    input_hash bigint NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
) PARTITION BY RANGE (created_at);
CREATE TABLE public.rls_store_default PARTITION OF public.rls_store DEFAULT;
INSERT INTO public.rls_store (model_name, model_version, input_data, output_data, input_hash)
VALUES ('rls_model', 1, '{"f": 1}', '{"p": 1}', ai_scale.input_hash('{"f": 1}')),
       ('rls_hidden', 1, '{"f": 1}', '{"p": 2}', ai_scale.input_hash('{"f": 1}'));
ALTER TABLE public.rls_store ENABLE ROW LEVEL SECURITY;
CREATE POLICY rls_only_rls_model ON public.rls_store USING (model_name = 'rls_model');
CREATE ROLE ai_scale_rls_reader;
GRANT SELECT ON public.rls_store TO ai_scale_rls_reader;

SET ROLE ai_scale_rls_reader;
-- The policy lets the reader see rls_model's row, not rls_hidden's.
SELECT ai_scale.cache_get('rls_model', 1, '{"f": 1}') AS visible,
       ai_scale.cache_get('rls_hidden', 1, '{"f": 1}') AS hidden;
SET row_security = off;
SELECT pg_temp.try($$SELECT ai_scale.cache_get('rls_model', 1, '{"f": 1}')$$) AS cache_get,
       pg_temp.try($$SELECT ai_scale.cache_get_many('rls_model', 1, ARRAY['{"f": 1}'::jsonb])$$) AS cache_get_many;
RESET row_security;
RESET ROLE;

-- The owner is not subject to its table's policies (no FORCE): row_security = off is no error.
SET row_security = off;
SELECT ai_scale.cache_get('rls_hidden', 1, '{"f": 1}') AS owner_sees;
RESET row_security;

DROP TABLE public.rls_store;
DROP ROLE ai_scale_rls_reader;
RESET ai_scale.store_table;
RESET ai_scale.redis_primary;
RESET ai_scale.cache_use_l1;
