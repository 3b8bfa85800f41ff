# A standby with a recovery target draws a cache lineage of its own (src/cache/lineage_rules.hpp)
# and so no longer sees its primary's invalidations. The target may be a leftover of an earlier
# point-in-time restore, copied by pg_basebackup with postgresql.conf: a restore point's name
# that is never reached again, while the standby streams on. It used to say only "this server
# was restored from a backup"; it now warns that it does not share its primary's cache, and
# says how to make it follow. Without the target it keeps its primary's lineage and says
# nothing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
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
ok(-e $file, 'with a lineage of its own');
like(slurp_file($standby->logfile),
    qr/WARNING:  ai_scale: this standby has a recovery target, so it does not share its primary's cache\n.*DETAIL:  It does not see the invalidations its primary makes through Redis: what it cached itself is served until its ttl\. It draws a new lineage at every start while the target is set\.\n.*HINT:  When this standby is to follow its primary, remove recovery_target, recovery_target_name, _time, _xid and _lsn from postgresql\.conf and postgresql\.auto\.conf, copy the file "ai_scale_cache_lineage" from the primary \(or remove it where the primary has none\), and restart it\./,
    'which it warns of, saying how to follow the primary');

# As the hint says: the target removed, the file removed (the primary has none).
$standby->stop;
$standby->adjust_conf('postgresql.conf', 'recovery_target_name', undef);
unlink $file or die "unlink: $!";
my $offset = -s $standby->logfile;
$standby->start;
$primary->wait_for_catchup($standby);
ok(!-e $file, 'without the target the standby keeps its primary\'s lineage');
unlike(slurp_file($standby->logfile, $offset), qr/ai_scale: this (standby|server)/,
    'and says nothing of it');

$standby->stop;
$primary->stop;
done_testing();
