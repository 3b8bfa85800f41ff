-- Model catalog: registration, versions, activation, dropping, validation.
\set VERBOSITY default
SET client_min_messages = warning;

\i sql/include/try.sql

SELECT ai_scale.register_model('cat_lin', 'linear', ARRAY['a', 'b'],
                               '{"weights": [1, 2], "bias": 0.5}');
SELECT ai_scale.register_model('cat_lin', 'linear', ARRAY['a', 'b'],
                               '{"weights": [10, 20]}');
-- A third version registered without activating it.
SELECT ai_scale.register_model('cat_lin', 'linear', ARRAY['a', 'b'],
                               '{"weights": [100, 200]}', activate => false);
SELECT model_name, model_version, kind, features, active FROM ai_scale.models
    WHERE model_name = 'cat_lin' ORDER BY model_version;

-- The active version scores unless a version is named.
SELECT ai_scale.score('cat_lin', '{"a": 1, "b": 1}') AS active_v2,
       ai_scale.score('cat_lin', '{"a": 1, "b": 1}', 1) AS v1,
       ai_scale.score('cat_lin', '{"a": 1, "b": 1}', 3) AS v3;
-- So for every form of scoring.
SELECT ai_scale.score_batched('cat_lin', x) OVER () AS batched_active_v2,
       ai_scale.score_batched('cat_lin', x, 1) OVER () AS batched_v1,
       ai_scale.score_batched('cat_lin', x, 3) OVER () AS batched_v3
FROM (VALUES ('{"a": 1, "b": 1}'::jsonb)) v(x);
SELECT ai_scale.score_batch('cat_lin', ARRAY['{"a": 1, "b": 1}']::jsonb[], 1) AS batch_v1,
       ai_scale.score_multi('cat_lin', '{"a": 1, "b": 1}', 3) AS multi_v3;

-- Switching the active version is seen by the next statement of this backend (the cache of
-- compiled models is invalidated when the catalog changes).
SELECT ai_scale.set_active_version('cat_lin', 3);
SELECT ai_scale.score('cat_lin', '{"a": 1, "b": 1}') AS active_v3;
SELECT ai_scale.set_active_version('cat_lin', 1);
SELECT ai_scale.score('cat_lin', '{"a": 1, "b": 1}') AS active_v1;
-- Even a direct UPDATE of the catalog is noticed.
UPDATE ai_scale.models SET params = '{"weights": [1000, 2000]}'
    WHERE model_name = 'cat_lin' AND model_version = 1;
SELECT ai_scale.score('cat_lin', '{"a": 1, "b": 1}') AS updated_v1;
-- A rolled back change leaves the old model in force.
BEGIN;
SELECT ai_scale.set_active_version('cat_lin', 2);
SELECT ai_scale.score('cat_lin', '{"a": 1, "b": 1}') AS inside_txn_v2;
ROLLBACK;
SELECT ai_scale.score('cat_lin', '{"a": 1, "b": 1}') AS after_rollback_v1;
-- So does a rolled back savepoint, and an exception block that catches an error after the
-- change: what was compiled inside is not scored after.
BEGIN;
SAVEPOINT s;
SELECT ai_scale.set_active_version('cat_lin', 2);
SELECT ai_scale.score('cat_lin', '{"a": 1, "b": 1}') AS inside_savepoint_v2;
ROLLBACK TO SAVEPOINT s;
SELECT ai_scale.score('cat_lin', '{"a": 1, "b": 1}') AS after_rollback_to_v1;
COMMIT;
CREATE FUNCTION pg_temp.scored_around_block(OUT inside float8, OUT after float8)
LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM ai_scale.set_active_version('cat_lin', 2);
    inside := ai_scale.score('cat_lin', '{"a": 1, "b": 1}');
    RAISE EXCEPTION 'rolled back';
  EXCEPTION WHEN raise_exception THEN NULL;
  END;
  after := ai_scale.score('cat_lin', '{"a": 1, "b": 1}');
END $$;
SELECT * FROM pg_temp.scored_around_block();

