# A subscriber of the model catalog applies each replicated registration with an invalidation
# (the catalog's trigger bumps the model's generation in Redis). While its Redis held writes
# (CLIENT PAUSE ... WRITE, as in a failover), a backend sends no write for the rest of a
# statement whose write got no answer (docs/cache.md, Invalidation); but the apply worker starts
# a statement for each change it applies, and waited redis_timeout_ms at every row: 30
# registrations took 3.3 s at 100 ms, 32 timeouts. It holds for a second instead.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('apply_held', $port);
my ($publisher, $subscriber) = publisher_and_subscriber();
$subscriber->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '127.0.0.1:$port'
ai_scale.redis_timeout_ms = 300
});
$subscriber->restart;
$publisher->safe_psql('postgres', q{CREATE EXTENSION ai_scale;
CREATE PUBLICATION catalog FOR TABLE ai_scale.models;});
$subscriber->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$subscriber->safe_psql('postgres',
        "CREATE SUBSCRIPTION catalog CONNECTION '"
      . $publisher->connstr
      . " dbname=postgres' PUBLICATION catalog WITH (copy_data = false)");
$subscriber->wait_for_subscription_sync($publisher, 'catalog');

$subscriber->safe_psql('postgres', 'SELECT ai_scale.reset_stats()');
system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '60000', 'WRITE') == 0
  or die 'CLIENT PAUSE failed';
$publisher->safe_psql('postgres', q{
SELECT count(ai_scale.register_model('r' || g, 'linear', ARRAY['a'], '{"weights": [1]}'))
  FROM generate_series(1, 20) g});
ok($subscriber->poll_query_until('postgres',
        q{SELECT count(*) = 20 FROM ai_scale.models WHERE model_name LIKE 'r%'}),
    'the subscriber applies the 20 registrations');
my $errors = $subscriber->safe_psql('postgres',
    q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'});
# One timeout, and one a second after it at most: far fewer than the rows however slow the
# machine (20 before).
cmp_ok($errors, '<', 10, "the apply worker asked Redis to write a few times, not a row each ($errors)");
system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';

$subscriber->stop;
$publisher->stop;
redis_stop('apply_held');
done_testing();
