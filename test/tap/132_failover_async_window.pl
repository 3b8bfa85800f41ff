# A session on a hot standby predicting in async mode, one input per transaction, while the
# standby is promoted (its primary gone): every prediction made in a transaction that began
# after the promotion (not read-only) is stored, through the store worker the first of them
# starts, and none made as a standby is; none fails.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my ($old, $new) = primary_and_standby('async_window');
$old->safe_psql('postgres', q{
CREATE EXTENSION ai_scale;
SELECT ai_scale.create_prediction_store(premake => 2);
SELECT ai_scale.register_model('m', 'linear', ARRAY['a'], '{"weights": [2], "bias": 1}');
});
$old->wait_for_catchup($new);

# The primary fails; the session asks for the promotion itself (not waiting for it), goes on
# predicting through it, and, to be sure some come after, predicts again once it is over.
$old->stop('immediate');
sub predictions {
    my ($from, $to) = @_;
    return join('', map {
        qq{SELECT current_setting('transaction_read_only'), }
          . qq{ai_scale.predict('m', '{"a": $_}') ->> 'source';\n}
    } $from .. $to);
}
my $n = 4000;
my $script = PostgreSQL::Test::Utils::tempdir() . '/predict.sql';
PostgreSQL::Test::Utils::append_to_file($script,
    "SET ai_scale.store_mode = async;\n" . predictions(1, 300)
      . "SELECT pg_promote(wait => false);\n" . predictions(301, $n - 100)
      . "DO \$\$ BEGIN WHILE pg_is_in_recovery() LOOP PERFORM pg_sleep(0.01); END LOOP; END \$\$;\n"
      . predictions($n - 99, $n));
my ($out, $err) = ('', '');
my $ok = IPC::Run::run(
    [ $new->installed_command('psql'), '-XAtq', '-v', 'ON_ERROR_STOP=1', '-d',
      $new->connstr('postgres'), '-f', $script ],
    '>', \$out, '2>', \$err);
ok($ok, 'every statement succeeded') or diag($err);

my @lines = grep { /^o(n|ff)\|/ } split /\n/, $out;
is(scalar(@lines), $n, 'every prediction answered');
my $as_standby = grep { /^on\|/ } @lines;
my $as_primary = grep { /^off\|/ } @lines;
ok($as_standby >= 300 && $as_primary >= 100, "predictions as a standby ($as_standby) and after ($as_primary)");
ok($new->poll_query_until('postgres',
        "SELECT count(*) = $as_primary FROM public.model_predictions"),
    'each prediction made after the promotion is stored')
  or diag($new->safe_psql('postgres', 'SELECT count(*) FROM public.model_predictions'));
my $first = 0;
for my $i (0 .. $#lines) { if ($lines[$i] =~ /^off\|/) { $first = $i + 1; last; } }
is($new->safe_psql('postgres',
        q{SELECT min((input_data ->> 'a')::int) FROM public.model_predictions}),
    $first, 'from the first transaction that was not read-only');
unlike(slurp_file($new->logfile), qr/ERROR|WARNING/, 'no error or warning in the log');
$new->stop;
done_testing();
