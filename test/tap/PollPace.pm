# Spaces out PostgreSQL::Test::Cluster's poll_query_until as a wait goes on. Each try is a new
# psql and a new backend, about 70 ms of CPU on a two-core CI machine (psql's own share is 35
# of them), every 100 ms for as long as the wait lasts: the suite's polls were two in five of its
# 6,000 connections, on a machine whose two cores the four files running side by side keep
# busy. Here a try follows the last 100 ms later for the first 2 seconds of a wait, then 500 ms
# later: the waits that end within a naptime or two end as soon as before, the long ones (the
# launcher's 10-second restart interval, seven times in TAP 011) ask a fifth as often after
# their first 2 seconds, and end at most 400 ms later than they would have. What a try does is
# unchanged (a new psql, the same query and expected output). The wait gives up after twice
# $PostgreSQL::Test::Utils::timeout_default seconds; Postgres's gives up after ten tries for
# each of those seconds, 100 ms apart, which is at least that many seconds.
package PollPace;
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use IPC::Run;
use Test::More;
use Time::HiRes ();

# Seconds to wait before the next try, once the wait has lasted $elapsed seconds.
sub pause_after {
    my ($elapsed) = @_;
    return $elapsed < 2 ? 0.1 : 0.5;
}

{
    no warnings 'redefine';
    *PostgreSQL::Test::Cluster::poll_query_until = sub {
        my ($self, $dbname, $query, $expected) = @_;
        local %ENV = $self->_get_env();
        $expected = 't' unless defined $expected;
        my $cmd = [ $self->installed_command('psql'), '-XAt', '-d', $self->connstr($dbname) ];
        my ($stdout, $stderr);
        my $start = Time::HiRes::time();
        my $limit = 2 * $PostgreSQL::Test::Utils::timeout_default;
        while (1) {
            IPC::Run::run $cmd, '<', \$query, '>', \$stdout, '2>', \$stderr;
            chomp($stdout);
            chomp($stderr);
            return 1 if $stdout eq $expected && $stderr eq '';
            my $elapsed = Time::HiRes::time() - $start;
            last if $elapsed >= $limit;
            Time::HiRes::sleep(pause_after($elapsed));
        }
        my $shown = defined $query ? $query : '(connection attempt only)';
        diag qq(poll_query_until timed out executing this query:
$shown
expecting this output:
$expected
last actual query output:
$stdout
with stderr:
$stderr);
        return 0;
    };
}

1;
