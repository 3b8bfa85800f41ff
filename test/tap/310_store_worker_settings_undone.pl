# A setting that the code of a store (a trigger) changes for the whole session as the async
# store worker inserts a batch is undone after that batch. The worker keeps one session per
# database for every store and role there, and a trigger's set_config(..., false) stayed for the
# batches after it, other roles' and stores' included, until the worker went idle:
# default_transaction_read_only lost every later batch ('cannot execute INSERT in a read-only
# transaction'), a TimeZone wrote other stores' timestamp keys hours off.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('store_settings_undone');
$node->safe_psql('postgres', q{
CREATE TABLE other_store (LIKE public.model_predictions INCLUDING DEFAULTS);
CREATE FUNCTION set_for_session() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM set_config('default_transaction_read_only', 'on', false);
    RETURN NEW;
END $$;
CREATE TRIGGER set_for_session BEFORE INSERT ON public.model_predictions
    FOR EACH ROW EXECUTE FUNCTION set_for_session();
SELECT ai_scale.register_model('a', 'linear', ARRAY['x'], '{"weights": [1], "bias": 0}');});

my $offset = -s $node->logfile;
# The first batch goes to the store whose trigger changes the settings; once it is written, a
# batch of another session to another store.
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SELECT ai_scale.predict('a', '{"x": 1}');});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM public.model_predictions}),
    'the first batch is written, its trigger run');
$node->safe_psql('postgres', q{SET ai_scale.store_mode = async;
SET ai_scale.store_table = 'public.other_store';
SELECT ai_scale.predict('a', '{"x": 2}');});
# Written, or lost (the worker says so), whichever comes first.
my $outcome = '';
foreach (1 .. 10 * $PostgreSQL::Test::Utils::timeout_default) {
    $outcome = 'written'
      if $node->safe_psql('postgres', 'SELECT count(*) FROM public.other_store') == 1;
    $outcome = 'lost'
      if slurp_file($node->logfile, $offset) =~ /store worker\b.*\blost \d+ prediction/;
    last if $outcome;
    usleep(100_000);
}
is($outcome, 'written', 'the next batch, to another store, is written too, not lost');

$node->stop;
done_testing();
