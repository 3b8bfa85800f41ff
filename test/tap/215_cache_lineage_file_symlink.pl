# The cache lineage file (src/cache/lineage.cpp) as a symbolic link. One to a file that does not
# exist (kept on a volume not mounted, say) read as no file: lineage 0, the keys of the cluster
# the server was copied from, which the lineage is there to keep it from. Such a server now
# refuses to start, as for a damaged file (test/tap/192_cache_lineage_file_damaged.pl); a link to
# a file that holds a lineage is read through.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lineage_symlink');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
my $file = $node->data_dir . '/ai_scale_cache_lineage';
my $target = PostgreSQL::Test::Utils::tempdir() . '/lineage';

symlink($target, $file) or die "symlink: $!";
my $offset = -s $node->logfile // 0;
ok(!$node->start(fail_ok => 1), 'a server whose lineage file links to nothing does not start');
like(slurp_file($node->logfile, $offset),
    qr/FATAL:  ai_scale: file "ai_scale_cache_lineage" does not hold a cache lineage\n.*DETAIL:  It is a symbolic link to a file that does not exist\. The file exists only where a server restored from a backup wrote it/,
    'and says why');

append_to_file($target, "0123456789abcdef\n");
$node->start;
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'once the link leads to a lineage it starts');
ok(-l $file, 'and leaves the link as it was');

$node->stop;
done_testing();
