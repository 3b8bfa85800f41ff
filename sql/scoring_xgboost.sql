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
SET ai_scale.score_batch_rows = 64;
SELECT count(*) AS n, max(abs(w - expected) / greatest(1, abs(expected))) < 2e-6 AS window_ok
FROM (SELECT expected, ai_scale.score_batched('xgb_regression', input) OVER () AS w
      FROM xgb_cases WHERE name = 'xgb_regression') x;
RESET ai_scale.score_batch_rows;
-- A gbdt model takes missing features (absent keys, json null) down their default branch.
SELECT ai_scale.score('xgb_logistic', '{}') = ai_scale.score('xgb_logistic', '{"age": null}') AS empty_ok;

-- Our own names for the features instead of the dump's.
SELECT ai_scale.import_xgboost('xgb_renamed', model, ARRAY['a', 'b', 'c', 'd', 'e'])
FROM xgb_files WHERE name = 'xgb_logistic';
SELECT bool_and(ai_scale.score('xgb_renamed',
                    (SELECT jsonb_object_agg(CASE key WHEN 'age' THEN 'a' WHEN 'income' THEN 'b'
                                                 WHEN 'tenure' THEN 'c' WHEN 'visits' THEN 'd' ELSE 'e' END, value)
                     FROM jsonb_each(input))) = ai_scale.score('xgb_logistic', input)) AS renamed_ok
FROM xgb_cases WHERE name = 'xgb_logistic';

-- Malformed dumps are refused, and nothing is registered.
SELECT count(*) AS models_before FROM ai_scale.models \gset
SELECT ai_scale.import_xgboost('bad', '{"learner": {}}');
SELECT pg_temp.try(format('SELECT ai_scale.import_xgboost(%L, %L)', 'bad', doc)) FROM (VALUES
    ('[1, 2]'::jsonb),
    ((SELECT jsonb_set(model, '{learner,objective,name}', '"multi:softprob"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_class}', '"3"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,name}', '"gblinear"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,trees,3,split_indices,0}', '9') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,trees,0,left_children,0}', '100') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,trees,0,split_conditions}', '[1]') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT model #- '{learner,gradient_booster,model,trees,1,default_left}' FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,base_score}', '"abc"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,base_score}', '"nan"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,base_score}', '"inf"') FROM xgb_files WHERE name = 'xgb_regression')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_class}', '"nan"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,learner_model_param,num_feature}', '"5.5"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,name}', '"dart"') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,feature_types}', '["float", "c", "float", "float", "float"]') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((SELECT jsonb_set(model, '{learner,gradient_booster,model,tree_info,0}', '1') FROM xgb_files WHERE name = 'xgb_logistic')),
    ((repeat('[', 300) || repeat(']', 300))::jsonb)
) AS bad(doc);
SELECT pg_temp.try($$SELECT ai_scale.import_xgboost('bad', (SELECT model FROM xgb_files WHERE name = 'xgb_logistic'), ARRAY['a'])$$);
SELECT count(*) = :models_before AS nothing_registered FROM ai_scale.models;

SELECT ai_scale.drop_model(n) FROM unnest(ARRAY['xgb_logistic', 'xgb_regression', 'xgb_renamed']) n;
