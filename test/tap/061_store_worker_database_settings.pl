# The async store worker takes the settings of its database and of the bootstrap role
# (ALTER DATABASE / ALTER ROLE ... SET) like any new session, but they are meant for client
# sessions and must not lose the rows that sessions able to write have queued:
# - default_transaction_read_only = on for the database (a DBA freezing it for new sessions
#   while older sessions still write): every batch failed "cannot execute INSERT in a read-only
#   transaction" and was lost;
# - (held before) a statement_timeout shorter than a batch's insert: Postgres arms it for client
#   statements only, so the worker's inserts run to the end.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('store_worker_settings');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'");
$node->start;

# In a new database (so that no store worker runs there yet), a session connects and then the
# database gets $setting; the session's async predict() queues a row, and the worker started
# for it, a new session, gets the setting. Returns whether the row reached the store, and
# whether the worker logged it lost.
sub queued_row_stored {
    my ($db, $setting, $setup) = @_;
    $node->safe_psql('postgres', "CREATE DATABASE $db");
    $node->safe_psql($db, qq{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store();
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2]}');
$setup});
    my $session = $node->background_psql($db);
    $session->query_safe('SET ai_scale.store_mode = async');
    $node->safe_psql('postgres', "ALTER DATABASE $db SET $setting");
    my $offset = -s $node->logfile;
    # One REPEATABLE READ transaction: the count reads the snapshot taken when predict()
    # started, so a row the session inserted itself shows and one the worker inserted (as
    # fast as it likes) cannot.
    $session->query_safe('BEGIN ISOLATION LEVEL REPEATABLE READ');
    $session->query_safe(q{SELECT ai_scale.predict('m', '{"a": 1}')});
    is($session->query_safe(q{SELECT count(*) FROM public.model_predictions}), '0',
        "$db: the row was queued, not inserted by the session");
    $session->query_safe('COMMIT');
    my ($stored, $lost) = (0, 0);
    for (1 .. 600) {
        # (This session, new too, gets the database's setting: the statement_timeout of 'slow'
        # cancelled the count, once under ASan, where a new backend's first query on the store
        # took over 100 ms.)
        $stored = $node->safe_psql($db,
            q{SET statement_timeout = 0; SELECT count(*) FROM public.model_predictions}) == 1;
        $lost = slurp_file($node->logfile, $offset) =~ /ai_scale store worker for database "[^"]+" lost 1 prediction:/;
        last if $stored || $lost;
        select(undef, undef, undef, 0.1);
    }
    $session->quit;
    return ($stored, $lost);
}

my ($stored, $lost) = queued_row_stored('frozen', 'default_transaction_read_only = on', '');
ok($stored, 'a database read-only by default for new sessions: the worker writes the row');
ok(!$lost, 'and loses nothing');

# Each insert of the store sleeps longer than the database's statement_timeout.
($stored, $lost) = queued_row_stored('slow', q{statement_timeout = '100ms'}, q{
CREATE FUNCTION slow() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN PERFORM pg_sleep(0.3); RETURN NULL; END';
CREATE TRIGGER slow BEFORE INSERT ON public.model_predictions
    FOR EACH STATEMENT EXECUTE FUNCTION slow();});
ok($stored, 'a statement_timeout shorter than the insert: the worker writes the row');
ok(!$lost, 'and loses nothing');

# session_replication_role = replica for the database (a replication or loading tool's
# setting, which the worker took as a new session): its insert fires the store's triggers all
# the same, as a synchronous predict() of the session that queued the row would.
($stored, $lost) = queued_row_stored('replica', q{session_replication_role = 'replica'}, q{
CREATE TABLE stored_rows (n int);
CREATE FUNCTION count_stored() RETURNS trigger LANGUAGE plpgsql AS
    'BEGIN INSERT INTO public.stored_rows VALUES (1); RETURN NULL; END';
CREATE TRIGGER count_stored AFTER INSERT ON public.model_predictions
    FOR EACH ROW EXECUTE FUNCTION count_stored();});
ok($stored, 'session_replication_role = replica: the worker writes the row');
is($node->safe_psql('replica', 'SELECT count(*) FROM stored_rows'), '1',
    'firing the store\'s trigger');

$node->stop;
done_testing();
