# cache_get_many's L3 lookup (l3_get_many) kept which rows it found cacheable in a vector made
# inside its pg::call: a Postgres error in the lookup (a cancel, a statement timeout, an error
# raised by the store's row security) jumped past that frame without its destructor, and each
# failed lookup kept a bit per input for the backend's life (1.5 MB over 20 failed lookups of
# 500,000 inputs). The vectors now live outside the pg::call. The error here comes from a row
# security policy that raises, so that every lookup fails the same way.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $node = store_node('l3_batch_lookup_error_memory', cache_use_l1 => 'off');
$node->safe_psql('postgres', q{
CREATE ROLE reader;
GRANT SELECT ON public.model_predictions TO reader;
INSERT INTO public.model_predictions (model_name, model_version, input_data, output_data, input_hash)
VALUES ('m', 1, '{"x": 1}', '{"score": 1}', ai_scale.input_hash('{"x": 1}'));
CREATE FUNCTION public.refuse() RETURNS boolean LANGUAGE plpgsql
    AS $$ BEGIN RAISE EXCEPTION 'the store refuses this read'; END $$;
ALTER TABLE public.model_predictions ENABLE ROW LEVEL SECURITY;
CREATE POLICY refuse ON public.model_predictions USING (public.refuse());
CREATE FUNCTION public.rss_anon_kb() RETURNS int LANGUAGE sql SECURITY DEFINER
    AS $$ SELECT substring(pg_read_file('/proc/self/status') FROM 'RssAnon:\s+(\d+)')::int $$;
-- Looks up n copies of the stored input, times times; returns how many lookups failed.
CREATE FUNCTION public.failed_lookups(n int, times int) RETURNS int LANGUAGE plpgsql AS $$
DECLARE
    inputs jsonb[] := array_fill('{"x": 1}'::jsonb, ARRAY[n]);
    failed int := 0;
BEGIN
    FOR i IN 1..times LOOP
        BEGIN
            PERFORM ai_scale.cache_get_many('m', 1, inputs);
        EXCEPTION WHEN raise_exception THEN
            failed := failed + 1;
        END;
    END LOOP;
    RETURN failed;
END $$;
});

my ($ret, $out, $err) = $node->psql('postgres', q{
SET ROLE reader;
SELECT ai_scale.cache_get_many('m', 1, ARRAY['{"x": 1}'::jsonb]);
}, on_error_stop => 0);
like($err, qr/ERROR:  the store refuses this read/, 'the batch lookup of the store fails');

# Three lookups first, so that the backend's heap has grown to what one takes.
($ret, $out, $err) = $node->psql('postgres', q{
SET ROLE reader;
SELECT public.failed_lookups(500000, 3);
SELECT public.rss_anon_kb() AS before \gset
SELECT public.failed_lookups(500000, 20);
SELECT 'growth', public.rss_anon_kb() - :before;
}, timeout => 600);
is($ret, 0, 'no error outside the lookups') or diag($err);
like($out, qr/^3\n20\n/, 'every lookup failed') or diag($out);
my ($kb) = $out =~ /^growth\|(-?\d+)$/m;
note("RssAnon grew $kb kB over 20 failed lookups");
# Before: 62.5 kB kept per failed lookup, 1.25 MB in all.
cmp_ok($kb, '<', 600, 'a failed batch lookup keeps nothing');

$node->stop;
done_testing();
