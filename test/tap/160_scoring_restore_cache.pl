# A pg_restore --clean of another database's dump into a database (not a new one) brings a
# model catalog whose version numbers may be those of different models there. The cache keys
# outputs by database OID, model name and version, and the database keeps its OID through the
# restore (the extension is dropped and created again, the cache is not), so predict() answered
# the restored version with the outputs the old model of that number had cached, in L1 and
# Redis, while score() computed with the restored one. Every version written to the catalog
# now makes what the cache holds under its number unreachable, as register_model did for its own.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $redis = $ENV{AI_SCALE_TEST_REDIS_PRIMARY} // '';
my $node = PostgreSQL::Test::Cluster->new('restore_cache');
$node->init;
# No store: the cache alone answers (L3 is the store, which the restore replaces as a whole).
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.store_mode = off
ai_scale.redis_primary = '$redis'
ai_scale.redis_timeout_ms = 10000
});
$node->start;

my $input = q{'{"a": 1}'};
for my $db (qw(app other)) {
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, 'CREATE EXTENSION ai_scale');
}
$node->safe_psql('app',
    q{SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}')});
$node->safe_psql('other',
    q{SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [100]}')});
is($node->safe_psql('app', "SELECT ai_scale.predict('m', $input)->>'score'"), '2',
    'app scores with its model');
is($node->safe_psql('app', "SELECT ai_scale.predict('m', $input)->>'source'"), 'l1',
    'and caches the output');
# An input cached in Redis only (the L1 off), to see that level on its own.
my $no_l1 = "SET ai_scale.cache_use_l1 = off; SELECT ai_scale.predict('m', '{\"a\": 2}')";
if ($redis ne '') {
    $node->safe_psql('app', $no_l1);
    is($node->safe_psql('app', "$no_l1->>'source'"), 'l2', 'in Redis too');
}

my $dump = $node->basedir . '/other.dump';
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('other')], 'pg_dump');
$node->command_ok(['pg_restore', '--clean', '--if-exists', '--exit-on-error',
    '-d', $node->connstr('app'), $dump], 'pg_restore --clean into app');
is($node->safe_psql('app', 'SELECT params FROM ai_scale.models'), '{"weights": [100]}',
    'app has the restored catalog');

is($node->safe_psql('app', "SELECT ai_scale.predict('m', $input)->>'score'"), '100',
    'predict() answers with the restored model, not the L1 entry of the old one');
is($node->safe_psql('app', "$no_l1->>'score'"), '200',
    'nor with the Redis entry of the old one') if $redis ne '';

$node->stop;
done_testing();
