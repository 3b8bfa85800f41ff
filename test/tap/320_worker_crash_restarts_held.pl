# A maintenance run that crashes the server (here a trigger that kills its own backend, standing
# for the OOM killer ending the same big rescue, or a crash in C code an index expression calls)
# crashed it again at once after each restart: the launcher started the worker at once, and the
# worker ran at once. The server restarted about once a second, every client thrown out each
# time, until someone got a statement in between. From the second crash restart in a row the
# launcher now holds the workers back (10 s, doubling), and says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node_with('crash_hold', ['restart_after_crash = on']);
$node->safe_psql('postgres', q{
CREATE TABLE zz (id bigint, at timestamptz NOT NULL) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('zz', '1 day', 2, time_zone => 'UTC');
CREATE FUNCTION zz_kill() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.id = 1 THEN
        COPY (SELECT 1) TO PROGRAM 'kill -9 $PPID';
    END IF;
    RETURN NEW;
END $$;});
my $offset = -s $node->logfile;
# Rows for a day that has no partition, with the trigger in one transaction (the rows' own
# insert does not fire it): the worker's next run moves them out of the default through the
# table (its INSERT trigger must see them), and the trigger kills the worker.
$node->safe_psql('postgres', q{BEGIN;
INSERT INTO zz VALUES (2, now() - interval '20 days'), (1, now() - interval '20 days');
CREATE TRIGGER zz_kill BEFORE INSERT ON zz FOR EACH ROW EXECUTE FUNCTION zz_kill();
COMMIT;});
$node->wait_for_log(
    qr/holds the workers back for \d+ s: the server restarted after a crash 2 times in a row/,
    $offset);
ok(1, 'after the second crash restart in a row the launcher holds the workers back');
ok($node->poll_query_until('postgres', 'SELECT true'), 'the server answers meanwhile');
$node->safe_psql('postgres', 'DROP TRIGGER zz_kill ON zz');
ok($node->poll_query_until('postgres', 'SELECT count(*) = 0 FROM ONLY zz_default'),
    'then the worker comes back and moves the rows');
is($node->safe_psql('postgres', 'SELECT count(*) FROM zz'), '2', 'no row is lost');
my $log = slurp_file($node->logfile, $offset);
my $restarts = () = $log =~ /all server processes terminated; reinitializing/g;
is($restarts, 2, 'the server restarted twice, not once a second');

$node->stop;
done_testing();
