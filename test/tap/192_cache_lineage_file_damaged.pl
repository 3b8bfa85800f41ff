# The cache lineage file (src/cache/lineage.cpp) exists only where a server restored from a
# backup wrote it, or in a base backup of such a server. A server that found it damaged used
# to log a WARNING and take lineage 0, the keys of the system identifier alone: those of the
# cluster it was copied from, which the lineage is there to keep it from reading and writing.
# It now refuses to start, saying what to do, until the file holds a lineage again.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('lineage_damaged');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
my $file = $node->data_dir . '/ai_scale_cache_lineage';

# Upper-case digits, as a hand-written file might hold: not a lineage.
append_to_file($file, "ABCDEF0123456789\n");
my $offset = -s $node->logfile // 0;
ok(!$node->start(fail_ok => 1), 'a server whose lineage file is damaged does not start');
like(slurp_file($node->logfile, $offset),
    qr/FATAL:  ai_scale: file "ai_scale_cache_lineage" does not hold a cache lineage\n.*DETAIL:  It holds other than 16 lower-case hex digits, not all zero, and a newline\. The file exists only where a server restored from a backup wrote it; without it this server would share the cache keys of the cluster it was copied from\.\n.*HINT:  On a standby, copy the file from its primary\./,
    'and says why, and what to do');

# A directory in its place cannot be read.
unlink $file;
mkdir $file or die "mkdir: $!";
$offset = -s $node->logfile;
ok(!$node->start(fail_ok => 1), 'nor one whose lineage file cannot be read');
like(slurp_file($node->logfile, $offset),
    qr/DETAIL:  It could not be read: Is a directory\./, 'which it says');
rmdir $file or die "rmdir: $!";

# A lineage written by hand, as the hint says: the server starts, and keeps the file.
append_to_file($file, "0123456789abcdef\n");
$node->start;
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'with a lineage in the file it starts');
is(slurp_file($file), "0123456789abcdef\n", 'and leaves the file as it was');

$node->stop;
done_testing();
