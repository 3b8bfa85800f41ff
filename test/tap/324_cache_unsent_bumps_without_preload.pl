# The file of unsent invalidations (docs/cache.md, Across a restart) is read by a preloaded
# postmaster alone: a server stopped with invalidations Redis had not taken, then started without
# ai_scale in shared_preload_libraries (to look into a crash, say), served the values they were
# for, in every session, until it was preloaded again. A backend without the preload now marks the
# file's slots in its own at its first cache call, and sends them; the file stays for the next
# preloaded start. A damaged file is not applied there. An invalidation of the session's own,
# of a model the file marked, that Redis does not take gives the WARNING any other does.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('unsent_without_preload', $port);
my $node = cache_node('unsent_without_preload', redis_primary => "127.0.0.1:$port",
    redis_timeout_ms => 300);
my $file = $node->data_dir . '/ai_scale_cache_unsent_bumps';
my $get = q{SET ai_scale.redis_read_from = 'primary';
SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": 1}')::text, 'miss')};

$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '"before"')});
is($node->safe_psql('postgres', $get), '"before"', 'the value is a hit from Redis');
system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '60000', 'WRITE') == 0
  or die 'CLIENT PAUSE failed';
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('m')});
is($node->safe_psql('postgres', $get), 'miss', 'invalidated while Redis holds its writes');
$node->stop;
ok(-s $file, 'the stop writes the mark to the file');
system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';

# Started without the preload.
$node->adjust_conf('postgresql.conf', 'shared_preload_libraries', "''");
$node->start;
is($node->safe_psql('postgres', q{SELECT ai_scale.build_info() ->> 'preloaded'}), 'false',
    'the server runs without the preload');
is($node->safe_psql('postgres', $get), 'miss',
    'a session misses the value the carried invalidation was for');
is($node->safe_psql('postgres', $get), 'miss', 'and so does the next, Redis having taken it');
ok(-s $file, 'the file stays');

# The session's own invalidation of the model, which Redis does not take, is told of: the slot
# the file marked counted as told, and the invalidation was lost with the session in silence.
system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '60000', 'WRITE') == 0
  or die 'CLIENT PAUSE failed';
my (undef, undef, $invalidate_err) =
  $node->psql('postgres', q{SELECT ai_scale.cache_invalidate('m')});
like($invalidate_err, qr/redis did not take this invalidation of cached outputs/,
    'an invalidation Redis does not take, of a model the file marked, gives a WARNING');
system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';

# A damaged file is not applied without the preload (a WARNING says so): every slot marked at
# each session invalidated every model at each, in the shared Redis too.
$node->stop;
open(my $fh, '>', $file) or die "cannot write $file: $!";
print $fh "not the list\n";
close $fh;
$node->start;
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '"after"')});
my ($ret, $out, $err) = $node->psql('postgres', $get);
is($out, '"after"', 'a value put in one session is a hit in the next');
like($err, qr/does not hold the cache invalidations carried from before this start; this session does not apply them/,
    'which is told that the damaged file is not applied');

$node->stop;
done_testing();
