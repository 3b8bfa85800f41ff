-- Model names are compared as written. A call that names a registered model in other letter
-- case ('churn' for 'Churn') is told so, where the hint used to say to register the model:
-- advice that, followed, registered a second model under the other spelling.
\set VERBOSITY default
\set SHOW_CONTEXT never
SET client_min_messages = warning;
SELECT ai_scale.register_model('Case Churn', 'linear', ARRAY['x'], '{"weights": [2]}');
SELECT ai_scale.score('Case Churn', '{"x": 1}');
-- Every scoring and predict function, and the catalog functions.
SELECT ai_scale.score('case churn', '{"x": 1}');
SELECT ai_scale.score_multi('CASE CHURN', '{"x": 1}');
SELECT ai_scale.score_batch('case churn', ARRAY['{"x": 1}'::jsonb]);
SELECT ai_scale.score_batched('case churn', '{"x": 1}') OVER ();
SELECT ai_scale.predict('case churn', '{"x": 1}');
SELECT ai_scale.predict_batch('case churn', ARRAY['{"x": 1}'::jsonb]);
SELECT ai_scale.set_active_version('case churn', 1);
SELECT ai_scale.drop_model('case churn');
SELECT ai_scale.drop_model('case churn', 1);
-- A name no model has in any case: register it, as before.
SELECT ai_scale.score('case churned', '{"x": 1}');
SELECT ai_scale.set_active_version('case churned', 1);
SELECT ai_scale.drop_model('Case Churn');
-- The hint's search in other letter case reads an index, not the whole catalog: with many
-- models registered, an unknown name's error read every row of ai_scale.models.
INSERT INTO ai_scale.models (model_name, model_version, kind, features, params)
SELECT 'case many ' || i, 1, 'linear', ARRAY['x'], '{"weights": [1]}'
FROM generate_series(1, 5000) i;
ANALYZE ai_scale.models;
-- (The counts of pg_stat_xact_user_tables include the session's earlier transactions until the
-- backend sends them, at most once a second: this file's calls above, each a read of the catalog
-- by a plan of its own, counted when the catalog was small enough for sequential scans.)
SELECT pg_stat_force_next_flush();
BEGIN;
DO $$ BEGIN
    PERFORM ai_scale.score('case many 0', '{"x": 1}');
EXCEPTION WHEN undefined_object THEN NULL;
END $$;
SELECT seq_tup_read + coalesce(idx_tup_fetch, 0) < 100 AS reads_few_rows_of_the_catalog
FROM pg_stat_xact_user_tables WHERE relid = 'ai_scale.models'::regclass;
COMMIT;
DELETE FROM ai_scale.models WHERE model_name LIKE 'case many %';
