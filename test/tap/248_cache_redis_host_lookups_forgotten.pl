# A Redis host name whose lookup outlives redis_timeout_ms is left to finish on its thread, and
# the next request for that name takes the answer. A backend kept each such lookup, with the two
# ends of its pipe, until a request for the same name came: for a name no longer configured (a
# changed redis_primary, a primary the sentinels no longer name) never, so a long-lived backend
# kept two descriptors for every such name it had used (100 names: 200 descriptors, for good).
# A lookup is now forgotten with the connections of the endpoints no longer used, and its
# thread frees it when the resolver answers. The server preloads test/tools/slow_resolver.cpp,
# whose lookups of *.late.invalid answer "no such name" after a second.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = slow_resolver_node('cache_host_lookups_forgotten', redis_timeout_ms => 20);

# One backend: 100 host names in turn, each lookup timed out (20 ms, the resolver takes a
# second); then it waits for every lookup thread to end (only the backend's own thread left)
# and counts its open descriptors, against the count before the first name.
my ($ret, $out, $err) = $node->psql('postgres', q{
CREATE FUNCTION pg_temp.fds() RETURNS int LANGUAGE sql
    AS $$ SELECT count(*)::int FROM pg_ls_dir('/proc/self/fd') $$;
CREATE FUNCTION pg_temp.threads() RETURNS int LANGUAGE sql
    AS $$ SELECT substring(pg_read_file('/proc/self/status') FROM 'Threads:\s+(\d+)')::int $$;
SELECT pg_temp.fds() AS before \gset
DO $$
BEGIN
  FOR i IN 1..100 LOOP
    PERFORM set_config('ai_scale.redis_primary', format('host%s.late.invalid:6379', i), true);
    PERFORM ai_scale.cache_get('m', 1, '{"a": 1}');
  END LOOP;
END $$;
SELECT 'timed out', value >= 100 FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors';
-- Waits until the resolver has answered every lookup (the harness's timeout guards a hang).
DO $$
BEGIN
  WHILE pg_temp.threads() > 1 LOOP
    PERFORM pg_sleep(0.1);
  END LOOP;
END $$;
SELECT 'descriptors kept', pg_temp.fds() - :before < 20, pg_temp.fds() - :before;
}, timeout => $PostgreSQL::Test::Utils::timeout_default);
is($ret, 0, '100 host names looked up in turn: no error') or diag($err);
note($out);
like($out, qr/^timed out\|t$/m, 'every lookup timed out, counted as an l2 error') or diag($out);
like($out, qr/^descriptors kept\|t\|/m,
    'the lookups of names no longer used are not kept (nor their descriptors)') or diag($out);

$node->stop;
done_testing();
