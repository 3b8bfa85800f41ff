# Values someone else wrote into Redis under ai_scale's keys, with checksums that match: a
# malformed jsonb binary (counts or spans past its end, a compressed or NaN number, a number as
# an object key, a NUL or invalid UTF-8 in a string) is a miss, logged, and never reaches
# Postgres as a datum (before the check, printing the first one crashed the server); a well
# formed one is returned as written, so the misses are the check's doing, not the forging's.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

# A Redis of its own: a put's key is found as the one key the put adds, and on the Redis that
# test/run.sh shares among the TAP files, the files running meanwhile added theirs too.
my $rport = PostgreSQL::Test::Cluster::get_free_port();
redis_start('forged', $rport);
my ($rhost, $redis) = ('127.0.0.1', "127.0.0.1:$rport");
my $forge = $ENV{AI_SCALE_TEST_FORGE};
BAIL_OUT('AI_SCALE_TEST_FORGE does not name the forge_l2_value tool (test/run.sh sets it)')
  unless $forge && -x $forge;

my $node = cache_node('forged', redis_primary => $redis, redis_read_from => 'primary');
$node->safe_psql('postgres',
    q{CREATE DATABASE u ENCODING 'UTF8' LOCALE 'C' TEMPLATE template0});
$node->safe_psql('u', 'CREATE EXTENSION ai_scale');

sub our_keys {
    my %k = map { chomp; ($_ => 1) } grep { !/:gen:/ }
      `redis-cli -h $rhost -p $rport --scan --pattern 'ai_scale:*'`;
    return \%k;
}

# The Redis key of cache_get('forged', 1, {"i": i}): the one key a put of it adds.
sub key_of {
    my ($i) = @_;
    my $before = our_keys();
    $node->safe_psql('u', qq{SELECT ai_scale.cache_put('forged', 1, '{"i": $i}', '{"genuine": $i}')});
    my @new = grep { !$before->{$_} } keys %{ our_keys() };
    is(scalar @new, 1, "one new key for input $i") or diag explain \@new;
    return $new[0];
}

sub forge {
    my ($key, $hex, $expires) = @_;
    $expires //= '';
    my $out = `$forge $hex $expires | redis-cli -h $rhost -p $rport -x SET $key`;
    like($out, qr/OK/, "forged $key");
}

sub get {
    my ($i) = @_;
    return $node->safe_psql('u', qq{SELECT ai_scale.cache_get('forged', 1, '{"i": $i}')});
}

# {"s": 0.5} as Postgres writes it: object header, the key's entry, the value's entry, then "s",
# padding and the numeric (varlena header, numeric header, one digit).
my ($obj, $key_entry, $value_entry, $s_pad) = ('01000020', '01000080', '0b000010', '73000000');
my $half = '20000000' . 'ff80' . '8813';
my @cases = (
    [ 'a well-formed object', $obj . $key_entry . $value_entry . $s_pad . $half, '{"s": 0.5}' ],
    [ 'a well-formed [[null]]', '01000040080000d001000040000000c0', '[[null]]' ],
    [ 'an object claiming 16M pairs', 'ffffff20', '' ],
    [ 'a value running past the end', $obj . $key_entry . '0c000010' . $s_pad . $half, '' ],
    [ 'a compressed number', $obj . $key_entry . $value_entry . $s_pad . '22000000ff808813', '' ],
    [ 'a NaN', $obj . $key_entry . $value_entry . $s_pad . '2000000000c08813', '' ],
    [ 'a number as a key', $obj . '01000090' . $value_entry . $s_pad . $half, '' ],
    # The key's bytes a well-formed number too (the one above, one byte, fails the number's check).
    [ 'a well-formed number as a key', $obj . '08000010' . '08000010' . $half . $half, '' ],
    [ 'a string with a NUL', '0100005003000080610062', '' ],
    [ 'a string of invalid UTF-8', '0100005002000080fffe', '' ],
    # Well formed, in a Redis key that has not expired, but past the expiry the value carries
    # (as when Redis's clock is behind the server's): a miss, not copied into L1 for ever.
    [ 'a value past its own expiry', $obj . $key_entry . $value_entry . $s_pad . $half, '', 1000 ],
);

my @keys;
for my $i (0 .. $#cases) {
    push @keys, key_of($i);
    is(get($i), qq{{"genuine": $i}}, "input $i: the genuine value first");
}
for my $i (0 .. $#cases) {
    my ($what, $hex, $expected, $expires) = @{ $cases[$i] };
    forge($keys[$i], $hex, $expires);
    is(get($i), $expected, "$what: " . ($expected eq '' ? 'a miss' : 'returned as written'));
}

# One round trip for all of them: the same answers.
my $last = $#cases;
my $many = $node->safe_psql('u', qq{
SELECT coalesce(v::text, 'miss')
  FROM unnest(ai_scale.cache_get_many('forged', 1,
                (SELECT array_agg(jsonb_build_object('i', i) ORDER BY i)
                   FROM generate_series(0, $last) i))) WITH ORDINALITY AS t(v, n)
 ORDER BY n});
is($many, join("\n", map { $_->[2] eq '' ? 'miss' : $_->[2] } @cases),
    'cache_get_many: the same hits and misses');

# A lookup that finds the input in the store (L3) writes the store's output over a value in
# Redis it could not use: Redis answers the next lookup. (A fill keeps any other value Redis
# holds, put there since the lookup missed it: SET NX.) Input 2 has an unreadable value, input
# 9 one past its own expiry.
$node->safe_psql('u', q{
SELECT ai_scale.create_prediction_store();
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
SELECT 'forged', 1, jsonb_build_object('i', i), jsonb_build_object('stored', i),
       ai_scale.input_hash(jsonb_build_object('i', i))
  FROM unnest(ARRAY[2, 9]) i});
is(get(2), '{"stored": 2}', 'an unreadable value in Redis: the store answers');
is(get(9), '{"stored": 9}', 'a value past its own expiry: the store answers');
$node->safe_psql('u', 'DELETE FROM public.model_predictions');
is(get(2), '{"stored": 2}', 'the unreadable value was replaced in Redis by the store\'s');
is(get(9), '{"stored": 9}', 'so was the value past its own expiry');

is($node->safe_psql('u', 'SELECT 1'), '1', 'the server is still up');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no backend crashed');
like($log, qr/a value in Redis under an ai_scale key is not a well-formed jsonb/,
    'the forged values are logged');
# ... without the statement of the call that read them (nor its context): Postgres wrote the
# client's whole query string, its inputs with it, in a STATEMENT: line under the LOG line, as
# under TAP 088's breaker line (log_min_error_statement counts LOG above ERROR).
unlike($log,
    qr/not a well-formed jsonb[^\n]*\n[^\n]*DETAIL: [^\n]*\n[^\n]*(?:STATEMENT|CONTEXT): /,
    '... without the statement that read them');

$node->stop;
redis_stop('forged');
done_testing();
