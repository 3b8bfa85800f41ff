# Rows moved out of the default partition of a table published by a publication FOR ALL TABLES
# reach the subscriber, and replication goes on. Those moves go through the parent, by way of a
# holding table in the parent's schema (maintenance runs as the owner in a security-restricted
# operation, which cannot make a temporary one). A permanent holding table was published too:
# the subscriber, which has no such table, stopped at its rows ("logical replication target
# relation ... does not exist") and received nothing more, for good.
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
CREATE PUBLICATION everything FOR ALL TABLES WITH (publish_via_partition_root = true);
});
# The subscriber has every table published (ai_scale's own too), and no others.
$subscriber->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
CREATE TABLE model_predictions (prediction_id uuid, model_name text, model_version int,
    input_data jsonb, output_data jsonb, input_hash bigint, created_at timestamptz,
    PRIMARY KEY (prediction_id, created_at));
});
my $connstr = $publisher->connstr . ' dbname=postgres';
$subscriber->safe_psql('postgres',
    "CREATE SUBSCRIPTION everything CONNECTION '$connstr' PUBLICATION everything "
  . "WITH (copy_data = false)");
$subscriber->wait_for_subscription_sync($publisher, 'everything');

# A row ahead of the partitions goes to the default; maintenance that makes its partition
# moves it there, through the parent.
$publisher->safe_psql('postgres', q{
INSERT INTO model_predictions (model_name, model_version, created_at)
VALUES ('ahead', 1, now() + interval '3 days');
UPDATE ai_scale.partition_config SET premake = 4;
});
like($publisher->safe_psql('postgres',
        "SELECT string_agg(detail, '; ') FROM ai_scale.run_maintenance('model_predictions')"),
    qr/moved 1 row from the default partition/,
    'maintenance moves a row out of the default into the partition it makes');
row_arrives($publisher, $subscriber, 'after_maintenance',
    'a row written after the move reaches the subscriber');

# Old rows land in the default partition; a rescue moves them.
$publisher->safe_psql('postgres', q{
INSERT INTO model_predictions (model_name, model_version, created_at)
SELECT 'old', 1, timestamptz '2024-05-01 00:00 UTC' + (i % 3) * interval '1 day'
  FROM generate_series(1, 30) i;
});
is($publisher->safe_psql('postgres',
        "SELECT sum(rows_moved) FROM ai_scale.rescue_default('model_predictions')"),
    '30', 'a rescue moves the old rows into their partitions');
row_arrives($publisher, $subscriber, 'after_rescue',
    'a row written after the rescue reaches the subscriber');
is($subscriber->safe_psql('postgres',
        "SELECT count(*) FROM model_predictions WHERE model_name IN ('ahead', 'old')"),
    '31', 'the subscriber has every moved row');
unlike(slurp_file($subscriber->logfile), qr/logical replication target relation/,
    'the subscriber was sent no rows of a table it lacks');

$subscriber->stop;
$publisher->stop;
done_testing();
