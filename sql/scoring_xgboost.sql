-- import_xgboost: models trained by XGBoost 1.7.4 (test/scoring/make_xgboost_reference.py)
-- score like XGBoost itself did, within float32 tolerance, missing values included.
SET client_min_messages = warning;
\i sql/include/try.sql
\getenv abs_srcdir PG_ABS_SRCDIR
\set data :abs_srcdir '/test/data/scoring/'
CREATE TEMP TABLE xgb_files AS
SELECT name, pg_read_file(:'data' || name || '.json')::jsonb AS model,
       pg_read_file(:'data' || name || '_cases.jsonl') AS cases
FROM (VALUES ('xgb_logistic'), ('xgb_regression')) AS t(name);
CREATE TEMP TABLE xgb_cases AS
SELECT name, (c->>'id')::int AS id, c->'input' AS input, (c->>'expected')::float8 AS expected
FROM xgb_files, regexp_split_to_table(rtrim(cases, E'\n'), E'\n') AS line, jsonb(line) AS c;
SELECT name, count(*) AS cases, count(*) FILTER (WHERE input::text NOT LIKE '%,%,%,%,%') AS with_missing
FROM xgb_cases GROUP BY name ORDER BY name;

SELECT name, ai_scale.import_xgboost(name, model) AS version FROM xgb_files ORDER BY name;
SELECT model_name, kind, features, params->>'objective' AS objective,
       jsonb_array_length(params->'trees') AS trees
FROM ai_scale.models WHERE model_name LIKE 'xgb_%' ORDER BY model_name;

-- Every form agrees with XGBoost's predictions.
SELECT name, count(*) AS n,
       max(abs(ai_scale.score(name, input) - expected) / greatest(1, abs(expected))) < 2e-6 AS score_ok
FROM xgb_cases GROUP BY name ORDER BY name;
SELECT name, bool_and(abs(s - expected) / greatest(1, abs(expected)) < 2e-6) AS batch_ok
FROM (SELECT name, unnest(ai_scale.score_batch(name, array_agg(input ORDER BY id))) AS s,
             unnest(array_agg(expected ORDER BY id)) AS expected
      FROM xgb_cases GROUP BY name) x GROUP BY name ORDER BY name;
-- Bit for bit: the base margin first, then the trees in order, in float, as XGBoost adds them.
SELECT name, count(*) FILTER (WHERE ai_scale.score(name, input) = expected) AS score_equal
FROM xgb_cases GROUP BY name ORDER BY name;
SET ai_scale.score_batch_rows = 64;
SELECT count(*) AS n, max(abs(w - expected) / greatest(1, abs(expected))) < 2e-6 AS window_ok
FROM (SELECT expected, ai_scale.score_batched('xgb_regression', input) OVER () AS w
      FROM xgb_cases WHERE name = 'xgb_regression') x;
RESET ai_scale.score_batch_rows;
-- A gbdt model takes missing features (absent keys, json null) down their default branch.
SELECT ai_scale.score('xgb_logistic', '{}') = ai_scale.score('xgb_logistic', '{"age": null}') AS empty_ok;

-- A JSON number is the float of the nearest double, as XGBoost's numpy float32() reads it:
-- doubles at or a unit next to a float midpoint, on stumps at that very float, take XGBoost's
-- side of every split (each stump adds its own power of two, so the sums are exact).
CREATE TEMP TABLE tie_cases AS
SELECT (c->>'id')::int AS id, c->'input' AS input, (c->>'expected')::float8 AS expected
FROM regexp_split_to_table(rtrim(pg_read_file(:'data' || 'xgb_float_ties_cases.jsonl'), E'\n'), E'\n') AS line,
     jsonb(line) AS c;
SELECT ai_scale.import_xgboost('xgb_float_ties', pg_read_file(:'data' || 'xgb_float_ties.json')::jsonb);
SELECT count(*) AS cases,
       count(*) FILTER (WHERE ai_scale.score('xgb_float_ties', input) = expected) AS score_equal
FROM tie_cases;
SELECT count(*) FILTER (WHERE s = expected) AS batch_equal
FROM (SELECT unnest(ai_scale.score_batch('xgb_float_ties', array_agg(input ORDER BY id))) AS s,
             unnest(array_agg(expected ORDER BY id)) AS expected FROM tie_cases) x;
