# score_batch, predict and predict_batch detoasted their input with the compiled model already
# held: a Postgres error there (out of memory) jumped past the model's owner, which was never
# released, and every such failure kept a compiled model for the backend's life (42 kB each for
# the demo's XGBoost model: 4.8 MB over 100 failures). The input is now detoasted under
# pg::call. The backend's address space is limited with prlimit so that detoasting a large
# array fails while the rest of the call fits; without prlimit the test is skipped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = cache_node('detoast_failure_memory');
# 30 trees of depth 5 on features a..h (about 60 kB compiled), and one row holding a compressed
# array of a million inputs and a compressed input holding two million numbers (about 20 MB each
# detoasted).
$node->safe_psql('postgres', full_tree_function() . q{
SELECT ai_scale.register_model('trees', 'gbdt', ARRAY['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h'],
    jsonb_build_object('objective', 'binary:logistic', 'base_score', 0.5,
                       'trees', (SELECT jsonb_agg(tree(5)) FROM generate_series(1, 30))));
SELECT ai_scale.register_model('small', 'linear', ARRAY['a'], '{"weights": [1]}');
CREATE TABLE big AS
SELECT (SELECT array_agg(jsonb_build_object('a', i % 7)) FROM generate_series(1, 1000000) i) AS inputs,
       (SELECT jsonb_build_object('a', 1, 'pad', jsonb_agg(i % 7)) FROM generate_series(1, 2000000) i) AS input;
});

my $session = $node->background_psql('postgres', on_error_stop => 0);
my $pid = $session->query_safe(q{
SET ai_scale.model_cache_size = 0;
SET ai_scale.store_mode = off;
SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.score('trees', '{"a": 1}') IS NOT NULL;
SELECT pg_backend_pid();});
($pid) = $pid =~ /(\d+)\s*$/;

sub status_kb {
    my ($field) = @_;
    my ($kb) = slurp_file("/proc/$pid/status") =~ /^$field:\s+(\d+)/m;
    return $kb;
}

my $limit = (status_kb('VmSize') + 12000) * 1024;
if (system('prlimit', "--pid=$pid", "--as=$limit") != 0) {
    $session->quit;
    $node->stop;
    plan skip_all => 'prlimit cannot limit the backend';
}

# Each round compiles the model afresh (scoring another one drops it from the cache), then
# fails detoasting the large input of each function. Returns the calls that failed for want of
# memory.
sub fail_rounds {
    my ($n) = @_;
    my $failed = 0;
    for (1 .. $n) {
        for my $call ('ai_scale.score_batch(\'trees\', inputs)',
            'ai_scale.predict_batch(\'trees\', inputs)', 'ai_scale.predict(\'trees\', input)') {
            $session->query_safe(q{SELECT ai_scale.score('small', '{"a": 1}')});
            $session->query("SELECT $call IS NOT NULL FROM big");
            $failed++ if $session->{stderr} =~ /out of memory/;
            $session->{stderr} = '';
        }
    }
    return $failed;
}

is(fail_rounds(5), 15, 'detoasting the large input fails for want of memory, in each function');
my $before = status_kb('RssAnon');
is(fail_rounds(30), 90, 'and again, 90 times');
my $grown = status_kb('RssAnon') - $before;
note("RssAnon grew $grown kB over 90 failed calls");
# Before: one compiled model kept per failure, about 5 MB here. A bound of 1.5 MB.
cmp_ok($grown, '<', 1500, 'a failed detoast keeps no compiled model');
like($session->query_safe(q{SELECT ai_scale.score('trees', '{"a": 1}') > 0}), qr/t/,
    'the session scores on');

$session->quit;
$node->stop;
done_testing();
