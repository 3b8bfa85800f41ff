-- Every model kind, every SQL form, and feature extraction, checked against formulas computed
-- independently in SQL (float8) within float32 tolerance.
SET client_min_messages = warning;
\i sql/include/try.sql

-- 200 inputs with four features of varied magnitude and sign, in a table.
CREATE TABLE kinds_input AS
SELECT i AS id,
       jsonb_build_object('x1', round((sin(i) * 3)::numeric, 4),
                          'x2', round((cos(i * 0.7) * 100)::numeric, 2),
                          'long_feature_name', (i % 7) - 3,
                          'flag', (i % 3 = 0),
                          'unused', 'text is fine where no feature reads it') AS input
FROM generate_series(1, 200) AS i;

SELECT ai_scale.register_model('k_lin', 'linear', ARRAY['x1', 'x2', 'long_feature_name', 'flag'],
    '{"weights": [0.5, -0.02, 1.25, 2], "bias": -0.75}');
SELECT ai_scale.register_model('k_log', 'logistic', ARRAY['x2', 'x1', 'flag', 'long_feature_name'],
    '{"weights": [0.01, -0.8, 1.5, 0.3], "bias": 0.2}');
-- 4 -> 3 (relu) -> 2 (tanh) -> 1 (sigmoid)
SELECT ai_scale.register_model('k_mlp', 'mlp', ARRAY['x1', 'x2', 'long_feature_name', 'flag'],
    '{"layers": [
        {"weights": [[0.5, 0.01, -0.3, 1], [-0.2, 0.02, 0.4, -1], [0.1, -0.01, 0.2, 0.5]],
         "bias": [0.1, -0.2, 0.3], "activation": "relu"},
        {"weights": [[1, -1, 0.5], [-0.5, 0.25, 1]], "bias": [0, 0.1], "activation": "tanh"},
        {"weights": [[2, -1.5]], "bias": [0.05], "activation": "sigmoid"}]}');

-- Independent float8 formulas in SQL.
CREATE TEMP VIEW kinds_reference AS
SELECT id, input,
       -0.75 + 0.5 * x1 - 0.02 * x2 + 1.25 * lf + 2 * fl AS lin,
       1 / (1 + exp(-(0.2 + 0.01 * x2 - 0.8 * x1 + 1.5 * fl + 0.3 * lf))) AS log,
       1 / (1 + exp(-(0.05 + 2 * tanh(h1 - h2 + 0.5 * h3)
                             - 1.5 * tanh(0.1 - 0.5 * h1 + 0.25 * h2 + h3)))) AS mlp
FROM (SELECT id, input, x1, x2, lf, fl,
             greatest(0, 0.1 + 0.5 * x1 + 0.01 * x2 - 0.3 * lf + fl) AS h1,
             greatest(0, -0.2 - 0.2 * x1 + 0.02 * x2 + 0.4 * lf - fl) AS h2,
             greatest(0, 0.3 + 0.1 * x1 - 0.01 * x2 + 0.2 * lf + 0.5 * fl) AS h3
      FROM (SELECT id, input, (input->>'x1')::float8 AS x1, (input->>'x2')::float8 AS x2,
                   (input->>'long_feature_name')::float8 AS lf,
                   CASE WHEN (input->>'flag')::boolean THEN 1.0 ELSE 0.0 END AS fl
            FROM kinds_input) s) t;

-- score(): worst error relative to max(1, |reference|), for each kind.
SELECT max(abs(ai_scale.score('k_lin', input) - lin) / greatest(1, abs(lin))) < 1e-5 AS lin_ok,
       max(abs(ai_scale.score('k_log', input) - log)) < 1e-6 AS log_ok,
       max(abs(ai_scale.score('k_mlp', input) - mlp)) < 1e-6 AS mlp_ok,
       count(DISTINCT round(ai_scale.score('k_mlp', input)::numeric, 4)) > 50 AS mlp_varies