-- Dropping one version, then all.
SELECT ai_scale.drop_model('cat_lin', 3);
SELECT model_version FROM ai_scale.models WHERE model_name = 'cat_lin' ORDER BY 1;
SELECT ai_scale.drop_model('cat_lin');
SELECT count(*) FROM ai_scale.models WHERE model_name = 'cat_lin';
-- A dropped version's number is never given again: the cache and the store key predictions by
-- name and version, and would serve the dropped model's outputs as the new one's.
SELECT ai_scale.register_model('cat_lin', 'linear', ARRAY['a'], '{"weights": [100]}') AS next_version;
SELECT ai_scale.drop_model('cat_lin');
-- A registration rolled back gives its number again; what was cached under it meanwhile
-- (cache writes are not transactional) does not answer for the model registered next.
BEGIN;
SELECT ai_scale.register_model('cat_rb', 'linear', ARRAY['a'], '{"weights": [1]}') AS version;
SELECT ai_scale.cache_put('cat_rb', 1, '{"a": 3}', '{"score": 3}');
SELECT ai_scale.cache_get('cat_rb', 1, '{"a": 3}') AS cached_inside;
ROLLBACK;
SELECT ai_scale.register_model('cat_rb', 'linear', ARRAY['a'], '{"weights": [100]}') AS version;
SELECT ai_scale.cache_get('cat_rb', 1, '{"a": 3}') AS cached_after;
SELECT ai_scale.drop_model('cat_rb');

-- A cursor WITH HOLD is computed at its transaction's commit with the version its snapshot
-- shows, whatever the transaction did to the model after declaring it: fetched after the model
-- is dropped, it returns those rows.
SELECT ai_scale.register_model('cat_hold', 'linear', ARRAY['a'], '{"weights": [2]}') AS version;
BEGIN;
DECLARE cat_held CURSOR WITH HOLD FOR
    SELECT i, ai_scale.score('cat_hold', jsonb_build_object('a', i)) AS score
    FROM generate_series(1, 3) i;
FETCH 1 FROM cat_held;
SELECT ai_scale.register_model('cat_hold', 'linear', ARRAY['a'], '{"weights": [100]}') AS version;
COMMIT;
SELECT ai_scale.drop_model('cat_hold');
FETCH ALL FROM cat_held;
CLOSE cat_held;

-- A name whose last version is the highest an int may be has no number left to give.
SELECT ai_scale.register_model('cat_last', 'linear', ARRAY['a'], '{"weights": [1]}') AS version;
UPDATE ai_scale.model_last_versions SET last_version = 2147483647 WHERE model_name = 'cat_last';
SELECT pg_temp.try($$SELECT ai_scale.register_model('cat_last', 'linear', ARRAY['a'],
                                                    '{"weights": [2]}')$$);
SELECT model_version FROM ai_scale.models WHERE model_name = 'cat_last';
SELECT ai_scale.drop_model('cat_last');

-- The catalog is part of a dump.
SELECT c.relname, e.extname
FROM pg_extension e, unnest(e.extconfig) AS cfg(oid) JOIN pg_class c ON c.oid = cfg.oid
WHERE e.extname = 'ai_scale' AND c.relname IN ('models', 'model_last_versions') ORDER BY 1;

