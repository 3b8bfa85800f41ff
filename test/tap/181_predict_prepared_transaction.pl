# predict() in a transaction that is prepared (PREPARE TRANSACTION): its sync-mode predictions
# are stored with it, but not cached at COMMIT PREPARED, which may come in another session or
# never; the first miss after the commit reads each from the store (L3) and caches it then. A
# ROLLBACK PREPARED leaves neither a row nor a cached prediction. docs/predict.md says so.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('predict_prepared');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
max_prepared_transactions = 2
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('p_lin', 'linear', ARRAY['a'], '{"weights": [2]}');
});

sub source_of {
    my ($input) = @_;
    return $node->safe_psql('postgres', "SELECT ai_scale.predict('p_lin', '$input') ->> 'source'");
}

sub stored {
    my ($input) = @_;
    return $node->safe_psql('postgres',
        "SELECT count(*) FROM model_predictions WHERE input_data = '$input'");
}

my $in_prepared = $node->safe_psql('postgres', q{
BEGIN;
SELECT ai_scale.predict('p_lin', '{"a": 1}') ->> 'source';
SELECT ai_scale.predict('p_lin', '{"a": 1}') ->> 'source';
PREPARE TRANSACTION 'p1';
});
is($in_prepared, "cpu\nl3", 'scored, then answered from its own row before the prepare');
$node->safe_psql('postgres', "COMMIT PREPARED 'p1'");
is(stored('{"a": 1}'), '1', 'stored once COMMIT PREPARED ran');
is(source_of('{"a": 1}'), 'l3', 'not cached at COMMIT PREPARED: the first miss reads the store');
is(source_of('{"a": 1}'), 'l1', 'and caches it');

$node->safe_psql('postgres', q{
BEGIN;
SELECT ai_scale.predict('p_lin', '{"a": 2}');
PREPARE TRANSACTION 'p2';
ROLLBACK PREPARED 'p2';
});
is(stored('{"a": 2}'), '0', 'ROLLBACK PREPARED leaves no row');
is(source_of('{"a": 2}'), 'cpu', 'and no cached prediction');

$node->stop;
done_testing();
