# A backend asks the sentinels for the primary at most once a second. An ask cancelled while it
# waited for a sentinel used to stand as an ask made: a session whose first ask it was knew no
# primary for the next second, and its reads missed (or, strict, failed with 08006 "No Redis
# Sentinel ... has named a primary"). Now a cancelled ask is none, and the next read asks again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $p_port = PostgreSQL::Test::Cluster::get_free_port();
my $s_port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('primary', $p_port);
sentinel_start('sentinel', $s_port, 'tapmaster', $p_port);

my $node = cache_node('sentinel_ask_cancelled',
    redis_sentinels => "127.0.0.1:$s_port", redis_sentinel_master => 'tapmaster');
my $get = q{SELECT ai_scale.cache_get('sa', 1, '{"k": 1}')};
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('sa', 1, '{"k": 1}', '{"v": 1}')});
is($node->safe_psql('postgres', $get), '{"v": 1}', 'a hit through the primary the sentinel names');

# A new session's first ask waits for the sentinel (stopped) and is cancelled; the sentinel
# runs again and the session reads again at once.
my $sentinel_pid = redis_pid('sentinel');
my $s = cache_get_cancelled_while_stopped($node, $sentinel_pid, 'asking', $get);
my $out = $s->query($get);
like($s->{stderr}, qr/canceling statement due to user request/, 'the ask was cancelled');
is($out, '{"v": 1}', 'the next read asks the sentinel again and hits');
$s->quit;

redis_stop('sentinel');
redis_stop('primary');
$node->stop;
done_testing();
