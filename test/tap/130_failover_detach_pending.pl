# A standby made from a base backup taken while the primary's maintenance worker was in the
# middle of a DETACH ... CONCURRENTLY (the partition pending detach, the worker waiting for an
# older reader), and promoted once the primary is gone: its own worker, started at promotion,
# finishes what the old one began (DETACH ... FINALIZE, then the drop retention chose).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $old = PostgreSQL::Test::Cluster->new('detach_old');
$old->init(allows_streaming => 1);
$old->append_conf('postgresql.conf', q{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_databases = 'postgres'
ai_scale.maintenance_naptime = 1
});
$old->start;
$old->safe_psql('postgres', 'CREATE EXTENSION ai_scale');
$old->safe_psql('postgres', old_partition_table('r'));
my $reader = hold_worker_detach($old, 'r');
$old->backup('mid_detach');

my $new = PostgreSQL::Test::Cluster->new('detach_new');
$new->init_from_backup($old, 'mid_detach', has_streaming => 1);
$new->start;
$old->wait_for_catchup($new);
is($new->safe_psql('postgres',
        q{SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = 'r_old'::regclass}),
    't', 'the standby has the partition pending detach');
is($new->safe_psql('postgres',
        q{SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'ai_scale%'}),
    '0', 'no ai_scale worker on the standby');

# The primary fails while its worker waits; the standby is promoted.
$old->stop('immediate');
my $offset = -s $new->logfile;
$new->promote;
$new->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()')
  or die 'the standby did not finish promotion';
ok($new->wait_for_log(qr/${worker_line}finalized detach of public\.r public\.r_old/,
        $offset),
    'the promoted server\'s worker finalizes the detach');
ok($new->poll_query_until('postgres', q{SELECT to_regclass('public.r_old') IS NULL}),
    'and drops the partition retention chose');
is($new->safe_psql('postgres', 'SELECT count(*) FROM r'), '0', 'r keeps no row of it');
is($new->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits WHERE inhdetachpending}),
    '0', 'nothing is left pending detach');

$new->stop;
done_testing();
