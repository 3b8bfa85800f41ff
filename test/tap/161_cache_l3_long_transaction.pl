# The L3 window counts from now(), the start of the reading transaction: one that began long
# ago still finds store rows older than cache_ttl, which no new transaction would. Such a row
# was copied to L1 (and Redis) for another cache_ttl, and every session was then served an
# output written long before, as if fresh. It must be answered to that transaction, not cached.
# No clock is waited for: the row is written, from another session, at exactly the start of
# the reader's window, which the wall clock has passed by the time the reader looks.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('l3_long');

my $reader = $node->background_psql('postgres');
for my $call ('cache_get', 'cache_get_many') {
    my $input = $call eq 'cache_get' ? '{"a": 1}' : '{"a": 2}';
    my $get = $call eq 'cache_get'
      ? qq{SELECT ai_scale.cache_get('m', 1, '$input')}
      : qq{SELECT (ai_scale.cache_get_many('m', 1, ARRAY['$input'::jsonb]))[1]};
    $reader->query_safe('BEGIN');
    my $start = $reader->query_safe(
        q{SELECT to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US')});
    # Written by another transaction, committed, at the first instant the reader's window holds.
    $node->safe_psql('postgres', qq{
INSERT INTO model_predictions (model_name, model_version, input_data, output_data, input_hash,
                               created_at)
VALUES ('m', 1, '$input', '{"p": 1}', ai_scale.input_hash('$input'),
        ('$start'::timestamp AT TIME ZONE 'UTC') - current_setting('ai_scale.cache_ttl')::interval);});
    is($reader->query_safe($get), '{"p": 1}', "$call: the old transaction finds the row");
    $reader->query_safe('COMMIT');
    is($node->safe_psql('postgres', $get), '',
        "$call: a new session misses (the row is older than cache_ttl), nothing was cached");
}
$reader->quit;
$node->stop;
done_testing();
