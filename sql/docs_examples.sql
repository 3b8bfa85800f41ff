-- The docs as a contract: the examples of docs/predict.md, docs/scoring.md, docs/cache.md and
-- docs/partitioning.md run as written there (with the repository's models for their model
-- files), and every public function, table and view says in \df+ / \dt+ what it is.
SET client_min_messages = warning;
\i sql/include/try.sql

-- Every object of the extension not named with a leading underscore has a comment.
SELECT p.oid::regprocedure AS function_without_comment
FROM pg_proc p
WHERE p.pronamespace = 'ai_scale'::regnamespace AND p.proname !~ '^_'
  AND obj_description(p.oid, 'pg_proc') IS NULL
ORDER BY 1;
SELECT c.oid::regclass AS relation_without_comment
FROM pg_class c
WHERE c.relnamespace = 'ai_scale'::regnamespace AND c.relkind IN ('r', 'v', 'p')
  AND c.relname !~ '^_' AND obj_description(c.oid, 'pg_class') IS NULL
ORDER BY 1;

-- docs/predict.md, Walkthrough (and docs/partitioning.md, Quick start). Reads from the Redis
-- primary, so that what a statement wrote is read back at once.
SET ai_scale.redis_read_from = 'primary';
SELECT ai_scale.reset_stats();
SELECT ai_scale.create_prediction_store();    -- public.model_predictions, partitioned by day
\getenv abs_srcdir PG_ABS_SRCDIR
\set model `cat :'abs_srcdir'/test/data/scoring/xgb_regression.json`
SELECT ai_scale.import_xgboost('house', :'model');

SELECT ai_scale.predict('house', '{"f0": 1.5, "f1": -1.7, "f2": 1.8, "f3": -3.0, "f4": 1.3, "f5": 1.9}');
SELECT ai_scale.predict('house', '{"f0": 1.5, "f1": -1.7, "f2": 1.8, "f3": -3.0, "f4": 1.3, "f5": 1.9}');

CREATE TABLE requests (id bigint PRIMARY KEY, features jsonb);
INSERT INTO requests VALUES (1, '{"f0": 0.5, "f2": 1}'), (2, '{"f1": -2, "f5": 3}'), (3, '{}');
SELECT ai_scale.predict_batch('house', array_agg(features ORDER BY id)) FROM requests;   -- jsonb[]

SELECT section, metric, value FROM ai_scale.stats WHERE metric IN ('hits', 'misses');
-- The partitions depend on the day: today, 7 ahead and the default.
SELECT count(*) AS partitions FROM ai_scale.partitions('public.model_predictions');
SELECT * FROM ai_scale.run_maintenance('public.model_predictions');   -- nothing to do

WITH b AS (SELECT array_agg(id ORDER BY id) AS ids, array_agg(features ORDER BY id) AS inputs
           FROM requests)
SELECT b.ids[a.n] AS id, a.answer
FROM b, unnest(ai_scale.predict_batch('house', b.inputs)) WITH ORDINALITY AS a(answer, n);

-- docs/scoring.md, From an XGBoost model to scored rows: churn.json is a binary:logistic model
-- of five named features (age, income, tenure, visits, score).
\set model `cat :'abs_srcdir'/test/data/scoring/xgb_logistic.json`
-- The import with names of one's own, which the doc gives in place of the plain one.
SELECT ai_scale.import_xgboost('churn', :'model',
                               features => ARRAY['age', 'income', 'tenure', 'visits', 'score']);
-- Names for a model of three features; this one has five.
SELECT pg_temp.try(format('SELECT ai_scale.import_xgboost(%L, %L, features => %L)', 'churn',
                          :'model', ARRAY['age', 'income', 'tenure'])) AS three_names;

CREATE TABLE customers (id bigint PRIMARY KEY, attrs jsonb);
INSERT INTO customers VALUES
    (1, '{"age": 42, "income": 52000, "tenure": 3}'),
    (2, '{"age": 23, "tenure": 1}');                    -- income missing: default branch
SELECT id, ai_scale.score('churn', attrs) AS p_churn FROM customers;
SELECT id, ai_scale.score_batched('churn', attrs) OVER () AS p_churn FROM customers;
SELECT ai_scale.score_batch('churn', array_agg(attrs ORDER BY id)) FROM customers;

\set model_v2 :model
SELECT ai_scale.import_xgboost('churn', :'model_v2', activate => false,   -- version 2
                               features => ARRAY['age', 'income', 'tenure', 'visits', 'score']);
SELECT ai_scale.score('churn', attrs, 2) FROM customers;                   -- try it
SELECT ai_scale.set_active_version('churn', 2);                            -- promote it
SELECT ai_scale.drop_model('churn', 1);                                    -- forget v1
SELECT * FROM ai_scale.model_last_versions WHERE model_name IN ('churn', 'house') ORDER BY 1;

-- docs/cache.md
SELECT ai_scale.cache_put('churn', 3, '{"age": 41, "plan": "pro"}', '{"p": 0.12}');
SELECT ai_scale.cache_put('churn', 3, '{"age": 41}', '{"p": 0.3}', ttl => interval '5 minutes');
SELECT ai_scale.cache_get('churn', 3, '{"plan": "pro", "age": 41}');   -- {"p": 0.12}
SELECT ai_scale.cache_get_many('churn', 3, ARRAY['{"age": 41}', '{"age": 7}']::jsonb[]);
SELECT ai_scale.cache_invalidate('churn', 3);   -- one version
SELECT ai_scale.cache_invalidate('churn');      -- every version
SELECT ai_scale.cache_get('churn', 3, '{"plan": "pro", "age": 41}') IS NULL AS invalidated;

DROP TABLE customers, requests, public.model_predictions;
SELECT ai_scale.drop_model('churn'), ai_scale.drop_model('house');
