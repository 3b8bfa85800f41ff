# ai_scale in databases of other server encodings, with names and text outside ASCII. The
# extension's script is read in the database's encoding (the control file names none): a
# character outside ASCII in it, even in a comment, failed CREATE EXTENSION in an EUC_JP
# database ("invalid byte sequence for encoding "EUC_JP": 0xe2 0x80"). Then, in that database
# and in a UTF8 one whose name is not ASCII: a store whose name is shortened inside a multibyte
# character, the maintenance worker making its partitions, a model with such feature names
# scored, predicted and cached, under another client_encoding too.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# The SQL below is UTF-8; psql would otherwise pick the client encoding from the test's locale.
$ENV{PGCLIENTENCODING} = 'UTF8';

my $node = PostgreSQL::Test::Cluster->new('database_encodings');
$node->init;
$node->append_conf('postgresql.conf', <<'CONF');
shared_preload_libraries = 'ai_scale'
ai_scale.maintenance_naptime = 1
CONF
$node->start;

my $utf8_db = "bäse_données";
$node->safe_psql('postgres', qq{
CREATE DATABASE eucjp ENCODING 'EUC_JP' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;
CREATE DATABASE "$utf8_db" ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0;});

for my $db ('eucjp', 'latin1', $utf8_db) {
    my ($ret, $out, $err) = $node->psql($db, 'CREATE EXTENSION ai_scale');
    is($ret, 0, "CREATE EXTENSION in $db") or diag $err;
}

# Table names the partitions' suffix (_yyyymmdd) does not fit beside: an x and 日 (two bytes in
# EUC_JP, three in UTF-8) to 63 and 61 bytes. Their partitions' names are shortened by whole
# characters, to 62 and 61 bytes; at 54 bytes, the name would end inside a character.
my %table = (eucjp => 'x' . '日' x 31, $utf8_db => 'x' . '日' x 20);
my %head = (eucjp => 'x' . '日' x 26, $utf8_db => 'x' . '日' x 17);
for my $db ('eucjp', $utf8_db) {
    $node->safe_psql($db, qq{
CREATE SCHEMA "schéma";
SELECT ai_scale.create_prediction_store('"schéma"."$table{$db}"', '1 day', 1);
UPDATE ai_scale.partition_config SET premake = 4;
SELECT ai_scale.register_model('modèle', 'linear', ARRAY['âge', '日本'],
                               '{"weights": [1, 2], "defaults": {"日本": 10}}');});
}
$node->safe_psql('postgres', qq{
ALTER SYSTEM SET ai_scale.maintenance_databases = 'eucjp, $utf8_db';
SELECT pg_reload_conf();});
for my $db ('eucjp', $utf8_db) {
    my $table = $table{$db};
    ok( $node->poll_query_until($db, qq{
SELECT count(*) >= 6 FROM ai_scale.partitions('"schéma"."$table"')}),
        "$db: the worker makes the partitions of the store");
    is( $node->safe_psql($db, qq{
SELECT bool_and(c.relname::text ~ '^$head{$db}_[0-9]{8}\$')
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent = '"schéma"."$table"'::regclass AND c.relname::text NOT LIKE '%_default'}),
        't', "$db: partition names are shortened by whole characters");

    is( $node->safe_psql($db, qq{
SET ai_scale.store_table = '"schéma"."$table"';
SET ai_scale.store_mode = sync;
SELECT ai_scale.predict('modèle', '{"âge": 1}');
SELECT ai_scale.score('modèle', '{"âge": 1, "日本": 1}');
SELECT count(*) FROM "schéma"."$table" WHERE model_name = 'modèle';
SELECT ai_scale.cache_put('modèle', 1, '{"clé": "välue"}', '{"résultat": "ñ"}');}),
        qq{{"model": "modèle", "score": 21, "source": "cpu", "version": 1}\n3\n1\n},
        "$db: a model with features outside ASCII predicts, scores and stores");
    # (Under the store the put was made for: each store has a cache of its own.)
    is( $node->safe_psql($db, qq{SET ai_scale.store_table = '"schéma"."$table"';\n} . q{
SET client_encoding = 'EUC_JP';
SELECT ai_scale.cache_get(U&'mod\00E8le', 1, U&'{"cl\00E9": "v\00E4lue"}')
       = U&'{"r\00E9sultat": "\00F1"}';}),
        't', "$db: a cache entry put under UTF8 is found under client_encoding EUC_JP");
}

$node->stop;
done_testing();
