# Redis keys of entries are ai_scale: and 32 hex digits (docs/cache.md), every digit of the
# 128-bit key. 200 entries' keys: each digit place takes more than one value, and the high
# digits (8 to f) appear in every place but the one whose high bit is the unlearned mark. A key
# written a digit short in each half, or with 3 bits a digit (redis_key), kept its length and
# format, and every test that reads entries back through the same function passed: it only
# collided more.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('key_digits', $port);
my $node = cache_node('key_digits', redis_primary => "127.0.0.1:$port",
    redis_read_from => 'primary');

$node->safe_psql('postgres', q{SELECT count(ai_scale.cache_put('k', 1,
    jsonb_build_object('a', i), '{"p": 1}')) FROM generate_series(1, 200) i});
my @keys = grep { !/^ai_scale:gen:/ }
  split /\n/, `redis-cli -p $port --scan --pattern 'ai_scale:*'`;
is(scalar @keys, 200, '200 entries in Redis');
is(scalar(grep { !/^ai_scale:[0-9a-f]{32}$/ } @keys), 0, 'each key ai_scale: and 32 hex digits');
my (@one, @low);
for my $place (0 .. 31) {
    my %seen = map { substr($_, 9 + $place, 1) => 1 } @keys;
    push @one, $place if keys %seen < 2;
    push @low, $place unless grep { /[89a-f]/ } keys %seen;
}
is("@one", '', 'every digit place takes several values');
# (One digit's high bit is the mark of a key made with an unlearned generation,
# unlearned_keys.hpp, clear in all of these: that digit is 0 to 7.)
is(scalar @low, 1, 'the high digits (8 to f) in every place but the mark\'s');
$node->stop;
done_testing();
