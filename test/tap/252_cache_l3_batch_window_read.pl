# A cache_get_many of more inputs than the store's window holds rows: the lookup reads the
# window's input hashes once and looks up only the inputs whose hash is there, in pieces of
# 10,000 of those. It looked up every input, 10,000 per execution of its query, and each piece
# hashed the whole window again or probed the index for inputs the window cannot hold.
# The answers must be those of the plain query, input for input: the newest row in the window
# for the model and version, none for a row whose hash matches but whose input differs, for a
# row of another version or one outside the window.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

# No Redis and no L1: every input goes to the store. No autovacuum: an ANALYZE committing during
# a lookup would make it look its hits up again (a second execution per piece, counted below).
my $node = PostgreSQL::Test::Cluster->new('l3_window_read');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ai_scale, pg_stat_statements'
pg_stat_statements.track = all
ai_scale.cache_use_l1 = off
autovacuum = off
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE EXTENSION pg_stat_statements;
SELECT ai_scale.create_prediction_store();
CREATE FUNCTION put(g int, ver int, input jsonb, output jsonb, at timestamptz) RETURNS void
    LANGUAGE sql AS $$
    INSERT INTO model_predictions (model_name, model_version, input_data, output_data, input_hash, created_at)
        VALUES ('m', ver, input, output, ai_scale.input_hash(jsonb_build_object('a', g)), at) $$;
-- Answered: every third input, by its newest row (every sixth has an older one too).
SELECT put(g, 1, jsonb_build_object('a', g), jsonb_build_object('out', g), now())
  FROM generate_series(3, 50000, 3) g;
SELECT put(g, 1, jsonb_build_object('a', g), jsonb_build_object('old', g), now() - interval '10 minutes')
  FROM generate_series(6, 50000, 6) g;
-- Not answered: a row with the input's hash but another input (every seventh), and rows of
-- another version (every fifth) or from before the window (every eleventh).
SELECT put(g, 1, jsonb_build_object('b', g), jsonb_build_object('other input', g), now())
  FROM generate_series(7, 50000, 7) g;
SELECT put(g, 2, jsonb_build_object('a', g), jsonb_build_object('version 2', g), now())
  FROM generate_series(5, 50000, 5) g;
SELECT put(g, 1, jsonb_build_object('a', g), jsonb_build_object('expired', g), now() - interval '2 hours')
  FROM generate_series(11, 50000, 11) g;
ANALYZE model_predictions;
-- 50,000 inputs, and copies of three of them (5.0 is 5's cache key) at the other end.
CREATE TABLE batch AS
    SELECT array_agg(i ORDER BY n) AS inputs
      FROM (SELECT g AS n, jsonb_build_object('a', g) AS i FROM generate_series(1, 50000) g
            UNION ALL VALUES (0, '{"a": 49998}'::jsonb), (50001, '{"a": 3}'), (50002, '{"a": 5.0}')) x;
-- The answer of the plain query for each input.
CREATE FUNCTION expected(inputs jsonb[]) RETURNS TABLE (n bigint, o jsonb) LANGUAGE sql AS $$
    SELECT n, (SELECT output_data FROM model_predictions
                WHERE model_name = 'm' AND model_version = 1
                  AND input_hash = ai_scale.input_hash(i) AND input_data = i
                  AND created_at >= now() - interval '1 hour'
                ORDER BY created_at DESC LIMIT 1)
      FROM unnest(inputs) WITH ORDINALITY AS t(i, n) $$;
CREATE FUNCTION differences(inputs jsonb[]) RETURNS text LANGUAGE sql AS $$
    SELECT count(*) FILTER (WHERE a.o IS NOT NULL) || ' answered, ' ||
           count(*) FILTER (WHERE a.o IS DISTINCT FROM e.o) || ' differ'
      FROM unnest(ai_scale.cache_get_many('m', 1, inputs)) WITH ORDINALITY AS a(o, n)
      FULL JOIN expected(inputs) e USING (n) $$;
-- How often the batch lookup ran, and the rows it returned.
CREATE FUNCTION runs(pattern text) RETURNS text LANGUAGE sql AS $$
    SELECT coalesce(sum(calls), 0) || ' runs, ' || coalesce(sum(rows), 0) || ' rows'
      FROM pg_stat_statements WHERE query LIKE pattern $$;
});

# The window holds 16,666 + 8,333 + 7,142 rows of version 1, fewer than the batch's inputs; the
# inputs whose hash is there are every third and every seventh: 21,428, looked up in 3 pieces
# (16,666 found: the copies are looked up once).
$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');
is($node->safe_psql('postgres', 'SELECT differences(inputs) FROM batch'),
    '16668 answered, 0 differ', 'a batch larger than the window: the plain query\'s answers');
is($node->safe_psql('postgres', q{SELECT runs('%ROWS FROM (pg_catalog.unnest%')}),
    '3 runs, 16666 rows', 'only the inputs whose hash the window holds are looked up: 3 pieces, not 5');

# A row the transaction wrote itself is in the window it reads, and answers (not cached).
is($node->safe_psql('postgres', q{
BEGIN;
SELECT put(1, 1, '{"a": 1}', '{"own": 1}', now());
SELECT differences(inputs) FROM batch;
ROLLBACK;}), "\n16669 answered, 0 differ", 'a row of the transaction\'s own is found');

# 12,000 inputs, fewer than the window's rows: every input is looked up (Postgres expects more
# rows in the window than the batch has inputs, and its hashes are not read).
$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');
is($node->safe_psql('postgres', 'SELECT differences(inputs[1:12000]) FROM batch'),
    '4000 answered, 0 differ', 'a batch smaller than the window: the plain query\'s answers');
is($node->safe_psql('postgres', q{SELECT runs('%ROWS FROM (pg_catalog.unnest%')}),
    '2 runs, 4000 rows', 'every input is looked up, in 2 pieces');

$node->stop;
done_testing();