-- Unknown models and versions.
SELECT ai_scale.score('no_such_model', '{"a": 1}');
SELECT ai_scale.register_model('cat_one', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT ai_scale.score('cat_one', '{"a": 1}', 7);
SELECT pg_temp.try($$SELECT ai_scale.score('cat_one', '{"a": 1}', 0)$$);
SELECT pg_temp.try($$SELECT ai_scale.set_active_version('cat_one', 9)$$);
SELECT pg_temp.try($$SELECT ai_scale.drop_model('cat_one', 9)$$);
-- A version below 1 is 22023 in the catalog functions too, as in score() (it was 42704 there).
SELECT pg_temp.try($$SELECT ai_scale.set_active_version('cat_one', 0)$$);
SELECT pg_temp.try($$SELECT ai_scale.drop_model('cat_one', -2147483648)$$);
SELECT pg_temp.try($$SELECT ai_scale.drop_model('nothing_here')$$);
-- A model with no version at all does not exist (as score() says), whatever version is named.
SELECT pg_temp.try($$SELECT ai_scale.set_active_version('nothing_here', 1)$$);
SELECT pg_temp.try($$SELECT ai_scale.drop_model('nothing_here', 1)$$);
-- A null name or version is 22004, as in the cache's and predict's functions.
SELECT pg_temp.try($$SELECT ai_scale.register_model(NULL, 'linear', ARRAY['a'], '{"weights": [1]}')$$);
SELECT pg_temp.try($$SELECT ai_scale.set_active_version(NULL, 1)$$);
SELECT pg_temp.try($$SELECT ai_scale.set_active_version('cat_one', NULL)$$);
SELECT pg_temp.try($$SELECT ai_scale.drop_model(NULL)$$);
-- A null version to drop_model too: it dropped every version, the active one included (a
-- clean-up query whose subquery found no old version); drop_model(name) does that, and the
-- model is still there.
SELECT pg_temp.try($$SELECT ai_scale.drop_model('cat_one', (SELECT max(model_version)
                        FROM ai_scale.models WHERE model_name = 'cat_one' AND model_version > 99))$$);
SELECT count(*) AS versions FROM ai_scale.models WHERE model_name = 'cat_one';
SELECT pg_temp.try($$SELECT ai_scale.drop_model(NULL, NULL)$$);
SELECT ai_scale.register_model('cat_gone', 'linear', ARRAY['a'], '{"weights": [1]}') AS version;
SELECT ai_scale.drop_model(name => 'cat_gone') AS dropped;
-- So are null features, params, kind or dump.
SELECT pg_temp.try($$SELECT ai_scale.register_model('cat_null', 'linear', NULL, '{"weights": [1]}')$$);
SELECT pg_temp.try($$SELECT ai_scale.register_model('cat_null', 'linear', ARRAY['a'], NULL)$$);
SELECT pg_temp.try($$SELECT ai_scale.register_model('cat_null', NULL, ARRAY['a'], '{"weights": [1]}')$$);
SELECT pg_temp.try($$SELECT ai_scale.import_xgboost('cat_null', NULL)$$);
-- An empty name is 22023 in every catalog function, as in register_model (no model can have it).
SELECT pg_temp.try($$SELECT ai_scale.register_model('', 'linear', ARRAY['a'], '{"weights": [1]}')$$);
SELECT pg_temp.try($$SELECT ai_scale.set_active_version('', 1)$$);
SELECT pg_temp.try($$SELECT ai_scale.drop_model('')$$);
SELECT pg_temp.try($$SELECT ai_scale.drop_model('', 1)$$);
-- So it is where a model is scored or cached: score(''), predict('') and predict_batch('')
-- answered 42704 (model "" does not exist) where cache_get('') answered 22023.
SELECT pg_temp.try($$SELECT ai_scale.score('', '{"a": 1}')$$);
SELECT pg_temp.try($$SELECT ai_scale.predict('', '{"a": 1}')$$);
SELECT pg_temp.try($$SELECT ai_scale.predict_batch('', ARRAY['{"a": 1}'::jsonb])$$);
SELECT pg_temp.try($$SELECT ai_scale.cache_get('', 1, '{"a": 1}')$$);
-- A name of more than 1024 bytes is 22001 when registered: one of about 2.7 kB registered, and
-- every predict() of it failed on the store's index (54000). 1024 bytes register and predict.
SELECT pg_temp.try($$SELECT ai_scale.register_model(repeat('n', 1025), 'linear', ARRAY['a'], '{"weights": [1]}')$$);
SELECT pg_temp.try($$SELECT ai_scale.import_xgboost(repeat('n', 1025), '{}')$$);
-- 1024 bytes of hex digits, which compress little (the index would hold a compressed name).
SELECT string_agg(md5(i::text), '') AS long_name FROM generate_series(1, 32) i \gset
SELECT ai_scale.create_prediction_store('public.cat_long_store', premake => 1) IS NOT NULL AS store;
SET ai_scale.store_table = 'public.cat_long_store';
SELECT ai_scale.register_model(:'long_name', 'linear', ARRAY['a'], '{"weights": [1]}') AS longest_name;
SELECT ai_scale.predict(:'long_name', '{"a": 2}') ->> 'score' AS longest_name_predicts;
SELECT count(*) AS stored FROM public.cat_long_store;
SELECT ai_scale.drop_model(:'long_name');
RESET ai_scale.store_table;
SELECT ai_scale.unmanage_partitions('public.cat_long_store');
DROP TABLE public.cat_long_store;
UPDATE ai_scale.models SET active = false WHERE model_name = 'cat_one';
SELECT ai_scale.score('cat_one', '{"a": 1}');

-- Features given from another subscript are stored from 1: features[1] is the first (it was
-- stored as given, '[0:1]={a,b}', where features[1] was b).
SELECT ai_scale.register_model('cat_lower', 'linear', '[0:1]={a,b}'::text[], '{"weights": [1, 2]}');
SELECT features, features[1] AS first FROM ai_scale.models WHERE model_name = 'cat_lower';
SELECT ai_scale.score('cat_lower', '{"a": 1, "b": 0}') AS weight_of_a;
-- Features of more than one dimension are 2202E, as inputs of more than one dimension are in
-- score_batch (it was 22023).
SELECT pg_temp.try($$SELECT ai_scale.register_model('cat_2d', 'linear', ARRAY[['a'], ['b']], '{"weights": [1, 2]}')$$);
SELECT pg_temp.try($$SELECT ai_scale.score_batch('cat_lower', ARRAY[['{"a": 1}'::jsonb]])$$);
SELECT ai_scale.drop_model('cat_lower');

-- Validation: each bad registration is refused with 22023 and writes nothing.
SELECT count(*) AS models_before FROM ai_scale.models \gset
SELECT ai_scale.register_model('bad', 'forest', ARRAY['a'], '{}');
SELECT ai_scale.register_model('bad', 'linear', ARRAY['a', 'b'], '{"weights": [1]}');
-- A value of the wrong JSON type is named in a DETAIL that is a sentence.
SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '[1]');
SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '{"weights": "1"}');
-- A base_score whose margin is infinite (every score overflowed, 22003) is refused now.
SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"objective": "binary:logistic",
    "base_score": 1e-39, "trees": [{"left_children": [-1], "right_children": [-1],
    "split_indices": [0], "split_conditions": [1], "default_left": [0]}]}');
