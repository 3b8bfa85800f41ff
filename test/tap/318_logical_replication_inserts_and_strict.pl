# Two ways logical replication met ai_scale's work and stopped.
# 1. A publication of the store's inserts alone (an append-only copy): rows moved out of the
#    default partition went through the parent, as deletes and inserts, and such a subscriber
#    got every moved row a second time (with a key, its apply stopped there for good). They now
#    move around the parent, which such a publication does not see; with a publication of
#    deletes too, no move suits both, and the move is refused, saying why.
# 2. A subscriber of the model catalog with ai_scale.cache_strict on and its Redis down: the
#    catalog's trigger failed each replicated registration (08006), and the subscription stopped
#    with it. A logical replication worker is never strict now.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($publisher, $subscriber) = publisher_and_subscriber();
# The subscriber's Redis: a port nothing listens on.
my $no_redis = PostgreSQL::Test::Cluster::get_free_port();
$subscriber->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '127.0.0.1:$no_redis'
ai_scale.cache_strict = on
});
$subscriber->restart;

$publisher->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store(premake => 1);
CREATE PUBLICATION inserts FOR TABLE model_predictions
    WITH (publish_via_partition_root = true, publish = 'insert');
CREATE PUBLICATION catalog FOR TABLE ai_scale.models;});
$subscriber->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE model_predictions (prediction_id uuid, model_name text, model_version int,
    input_data jsonb, output_data jsonb, input_hash bigint, created_at timestamptz,
    PRIMARY KEY (prediction_id, created_at));});
my $connstr = $publisher->connstr . ' dbname=postgres';
for my $publication ('inserts', 'catalog') {
    $subscriber->safe_psql('postgres',
        "CREATE SUBSCRIPTION $publication CONNECTION '$connstr' PUBLICATION $publication "
      . "WITH (copy_data = false)");
    $subscriber->wait_for_subscription_sync($publisher, $publication);
}


# Old rows, in the publisher's default partition and on the subscriber.
$publisher->safe_psql('postgres', q{
INSERT INTO model_predictions (model_name, model_version, created_at)
SELECT 'old', 1, timestamptz '2024-05-01 00:00 UTC' + (i % 5) * interval '1 day'
  FROM generate_series(1, 50) i;});
ok($subscriber->poll_query_until('postgres',
        q{SELECT count(*) = 50 FROM model_predictions WHERE model_name = 'old'}),
    'the old rows reach the subscriber');
is($publisher->safe_psql('postgres',
        q{SELECT sum(rows_moved) FROM ai_scale.rescue_default('model_predictions')}),
    '50', 'a rescue moves them into partitions on the publisher');
row_arrives($publisher, $subscriber, 'after', 'the subscription goes on after the rescue');
is($subscriber->safe_psql('postgres',
        q{SELECT count(*) FROM model_predictions WHERE model_name = 'old'}),
    '50', '... and its subscriber has each moved row once');

# A second publication, of deletes too: moved through the parent, the first one's subscriber
# would get the rows twice; moved around it, the second's would lose them.
$publisher->safe_psql('postgres', q{
CREATE PUBLICATION everything FOR TABLE model_predictions WITH (publish_via_partition_root = true);
INSERT INTO model_predictions (model_name, model_version, created_at)
VALUES ('older', 1, timestamptz '2023-03-01 00:00 UTC');});
my ($rc, $out, $err) = $publisher->psql('postgres',
    q{SELECT * FROM ai_scale.rescue_default('model_predictions')},
    extra_params => ['-v', 'VERBOSITY=verbose']);
like($err, qr/ERROR:  0A000: rows cannot be moved out of the default partition of public.model_predictions/,
    'with publications of inserts alone and of deletes, a rescue is refused');
like($err, qr/publication inserts sends its inserts alone, and publication everything its deletes/,
    '... naming them');
is($publisher->safe_psql('postgres',
        q{SELECT count(*) FROM model_predictions_default WHERE model_name = 'older'}),
    '1', '... and the row stays in the default partition');

