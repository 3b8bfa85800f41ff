# A transaction that writes makes its invalidations again right after its commit (docs/cache.md,
# Invalidation): that bump makes unreachable what another session cached during the
# transaction, computed from the data as it was before the change. Cut short while Redis had
# yet to answer it (its backend terminated, cancelled or crashed), the bump was lost: nothing
# marked the slot, and the value cached in the window was served after the commit, on every
# server, until it expired. Now the slot is marked as owed a bump before the commit, and the
# next sync makes the bump.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('owed_bump', $port);
my $node = cache_node('owed_bump', redis_primary => "127.0.0.1:$port");
$node->append_conf('postgresql.conf', 'restart_after_crash = on');
$node->reload;
$node->safe_psql('postgres', 'CREATE TABLE changes (how text)');

my $get = q{SELECT coalesce(ai_scale.cache_get('m', 1, '{"a": 1}')::text, 'miss')};

# The invalidating transaction, ended by $end while Redis holds its commit's INCRBY (CLIENT
# PAUSE WRITE keeps write commands unanswered; a client gone by then has its command dropped).
sub commit_cut_short {
    my ($how, $end) = @_;
    my $s = $node->background_psql('postgres', on_error_stop => 0);
    $s->query_safe(qq{SET application_name = 'invalidator';
SET ai_scale.redis_timeout_ms = 60000;
BEGIN;
INSERT INTO changes VALUES ('$how');
SELECT ai_scale.cache_invalidate('m', 1);});
    $node->safe_psql('postgres',
        q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '"computed before the change"')});
    is($node->safe_psql('postgres', $get), '"computed before the change"',
        "$how: another session caches a value during the transaction");
    system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', '60000', 'WRITE') == 0
      or die 'CLIENT PAUSE failed';
    $s->query_until(qr/sent/, "\\echo sent\nCOMMIT;\n");
    $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'invalidator' AND query = 'COMMIT;' AND now() - query_start > '300ms'})
      or die "$how: the commit never waited for Redis";
    $end->();
    system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';
    $s->{run}->finish;
    is($node->safe_psql('postgres', "SELECT count(*) FROM changes WHERE how = '$how'"), '1',
        "$how: the commit stands");
    # The next sync of the slot is at most a second after the last.
    is($node->safe_psql('postgres', "SELECT pg_sleep(1.1); $get"), "\nmiss",
        "$how: the value cached during the transaction is unreachable after the commit");
    $node->safe_psql('postgres',
        q{SELECT ai_scale.cache_put('m', 1, '{"a": 1}', '"after the change"')});
    is($node->safe_psql('postgres', $get), '"after the change"', "$how: and caching goes on");
}

commit_cut_short('terminated', sub {
    $node->safe_psql('postgres', q{SELECT pg_terminate_backend(pid) FROM pg_stat_activity
WHERE application_name = 'invalidator'});
    $node->poll_query_until('postgres',
        q{SELECT count(*) = 0 FROM pg_stat_activity WHERE application_name = 'invalidator'})
      or die 'the backend did not end';
});

commit_cut_short('crashed', sub {
    my $pid = $node->safe_psql('postgres',
        q{SELECT pid FROM pg_stat_activity WHERE application_name = 'invalidator'});
    kill 'KILL', $pid;
    # The postmaster ends every backend and starts again, the marks carried across in a file.
    my $ready;
    for (1 .. 300) {
        last if $ready = $node->psql('postgres', 'SELECT 1') == 0;
        usleep(100_000);
    }
    $ready or die 'the server did not come back';
});

$node->stop;
redis_stop('owed_bump');
done_testing();
