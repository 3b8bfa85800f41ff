# The maintenance launcher takes a pg_cancel_backend as meant for its idle wait and goes on (TAP
# 042). One that came while it read pg_database (each loop, briefly) was an ERROR there, which
# ends a background worker: the launcher exited, and the one the postmaster started 10 s later
# replaced every maintenance worker. Cancels sent without pause, each waking it, reach it in
# that read too: it must outlive them.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = worker_node('launcher_cancel_storm');
my $launcher_sql = q{SELECT pid FROM pg_stat_activity
 WHERE backend_type = 'ai_scale maintenance launcher'};
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM ($launcher_sql) l")
  or die 'no launcher';
my $launcher = $node->safe_psql('postgres', $launcher_sql);

# 100,000 cancels, or fewer when the launcher is gone before.
my $sent = $node->safe_psql('postgres', qq{
DO \$\$
DECLARE n int := 0;
BEGIN
    WHILE n < 100000 AND pg_cancel_backend($launcher) LOOP
        n := n + 1;
    END LOOP;
    PERFORM set_config('storm.sent', n::text, false);
END \$\$;
SELECT current_setting('storm.sent')});
is($sent, '100000', 'every cancel reached the launcher');
is($node->safe_psql('postgres', $launcher_sql), $launcher, 'the same launcher runs on');
unlike(slurp_file($node->logfile),
    qr/\[$launcher\] [^\n]*?(ERROR|FATAL):|"ai_scale maintenance launcher" \(PID $launcher\) exited/,
    'it never failed');

$node->stop;
done_testing();
