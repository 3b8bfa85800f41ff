# The worker's DETACH ... CONCURRENTLY beside an event trigger a DBA installed at
# ddl_command_end (here an audit log of DDL): the trigger runs after the detach's first commit,
# and takes its snapshot from the active portal, as for a client's statement. The worker ran the
# statement without one: every concurrent detach failed ("cannot execute SQL without an outer
# snapshot or portal"), the partition stayed pending detach, and only the next run's FINALIZE
# detached it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_event_trigger');
$node->safe_psql('postgres', q{
CREATE TABLE ddl_log (tag text, pid int);
CREATE FUNCTION log_ddl() RETURNS event_trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO public.ddl_log VALUES (tg_tag, pg_backend_pid());
END $$;
CREATE EVENT TRIGGER log_ddl ON ddl_command_end EXECUTE FUNCTION log_ddl();} .
    old_partition_table('r') .
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass;});

ok($node->wait_for_log(qr/${worker_line}(?:detached|finalized detach of) public\.r public\.r_old/),
    'the worker detaches the partition retention chose');
my $log = slurp_file($node->logfile);
like($log, qr/${worker_line}detached public\.r public\.r_old/,
    'in one concurrent detach');
unlike($log, qr/outer snapshot or portal/, 'which the event trigger did not fail');
ok($node->wait_for_log(qr/${worker_line}dropped public\.r public\.r_old/),
    'then drops it');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits WHERE inhdetachpending}),
    '0', 'no partition is left pending detach');
is($node->safe_psql('postgres',
        q{SELECT count(*) FROM ddl_log WHERE tag = 'ALTER TABLE' AND pid IN} .
        q{ (SELECT pid FROM pg_stat_activity WHERE backend_type = 'ai_scale maintenance')}),
    '1', 'the event trigger logged the worker\'s detach');

$node->stop;
done_testing();
