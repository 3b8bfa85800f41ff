-- A backend keeps the heap score_batched's window used (src/pg/kept_heap.hpp,
-- src/scoring/score_sql.cpp). The window buffers each batch's rows in memory that grows in
-- blocks twice as large each time, freed at the end of the query; at glibc's starting
-- thresholds the largest went back to the system, and each query after the second faulted them
-- in again: about 2,500 page faults over the five queries counted below, with these statements
-- in this order; under 20 with the heap kept. Counted with this backend's minor page faults
-- (Linux's /proc), not with time. A new session, so that nothing before raised glibc's
-- thresholds.
\c
\i sql/include/faults.sql
-- 20,000 inputs of about 300 bytes (four features and a note the model does not read): five
-- batches of the default 4096 rows.
CREATE TEMP TABLE window_inputs AS
SELECT jsonb_build_object('f1', i % 7, 'f2', i % 5, 'f3', i % 3, 'f4', 1,
                          'note', repeat('n', 250)) AS input
FROM generate_series(1, 20000) i;
SELECT ai_scale.register_model('kept_heap_window', 'linear', ARRAY['f1', 'f2', 'f3', 'f4'],
                               '{"weights": [1, -1, 0.5, 2], "bias": 0.25}') AS version;
CREATE TEMP VIEW window_scores AS
SELECT count(s) AS scored
FROM (SELECT ai_scale.score_batched('kept_heap_window', input) OVER () s FROM window_inputs) q;
-- The first two queries take their pages, whatever is kept: the first raises the thresholds
-- after its first batch, and the second can need more of the heap than the first left.
SELECT * FROM window_scores;
SELECT * FROM window_scores;
CREATE TEMP TABLE before AS SELECT pg_temp.faults() AS faults;
-- Five more queries, each freeing the window's memory at its end.
SELECT * FROM window_scores;
SELECT * FROM window_scores;
SELECT * FROM window_scores;
SELECT * FROM window_scores;
SELECT * FROM window_scores;
SELECT pg_temp.faults() - faults < 100 AS under_20_faults_a_query FROM before;
-- What it scored: the weights applied by hand give the same total.
SELECT round(sum(s)::numeric, 2) AS total
FROM (SELECT ai_scale.score_batched('kept_heap_window', input) OVER () s FROM window_inputs) q;
SELECT sum(i % 7 - i % 5 + (i % 3) * 0.5 + 2 + 0.25) AS total_by_hand
FROM generate_series(1, 20000) i;
SELECT ai_scale.drop_model('kept_heap_window');