FROM kinds_reference;

-- score_batch() over an array agrees with score() row by row, nulls included.
SELECT bool_and(b IS NOT DISTINCT FROM s) AS batch_matches, count(*) AS n,
       count(*) FILTER (WHERE b IS NULL) AS nulls
FROM (SELECT unnest(ai_scale.score_batch('k_log', array_agg(CASE WHEN id % 50 = 0 THEN NULL ELSE input END ORDER BY id))) AS b,
             unnest(array_agg(ai_scale.score('k_log', CASE WHEN id % 50 = 0 THEN NULL ELSE input END) ORDER BY id)) AS s
      FROM kinds_input) x;
SELECT ai_scale.score_batch('k_lin', ARRAY[]::jsonb[]) AS empty_batch;
-- The scores keep the inputs' subscripts (as array_replace keeps them), so that scores[i] is the
-- score of inputs[i]: an array from 5 (or from -1) came back from 1.
SELECT array_lower(s, 1) AS lower, array_upper(s, 1) AS upper, s[5] = ai_scale.score('k_lin', '{"x1": 1, "x2": 2, "long_feature_name": 0, "flag": true}') AS fifth,
       s[6] IS NULL AS sixth
FROM (SELECT ai_scale.score_batch('k_lin',
                 '[5:6]={"{\"x1\": 1, \"x2\": 2, \"long_feature_name\": 0, \"flag\": true}",NULL}'::jsonb[]) s) b;
SELECT array_lower(s, 1) AS lower, array_upper(s, 1) AS upper
FROM (SELECT ai_scale.score_batch('k_log', array_fill('{"x1": 1, "x2": 2, "long_feature_name": 0, "flag": true}'::jsonb,
                                                      ARRAY[3], ARRAY[-1])) s) b;
-- An error names the element by its subscript too (it said "inputs element 2" here).
SELECT pg_temp.try($$SELECT ai_scale.score_batch('k_lin', '[5:6]={"{\"x1\": 1, \"x2\": 2, \"long_feature_name\": 0, \"flag\": true}","{\"x1\": 1}"}'::jsonb[])$$) AS sixth_named;

-- The window form scores a query's rows in batches; small batches cross several boundaries.
SET ai_scale.score_batch_rows = 7;
SELECT count(*) AS n, max(abs(w - lin) / greatest(1, abs(lin))) < 1e-5 AS window_ok
FROM (SELECT lin, ai_scale.score_batched('k_lin', input) OVER () AS w FROM kinds_reference) x;
SELECT count(*) AS n, max(abs(w - mlp)) < 1e-6 AS window_ok_with_order
FROM (SELECT mlp, ai_scale.score_batched('k_mlp', input, 1) OVER (ORDER BY id DESC) AS w
      FROM kinds_reference) x;
-- One value per partition row, partitions scored separately.
SELECT id % 2 AS part, count(*), bool_and(w = ai_scale.score('k_log', input)) AS same
FROM (SELECT id, input, ai_scale.score_batched('k_log', input) OVER (PARTITION BY id % 2) AS w
      FROM kinds_input) x GROUP BY 1 ORDER BY 1;
RESET ai_scale.score_batch_rows;
SELECT pg_temp.try($$SELECT ai_scale.score_batched(CASE WHEN id > 0 THEN 'k_lin' END, input) OVER () FROM kinds_input$$);
-- A wide model's batch is cut to what fits in work_mem (64kB / (2000 features x 4 bytes) = 8
-- rows here), whatever score_batch_rows says; the largest setting on a few rows costs only
-- those rows.
SELECT ai_scale.register_model('k_wide', 'linear',
    (SELECT array_agg('w' || i) FROM generate_series(1, 2000) i),
    jsonb_build_object('weights', (SELECT jsonb_agg(i % 3) FROM generate_series(1, 2000) i),
                       'defaults', (SELECT jsonb_object_agg('w' || i, 1) FROM generate_series(1, 2000) i)));
