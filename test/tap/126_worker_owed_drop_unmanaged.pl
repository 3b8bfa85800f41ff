# A partition the worker detached to drop and could not drop stays marked (see _owed_drop_note).
# Unmanaging the table keeps it, as the worker keeps a table unmanaged during its detach: the
# mark goes with the settings. Before, it stayed, no run looked at it while the table was
# unmanaged, and managing the table again with the same retention dropped it.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('worker_owed_drop_unmanaged');
worker_drop_fails($node);

$node->safe_psql('postgres', q{SELECT ai_scale.unmanage_partitions('r')});
is($node->safe_psql('postgres',
        q{SELECT obj_description('public.r_old'::regclass, 'pg_class') IS NULL}),
    't', 'unmanaging the table takes the mark away');

# Managed again, with the same retention: the table unmanaged meanwhile is kept.
$node->safe_psql('postgres', q{
DROP VIEW v_old;
SELECT count(*) FROM ai_scale.manage_partitions('r', '1 day', 2, retention => '3 days');
DROP TABLE r_default;});
# A partition attached after the table is managed again: the worker detaches and drops it, in
# a run that looked at the marked tables first.
$node->safe_psql('postgres', q{
CREATE TABLE r_old2 PARTITION OF r FOR VALUES FROM (now()::date - 8) TO (now()::date - 7);});
ok($node->wait_for_log(qr/${worker_line}dropped public\.r public\.r_old2/),
    'the worker runs on the table managed again');
is($node->safe_psql('postgres', q{SELECT count(*) FROM public.r_old}), '1',
    'the table detached before it was unmanaged stays, with its row');

$node->stop;
done_testing();
