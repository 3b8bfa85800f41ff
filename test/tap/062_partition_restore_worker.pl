# pg_restore into a database the maintenance worker serves: the extension's configuration
# (partition_config) is restored with the data, the tables' indexes last (post-data, the
# parent's with ONLY, then each partition's attached to it). A partition the worker made in
# between got no index, and the parent's partitioned indexes stayed invalid for good, with no
# error from pg_restore. The worker now waits while a pg_restore is connected to the database.
# The restore is run here a section at a time, with a session named pg_restore connected
# throughout (as one pg_restore run would be), so the worker gets its runs in between.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('restore_worker');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_naptime = '1s'
ai_scale.maintenance_databases = 'restored'
});
$node->start;

# A dump taken before its newest partition was made: restored, maintenance has one to make.
$node->safe_psql('postgres', 'CREATE DATABASE source');
# (Its bounds are kept: the partition the worker is to make again is found by them, not by a
# count, which a midnight during the test raised by one more partition made ahead.)
my $newest = $node->safe_psql('source', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store('public.model_predictions', '1 day', 3) AS store \gset
INSERT INTO model_predictions (model_name, model_version)
    SELECT 'm', 1 FROM generate_series(1, 10);
SELECT partition, lower::timestamptz, upper::timestamptz
  FROM ai_scale.partitions('model_predictions')
 ORDER BY lower::timestamptz DESC NULLS LAST LIMIT 1 \gset
DROP TABLE :partition;
SELECT format('lower::timestamptz = %L AND upper::timestamptz = %L', :'lower', :'upper');
});
my $dump = $node->basedir . '/source.dump';
$node->command_ok(['pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('source')], 'pg_dump');

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', 'CREATE DATABASE restored');
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance' AND datname = 'restored'}), 'the worker is there');
my $restore = $node->background_psql('restored');
$restore->query_safe(q{SET application_name = 'pg_restore'});
my $restore_pid = $restore->query_safe('SELECT pg_backend_pid()');
for my $section ('pre-data', 'data') {
    $node->command_ok(['pg_restore', '--exit-on-error', "--section=$section",
                       '-d', $node->connstr('restored'), $dump], "pg_restore --section=$section");
}
is($node->safe_psql('restored', 'SELECT count(*) FROM ai_scale.partition_config'), '1',
    'the configuration is restored');
my $waited = 0;
for (1 .. 600) {
    $waited = slurp_file($node->logfile, $log_offset)
        =~ /ai_scale maintenance waits: pg_restore is connected to database "restored"/;
    last if $waited;
    select(undef, undef, undef, 0.1);
}
ok($waited, 'the worker waits for the restore');
# Named: a pooler's server connection keeps a client's name after it has gone.
like(slurp_file($node->logfile, $log_offset),
    qr/DETAIL:  Sessions named pg_restore: pid [0-9, ]*\b$restore_pid\b/,
    '... saying which sessions it waits for');
my $partitions = q{SELECT count(*) FROM ai_scale.partitions('model_predictions')};
is($node->safe_psql('restored', $partitions), '4', 'and makes no partition meanwhile');
$node->command_ok(['pg_restore', '--exit-on-error', '--section=post-data',
                   '-d', $node->connstr('restored'), $dump], 'pg_restore --section=post-data');
$restore->quit;

ok($node->poll_query_until('restored', qq{
SELECT EXISTS (SELECT FROM ai_scale.partitions('model_predictions') WHERE $newest)}),
    'the restore done, the worker makes the missing partition');
is($node->safe_psql('restored', q{
SELECT string_agg(indexrelid::regclass::text, ', ') FROM pg_index
 WHERE indrelid = 'model_predictions'::regclass AND NOT indisvalid}), '',
    "the store's indexes are valid");
is($node->safe_psql('restored', q{
SELECT count(*) FROM ai_scale.partitions('model_predictions') p
 WHERE (SELECT count(*) FROM pg_index i WHERE i.indrelid = p.partition) <> 2}), '0',
    'every partition has both indexes');

# Any role may name its session pg_restore: only a superuser's, or one of a role that owns the
# database or a managed table (or is a member of one), holds up the runs. A role with no
# rights at all held up the maintenance of every table in the database while it stayed.
$node->safe_psql('restored', q{CREATE ROLE nobody LOGIN});
my $posing = $node->background_psql('restored', extra_params => ['-U', 'nobody']);
$posing->query_safe(q{SET application_name = 'pg_restore'});
is($node->safe_psql('restored', q{
SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pg_restore'}), '1',
    "a session of a role with no rights is named pg_restore");
$log_offset = -s $node->logfile;
$node->safe_psql('restored', qq{
SELECT format('DROP TABLE %s', partition) FROM ai_scale.partitions('model_predictions')
 WHERE $newest \\gexec});
ok($node->poll_query_until('restored', qq{
SELECT EXISTS (SELECT FROM ai_scale.partitions('model_predictions') WHERE $newest)}),
    'the worker makes the partition again meanwhile');
unlike(slurp_file($node->logfile, $log_offset), qr/maintenance waits: pg_restore/,
    'and never waited for that session');
$posing->quit;

$node->stop;
done_testing();
