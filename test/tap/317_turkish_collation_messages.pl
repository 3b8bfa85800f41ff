# English words of our messages are case-mapped as English. In a database whose collation is
# Turkish, upper('serializable') is SERİALİZABLE (a dotted capital I), and the 40001 that
# rescue_default raises when a row came into the default partition after a SERIALIZABLE
# transaction's snapshot said so in its detail: a client whose encoding has no İ (WIN1252) then
# got 22P05 ("has no equivalent in encoding") instead, and a retry loop waiting for 40001 did
# not retry.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('turkish');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
# ICU's Turkish: no operating-system locale needed.
$node->safe_psql('postgres', q{
CREATE DATABASE trdb ENCODING 'UTF8' LOCALE_PROVIDER icu ICU_LOCALE 'tr-TR'
    LOCALE 'C.UTF-8' TEMPLATE template0;});
is($node->safe_psql('trdb', q{SELECT upper('serializable') = 'SERİALİZABLE'}),
    't', 'the database case-maps as Turkish');
# A row in the default partition (ten days ahead, past the partitions made) for the rescue to
# move, and one more, below, that its snapshot does not see.
$node->safe_psql('trdb', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store('st', '1 day', 1);
INSERT INTO st (model_name, model_version, created_at)
VALUES ('m', 1, now() + interval '10 days');});

my $reader;
{
    local $ENV{PGCLIENTENCODING} = 'WIN1252';
    $reader = $node->background_psql('trdb', on_error_stop => 0);
}
$reader->query_safe('\set VERBOSITY verbose');
$reader->query_safe('BEGIN ISOLATION LEVEL SERIALIZABLE; SELECT 1;');
$node->safe_psql('trdb', q{
INSERT INTO st (model_name, model_version, created_at)
VALUES ('m', 1, now() + interval '10 days');});
$reader->query(q{SELECT * FROM ai_scale.rescue_default('st');});
my $err = $reader->{stderr};
$reader->query('ROLLBACK');
$reader->quit;
like($err, qr/ERROR:  40001: could not serialize access to default partition/,
    'a WIN1252 client gets the serialization failure');
like($err, qr/after this SERIALIZABLE transaction's snapshot/, '... its detail in English');
unlike($err, qr/22P05/, '... not a conversion error');
is( $node->safe_psql('trdb', 'SELECT count(*) FROM st_default'),
    '2', '... and the rows stay in the default partition');

$node->stop;
done_testing();
