-- A model's feature extractor remembers the keys of the last object it read and what they
-- matched (src/scoring/extract.cpp): an object whose keys are the same bytes skips the merge
-- of its keys with the features. Objects whose keys change from row to row, or differ from the
-- last only in one key's name, or in order in the text (jsonb stores keys sorted), or that
-- carry more keys than are remembered, must score as each object alone would: a + 10 b + 100 c,
-- b defaulting to 0.5. Every number here is a float4 exactly, so the scores are exact.
\i sql/include/try.sql
SELECT ai_scale.register_model('rk_lin', 'linear', ARRAY['a', 'b', 'c'],
    '{"weights": [1, 10, 100], "defaults": {"b": 0.5}}') AS v;

CREATE TEMP TABLE rk (id int, input jsonb, expected float8);
INSERT INTO rk VALUES
    (1, '{"a": 1, "b": 2, "c": 3}', 321),
    (2, '{"a": 4, "b": 5, "c": 6}', 654),              -- the same keys
    (3, '{"a": 7, "c": 8}', 812),                      -- b missing: its default
    (4, '{"a": 1, "b": 1, "c": 1}', 111),
    (5, '{"a": 2, "d": 9, "c": 3}', 307),              -- as many keys, as long: d, not b
    (6, '{"a": 1, "b": null, "c": 1}', 106),           -- null: the default
    (7, '{"c": 1, "b": 2, "a": 3}', 123),              -- the keys of row 1, written in another order
    (8, '{"a": 0.25, "b": -2, "c": 1.25e-1, "extra": "x"}', -7.25),
    (9, '{"a": 0.5, "b": -4, "c": 2.5e-1, "extra": "y"}', -14.5);
-- Two objects of 203 keys each (more than an extractor of 3 features remembers), then the
-- first keys again.
INSERT INTO rk
SELECT 9 + i, jsonb_object_agg('k' || j, j) || jsonb_build_object('a', i, 'b', i, 'c', i), 111 * i
FROM generate_series(1, 2) i, generate_series(1, 200) j GROUP BY i;
INSERT INTO rk VALUES (12, '{"a": 1, "b": 2, "c": 3}', 321);

-- Each row alone (score), in one window (score_batched), and as one array (score_batch).
SELECT id, ai_scale.score('rk_lin', input) AS score,
       ai_scale.score_batched('rk_lin', input) OVER (ORDER BY id) AS batched,
       (ai_scale.score_batch('rk_lin', array_agg(input) OVER (ORDER BY id ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)))[id] AS in_batch,
       expected
FROM rk ORDER BY id;

-- Errors after a remembered match: a feature of the wrong type under the same keys, and a
-- missing feature without a default, at every object that lacks it (not only the first).
SELECT ai_scale.register_model('rk_strict', 'linear', ARRAY['a', 'b'], '{"weights": [1, 1]}') AS v;
SELECT ai_scale.score('rk_strict', '{"a": 1, "b": 2}') AS remembered;
SELECT pg_temp.try($$SELECT ai_scale.score('rk_strict', '{"a": 1, "b": "2"}')$$) AS string_b;
SELECT pg_temp.try($$SELECT ai_scale.score('rk_strict', '{"a": 1, "c": 2}')$$) AS no_b_first;
SELECT pg_temp.try($$SELECT ai_scale.score('rk_strict', '{"a": 5, "c": 6}')$$) AS no_b_again;
SELECT ai_scale.score('rk_strict', '{"a": 1, "b": 2}') AS remembered_again;

-- Feature names longer than 16 bytes (compared with memcmp, the shorter inline), alternating
-- with an object whose key differs only in its last byte.
SELECT ai_scale.register_model('rk_long', 'linear',
    ARRAY['a_feature_name_longer_than_16_bytes_1', 'b'], '{"weights": [1, 10], "defaults": {"a_feature_name_longer_than_16_bytes_1": 0}}') AS v;
SELECT x AS input, ai_scale.score('rk_long', x::jsonb) AS score
FROM unnest(ARRAY['{"a_feature_name_longer_than_16_bytes_1": 1, "b": 1}',
                  '{"a_feature_name_longer_than_16_bytes_2": 1, "b": 1}',
                  '{"a_feature_name_longer_than_16_bytes_1": 2, "b": 1}']) WITH ORDINALITY u(x, n)
ORDER BY n;

SELECT ai_scale.drop_model('rk_lin'), ai_scale.drop_model('rk_strict'), ai_scale.drop_model('rk_long');
