# A statement whose snapshot sees a new model version scores with it, even before this backend
# has taken the catalog change's invalidation.
#
# A committing transaction becomes visible to new snapshots (ProcArrayEndTransaction) a moment
# before it sends its invalidations (AtEOXact_Inval). A backend whose statement began in that
# moment scored with the compiled model of the version before, while a subquery of the same
# statement read the new one from ai_scale.models (seen under pgbench). Each cached model is
# now checked, once per snapshot, to be the row the snapshot shows. The moment is made to last
# here: gdb holds the committing backend at AtEOXact_Inval.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(sleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

plan skip_all => 'gdb is not installed' if system('gdb --version >/dev/null 2>&1') != 0;

my $node = store_node('snapshot_before_invalidation');
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [1]}');
SELECT ai_scale.register_model('n', 'linear', ARRAY['a'], '{"weights": [10]}');});

my $writer = $node->background_psql('postgres');
my $pid = $writer->query_safe('SELECT pg_backend_pid()');
# gdb stops the writer at AtEOXact_Inval (its commit visible, its invalidations not yet sent)
# and holds it there until the file go appears, three minutes at most; it is killed should the
# test end before (a gdb left waiting kept its backend for good).
my $dir = PostgreSQL::Test::Utils::tempdir;
my ($gdb_out, $gdb_err) = ('', '');
my $gdb = IPC::Run::start(
    [ 'gdb', '-nx', '-q', '-batch', '-p', $pid,
      '-ex', 'handle SIGUSR1 SIGUSR2 SIGURG SIGALRM SIGPIPE nostop noprint pass',
      '-ex', 'break AtEOXact_Inval',
      '-ex', "shell touch $dir/attached",
      '-ex', 'continue',
      '-ex', "shell touch $dir/stopped",
      '-ex', "shell for i in \$(seq 1800); do [ -e $dir/go ] && break; sleep 0.1; done",
      '-ex', 'detach' ],
    '<', \undef, '>', \$gdb_out, '2>', \$gdb_err);
END { $gdb->kill_kill if $gdb && $gdb->pumpable; }
my $waited = 0;
sleep 0.1 while !-e "$dir/attached" && $waited++ < 600;
plan skip_all => "gdb could not attach to the backend: $gdb_err" unless -e "$dir/attached";

my $scorer = $node->background_psql('postgres');
my $scores = q{SELECT ai_scale.score('m', '{"a": 1}'),
                      ai_scale.predict('n', '{"a": 1}')->>'version',
                      (SELECT string_agg(model_version::text, ',' ORDER BY model_name)
                       FROM ai_scale.models WHERE active)};
is($scorer->query_safe($scores), '1|1|1,1', 'version 1 of each model, compiled and cached');

$writer->query_safe(q{BEGIN;
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}');
SELECT ai_scale.register_model('n', 'linear', ARRAY['a'], '{"weights": [20]}');});

$writer->query_until(qr/sent/, "\\echo sent\nCOMMIT;\n");
$waited = 0;
sleep 0.1 while !-e "$dir/stopped" && $waited++ < 1800;
ok(-e "$dir/stopped", 'the committing backend is held before sending its invalidations');

is($scorer->query_safe($scores), '2|2|2,2',
    'a statement that sees the new versions scores and predicts with them');
is($scorer->query_safe($scores), '2|2|2,2', 'and so does the next one');

PostgreSQL::Test::Utils::append_to_file("$dir/go", '');
$gdb->finish;
$writer->quit;
is($scorer->query_safe($scores), '2|2|2,2', 'after the invalidation, the same');
is($node->safe_psql('postgres', q{SELECT ai_scale.score('m', '{"a": 1}')}), 2,
    'a new session scores the new version');
$scorer->quit;
$node->stop;
done_testing();
