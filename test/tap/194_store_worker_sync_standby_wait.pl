# The async store worker stops when told to while its commit waits for a synchronous standby
# that does not answer (synchronous_standby_names names one that is down). It cleared its "cancel
# me" flag before the commit, so its SIGTERM was ignored for as long as no standby answered: a
# fast shutdown never finished (pg_ctl stop failed), and DROP DATABASE ... WITH (FORCE) failed
# with "being accessed by other users" (found by a probe of Postgres's settings). Now the
# SIGTERM ends the wait, as it ends a client's (the row is committed here, not yet on a
# standby), and the rows still queued are written without waiting for one, whatever the
# store's triggers set synchronous_commit to (found by a review).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# Streaming allowed: without WAL senders, Postgres waits for no standby.
my $node = PostgreSQL::Test::Cluster->new('store_sync_wait');
$node->init(allows_streaming => 1);
$node->append_conf('postgresql.conf',
    "shared_preload_libraries = 'ai_scale'\nai_scale.store_mode = 'async'\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('m', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');
-- A trigger of the store's that asks for synchronous commits, which the worker's commits as it
-- stops must not wait for all the same.
CREATE FUNCTION durable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN PERFORM set_config('synchronous_commit', 'on', true); RETURN NEW; END $$;
CREATE TRIGGER durable BEFORE INSERT ON public.model_predictions
    FOR EACH ROW EXECUTE FUNCTION durable();});
# From here a commit that writes waits for a standby that never comes; the async predictions
# below write nothing in this session's transactions, only the worker does.
$node->safe_psql('postgres',
    "ALTER SYSTEM SET synchronous_standby_names = 'absent'; SELECT pg_reload_conf();");
my $worker_waits = q{SELECT count(*) = 1 FROM pg_stat_activity
                      WHERE backend_type = 'ai_scale store' AND wait_event = 'SyncRep'};
my $worker_pid = q{SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale store'};

my $stored = q{SELECT string_agg(input_data->>'x', ' ' ORDER BY input_data->>'x')
                 FROM public.model_predictions};

# A fast shutdown while the worker waits so, with a prediction queued behind: it finishes, and
# both are stored.
$node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"x": 1}')});
ok($node->poll_query_until('postgres', $worker_waits),
    'the store worker\'s commit waits for the synchronous standby');
$node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"x": 2}')});
my $log_offset = -s $node->logfile;
{
    local $ENV{PGCTLTIMEOUT} = 60;
    ok($node->stop('fast', fail_ok => 1), 'a fast shutdown finishes');
}
ok($node->log_contains(qr/WARNING:  canceling wait for synchronous replication due to user request/,
        $log_offset),
    'the worker\'s wait is cancelled as a client\'s is');
$node->start;
is($node->safe_psql('postgres', $stored), '1 2',
    'both predictions are stored, the one queued behind without a wait');

# Terminated while it waits so (a DROP DATABASE stops it so too): it stops.
$node->safe_psql('postgres', q{SELECT ai_scale.predict('m', '{"x": 3}')});
ok($node->poll_query_until('postgres', $worker_waits), 'a new worker waits the same way');
my $pid = $node->safe_psql('postgres', $worker_pid);
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM pg_stat_activity WHERE pid = $pid"),
    'terminated, it stops');
is($node->safe_psql('postgres', $stored), '1 2 3', 'with its prediction stored');

$node->stop('immediate');
done_testing();