SET work_mem = '64kB';
SET ai_scale.score_batch_rows = 1048576;
SELECT ai_scale.reset_stats();
SELECT count(*) AS n, bool_and(w = 1999 + 3 * id) AS wide_ok
FROM (SELECT id, ai_scale.score_batched('k_wide', jsonb_build_object('w1', id + 1, 'w2', id)) OVER (ORDER BY id) AS w
      FROM generate_series(1, 20) id) x;
SELECT value AS batches FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'samples';
RESET ai_scale.score_batch_rows;
RESET work_mem;
-- score_batch() sizes its rows by the non-null elements: many nulls around one input.
SELECT cardinality(b) AS n, b[1] IS NULL AS first_null, b[30001] AS scored, b[60001] IS NULL AS last_null
FROM (SELECT ai_scale.score_batch('k_wide',
          array_fill(NULL::jsonb, ARRAY[30000]) || '{"w1": 2, "w2": 1}'::jsonb
          || array_fill(NULL::jsonb, ARRAY[30000])) AS b) x;

-- Multi-output: an mlp whose last layer has two units.
SELECT ai_scale.register_model('k_two', 'mlp', ARRAY['a', 'b'],
    '{"layers": [{"weights": [[1, 2], [3, -4]], "bias": [0.5, 0], "activation": "identity"}]}');
SELECT ai_scale.score_multi('k_two', '{"a": 1, "b": 0.25}') AS two_outputs;
SELECT ai_scale.score_multi('k_lin', '{"x1": 1, "x2": 0, "long_feature_name": 0, "flag": false}') AS one_output;
SELECT ai_scale.score('k_two', '{"a": 1, "b": 0.25}');
-- score_multi_batch: a row an element, a column an output, the same outputs as score_multi
-- (1 + 0.5 + 0.5 = 2 and 3 - 1 = 2 for the first; the bias alone, 0.5 and 0, for zeros);
-- a null element gives a row of nulls; the rows keep the inputs' subscripts.
SELECT ai_scale.score_multi_batch('k_two',
    ARRAY['{"a": 1, "b": 0.25}', NULL, '{"a": 0, "b": 0}']::jsonb[]) AS rows_of_outputs;
SELECT m AS from_five, array_dims(m)
FROM (SELECT ai_scale.score_multi_batch('k_two',
          '[5:6]={"{\"a\": 2, \"b\": 1}", NULL}'::jsonb[]) AS m) x;
-- A model of one output: a column of one, equal to score_batch's.
SELECT m, m[2][1] = (ai_scale.score_batch('k_lin', i))[2] AS same_as_score_batch
FROM (SELECT i, ai_scale.score_multi_batch('k_lin', i) AS m
      FROM (SELECT ARRAY['{"x1": 1, "x2": 0, "long_feature_name": 0, "flag": false}',
                   '{"x1": 2, "x2": 1, "long_feature_name": 1, "flag": true}']::jsonb[] AS i) a) x;
-- Nothing to score: an empty array, one of nulls only (its rows null), a null array.
SELECT ai_scale.score_multi_batch('k_two', '{}'::jsonb[]) AS empty,
       ai_scale.score_multi_batch('k_two', ARRAY[NULL, NULL]::jsonb[]) AS nulls_only,
       ai_scale.score_multi_batch('k_two', NULL::jsonb[]) AS null_array;
-- Refused as score_batch refuses: an array of two dimensions (2202E), an element that is no
-- object (22023, named by its subscript).
SELECT ai_scale.score_multi_batch('k_two', ARRAY[['{}', '{}']]::jsonb[]);
SELECT ai_scale.score_multi_batch('k_two', '[3:4]={"{\"a\": 1, \"b\": 1}", "[1]"}'::jsonb[]);
-- score_batch refuses a model of several outputs and names the function that scores them.
SELECT ai_scale.score_batch('k_two', ARRAY['{}'::jsonb]);

