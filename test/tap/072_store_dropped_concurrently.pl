# The store dropped while predict() or cache_get() waits for it: a missing store is a miss (and
# nothing is stored), as it is when the store was dropped before the call began. The calls used
# to fail with 42P01 (relation "public.model_predictions" does not exist): they found the table
# without locking it, and their query, planned from its name, waited for the DROP and then
# looked the name up again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('store_dropped');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');
CREATE ROLE writer;
GRANT USAGE ON SCHEMA public TO writer;});
my $make_store = q{
SELECT ai_scale.create_prediction_store();
GRANT INSERT ON public.model_predictions TO writer;};
my $waiting = q{SELECT count(*) > 0 FROM pg_locks WHERE locktype = 'relation' AND NOT granted};

my $dropper = $node->background_psql('postgres');
my $n = 0;
for my $case (
    [ 'predict() reading L3', '', q{SELECT ai_scale.predict('m', '{"a": %d}') ->> 'source'}, 'cpu' ],
    [ 'predict_batch() reading L3', '',
      q{SELECT string_agg(p ->> 'source', ',') FROM unnest(ai_scale.predict_batch('m', ARRAY['{"a": %d}']::jsonb[])) p},
      'cpu' ],
    [ 'cache_get() reading L3', '', q{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": %d}')::text, 'miss')},
      'miss' ],
    [ 'predict() storing (a role that may insert, not read)', 'SET ROLE writer;',
      q{SELECT ai_scale.predict('m', '{"a": %d}') ->> 'source'}, 'cpu' ])
{
    my ($what, $setup, $query, $expected) = @$case;
    $n++;
    $node->safe_psql('postgres', $make_store);
    $dropper->query_safe('BEGIN; DROP TABLE public.model_predictions;');
    my $caller = $node->background_psql('postgres', on_error_stop => 0);
    $caller->query_safe($setup) if $setup;
    $caller->query_until(qr/sent/,
        "\\echo sent\nSELECT 'out:' || (" . sprintf($query, $n) . ");\n\\echo done\n");
    ok($node->poll_query_until('postgres', $waiting), "$what waits for the DROP");
    $dropper->query_safe('COMMIT');
    my $out = $caller->query_until(qr/done/, '');
    # The store gone when predict() came to store its answer: it says so, once a session.
    (my $errors = $caller->{stderr}) =~ s/^(?:psql:\S+ )?WARNING:  ai_scale\.store_table "public\.model_predictions" names no table in this database: predict\(\) stores nothing\nHINT:  [^\n]*\n?//m;
    is($errors, '', "$what: no error");
    like($out, qr/out:\Q$expected\E/, "$what: a miss");
    $caller->quit;
}

$dropper->quit;
$node->stop;
done_testing();