SELECT count(*) FILTER (WHERE w = expected) AS window_equal
FROM (SELECT expected, ai_scale.score_batched('xgb_float_ties', input) OVER (ORDER BY id) AS w
      FROM tie_cases) x;
SELECT ai_scale.drop_model('xgb_float_ties');

-- binary:logistic scores with XGBoost's own sigmoid, whose exponent is capped at 88.7: a
-- margin below -88.7 scores 1 / (1 + e^88.7) (3.0e-39), not 0; equal bit for bit.
CREATE TEMP TABLE tail_cases AS
SELECT (c->>'id')::int AS id, c->'input' AS input, (c->>'expected')::float8 AS expected,
       (c->>'margin')::float8 AS margin
FROM regexp_split_to_table(rtrim(pg_read_file(:'data' || 'xgb_sigmoid_tail_cases.jsonl'), E'\n'), E'\n') AS line,
     jsonb(line) AS c;
SELECT ai_scale.import_xgboost('xgb_sigmoid_tail', pg_read_file(:'data' || 'xgb_sigmoid_tail.json')::jsonb);
SELECT id, margin, ai_scale.score('xgb_sigmoid_tail', input) = expected AS score_equal,
       b = expected AS batch_equal, w = expected AS window_equal
FROM tail_cases
JOIN unnest((SELECT ai_scale.score_batch('xgb_sigmoid_tail', array_agg(input ORDER BY id)) FROM tail_cases))
     WITH ORDINALITY AS b(b, bid) ON bid = id
JOIN (SELECT id AS wid, ai_scale.score_batched('xgb_sigmoid_tail', input) OVER (ORDER BY id) AS w
      FROM tail_cases) w ON wid = id
ORDER BY id;
SELECT ai_scale.drop_model('xgb_sigmoid_tail');

-- Our own names for the features instead of the dump's.
SELECT ai_scale.import_xgboost('xgb_renamed', model, ARRAY['a', 'b', 'c', 'd', 'e'])
FROM xgb_files WHERE name = 'xgb_logistic';
SELECT bool_and(ai_scale.score('xgb_renamed',
                    (SELECT jsonb_object_agg(CASE key WHEN 'age' THEN 'a' WHEN 'income' THEN 'b'
                                                 WHEN 'tenure' THEN 'c' WHEN 'visits' THEN 'd' ELSE 'e' END, value)
                     FROM jsonb_each(input))) = ai_scale.score('xgb_logistic', input)) AS renamed_ok
FROM xgb_cases WHERE name = 'xgb_logistic';

