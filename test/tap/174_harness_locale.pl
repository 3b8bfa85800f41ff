# test/run.sh runs the TAP tests in a locale of its own, whatever the caller's: LANG=C.UTF-8 and
# no LC_ variable. With the caller's, a LANG not generated on the machine (as ssh passes on the
# client's) failed initdb in every test, and no LANG at all made the tests' clusters SQL_ASCII
# where a LANG of UTF-8 made them UTF8. test/harness/check.sh runs this file through test/run.sh
# with a LANG and an LC_CTYPE that name no locale.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

is($ENV{LANG}, 'C.UTF-8', 'LANG is the one test/run.sh sets');
# PostgreSQL::Test::Utils sets LC_MESSAGES itself.
is(join(' ', sort grep { /^LC_/ && $_ ne 'LC_MESSAGES' } keys %ENV), '', 'no other LC_ variable');

my $node = PostgreSQL::Test::Cluster->new('harness_locale');
$node->init;
$node->start;
is( $node->safe_psql(
        'postgres', q{SELECT pg_encoding_to_char(encoding) || ' ' || datcollate || ' ' || datctype
FROM pg_database WHERE datname = 'postgres'}),
    'UTF8 C.UTF-8 C.UTF-8',
    'initdb made the cluster UTF8, in C.UTF-8');
$node->stop;
done_testing();
