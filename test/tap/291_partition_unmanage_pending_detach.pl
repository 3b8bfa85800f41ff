# unmanage_partitions completes a detach left pending (a DETACH ... CONCURRENTLY cut short: the
# worker's, by a crash or a cancel), as the next maintenance run would have. It left it pending
# for good, since no run looks at an unmanaged table: the partition's rows were read through
# the table no more, and a row of its range found no partition. One it cannot complete within
# maintenance's short lock wait (a transaction older than the detach is still open) is a
# WARNING that says how to complete it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = PostgreSQL::Test::Cluster->new('unmanage_pending');
$node->init;
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION ai_scale');

# A managed table whose partition of tomorrow holds ten rows and is left pending detach: a
# transaction that read the table before the detach keeps it waiting, and it is cancelled. Returns that
# partition and the older transaction's session, still open.
sub pending_detach {
    my ($table) = @_;
    my $t = qq{"$table"};
    $node->safe_psql('postgres', qq{
CREATE TABLE $t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('$t', '1 day', 3);
INSERT INTO $t SELECT now() + interval '1 day', g FROM generate_series(1, 10) g;
-- (A detach cannot be concurrent beside a default partition.)
DO \$\$ BEGIN EXECUTE format('DROP TABLE %s', (SELECT partdefid::regclass FROM pg_partitioned_table
                                               WHERE partrelid = '$t'::regclass)); END \$\$;});
    my $part = $node->safe_psql('postgres', qq{SELECT tableoid::regclass FROM $t LIMIT 1});
    my $old = $node->background_psql('postgres');
    $old->query_safe("BEGIN; SELECT count(*) FROM $t;");
    my $detacher = $node->background_psql('postgres', on_error_stop => 0);
    $detacher->query_until(qr/sent/, "SET application_name = 'detacher';\n\\echo sent\n"
          . "ALTER TABLE $t DETACH PARTITION $part CONCURRENTLY;\n");
    $node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM pg_stat_activity
WHERE application_name = 'detacher' AND wait_event_type = 'Lock'}) or die 'the detach did not wait';
    $node->safe_psql('postgres',
        q{SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'detacher'});
    $detacher->query('SELECT 1');
    $detacher->quit;
    is($node->safe_psql('postgres',
        "SELECT inhdetachpending FROM pg_inherits WHERE inhrelid = '$part'::regclass"),
        't', "$table: the detach is left pending");
    return ($part, $old);
}

# Still held up by the older transaction: not completed, and the WARNING says how.
my ($part, $old) = pending_detach('Held Up');
my ($ret, $out, $err) = $node->psql('postgres', q{SELECT ai_scale.unmanage_partitions('"Held Up"')});
is($ret, 0, 'unmanage_partitions succeeds') or diag($err);
like($err, qr/WARNING:  partition public\.\Q$part\E of public\."Held Up" is still pending detach
DETAIL:  finalize the detach: canceling statement due to lock timeout; lock on public\.\Q$part\E held by pid \d+ \(transaction open [^)]*\)
HINT:  Complete it with ALTER TABLE public\."Held Up" DETACH PARTITION public\.\Q$part\E FINALIZE\. Until then its rows are not read through public\."Held Up", and rows of its range have no partition\./,
    'a detach it cannot complete is a WARNING naming the statement that completes it');
$old->quit;
is($node->safe_psql('postgres', qq{ALTER TABLE "Held Up" DETACH PARTITION $part FINALIZE;
SELECT count(*) FROM pg_inherits WHERE inhdetachpending}), '0',
    'the statement it names completes it once the older transaction has ended');

# The older transaction ended: unmanage_partitions completes the detach itself.
($part, $old) = pending_detach('Cut Short');
$old->quit;
($ret, $out, $err) = $node->psql('postgres', q{SELECT ai_scale.unmanage_partitions('"Cut Short"')});
is($ret, 0, 'unmanage_partitions succeeds') or diag($err);
is($err, '', 'with no WARNING');
is($node->safe_psql('postgres', qq{
SELECT count(*) FROM pg_inherits WHERE inhrelid = '$part'::regclass;
SELECT count(*) FROM $part;
SELECT count(*) FROM ai_scale.partition_config WHERE parent = '"Cut Short"'::regclass;}),
    "0\n10\n0", 'the partition is detached with its rows, and the table unmanaged');

# After other DDL in the same transaction the detach is not tried (its FINALIZE would wait for
# the writers of what that DDL locked), and the WARNING promises no run, since none will come.
($part, $old) = pending_detach('After DDL');
$old->quit;
($ret, $out, $err) = $node->psql('postgres', q{BEGIN;
CREATE TABLE unrelated (x int);
SELECT ai_scale.unmanage_partitions('"After DDL"');
COMMIT;});
is($ret, 0, 'unmanage_partitions succeeds after other DDL') or diag($err);
like($err, qr/WARNING:  partition public\.\Q$part\E of public\."After DDL" is still pending detach
DETAIL:  finalize the detach: not after other DDL in the same transaction, whose writers it would wait for
HINT:  Complete it with ALTER TABLE public\."After DDL" DETACH PARTITION public\.\Q$part\E FINALIZE\./,
    'the WARNING says why, and promises no run');

$node->stop;
done_testing();
