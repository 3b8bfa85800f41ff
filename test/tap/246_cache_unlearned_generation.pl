# A server learns each generation slot from Redis's primary at the model's first use after a
# start (docs/cache.md, Invalidation); until then the slot is 0, or the few bumps made here since.
# When that read fails (the primary unreachable, timed out, its breaker open) and Redis answers the
# next call, that call used to key its L2 entries with the unlearned generation, which every
# start of this server and of its standbys uses again while unlearned: a value put then under
# generation 0 was served as a hit at a later start, after the model had been invalidated.
#
# A Redis ACL user that may use the entries but not the counters (ai_scale:gen:...) stands in
# for a primary that fails the read of the counters and answers the call's own GET and SET: the
# real window (the primary back within the second before the slot is read again) cannot be
# staged without a race.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('unlearned', $port);
my $cli = "redis-cli -p $port";
# Entries are ai_scale: and 32 hex digits; counters ai_scale:gen:...
like(`$cli ACL SETUSER nogen on nopass '~ai_scale:[0-9a-f]*' +\@all`, qr/OK/,
    'a Redis user that cannot read the generation counters');
# L1 off: every read reaches Redis.
my $node = cache_node('unlearned', redis_primary => "127.0.0.1:$port");
my $as_nogen = q{SET ai_scale.redis_user = 'nogen';};

# The first use of model m after the start cannot read its counters, and could write the entry.
$node->safe_psql('postgres',
    qq{$as_nogen SELECT ai_scale.cache_put('m', 1, '{"k": 1}', '{"v": "old"}')});
is(`$cli --scan --pattern 'ai_scale:[0-9a-f]*' | wc -l` + 0,
    0, 'nothing is written to Redis under a generation this server has not learned');

# The model is invalidated (as the default user: its counter is taken from Redis).
$node->safe_psql('postgres', q{SELECT ai_scale.cache_invalidate('m')});
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"k": 1}') IS NULL}),
    't', 'after the invalidation the value is gone');

# A new start, whose first read of m's counters fails again.
$node->restart;
is( $node->safe_psql('postgres',
        qq{$as_nogen SELECT ai_scale.cache_get('m', 1, '{"k": 1}') IS NULL}),
    't', 'the next start does not serve the invalidated value while it has not learned m');
# Nor to a session that can read the counters, at once after the failed read: a slot not learned
# is read again at the next call (it used to wait for the second after the failed read, keying
# with the generation it held meanwhile).
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"k": 1}') IS NULL}),
    't', 'nor does a session that can read the counters');

# Learned, the slots key L2 again: a put is read back from Redis, by a session that cannot read
# the counters too.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"k": 2}', '{"v": "new"}')});
is($node->safe_psql('postgres', q{SELECT ai_scale.cache_get('m', 1, '{"k": 2}')}),
    '{"v": "new"}', 'once learned, a put is read back from Redis');
$node->safe_psql('postgres',
    qq{$as_nogen SELECT ai_scale.cache_put('m', 1, '{"k": 3}', '{"v": "new"}')});
is( $node->safe_psql('postgres', qq{$as_nogen SELECT ai_scale.cache_get('m', 1, '{"k": 3}')}),
    '{"v": "new"}', '... by any session');

# The model's slot learned is not enough: a version first used where its own slot cannot be
# read writes nothing to Redis either.
my $entries = `$cli --scan --pattern 'ai_scale:[0-9a-f]*' | wc -l` + 0;
$node->safe_psql('postgres',
    qq{$as_nogen SELECT ai_scale.cache_put('m', 2, '{"k": 1}', '{"v": "v2"}')});
is(`$cli --scan --pattern 'ai_scale:[0-9a-f]*' | wc -l` + 0,
    $entries, 'nor under a version generation this server has not learned');

$node->stop;
redis_stop('unlearned');
done_testing();