-- A split on a feature the model does not have says how many it has ("1 feature", "2 features").
SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": [{"left_children": [1, -1,
    -1], "right_children": [2, -1, -1], "split_indices": [1, 0, 0], "split_conditions": [0, 1, 2],
    "default_left": [0, 0, 0]}]}');
SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a', 'b'], '{"trees": [{"left_children": [1,
    -1, -1], "right_children": [2, -1, -1], "split_indices": [2, 0, 0], "split_conditions": [0, 1,
    2], "default_left": [0, 0, 0]}]}');
SELECT pg_temp.try(stmt) FROM (VALUES
    ($$SELECT ai_scale.register_model('', 'linear', ARRAY['a'], '{"weights": [1]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY[]::text[], '{"weights": []}')$$),
    -- (empty weights with features: refused by count, not read as weights per class)
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '{"weights": []}')$$),
    ($$SELECT ai_scale.register_model('bad', 'logistic', ARRAY['a', 'b'], '{"weights": []}')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a', 'a'], '{"weights": [1, 2]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a', NULL], '{"weights": [1, 2]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '[1]')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '{"weights": ["x"]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'logistic', ARRAY['a', 'b'], '{"weights": [[1, -1]]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '{"weights": [1e300]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '{"weights": [1], "bias": "NaN"}')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '{"weights": [1], "wieghts": [1]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'linear', ARRAY['a'], '{"weights": [1], "defaults": {"z": 1}}')$$),
    ($$SELECT ai_scale.register_model('bad', 'mlp', ARRAY['a'], '{"layers": []}')$$),
    ($$SELECT ai_scale.register_model('bad', 'mlp', ARRAY['a'], '{"layers": [{"weights": [[1, 2]]}]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'mlp', ARRAY['a'], '{"layers": [{"weights": [[1]], "activation": "softmax"}]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'mlp', ARRAY['a'], '{"layers": [{"weights": [[1]], "bias": [1, 2]}]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'mlp', ARRAY['a'], format('{"layers": [{"weights": %s}]}', (SELECT json_agg(json_build_array(1)) FROM generate_series(1, 300)))::jsonb)$$),
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": []}')$$),
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"objective": "multi:softprob", "trees": [{}]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": [{"left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [3, 0, 0], "split_conditions": [0.5, 1, 2], "default_left": [0, 0, 0]}]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": [{"left_children": [1, -1, -1], "right_children": [5, -1, -1], "split_indices": [0, 0, 0], "split_conditions": [0.5, 1, 2], "default_left": [0, 0, 0]}]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": [{"left_children": [1, 1, -1], "right_children": [1, 2, -1], "split_indices": [0, 0, 0], "split_conditions": [0.5, 1, 2], "default_left": [0, 0, 0]}]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": [{"left_children": [1, -1], "right_children": [2, -1], "split_indices": [0, 0], "split_conditions": [0.5, 1], "default_left": [0, 0]}]}')$$),
    -- A child that is the root is a cycle, not an index out of range (as it was called).
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": [{"left_children": [0, -1, -1], "right_children": [2, -1, -1], "split_indices": [0, 0, 0], "split_conditions": [1, 2, 3], "default_left": [1, 0, 0]}]}')$$),
    -- An unknown key in a tree (a misspelt split_type) was ignored.
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": [{"left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [0, 0, 0], "split_conditions": [1, 2, 3], "default_left": [0, 0, 0], "split_types": [1, 0, 0]}]}')$$),
    -- default_left other than 0 or 1 (or a boolean) was read as "left".
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"trees": [{"left_children": [1, -1, -1], "right_children": [2, -1, -1], "split_indices": [0, 0, 0], "split_conditions": [1, 2, 3], "default_left": [-7, 0, 0]}]}')$$),
    ($$SELECT ai_scale.register_model('bad', 'gbdt', ARRAY['a'], '{"objective": "binary:logistic", "base_score": 1, "trees": [{"left_children": [-1], "right_children": [-1], "split_indices": [0], "split_conditions": [1], "default_left": [0]}]}')$$)
) AS bad(stmt);
SELECT count(*) = :models_before AS nothing_registered FROM ai_scale.models;

