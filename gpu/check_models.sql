-- Random model parameters for the GPU checks through SQL (gpu/check_sql.sql,
-- gpu/check_failures.sql) and the scoring benchmark (bench/scoring/bench.sql): psql
-- \i gpu/check_models.sql from the tree's root.

-- One mlp layer of n_out units over n_in inputs, small random weights and biases.
CREATE FUNCTION pg_temp.layer(n_out int, n_in int, act text) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'weights', (SELECT jsonb_agg(r ORDER BY o) FROM
                       (SELECT o, jsonb_agg(round(((random() - 0.5) / 4)::numeric, 4)) AS r
                        FROM generate_series(1, n_out) o, generate_series(1, n_in) i GROUP BY o) w),
        'bias', (SELECT jsonb_agg(round(((random() - 0.5) / 10)::numeric, 4)) FROM generate_series(1, n_out)),
        'activation', act) $$;

-- A complete tree of the given depth over 16 features in XGBoost's arrays: node i splits into
-- 2i+1 and 2i+2.
CREATE FUNCTION pg_temp.tree(depth int) RETURNS jsonb LANGUAGE sql AS $$
    SELECT jsonb_build_object(
        'left_children', jsonb_agg(CASE WHEN i < inner_nodes THEN 2 * i + 1 ELSE -1 END ORDER BY i),
        'right_children', jsonb_agg(CASE WHEN i < inner_nodes THEN 2 * i + 2 ELSE -1 END ORDER BY i),
        'split_indices', jsonb_agg(CASE WHEN i < inner_nodes THEN floor(random() * 16)::int ELSE 0 END ORDER BY i),
        'split_conditions', jsonb_agg(CASE WHEN i < inner_nodes THEN round((random() * 10 - 5)::numeric, 3)
                                           ELSE round(((random() - 0.5) / 10)::numeric, 4) END ORDER BY i),
        'default_left', jsonb_agg(random() < 0.5 ORDER BY i))
    FROM (SELECT (1 << depth) - 1 AS inner_nodes) n, generate_series(0, (2 << depth) - 2) i $$;