-- Extraction: numbers of every shape numeric stores, booleans, key order, extra keys.
SELECT ai_scale.register_model('k_id', 'linear', ARRAY['v'], '{"weights": [1]}');
SELECT v, ai_scale.score('k_id', jsonb_build_object('v', v)) AS scored,
       abs(ai_scale.score('k_id', jsonb_build_object('v', v)) - v::float8) <= 1e-6 * greatest(1, abs(v::float8)) AS ok
FROM (VALUES (0::numeric), (1), (-1), (0.5), (12345.6789), (-0.000123), (1e20), (-3.25e-7),
             (10000), (99999999), (1.00000001), (123456789012345678901234567890)) AS t(v);
SELECT ai_scale.score('k_id', '{"v": true}') AS true_is_1, ai_scale.score('k_id', '{"v": false}') AS false_is_0;
-- Keys are matched by name whatever the order or the other keys.
SELECT ai_scale.score('k_lin', '{"flag": 1, "zzz": [1, 2], "long_feature_name": 2, "x2": 50, "x1": 4, "a": {}}') =
       ai_scale.score('k_lin', '{"x1": 4, "x2": 50, "long_feature_name": 2, "flag": true}') AS order_free;
-- Null inputs give null; a missing feature without a default is an error naming it.
SELECT ai_scale.score('k_lin', NULL) IS NULL AS null_input, ai_scale.score(NULL, '{}') IS NULL AS null_model;
SELECT ai_scale.score('k_lin', '{"x1": 1, "x2": 2, "flag": true}');
SELECT ai_scale.score('k_lin', '{"x1": 1, "x2": "2", "long_feature_name": 0, "flag": true}');
SELECT ai_scale.score('k_lin', '[1, 2, 3]');
SELECT ai_scale.score_batch('k_lin', ARRAY['{"x1": 1, "x2": 2, "long_feature_name": 0, "flag": true}',
                                           '{"x1": 1, "x2": {"a": 1}, "long_feature_name": 0, "flag": true}']::jsonb[]);
SELECT ai_scale.score('k_id', '{"v": 1e39}');
\echo :LAST_ERROR_SQLSTATE
-- So is one whose digits have a zero where 10000^k is past double range (1.00000001e316, say):
-- read as NaN, it failed the sum instead of the feature, and a gbdt took it for a missing value
-- and scored its default branch.
SELECT ai_scale.score('k_id', '{"v": 100000001e308}');
\echo :LAST_ERROR_SQLSTATE
SELECT ai_scale.register_model('k_big_gbdt', 'gbdt', ARRAY['v'],
    '{"trees": [{"left_children": [1, -1, -1], "right_children": [2, -1, -1],
                 "split_indices": [0, 0, 0], "split_conditions": [0, 1, 2],
                 "default_left": [1, 0, 0]}]}') AS v \gset
SELECT ai_scale.score('k_big_gbdt', '{"v": -100000001e308}');
\echo :LAST_ERROR_SQLSTATE
SELECT ai_scale.score('k_big_gbdt', '{}') AS missing_goes_left;
SELECT pg_temp.try($$SELECT ai_scale.score('k_lin', '{"x1": 1, "x2": 2, "long_feature_name": null, "flag": true}')$$) AS json_null_is_missing;
SELECT pg_temp.try($$SELECT ai_scale.score_batched('k_lin', input) OVER () FROM (VALUES ('{"x1": 1}'::jsonb)) v(input)$$) AS window_error;
-- Declared defaults fill missing (or null) features.
SELECT ai_scale.register_model('k_def', 'linear', ARRAY['a', 'b'],
    '{"weights": [1, 10], "defaults": {"b": 0.5}}');
SELECT ai_scale.score('k_def', '{"a": 1}') AS default_used, ai_scale.score('k_def', '{"a": 1, "b": null}') AS null_uses_default,
       ai_scale.score('k_def', '{"a": 1, "b": 2}') AS given;