# Refused in a maintenance run, only the partition that would hold the row fails: the others
# are made. (The refusal failed the table's whole run: nothing was made, nor dropped.)
$publisher->safe_psql('postgres', q{
INSERT INTO model_predictions (model_name, model_version, created_at)
VALUES ('ahead', 1, now() + interval '5 days');
UPDATE ai_scale.partition_config SET premake = 7;});
my $run = $publisher->safe_psql('postgres', q{
SELECT count(*) FILTER (WHERE action = 'created') || ' ' ||
       count(*) FILTER (WHERE action = 'error' AND detail LIKE 'create from %rows cannot be moved%')
  FROM ai_scale.run_maintenance('model_predictions')});
like($run, qr/^[1-9]\d* 1$/, 'a run makes the partitions without rows, and reports the other');

# A publication of inserts alone of all tables publishes the table a move around the parent
# writes, under its own name: refused too.
$publisher->safe_psql('postgres', q{
DROP PUBLICATION everything;
CREATE PUBLICATION all_inserts FOR ALL TABLES WITH (publish = 'insert');});
(undef, undef, $err) = $publisher->psql('postgres',
    q{SELECT * FROM ai_scale.rescue_default('model_predictions')});
like($err, qr/publication all_inserts sends its inserts alone, of all tables or of the table's schema/,
    'with a publication of inserts alone of all tables, a rescue is refused');
$publisher->safe_psql('postgres', 'DROP PUBLICATION all_inserts');

# Triggers on other events fire alike either way: beside the publication of inserts alone, a
# BEFORE UPDATE trigger no longer refuses the move (nor sends it through the parent).
$publisher->safe_psql('postgres', q{
CREATE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NEW; END $$;
CREATE TRIGGER touch BEFORE UPDATE ON model_predictions FOR EACH ROW EXECUTE FUNCTION touch();});
is($publisher->safe_psql('postgres',
        q{SELECT sum(rows_moved) FROM ai_scale.rescue_default('model_predictions')}),
    '2', 'with a trigger on UPDATE, the rows left in the default are moved');
row_arrives($publisher, $subscriber, 'after2', '... and the subscription goes on');
is($subscriber->safe_psql('postgres',
        q{SELECT count(*) FROM model_predictions WHERE model_name IN ('older', 'ahead')}),
    '2', '... its subscriber having each row once');

# A publication of deletes alone loses moved rows on its subscribers either way: refused, by
# rescue_default_proc before it builds its index on the default (built first, the index
# stayed, and every later call was refused the same).
$publisher->safe_psql('postgres', q{
CREATE PUBLICATION deletes FOR TABLE model_predictions
    WITH (publish = 'delete', publish_via_partition_root = true);
INSERT INTO model_predictions (model_name, model_version, created_at)
SELECT 'oldest', 1, timestamptz '2022-01-01 00:00 UTC' FROM generate_series(1, 3);});
(undef, undef, $err) = $publisher->psql('postgres',
    q{CALL ai_scale.rescue_default_proc('model_predictions', 1)});
like($err, qr/publication deletes sends its deletes alone/,
    'with a publication of deletes alone, rescue_default_proc is refused');
is($publisher->safe_psql('postgres', q{
SELECT count(*) FROM pg_index WHERE indrelid = 'model_predictions_default'::regclass
   AND indexrelid::regclass::text LIKE '%rescue_key%'}),
    '0', '... before it builds its index on the default');
# With nothing to move, nothing is refused (a scheduled call failed at every run).
$publisher->safe_psql('postgres', 'DELETE FROM model_predictions_default');
($rc, undef, $err) = $publisher->psql('postgres',
    q{CALL ai_scale.rescue_default_proc('model_predictions', 1)});
is($rc, 0, '... and with the default empty, the call does nothing, without an error');

# A registration on the publisher, applied by a subscriber whose Redis is down, strict.
$publisher->safe_psql('postgres',
    q{SELECT ai_scale.register_model('replicated_m', 'linear', ARRAY['a'], '{"weights": [1]}')});
ok($subscriber->poll_query_until('postgres',
        q{SELECT count(*) = 1 FROM ai_scale.models WHERE model_name = 'replicated_m'}),
    'a strict subscriber without Redis applies a replicated registration');
my (undef, undef, $strict_err) = $subscriber->psql('postgres',
    q{SELECT ai_scale.cache_get('replicated_m', 1, '{"a": 1}')});
like($strict_err, qr/redis is unavailable/,
    "a session of the subscriber's own stays strict, and fails a lookup without Redis");

$subscriber->stop;
$publisher->stop;
done_testing();
