# A Redis endpoint's last error is kept in shared memory, where sessions of every database read
# it (redis_status(), the 08006 detail of a breaker that is open). A connection error is worded
# by the C library in the language of lc_messages and the encoding of the session's database:
# with lc_messages French, a LATIN1 database's session wrote "connect: Connexion refus\xe9e",
# and in a UTF8 database redis_status() returned that byte as text, invalid there
# (upper(last_error): invalid byte sequence for encoding "UTF8": 0xe9 0x65). The error is
# kept as ASCII now, other bytes written \xNN.
#
# Needs localedef and the French locale sources and C library messages: the locales are made in
# a directory of the test's own (LOCPATH), nothing is installed.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $locales = PostgreSQL::Test::Utils::tempdir();
for my $charmap ('ISO-8859-1', 'UTF-8') {
    system("localedef -i fr_FR -f $charmap $locales/fr_FR.$charmap >/dev/null 2>&1");
}
$ENV{LOCPATH} = $locales;
chmod 0755, $locales;
chomp(my $refused = `LC_ALL=fr_FR.ISO-8859-1 perl -MPOSIX -e 'use locale; setlocale(LC_ALL, ""); \$! = POSIX::ECONNREFUSED; print "\$!"' 2>/dev/null`);
plan skip_all => 'no French locale and C library messages to word an error outside ASCII'
  unless -d "$locales/fr_FR.ISO-8859-1" && -d "$locales/fr_FR.UTF-8" && $refused =~ /[^\x00-\x7f]/;

# Nothing listens on the port: every connect is refused, and one failure opens the breaker.
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $node = PostgreSQL::Test::Cluster->new('breaker_error_encoding');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'ai_scale'
ai_scale.redis_primary = '127.0.0.1:$port'
ai_scale.breaker_failures = 1
ai_scale.breaker_reset_ms = 3600000
lc_messages = 'fr_FR.UTF-8'
});
$node->start;
$node->safe_psql('postgres', q{
CREATE DATABASE latin1 ENCODING 'LATIN1' LC_COLLATE 'fr_FR.ISO-8859-1'
    LC_CTYPE 'fr_FR.ISO-8859-1' TEMPLATE template0;
CREATE DATABASE utf8 ENCODING 'UTF8' LC_COLLATE 'fr_FR.UTF-8' LC_CTYPE 'fr_FR.UTF-8'
    TEMPLATE template0;});
$node->safe_psql($_, 'CREATE EXTENSION ai_scale') for 'latin1', 'utf8';

# The LATIN1 database's session fails to connect and opens the breaker.
$node->safe_psql('latin1', q{SELECT ai_scale.cache_get('m', 1, '{}')});

# A session of the UTF8 database reads the error the other one kept (the breaker is open: no
# probe of its own replaces it).
my ($ret, $out, $err) = $node->psql('utf8', q{
SELECT breaker, upper(last_error) FROM ai_scale.redis_status()});
is($ret, 0, 'the last error is valid text in a database of another encoding') or diag $err;
like($out, qr/^open\|CONNECT: CONNEXION REFUS\\XE9E$/, 'written in ASCII, the byte escaped');
($ret, $out, $err) = $node->psql('utf8', q{
SET ai_scale.cache_strict = on; SELECT ai_scale.cache_get('m', 1, '{}')});
like($err, qr/circuit breaker open, last error: connect: Connexion refus\\xe9e/,
    'the 08006 detail gives it so too');

$node->stop;
done_testing();
