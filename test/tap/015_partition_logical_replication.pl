# Rows moved out of the default partition of a published table reach the subscriber. A rescue,
# and maintenance making a partition for rows in the default, move them through the parent
# when the table is published, so the subscriber gets each row's insert as well as its delete
# (copied into a new table before it becomes a partition, a row would be sent as a delete only,
# and the subscriber would lose it).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($publisher, $subscriber) = publisher_and_subscriber();

$publisher->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store(premake => 1);
CREATE PUBLICATION predictions FOR TABLE model_predictions
  WITH (publish_via_partition_root = true);
});
$subscriber->safe_psql('postgres', q{
CREATE TABLE model_predictions (prediction_id uuid, model_name text, model_version int,
    input_data jsonb, output_data jsonb, input_hash bigint, created_at timestamptz,
    PRIMARY KEY (prediction_id, created_at));
});
my $connstr = $publisher->connstr . ' dbname=postgres';
$subscriber->safe_psql('postgres',
    "CREATE SUBSCRIPTION predictions CONNECTION '$connstr' PUBLICATION predictions");
$subscriber->wait_for_subscription_sync($publisher, 'predictions');

my $digest = "SELECT count(*) || ' ' || md5(string_agg(prediction_id::text, ',' ORDER BY prediction_id)) "
  . "FROM model_predictions";

# Old rows land in the default partition; a rescue moves them into partitions it makes.
$publisher->safe_psql('postgres', q{
INSERT INTO model_predictions (model_name, model_version, created_at)
SELECT 'm', 1, timestamptz '2024-05-01 00:00 UTC' + (i % 5) * interval '1 day'
  FROM generate_series(1, 500) i;
});
$publisher->wait_for_catchup('predictions');
is($subscriber->safe_psql('postgres', "SELECT count(*) FROM model_predictions"), '500',
    'the subscriber has the rows written into the default partition');
is($publisher->safe_psql('postgres',
        "SELECT sum(rows_moved) FROM ai_scale.rescue_default('model_predictions')"),
    '500', 'a rescue moves them into their partitions');
$publisher->wait_for_catchup('predictions');
is($subscriber->safe_psql('postgres', $digest), $publisher->safe_psql('postgres', $digest),
    'and the subscriber still has every row');

# A row ahead of the partitions goes to the default; maintenance that makes its partition
# moves it there.
$publisher->safe_psql('postgres', q{
INSERT INTO model_predictions (model_name, model_version, created_at)
VALUES ('m', 1, now() + interval '3 days');
UPDATE ai_scale.partition_config SET premake = 4;
});
like($publisher->safe_psql('postgres',
        "SELECT string_agg(detail, '; ') FROM ai_scale.run_maintenance('model_predictions')"),
    qr/moved 1 row from the default partition/,
    'maintenance moves a row out of the default into the partition it makes');
$publisher->wait_for_catchup('predictions');
is($subscriber->safe_psql('postgres', $digest), $publisher->safe_psql('postgres', $digest),
    'the subscriber keeps that row too');
is($publisher->safe_psql('postgres',
        "SELECT count(*) FROM ONLY model_predictions_default"), '0',
    'the default partition is empty');

$subscriber->stop;
$publisher->stop;
done_testing();
