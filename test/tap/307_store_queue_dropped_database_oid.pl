# DROP DATABASE while its store worker cannot write (a session holds the store locked): the
# worker stops with the rows left queued, and the queue's slot is keyed by the database's OID.
# They stayed there after the drop, and a database made later with that OID (CREATE DATABASE
# ... OID = n; OIDs also wrap around) took them: a copy of the dropped database (same relation
# OIDs) had them written into its store by its own worker. Now the drop discards them, with a
# LOG line, and the worker's WARNING says they go with the database.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('dropped_oid');
store_database($node, 'doomed');
# A copy made before any prediction: the same relation OIDs, no rows.
$node->safe_psql('postgres', 'CREATE DATABASE doomed_copy TEMPLATE doomed');
my $oid = $node->safe_psql('postgres', q{SELECT oid FROM pg_database WHERE datname = 'doomed'});

# The store locked; 100 async predictions queued behind it.
my ($locker, $waits) = store_worker_held($node,
    q{count(ai_scale.predict('m', jsonb_build_object('a', g, 'from', 'doomed')))
        FROM generate_series(1, 100) g}, undef, 'doomed');
ok($waits, 'the store worker waits for the store');

my $log_offset = -s $node->logfile;
$node->safe_psql('postgres', 'DROP DATABASE doomed WITH (FORCE)');
eval { $locker->quit };
my $log = slurp_file($node->logfile, $log_offset);
like($log, qr/stopping; wrote 0 queued predictions, left 100 queued.*\n.*DETAIL:  They go with the database being dropped/,
    'the stopping worker says the rows it left go with the database');
like($log, qr/discarded 100 queued predictions of dropped database "doomed"/,
    'the drop discards them, with a LOG line');

# A database made with the dropped one's OID, a copy of it: its own async prediction is written,
# and none of the dropped database's.
$node->safe_psql('postgres', "CREATE DATABASE reborn OID = $oid TEMPLATE doomed_copy");
$node->safe_psql('reborn', q{
SET ai_scale.store_mode = async;
SELECT ai_scale.predict('m', '{"a": 7, "from": "reborn"}');});
ok( $node->poll_query_until('reborn', q{
SELECT count(*) = 1 FROM public.model_predictions WHERE input_data ->> 'from' = 'reborn'}),
    'the new database\'s own prediction is stored');
is( $node->safe_psql('reborn', q{
SELECT count(*) FROM public.model_predictions WHERE input_data ->> 'from' = 'doomed'}),
    '0', 'none of the dropped database\'s');

done_testing();
