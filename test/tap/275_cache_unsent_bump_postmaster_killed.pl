# An invalidation made while Redis was unreachable is marked in shared memory, and carried across
# a restart by a file of the data directory (test/tap/272_cache_unsent_bump_restart.pl). The
# postmaster wrote that file only as it exited: killed (SIGKILL, the machine lost), it wrote
# nothing, the restarted server took Redis's counter, the generation the values cached before the
# invalidation were written under, and served them again. The backend that marks the slot now
# writes the file itself before its call returns.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dead = PostgreSQL::Test::Cluster::get_free_port(); # nothing listens there
redis_start('unsent_killed', $port);
my $node = cache_node('cache_unsent_killed', redis_primary => "127.0.0.1:$port");
my $file = $node->data_dir . '/ai_scale_cache_unsent_bumps';

my $get = q{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": 1}')::text, 'miss')};
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": 1}')});
is($node->safe_psql('postgres', $get), '{"v": 1}', 'the value put is a hit from Redis');
ok(!-e $file, 'a server that made no bump has no file');

# Invalidated in a session whose Redis is an address nothing listens at.
my ($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.redis_primary = '127.0.0.1:$dead';
SELECT ai_scale.cache_invalidate('m', 1);});
is($ret, 0, 'the invalidation without Redis succeeds') or diag($err);
like(-e $file ? slurp_file($file) : '(no file)', qr/\Aai_scale unsent generation bumps 2\n\d+\nend\n\z/,
    'the running server has written the slot it bumped without Redis to the file');

# The postmaster killed: nothing runs at its exit. Its children leave once they see it gone; the
# next start waits for them (their shared memory is still in use until then).
$node->kill9;
my $started = 0;
for my $try (1 .. 60) {
    last if $started = $node->start(fail_ok => 1);
    $node->{_pid} = undef; # a failed start read the killed postmaster's pid from its pid file
    sleep 1;
}
ok($started, 'the server starts again after its postmaster was killed');
is($node->safe_psql('postgres', $get), 'miss',
    'the value put before the invalidation is a miss after the restart');
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '{"v": 2}')});
is($node->safe_psql('postgres', $get), '{"v": 2}', 'a value put since is a hit');

# A file the backend cannot write is a LOG line that says the exit writes it again.
unlink $file;
mkdir $file or die "mkdir $file: $!";
my $offset = -s $node->logfile;
($ret, $out, $err) = $node->psql('postgres', qq{
SET ai_scale.redis_primary = '127.0.0.1:$dead';
SELECT ai_scale.cache_invalidate('other', 1);});
is($ret, 0, 'an invalidation without Redis succeeds where the file cannot be written')
  or diag($err);
like(slurp_file($node->logfile, $offset),
    qr/LOG:  ai_scale: cache invalidations Redis may lack are not carried to the next start\n.*DETAIL:  \d+ generation slots? (was|were) to be carried: bumped while Redis was unreachable, or in the last 5 minutes, a bump a Redis failover may yet lose\.\n.*HINT:  The server writes them again as it stops\. Killed before then, it loses them: once Redis answers, call ai_scale\.cache_invalidate again for the models invalidated while it did not\./,
    '... a LOG line, whose hint says the stop writes them again');
rmdir $file or die "rmdir $file: $!";

$node->stop;
like(-e $file ? slurp_file($file) : '(no file)', qr/\Aai_scale unsent generation bumps 2\n(\d+( \d+)?\n)+end\n\z/,
    'the stop has written the file');

# A floor at or near what counters reach (2^62), carried from a build that took a counter set
# near 2^63 by someone else: the slot could not pass it without going past 2^62, was never
# learned again, and its model was never cached in Redis; every session was told to delete a
# key Redis did not hold. It is now carried as an invalidation Redis lacks. (2^62 itself: a
# floor within a bump's step of it was still kept.)
$node->start;
$node->psql('postgres', qq{SET ai_scale.redis_primary = '127.0.0.1:$dead';
SELECT ai_scale.cache_invalidate('far', 1);});
$node->stop;
my $text = slurp_file($file);
$text =~ s/^(\d+)( \d+)?$/$1 4611686018427387904/mg;
PostgreSQL::Test::Utils::append_to_file("$file.new", $text);
rename "$file.new", $file or die "rename: $!";
$node->start;
($ret, $out, $err) = $node->psql('postgres', q{
SELECT pg_sleep(1.1);
SELECT ai_scale.cache_put('far', 1, '{"a": 1}', '{"v": "far"}');
SELECT ai_scale.cache_get('far', 1, '{"a": 1}');});
like($out, qr/\{"v": "far"\}\z/, 'a model whose slot carried such a floor is cached in Redis again');
unlike($err, qr/WARNING/, 'with no warning');
$node->stop;
redis_stop('unsent_killed');
done_testing();
