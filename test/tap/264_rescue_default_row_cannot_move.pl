# Maintenance's rescue of the default partition no longer stops for good on one row that cannot
# move (it breaks a CHECK constraint added NOT VALID). A rescue batch moves whole cells at once,
# oldest first: the batch holding such a row failed as a whole, at every run, and the rows of
# the other cells in it never left the default. Now the batch is tried again a cell at a time:
# the other cells are rescued, the cell of the row gets an error row with its bounds and the
# error's SQLSTATE, and the row stays in the default, nothing lost or duplicated.
# rescue_default by hand stays one atomic batch, and fails on the row.
# The same for a row that a trigger refuses with RAISE (P0001), or on which it fails with a data
# exception (class 22): those failed the whole batch for good, not tried cell by cell.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use FindBin;
use lib $FindBin::RealBin;
use InitdbTemplate;
use PollPace;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('rescue_default_row_cannot_move');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'ai_scale'\n");
$node->start;
# Days are counted from the day the test began: a midnight may come during it.
my $today = $node->safe_psql('postgres', 'SELECT current_date');
$node->safe_psql('postgres', qq{
CREATE EXTENSION ai_scale;
CREATE TABLE t (at timestamptz NOT NULL, v int) PARTITION BY RANGE (at);
SELECT count(*) FROM ai_scale.manage_partitions('t', '1 day', 1, time_zone => 'UTC');
-- Late rows of three old days; day 9 ago holds one the constraint below refuses.
INSERT INTO t VALUES ('$today'::date - 10 + interval '1 hour', 1),
                     ('$today'::date - 10 + interval '2 hours', 1),
                     ('$today'::date - 9 + interval '1 hour', -1),
                     ('$today'::date - 9 + interval '2 hours', 1),
                     ('$today'::date - 8 + interval '1 hour', 1),
                     ('infinity', 1); -- no partition can hold it: a notice says so
ALTER TABLE t ADD CONSTRAINT vpos CHECK (v > 0) NOT VALID;});

my ($rc, $out, $err) = $node->psql('postgres', 'SELECT * FROM ai_scale.rescue_default(\'t\')');
like($err, qr/violates check constraint "vpos"/, 'rescue_default by hand fails on the row');

my $run = q{SELECT action || ': ' || detail FROM ai_scale.run_maintenance('t')
             WHERE action IN ('rescued', 'error') ORDER BY 1};
$node->psql('postgres', $run, stdout => \my $first, stderr => \my $notices);
is(scalar(() = $notices =~ /NOTICE:  1 row stays in the default partition/g), 1,
    'the row no partition can hold is noticed once, not again for each cell');
is( $first, join("\n",
        'error: rescue from '
          . $node->safe_psql('postgres', qq{SELECT ('$today'::date - 9)::timestamptz})
          . ' to '
          . $node->safe_psql('postgres', qq{SELECT ('$today'::date - 8)::timestamptz})
          . ': new row for relation "t_'
          . $node->safe_psql('postgres', qq{SELECT to_char('$today'::date - 9, 'YYYYMMDD')})
          . '" violates check constraint "vpos" (SQLSTATE 23514)',
        'rescued: moved 1 row from the default partition',
        'rescued: moved 2 rows from the default partition'),
    'the other two cells are rescued; the cell of the row is one error row, with its bounds');
is($node->safe_psql('postgres', 'SELECT v FROM ONLY t_default WHERE at < \'infinity\' ORDER BY v'), "-1\n1",
    'the rows of that cell stay in the default');
is($node->safe_psql('postgres', 'SELECT count(*), sum(v) FROM t'), '6|4',
    'nothing lost or duplicated');

my $second = $node->safe_psql('postgres', $run);
like($second, qr/\Aerror: rescue from .*\(SQLSTATE 23514\)\z/,
    'the next run reports that cell again, alone');

$node->safe_psql('postgres', 'UPDATE t SET v = 2 WHERE v = -1');
is( $node->safe_psql('postgres', $run), 'rescued: moved 2 rows from the default partition',
    'mended, its rows are rescued');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ONLY t_default'), '1',
    'the default keeps only the row no partition can hold');

# A row that cannot move in each of six cells: three error rows and one that counts the others,
# not six (the worker logs a line per row, at every run).
$node->safe_psql('postgres', qq{
ALTER TABLE t DROP CONSTRAINT vpos;
INSERT INTO t SELECT '$today'::date - 30 + g * interval '1 day', -1 FROM generate_series(1, 6) g;
ALTER TABLE t ADD CONSTRAINT vpos CHECK (v > 0) NOT VALID;});
my $many = $node->safe_psql('postgres', q{SELECT detail FROM ai_scale.run_maintenance('t')
                                          WHERE action = 'error'});
is(scalar(() = $many =~ /^rescue from .*\(SQLSTATE 23514\)$/mg), 3, 'three cells reported');
like($many, qr/^rescue: 3 more cells could not move either \(the last: new row for relation "t_\d+" violates check constraint "vpos" \(SQLSTATE 23514\)\)$/m,
    'and the three others counted in one row');
is($node->safe_psql('postgres', 'SELECT count(*) FROM ONLY t_default'), '7',
    'their rows stay in the default');

# A trigger on the table (its rows then move through the parent) that refuses one row with
# RAISE, and fails on another with a division by zero.
$node->safe_psql('postgres', qq{
ALTER TABLE t DROP CONSTRAINT vpos;
DELETE FROM t WHERE v = -1;
INSERT INTO t VALUES ('$today'::date - 50 + interval '1 hour', 7),
                     ('$today'::date - 49 + interval '1 hour', 0),
                     ('$today'::date - 48 + interval '1 hour', 1),
                     ('$today'::date - 47 + interval '1 hour', 1);});
$node->safe_psql('postgres', q{
CREATE FUNCTION refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.v = 7 THEN
        RAISE EXCEPTION 'seven is refused';
    END IF;
    PERFORM 1 / NEW.v;
    RETURN NEW;
END $$;
CREATE TRIGGER refuse BEFORE INSERT ON t FOR EACH ROW EXECUTE FUNCTION refuse();});
is( $node->safe_psql('postgres', $run),
    join("\n",
        "error: rescue from "
          . $node->safe_psql('postgres', qq{SELECT ('$today'::date - 50)::timestamptz}) . ' to '
          . $node->safe_psql('postgres', qq{SELECT ('$today'::date - 49)::timestamptz})
          . ': seven is refused (in PL/pgSQL function public.refuse() line 4 at RAISE)'
          . ' (SQLSTATE P0001)',
        "error: rescue from "
          . $node->safe_psql('postgres', qq{SELECT ('$today'::date - 49)::timestamptz}) . ' to '
          . $node->safe_psql('postgres', qq{SELECT ('$today'::date - 48)::timestamptz})
          . ': division by zero (in PL/pgSQL function public.refuse() line 6 at PERFORM)'
          . ' (SQLSTATE 22012)',
        'rescued: moved 1 row from the default partition',
        'rescued: moved 1 row from the default partition'),
    'rows a trigger refuses or fails on keep their own cells in the default, the others are rescued');
is($node->safe_psql('postgres', 'SELECT string_agg(v::text, \',\' ORDER BY v) FROM ONLY t_default WHERE at < \'infinity\''),
    '0,7', 'the two rows stay in the default');
is($node->safe_psql('postgres', 'SELECT count(*), sum(v) FROM t'), '10|16',
    'nothing lost or duplicated');

$node->stop;
done_testing();