SELECT pg_temp.try($$SELECT ai_scale.score('k_def', '{"b": 1}')$$) AS no_default_for_a;

-- Scores are float4 sums on the CPU and the GPU alike; a sum that overflows is refused with
-- 22003 rather than returned as NaN or infinity.
SELECT ai_scale.register_model('k_over', 'linear', ARRAY['a', 'b'], '{"weights": [2, -2]}');
SELECT ai_scale.register_model('k_over_log', 'logistic', ARRAY['a', 'b'], '{"weights": [2, -2]}');
SELECT ai_scale.score('k_over', '{"a": 1e38, "b": 0}') AS large_but_finite;
SELECT pg_temp.try(stmt) FROM (VALUES
    ($$SELECT ai_scale.score('k_over', '{"a": 3e38, "b": 3e38}')$$),
    ($$SELECT ai_scale.score('k_over', '{"a": 3e38, "b": 0}')$$),
    ($$SELECT ai_scale.score('k_over_log', '{"a": 3e38, "b": 3e38}')$$),
    ($$SELECT ai_scale.score_multi('k_over', '{"a": 3e38, "b": 3e38}')$$),
    ($$SELECT ai_scale.score_batch('k_over', ARRAY['{"a": 1, "b": 1}', '{"a": 3e38, "b": 3e38}']::jsonb[])$$),
    ($$SELECT ai_scale.score_batched('k_over', x) OVER () FROM (VALUES ('{"a": 1, "b": 1}'::jsonb), ('{"a": -3e38, "b": 0}')) v(x)$$)
) AS over(stmt);
SELECT ai_scale.score_batch('k_over', ARRAY['{"a": 1e38, "b": 1e38}']::jsonb[]) AS finite_batch;
-- A single input is "the input" (it was "Row 1 of the batch", where there is no batch).
SELECT ai_scale.score('k_over', '{"a": 3e38, "b": 3e38}');
-- The error names the input, as for a feature: null elements (rows) are not in the batch
-- scored, and the third element (row) was named "Row 2 of the batch".
SELECT ai_scale.score_batch('k_over', ARRAY[NULL, '{"a": 2, "b": 1}', '{"a": 3e38, "b": 3e38}']::jsonb[]);
-- Subscript 0 is named too (both errors said "inputs element", no number).
SELECT ai_scale.score_batch('k_over', '[0:1]={"{\"a\": 3e38, \"b\": 3e38}","{\"a\": 1, \"b\": 1}"}'::jsonb[]);
-- And the lowest subscript Postgres allows, -2147483648 (it was named "Inputs element
-- 2147483648": the offset from subscript 1 overflowed int).
SELECT ai_scale.score_batch('k_over', '[-2147483648:-2147483647]={"{\"a\": 3e38, \"b\": 3e38}",NULL}'::jsonb[]);
SELECT pg_temp.try($$SELECT ai_scale.score_batch('k_over', '[0:1]={"{\"a\": 1}","{\"a\": 1, \"b\": 1}"}'::jsonb[])$$) AS zeroth_named;
SELECT ai_scale.score_batched('k_over', x) OVER ()
FROM (VALUES ('{"a": 1, "b": 1}'::jsonb), (NULL), ('{"a": -3e38, "b": 0}')) v(x);
-- Also where an activation follows the overflowed sum: sigmoid(inf) = 1, tanh(inf) = 1, relu(-inf)
-- = 0 and XGBoost's sigmoid of an infinite margin = 1 were returned as scores, where the exact
-- sums here are 0 (scores 0.5, 0, 1 and 0.5).
SELECT ai_scale.register_model('k_over_sig', 'logistic', ARRAY['a', 'b', 'c', 'd'],
    '{"weights": [1e38, 1e38, -1e38, -1e38]}');
SELECT ai_scale.register_model('k_over_tanh', 'mlp', ARRAY['a', 'b', 'c', 'd'],
    '{"layers": [{"weights": [[1e38, 1e38, -1e38, -1e38]], "activation": "tanh"}]}');
SELECT ai_scale.register_model('k_over_relu', 'mlp', ARRAY['a', 'b', 'c', 'd'],
    '{"layers": [{"weights": [[-1e38, -1e38, 1e38, 1e38]], "bias": [1], "activation": "relu"}]}');
SELECT ai_scale.register_model('k_over_gbdt', 'gbdt', ARRAY['a'], jsonb_build_object(
    'objective', 'binary:logistic', 'trees', (SELECT jsonb_agg(jsonb_build_object(
        'left_children', '[-1]'::jsonb, 'right_children', '[-1]'::jsonb, 'split_indices', '[0]'::jsonb,
        'default_left', '[0]'::jsonb, 'split_conditions', jsonb_build_array(leaf)) ORDER BY i)
    FROM (VALUES (1, 3e38), (2, 3e38), (3, -3e38), (4, -3e38)) l(i, leaf))));
SELECT pg_temp.try(stmt) FROM (VALUES
    ($$SELECT ai_scale.score('k_over_sig', '{"a": 3, "b": 3, "c": 3, "d": 3}')$$),
    ($$SELECT ai_scale.score('k_over_tanh', '{"a": 3, "b": 3, "c": 3, "d": 3}')$$),
    ($$SELECT ai_scale.score_multi('k_over_relu', '{"a": 3, "b": 3, "c": 3, "d": 3}')$$),
    ($$SELECT ai_scale.score('k_over_gbdt', '{}')$$),
    ($$SELECT ai_scale.score_batch('k_over_sig', ARRAY['{"a": 3, "b": 3, "c": 3, "d": 3}']::jsonb[])$$),
    ($$SELECT ai_scale.score_batched('k_over_gbdt', x) OVER () FROM (VALUES ('{}'::jsonb)) v(x)$$)
) AS squashed(stmt);

-- A cancel or statement_timeout stops a long batch while it is scored, not after it: 500
-- chains of 100 splits walked for 100000 rows take seconds.
SELECT ai_scale.register_model('k_slow', 'gbdt', ARRAY['x'], jsonb_build_object('trees',
    (SELECT jsonb_agg(t) FROM generate_series(1, 500) g, LATERAL (
        SELECT jsonb_build_object(
            'left_children', jsonb_agg(CASE WHEN i % 2 = 0 AND i < 200 THEN i + 1 ELSE -1 END ORDER BY i),
            'right_children', jsonb_agg(CASE WHEN i % 2 = 0 AND i < 200 THEN i + 2 ELSE -1 END ORDER BY i),
            'split_indices', jsonb_agg(0 ORDER BY i),
            'split_conditions', jsonb_agg(CASE WHEN i % 2 = 0 AND i < 200 THEN 0 WHEN i = 200 THEN 0.002 ELSE 0.001 END ORDER BY i),
            'default_left', jsonb_agg(0 ORDER BY i))
        FROM generate_series(0, 200) i) tr(t))));
SELECT round(ai_scale.score('k_slow', '{"x": 1}')::numeric, 4) AS deepest_leaves,
       round(ai_scale.score('k_slow', '{"x": -1}')::numeric, 4) AS first_leaves;
CREATE TEMP TABLE kinds_many AS SELECT '{"x": 1}'::jsonb AS input FROM generate_series(1, 100000);
CREATE FUNCTION pg_temp.cancel_time(stmt text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    t0 timestamptz := clock_timestamp();
BEGIN
    EXECUTE stmt;
    RETURN 'finished';
EXCEPTION WHEN query_canceled THEN
    RETURN CASE WHEN clock_timestamp() - t0 < interval '2 s' THEN 'canceled promptly' ELSE 'canceled late' END;
END $$;
SET ai_scale.score_batch_rows = 100000;
SET statement_timeout = '200ms';
SELECT pg_temp.cancel_time($$SELECT ai_scale.score_batch('k_slow', array_agg(input)) FROM kinds_many$$) AS score_batch;
SELECT pg_temp.cancel_time($$SELECT sum(w) FROM (SELECT ai_scale.score_batched('k_slow', input) OVER () AS w FROM kinds_many) x$$) AS score_batched;
RESET statement_timeout;
RESET ai_scale.score_batch_rows;
DROP TABLE kinds_many;

-- Scoring is counted in the stats view.
SELECT ai_scale.reset_stats();
SELECT ai_scale.score_batch('k_lin', array_agg(input)) IS NOT NULL FROM kinds_input;
SELECT value AS rows_cpu FROM ai_scale.stats WHERE section = 'scoring' AND metric = 'rows_cpu';

-- The documented limits, at the bound and one past it: an mlp of 64 layers, 256 inputs, 256
-- units a layer; 10,000 features (checked before anything is registered). The GPU module checks
-- the same bounds (gpu/model_check.hpp).
CREATE FUNCTION pg_temp.layer(n_in int, n_out int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'weights', (SELECT jsonb_agg((SELECT jsonb_agg(1) FROM generate_series(1, n_in)))
                      FROM generate_series(1, n_out)),
        'bias', (SELECT jsonb_agg(0) FROM generate_series(1, n_out)), 'activation', 'identity')
$$;
CREATE FUNCTION pg_temp.features(n int) RETURNS text[] LANGUAGE sql AS $$
    SELECT array_agg('f' || i ORDER BY i) FROM generate_series(1, n) i
$$;
SELECT bound, pg_temp.try(format('SELECT ai_scale.register_model(%L, %L, %L, %L)',
                                 'k_limit', kind, features, params)) AS registered
FROM (VALUES
    ('64 layers', 'mlp', ARRAY['a'],
     jsonb_build_object('layers', (SELECT jsonb_agg(pg_temp.layer(1, 1)) FROM generate_series(1, 64)))),
    ('65 layers', 'mlp', ARRAY['a'],
     jsonb_build_object('layers', (SELECT jsonb_agg(pg_temp.layer(1, 1)) FROM generate_series(1, 65)))),
    ('256 inputs', 'mlp', pg_temp.features(256), jsonb_build_object('layers', jsonb_build_array(pg_temp.layer(256, 1)))),
    ('257 inputs', 'mlp', pg_temp.features(257), jsonb_build_object('layers', jsonb_build_array(pg_temp.layer(257, 1)))),
    ('256 units', 'mlp', ARRAY['a'], jsonb_build_object('layers', jsonb_build_array(pg_temp.layer(1, 256), pg_temp.layer(256, 1)))),
    ('257 units', 'mlp', ARRAY['a'], jsonb_build_object('layers', jsonb_build_array(pg_temp.layer(1, 257), pg_temp.layer(257, 1)))),
    ('10000 features', 'linear', pg_temp.features(10000),
     jsonb_build_object('weights', (SELECT jsonb_agg(1) FROM generate_series(1, 10000)))),
    ('10001 features', 'linear', pg_temp.features(10001),
     jsonb_build_object('weights', (SELECT jsonb_agg(1) FROM generate_series(1, 10001))))
) AS limits(bound, kind, features, params);
-- The models at the bound score: 64 identity layers pass 2 through; 256 units of 1 sum to 256.
SELECT ai_scale.score('k_limit', '{"a": 2}', 1) AS deep, ai_scale.score('k_limit', '{"a": 1}', 3) AS wide;
SELECT count(*) AS registered_at_the_bounds FROM ai_scale.models WHERE model_name = 'k_limit';

SELECT ai_scale.drop_model(n) FROM unnest(ARRAY['k_lin', 'k_log', 'k_mlp', 'k_two', 'k_id', 'k_def', 'k_wide', 'k_slow', 'k_over', 'k_over_log', 'k_limit']) n;
DROP VIEW kinds_reference;
DROP TABLE kinds_input;
