# The worker detaches a partition retention chose with DETACH ... CONCURRENTLY when the table has
# no default partition (Postgres refuses one beside a default), as the run's plan found it; the
# detaches run after every table is maintained, one after another. A default partition made in
# between (manage_partitions makes one again where a DBA dropped it, as the soak's DBA did)
# failed the table's run at its next detach ("maintenance of public.soak failed: cannot detach
# partitions concurrently when a default partition exists", found by the soak of
# 274_partition_chaos_soak.pl) and left the rest of its detaches. The worker now looks for a
# default partition under its lock on the parent, leaves the partition attached, says why, and
# its next run drops it with the parent locked, as for any table with a default partition.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_detach_default_added', maintenance_lock_timeout => '5min');
my $gate = worker_alter_gate($node);
# r_old and r_mid both past a retention of 3 days, r_old detached first; no default partition.
$node->safe_psql('postgres', old_partition_table('r') . q{
CREATE TABLE r_mid PARTITION OF r FOR VALUES FROM (now()::date - 8) TO (now()::date - 7);
INSERT INTO r VALUES (now()::date - 8 + interval '1 hour', 2);});
my $errors = q{SELECT value FROM ai_scale.stats WHERE section = 'maintenance' AND metric = 'errors'};
my $errors_before = $node->safe_psql('postgres', $errors);
my $log_offset = -s $node->logfile;

# The worker's detach of r_old waits at the gate, holding the parent; a DBA's CREATE of a
# default partition waits for it, and goes through once the detach commits, before the worker
# takes the parent again for its detach of r_mid.
$gate->query_safe('BEGIN; LOCK TABLE gate IN ACCESS EXCLUSIVE MODE;');
$node->safe_psql('postgres',
    q{UPDATE ai_scale.partition_config SET retention = '3 days' WHERE parent = 'r'::regclass});
ok($node->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
 WHERE a.backend_type = 'ai_scale maintenance' AND l.relation = 'r_old'::regclass
   AND l.mode = 'AccessExclusiveLock' AND l.granted}),
    'the worker\'s detach of r_old waits at the gate');
my $dba = $node->background_psql('postgres');
$dba->query_until(qr/sent/, "\\echo sent\nCREATE TABLE r_default PARTITION OF r DEFAULT;\n");
ok($node->poll_query_until('postgres',
        q{SELECT count(*) = 1 FROM pg_locks WHERE relation = 'r'::regclass AND NOT granted}),
    'a DBA\'s CREATE of a default partition waits for it');
$gate->query_safe('COMMIT');

my $left = qr/left partition public\.r_mid of public\.r attached: the table has a default partition since the run chose it/;
my $failed = worker_failed('public\.r');
ok($node->wait_for_log(qr/$left|$failed/, $log_offset),
    'the worker gets to its detach of r_mid');
my @lines = split /\n/, substr(slurp_file($node->logfile), $log_offset);
is(join("\n", grep { /$failed/ } @lines), '', 'the table\'s run did not fail');
is(scalar(grep { /$left/ } @lines), 1, 'it left r_mid attached, and said why');
is(join(', ', map { /${worker_line}(\w+) public\.r public\.r_old$/ ? $1 : () } @lines),
    'detached, dropped', 'it had detached and dropped r_old');
is($node->safe_psql('postgres', q{SELECT to_regclass('public.r_default') IS NOT NULL}), 't',
    'the default partition was made');

# The next run drops r_mid with the parent locked.
ok($node->poll_query_until('postgres', q{SELECT to_regclass('public.r_mid') IS NULL}),
    'a later run drops r_mid');
is($node->safe_psql('postgres', q{SELECT count(*) FROM pg_inherits WHERE inhdetachpending}),
    '0', 'no partition is left pending detach');
is($node->safe_psql('postgres', $errors), $errors_before, 'no maintenance error was counted');

$dba->quit;
$gate->quit;
$node->stop;
done_testing();