SELECT ai_scale.drop_model('cat_one');

-- score() has no SET search_path clause (for speed); its catalog read is still immune to
-- objects a user puts ahead of pg_catalog.
CREATE SCHEMA cat_evil;
CREATE FUNCTION cat_evil.texteq_evil(text, text) RETURNS boolean LANGUAGE plpgsql AS
    $$BEGIN RAISE EXCEPTION 'hijacked'; END$$;
CREATE OPERATOR cat_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = cat_evil.texteq_evil);
SELECT ai_scale.register_model('cat_sp', 'linear', ARRAY['a'], '{"weights": [2]}');
SET search_path = cat_evil, pg_catalog, public;
SELECT 'x'::text = 'x'::text AS hijacked_here;
SELECT ai_scale.score('cat_sp', '{"a": 4}') AS scored_safely;
RESET search_path;
SELECT ai_scale.drop_model('cat_sp');
DROP SCHEMA cat_evil CASCADE;

-- Anyone may score; registering needs write access to the catalog, granted by its owner.
CREATE ROLE cat_scorer;
CREATE ROLE cat_admin;
GRANT INSERT, UPDATE, DELETE ON ai_scale.models TO cat_admin;
GRANT INSERT, UPDATE ON ai_scale.model_last_versions TO cat_admin;
SELECT ai_scale.register_model('cat_priv', 'linear', ARRAY['a'], '{"weights": [3]}');
SET ROLE cat_scorer;
SELECT ai_scale.score('cat_priv', '{"a": 2}') AS scorer_scores;
SELECT pg_temp.try($$SELECT ai_scale.register_model('cat_priv', 'linear', ARRAY['a'], '{"weights": [4]}')$$) AS scorer_registers;
-- A role with INSERT on the catalog alone is refused before anything is read or written, told
-- what it lacks and what to grant (it met Postgres's bare "permission denied for table models").
RESET ROLE;
CREATE ROLE cat_half;
GRANT INSERT ON ai_scale.models TO cat_half;
SET ROLE cat_half;
\set SHOW_CONTEXT never
SELECT ai_scale.register_model('cat_priv', 'linear', ARRAY['a'], '{"weights": [5]}');
SELECT ai_scale.import_xgboost('cat_priv', '{}');
\set SHOW_CONTEXT errors
RESET ROLE;
REVOKE ALL ON ai_scale.models FROM cat_half;
DROP ROLE cat_half;
SET ROLE cat_scorer;
-- Nor drop or activate one: refused naming the right, before the model is looked at.
\set SHOW_CONTEXT never
SELECT ai_scale.drop_model('cat_priv');
SELECT ai_scale.set_active_version('cat_priv', 1);
\set SHOW_CONTEXT errors
-- The helpers that parse a model document refuse before reading it.
SELECT pg_temp.try($$SELECT ai_scale._xgboost_params('{"learner": {}}')$$) AS scorer_imports;
SELECT pg_temp.try($$SELECT ai_scale._validate_model('linear', ARRAY['a'], '{"weights": [4]}')$$) AS scorer_validates;
-- Nor may it make a version's cached outputs unreachable through the trigger's helper, which
-- PUBLIC may call: cache_invalidate is revoked from it.
SELECT pg_temp.try($$SELECT ai_scale._version_registered('cat_priv', 1)$$) AS scorer_invalidates;
-- Also through a plan made while a role that may register was current: the right is checked
-- when the call runs (declared IMMUTABLE, the call was folded into the plan, and its check
-- with it).
SET ROLE cat_admin;
PREPARE cat_validate AS SELECT ai_scale._validate_model('linear', ARRAY['a'], '{"weights": [4]}');
EXECUTE cat_validate;
SET ROLE cat_scorer;
SELECT pg_temp.try('EXECUTE cat_validate') AS scorer_validates_prepared;
DEALLOCATE cat_validate;
SET ROLE cat_admin;
SELECT ai_scale.register_model('cat_priv', 'linear', ARRAY['a'], '{"weights": [4]}') AS admin_registers;
SELECT ai_scale.drop_model('cat_priv');
RESET ROLE;
REVOKE ALL ON ai_scale.models, ai_scale.model_last_versions FROM cat_admin;
DROP ROLE cat_scorer;
DROP ROLE cat_admin;

-- A model stays alive while it scores, even when evaluating the input changes the catalog
-- and the nested score() drops the backend's compiled copies (a use-after-free before).
SELECT ai_scale.register_model('cat_lin2', 'linear', ARRAY['a', 'b'], '{"weights": [2, 3], "bias": 1}');
SELECT ai_scale.register_model('cat_wide', 'linear',
    (SELECT array_agg('feat_' || i) FROM generate_series(1, 5000) i),
    jsonb_build_object('weights', (SELECT jsonb_agg(1) FROM generate_series(1, 5000)),
                       'defaults', (SELECT jsonb_object_agg('feat_' || i, 0) FROM generate_series(1, 5000) i)));
CREATE TABLE cat_rows AS SELECT i AS id FROM generate_series(1, 10) i;
CREATE FUNCTION cat_reregister(j jsonb) RETURNS jsonb VOLATILE LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ai_scale.register_model('cat_inv', 'linear', ARRAY['zz'], '{"weights": [1]}');
    PERFORM ai_scale.score('cat_wide', j);
    RETURN j;
END $$;
SET ai_scale.score_batch_rows = 4;
SELECT id, ai_scale.score_batched('cat_lin2', cat_reregister(jsonb_build_object('a', id, 'b', 0))) OVER (ORDER BY id)
FROM cat_rows ORDER BY id;
RESET ai_scale.score_batch_rows;
SELECT ai_scale.score_batch('cat_lin2', ARRAY[cat_reregister('{"a": 1, "b": 1}')]) AS batch_after_reregister;
SELECT count(*) AS cat_inv_versions FROM ai_scale.models WHERE model_name = 'cat_inv';
SELECT ai_scale.drop_model(n) FROM unnest(ARRAY['cat_lin2', 'cat_wide', 'cat_inv']) n;
DROP FUNCTION cat_reregister(jsonb);
DROP TABLE cat_rows;

-- In a parallel query, the leader and the workers read the catalog with the query's snapshot
-- and take no new one (Postgres forbids it there): score(), score_multi() and score_batched()
-- over a table large enough for a parallel plan raised "cannot update SecondarySnapshot during
-- a parallel operation" before.
SELECT ai_scale.register_model('cat_par', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');
CREATE TABLE cat_par_rows AS SELECT i AS id, jsonb_build_object('a', i) AS attrs
FROM generate_series(1, 2000) i;
ANALYZE cat_par_rows;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
EXPLAIN (COSTS OFF) SELECT sum(ai_scale.score('cat_par', attrs)) FROM cat_par_rows;
SELECT sum(ai_scale.score('cat_par', attrs)) AS parallel_sum,
       sum((ai_scale.score_multi('cat_par', attrs))[1]) AS parallel_multi_sum
FROM cat_par_rows;
SET force_parallel_mode = on;
SELECT sum(s) AS batched_sum
FROM (SELECT ai_scale.score_batched('cat_par', attrs) OVER () AS s FROM cat_par_rows) x;
RESET force_parallel_mode;
RESET max_parallel_workers_per_gather;
RESET min_parallel_table_scan_size;
RESET parallel_tuple_cost;
RESET parallel_setup_cost;
SELECT ai_scale.drop_model('cat_par');
DROP TABLE cat_par_rows;

-- Parsing a large model stops at a cancel or statement_timeout, not when it is done: the C++
-- parser checks for interrupts every 4096 values. Given 10 ms for a document of a million
-- numbers (a quarter of a second to parse here), the timeout interrupts the parse; before, the
-- call ran to its end and the timeout never came (its own error, 22023, came instead). Terse:
-- on a slow machine the timeout may land before the parse, which is right too. Not a temporary
-- table: under force_parallel_mode, the document (a TOAST pointer into the table, passed on by
-- register_model once its plans are generic) is read by a parallel worker, which cannot read a
-- temporary table, and the file failed with 25000 instead.
CREATE TABLE big_params AS
  SELECT jsonb_build_object('weights', jsonb_build_array(1), 'junk', jsonb_agg(i)) AS p
  FROM generate_series(1, 1000000) i;
\set VERBOSITY terse
SET statement_timeout = '10ms';
SELECT ai_scale.register_model('big_params', 'linear', ARRAY['a'], p) FROM big_params;
RESET statement_timeout;
\set VERBOSITY default
DROP TABLE big_params;

-- A row written into the catalog directly skips register_model's validation: it is checked
-- when a backend compiles it, and scoring it fails with XX001 (docs/scoring.md, The catalog).
INSERT INTO ai_scale.models (model_name, model_version, kind, features, params, active)
VALUES ('cat_by_hand', 1, 'linear', ARRAY['a'], '{"weights": [1, 2, 3]}', true);
SELECT pg_temp.try($$SELECT ai_scale.score('cat_by_hand', '{"a": 1}')$$);
DELETE FROM ai_scale.models WHERE model_name = 'cat_by_hand';
-- A null feature name so written is named as null (it was "feature names must not be empty").
INSERT INTO ai_scale.models (model_name, model_version, kind, features, params, active)
VALUES ('cat_null_feature', 1, 'linear', ARRAY['a', NULL], '{"weights": [1, 2]}', true);
SELECT pg_temp.try($$SELECT ai_scale.score('cat_null_feature', '{"a": 1}')$$);
DELETE FROM ai_scale.models WHERE model_name = 'cat_null_feature';
-- Features of two dimensions so written are named so (they were "feature name 1 is null").
INSERT INTO ai_scale.models (model_name, model_version, kind, features, params, active)
VALUES ('cat_2d_features', 1, 'linear', '{{a,b},{c,d}}', '{"weights": [1, 1, 1, 1]}', true);
SELECT pg_temp.try($$SELECT ai_scale.score('cat_2d_features', '{"a": 1}')$$);
DELETE FROM ai_scale.models WHERE model_name = 'cat_2d_features';
