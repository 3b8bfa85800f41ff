# A standby keeps the cache lineage of the cluster it follows, whatever recovery target it has
# (src/cache/lineage_rules.hpp). A target is often a leftover of an earlier point-in-time
# restore, copied by pg_basebackup with postgresql.conf: a restore point's name that is never
# reached again, while the standby streams on. Such a standby used to draw a lineage of its own
# at every start, and no longer saw its primary's invalidations. It now keeps its primary's
# (no lineage file), and warns that, promoted at its target, it would share that cluster's keys.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('lineage_target_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$primary->start;
$primary->backup('base');

my $standby = PostgreSQL::Test::Cluster->new('lineage_target_standby');
$standby->init_from_backup($primary, 'base', has_streaming => 1);
$standby->append_conf('postgresql.conf', "recovery_target_name = 'left_from_an_earlier_restore'\n");
$standby->start;
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'the standby streams on');
my $file = $standby->data_dir . '/ai_scale_cache_lineage';
ok(!-e $file, 'with its primary\'s lineage (no file of its own)');
unlike(slurp_file($standby->logfile), qr/ai_scale: this server was restored from a backup/,
    'it says of no restore');
like(slurp_file($standby->logfile),
    qr/WARNING:  ai_scale: this standby has a recovery target, and keeps the cache keys of the cluster it follows\n.*DETAIL:  Promoted at its target, it would read what that cluster cached after it, and write where that cluster reads\.\n.*HINT:  For a point-in-time restore, start the server with recovery\.signal, not standby\.signal: it then takes cache keys of its own\./,
    'it warns of what a promotion at its target would share');

# A restart keeps it so.
$standby->restart;
$primary->wait_for_catchup($standby);
ok(!-e $file, 'a restart keeps its primary\'s lineage');

# Without the target it says nothing.
$standby->stop;
$standby->adjust_conf('postgresql.conf', 'recovery_target_name', undef);
my $offset = -s $standby->logfile;
$standby->start;
$primary->wait_for_catchup($standby);
unlike(slurp_file($standby->logfile, $offset), qr/ai_scale: this (standby|server)/,
    'without the target it says nothing');

$standby->stop;
$primary->stop;
done_testing();
