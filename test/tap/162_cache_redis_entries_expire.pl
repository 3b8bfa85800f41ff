# Every cache entry ai_scale writes to Redis carries a TTL (SET ... PX): a put with its own ttl,
# a put with ai_scale.cache_ttl, an L3 hit copied up and predict()'s fills at commit. Only the
# generation counters (ai_scale:gen:*) live without one (docs/cache.md). A value past its expiry
# is a miss whether Redis has removed it or not (the expiry is also in the value), so the
# regression tests could not tell an entry Redis never expires from one it does: without PX,
# every suite passed while each entry stayed in Redis for good.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('expire', $port);
my $node = cache_node('cache_expire', redis_primary => "127.0.0.1:$port",
    redis_read_from => 'primary', cache_ttl => '600s');

# The entry keys (not the generation counters) and their PTTL, in milliseconds.
sub entry_ttls {
    my %ttl;
    for my $key (split /\n/, `redis-cli -p $port --scan --pattern 'ai_scale:*'`) {
        next if $key =~ /^ai_scale:gen:/;
        chomp(my $pttl = `redis-cli -p $port PTTL $key`);
        $ttl{$key} = $pttl;
    }
    return \%ttl;
}

sub new_entry_ttl {
    my ($sql, $what) = @_;
    my $before = entry_ttls();
    $node->safe_psql('postgres', $sql);
    my $after = entry_ttls();
    my @new = grep { !exists $before->{$_} } sort keys %$after;
    is(scalar @new, 1, "$what: one new entry in Redis") or diag explain \@new;
    return $after->{ $new[0] // '' } // -2;
}

my $ttl = new_entry_ttl(q{SELECT ai_scale.cache_put('e', 1, '{"a": 1}', '{"p": 1}', interval '1 day')},
    'a put with its own ttl');
ok($ttl > 600_000 && $ttl <= 86_400_000, "it expires within its ttl, not cache_ttl (PTTL $ttl)");

$ttl = new_entry_ttl(q{SELECT ai_scale.cache_put('e', 1, '{"a": 2}', '{"p": 2}')},
    'a put with cache_ttl');
ok($ttl > 0 && $ttl <= 600_000, "it expires within cache_ttl (PTTL $ttl)");

# An L3 hit is copied to Redis for cache_ttl; predict() fills it when its transaction commits.
$node->safe_psql('postgres', q{
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('e', 'linear', ARRAY['a'], '{"weights": [2]}');
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('e', 1, '{"a": 3}', '{"score": 6}', ai_scale.input_hash('{"a": 3}'));});
$ttl = new_entry_ttl(q{SELECT ai_scale.cache_get('e', 1, '{"a": 3}')}, 'an L3 hit copied up');
ok($ttl > 0 && $ttl <= 600_000, "it expires within cache_ttl (PTTL $ttl)");
$ttl = new_entry_ttl(q{SET ai_scale.store_mode = sync; SELECT ai_scale.predict('e', '{"a": 4}')},
    'a prediction filled at commit');
ok($ttl > 0 && $ttl <= 600_000, "it expires within cache_ttl (PTTL $ttl)");

my $ttls = entry_ttls();
is(join(',', grep { $ttls->{$_} <= 0 } sort keys %$ttls), '', 'no entry in Redis lives for good');

$node->stop;
redis_stop('expire');
done_testing();