-- register_model takes XGBoost's tree objects as they are dumped, the keys it does not read
-- included (an unknown key is refused: sql/scoring_catalog.sql), and scores them as
-- import_xgboost's model does.
SELECT ai_scale.register_model('xgb_trees_as_dumped', 'gbdt',
           (SELECT features FROM ai_scale.models WHERE model_name = 'xgb_logistic'),
           jsonb_build_object('objective', 'binary:logistic',
                              'base_score', (SELECT params->'base_score' FROM ai_scale.models
                                              WHERE model_name = 'xgb_logistic'),
                              'trees', model #> '{learner,gradient_booster,model,trees}'))
FROM xgb_files WHERE name = 'xgb_logistic';
SELECT bool_and(ai_scale.score('xgb_trees_as_dumped', input) = ai_scale.score('xgb_logistic', input))
           AS as_dumped_ok
FROM xgb_cases WHERE name = 'xgb_logistic';
SELECT ai_scale.drop_model('xgb_trees_as_dumped');

-- Feature names holding a backslash or a quote are kept as the dump has them (written bare into
-- the params, "c:\temp" was read back as c:<TAB>emp, and the model scored another key).
SELECT ai_scale.import_xgboost('xgb_escaped',
    jsonb_set(jsonb_set(model, '{learner,feature_names,0}', '"c:\\temp"'),
              '{learner,feature_names,1}', '"say \"hi\""'))
FROM xgb_files WHERE name = 'xgb_logistic';
SELECT features[1:2] FROM ai_scale.models WHERE model_name = 'xgb_escaped';
SELECT bool_and(ai_scale.score('xgb_escaped',
                    (SELECT jsonb_object_agg(CASE key WHEN 'age' THEN 'c:\temp' WHEN 'income' THEN 'say "hi"'
                                                 ELSE key END, value)
                     FROM jsonb_each(input))) = ai_scale.score('xgb_logistic', input)) AS escaped_ok
FROM xgb_cases WHERE name = 'xgb_logistic';

-- A model trained with early stopping keeps every tree, as Booster.predict scores; a NOTICE
-- says that the predict of scikit-learn and of R stops at the best round (the scores differed
-- from theirs, and nothing said so).
SET client_min_messages = notice;
SELECT ai_scale.import_xgboost('xgb_stopped', jsonb_set(model, '{learner,attributes}',
                               '{"best_iteration": "1", "best_score": "0.4"}'))
FROM xgb_files WHERE name = 'xgb_logistic';
-- The best round may be the first (round 0).
SELECT ai_scale.import_xgboost('xgb_stopped_first', jsonb_set(model, '{learner,attributes}',
                               '{"best_iteration": "0", "best_score": "0.5"}'))
FROM xgb_files WHERE name = 'xgb_logistic';
SET client_min_messages = warning;
SELECT bool_and(ai_scale.score('xgb_stopped', input) = ai_scale.score('xgb_logistic', input)) AS every_tree
FROM xgb_cases WHERE name = 'xgb_logistic';

-- Malformed dumps are refused, and nothing is registered.
SELECT count(*) AS models_before FROM ai_scale.models \gset
SELECT ai_scale.import_xgboost('bad', '{"learner": {}}');
-- A null or empty name is refused as such, before the dump is read.
SELECT pg_temp.try($$SELECT ai_scale.import_xgboost(NULL, '{"learner": {}}')$$) AS null_name;
SELECT pg_temp.try($$SELECT ai_scale.import_xgboost('', '{"learner": {}}')$$) AS empty_name;
SELECT pg_temp.try(format('SELECT ai_scale.import_xgboost(%L, %L)', 'bad', doc)) FROM (VALUES
    ('[1, 2]'::jsonb),
    ((SELECT jsonb_set(model, '{learner,objective,name}', '"multi:softprob"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_class}', '"3"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_class}', '"2"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,name}', '"gblinear"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,trees,3,split_indices,0}', '9') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,trees,0,left_children,0}', '100') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,trees,0,split_conditions}', '[1]') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT model #- '{learner,gradient_booster,model,trees,1,default_left}' FROM xgb_files WHERE name = 'xgb_logistic')),
    -- A string where a tree holds numbers is not a number (it was "not a finite number").
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,trees,0,split_conditions,0}', '"1.5"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,base_score}', '"abc"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,base_score}', '"nan"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,base_score}', '"inf"') FROM xgb_files WHERE name = 'xgb_regression')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_class}', '"nan"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_feature}', '"5.5"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,name}', '"dart"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,feature_types}', '["float", "c", "float", "float", "float"]') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,tree_info,0}', '1') FROM xgb_files WHERE name = 'xgb_logistic')),
    -- Several targets (their trees would be summed into one wrong score), no trees, a feature
    -- count out of range, feature names that are not strings.
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_target}', '"2"') FROM xgb_files WHERE name = 'xgb_regression')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,trees}', '[]') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_feature}', '"0"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_feature}', '"10001"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,feature_names}', '["age", 1, "tenure", "visits", "score"]') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((repeat('[', 300) || repeat(']', 300))::jsonb),
    -- Children swapped: XGBoost's predictor takes the node after the left child as the right
    -- one, and would score this dump otherwise than its right_children say.
    ((SELECT jsonb_set(jsonb_set(model, '{learner,gradient_booster,model,trees,0,left_children,0}', '2'),
                       '{learner,gradient_booster,model,trees,0,right_children,0}', '1')
        FROM xgb_files WHERE name = 'xgb_logistic'))
) AS bad(doc);
SELECT pg_temp.try($$SELECT ai_scale.import_xgboost('bad', (SELECT model FROM xgb_files WHERE name = 'xgb_logistic'), ARRAY['a'])$$);
SELECT count(*) = :models_before AS nothing_registered FROM ai_scale.models;

SELECT ai_scale.drop_model(n) FROM unnest(ARRAY['xgb_logistic', 'xgb_regression', 'xgb_renamed', 'xgb_escaped']) n;
