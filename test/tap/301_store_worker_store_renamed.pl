# The prediction store renamed (ALTER TABLE ... RENAME, ... SET SCHEMA) while the async store
# worker waits for its lock with rows queued: the rows go into the store they were queued for,
# under its new name. The worker read the store's name before it waited, and its insert, made
# by that name, found no such relation once the rename had committed: the batch was lost
# ("lost 1 prediction: relation "public.model_predictions" does not exist"), where a worker that
# did not have to wait wrote the same rows into the renamed table. It now locks the store by
# its OID first, as a synchronous insert does.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_renamed', store_mode => 'async');
$node->safe_psql('postgres', q{
SELECT ai_scale.register_model('r_lin', 'linear', ARRAY['a'], '{"weights": [1]}');
CREATE SCHEMA moved;});

# Queues {"a": $a} while a session holds the store (named $store) in SHARE mode, which lets the
# lookup read it and keeps the worker's insert waiting; once the worker waits, the session runs
# $rename and commits. Returns how many rows with that input $renamed (the store's new name)
# holds once the worker wrote the row or logged its loss.
sub queued_across_rename {
    my ($a, $store, $rename, $renamed) = @_;
    my $log_offset = -s $node->logfile;
    my ($holder, $waits) =
      store_worker_held($node, qq{ai_scale.predict('r_lin', '{"a": $a}')}, $store);
    ok($waits, "$renamed: the store worker waits for the store's lock");
    $holder->query_safe("$rename; COMMIT");
    $holder->quit;
    my $settled = 0;
    for (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default) {
        $settled = $node->safe_psql('postgres',
            qq{SELECT count(*) = 1 FROM $renamed WHERE input_data = '{"a": $a}'}) eq 't'
          || slurp_file($node->logfile, $log_offset) =~ /store worker for database "[^"]+" lost/;
        last if $settled;
        select(undef, undef, undef, 0.1);
    }
    ok($settled, "$renamed: the worker wrote the row or logged its loss");
    unlike(slurp_file($node->logfile, $log_offset), qr/store worker for database "[^"]+" lost/,
        "$renamed: no prediction lost");
    return $node->safe_psql('postgres',
        qq{SELECT count(*) FROM $renamed WHERE input_data = '{"a": $a}'});
}

is(queued_across_rename(1, 'public.model_predictions',
        'ALTER TABLE public.model_predictions RENAME TO predictions_kept',
        'public.predictions_kept'),
    '1', 'a store renamed while the worker waited holds the queued row');
is(queued_across_rename(2, 'public.predictions_kept',
        'ALTER TABLE public.predictions_kept SET SCHEMA moved', 'moved.predictions_kept'),
    '1', 'a store moved to another schema while the worker waited holds the queued row');

$node->stop;
done_testing();
