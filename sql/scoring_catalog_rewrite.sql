-- A compiled model is scored again only while the catalog row it was compiled from is the row
-- the statement sees: the same place, writer and writing command. The place and the writer alone
-- did not tell it from another row one transaction wrote, brought to the same place by a
-- TRUNCATE of the catalog or by a rewrite (VACUUM FULL, CLUSTER keep the writer): the dropped or
-- replaced model went on being scored, with no error, until the session ended.

-- predict() below is here for its answer, not its row: it stores nothing, so that this file
-- does not need a store an earlier file made.
SET ai_scale.store_mode = off;

-- A TRUNCATE in the transaction: the next row written starts the table again at its first place
-- (rolled back, leaving the other files' models as they were). Truncated twice: the second
-- TRUNCATE empties in place the file the first one made, which the same transaction wrote.
BEGIN;
TRUNCATE ai_scale.models;
SELECT ai_scale.register_model('rewrite_t', 'linear', ARRAY['a'], '{"weights": [1]}') AS v1;
SELECT ai_scale.score('rewrite_t', '{"a": 1}') AS v1_scores_1;
SELECT ctid AS v1_place FROM ai_scale.models WHERE model_name = 'rewrite_t' \gset
TRUNCATE ai_scale.models;
SELECT ai_scale.register_model('rewrite_t', 'linear', ARRAY['a'], '{"weights": [2]}') AS v2;
SELECT ctid = :'v1_place' AS same_place FROM ai_scale.models WHERE model_name = 'rewrite_t';
SELECT ai_scale.score('rewrite_t', '{"a": 1}') AS v2_scores_2;
ROLLBACK;

-- VACUUM FULL after one transaction dropped a version and registered the next: the new row
-- moves into the dropped one's place. (The catalog compacted first, so that the dropped row is
-- the only one gone from before the new row.)
VACUUM FULL ai_scale.models;
BEGIN;
SELECT ai_scale.register_model('rewrite_v', 'linear', ARRAY['a'], '{"weights": [1]}') AS v1;
SELECT ai_scale.score('rewrite_v', '{"a": 1}') AS v1_scores_1;
SELECT ctid AS v1_place FROM ai_scale.models WHERE model_name = 'rewrite_v' \gset
SELECT ai_scale.drop_model('rewrite_v') AS dropped;
SELECT ai_scale.register_model('rewrite_v', 'linear', ARRAY['a'], '{"weights": [2]}') AS v2;
COMMIT;
VACUUM FULL ai_scale.models;
SELECT ctid = :'v1_place' AS same_place FROM ai_scale.models WHERE model_name = 'rewrite_v';
SELECT ai_scale.score('rewrite_v', '{"a": 1}') AS v2_scores_2,
       ai_scale.score_batch('rewrite_v', ARRAY['{"a": 1}'::jsonb]) AS batch_scores_2,
       ai_scale.predict('rewrite_v', '{"a": 1}') - 'source' AS predicts_v2;

-- A direct UPDATE in the transaction that registered the version, then VACUUM FULL: the new row
-- moves into the old one's place, with the same writer.
VACUUM FULL ai_scale.models;
BEGIN;
SELECT ai_scale.register_model('rewrite_u', 'linear', ARRAY['a'], '{"weights": [1]}') AS v1;
SELECT ai_scale.score('rewrite_u', '{"a": 1}', 1) AS v1_scores_1;
SELECT ctid AS v1_place FROM ai_scale.models WHERE model_name = 'rewrite_u' \gset
UPDATE ai_scale.models SET params = '{"weights": [3]}' WHERE model_name = 'rewrite_u';
COMMIT;
VACUUM FULL ai_scale.models;
SELECT ctid = :'v1_place' AS same_place FROM ai_scale.models WHERE model_name = 'rewrite_u';
SELECT ai_scale.score('rewrite_u', '{"a": 1}', 1) AS updated_scores_3;

-- A model still the same row after a rewrite scores on (compiled again or not, the same).
SELECT ai_scale.score('rewrite_v', '{"a": 1}') AS v2_still_2;

SELECT ai_scale.drop_model('rewrite_v') + ai_scale.drop_model('rewrite_u') AS dropped;
RESET ai_scale.store_mode;
