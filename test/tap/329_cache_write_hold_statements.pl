# After a write Redis did not answer, a backend sends no further write there for the rest of
# that statement, a second at most (docs/cache.md, Invalidation; TAP 319). A statement is one
# the client sent: the hold was keyed on Postgres's statement start timestamp, which is set once
# a protocol message, so
# - the statements after it in a simple Query message of several (psql -c "a; b", a script sent
#   as one string) were held: a put made there once Redis answered again was not written, an
#   invalidation not sent (another server served what it invalidated until this one made
#   another cache call), and so in the transactions a procedure's COMMIT begins;
# - each FETCH of a cursor over rows got one of its own: a timeout a fetch (psql's FETCH_COUNT,
#   a driver's fetch size), where the statement read at once waited one.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use IO::Socket::UNIX;
use Socket qw(SOCK_STREAM);
use FindBin;
use lib $FindBin::RealBin;
use AiScaleTest;

my $port = PostgreSQL::Test::Cluster::get_free_port();
redis_start('hold_statements', $port);
my $node = cache_node('hold_statements', redis_primary => "127.0.0.1:$port");
$node->safe_psql('postgres', q{ALTER SYSTEM SET ai_scale.redis_timeout_ms = 1000;
SELECT pg_reload_conf()});

# Runs each of @sqls as one simple Query message (psql -c), with psql's own $options;
# returns what psql printed.
sub messages {
    my ($options, @sqls) = @_;
    my ($out, $err) = ('', '');
    IPC::Run::run(
        [ 'psql', '-X', '-At', '-v', 'ON_ERROR_STOP=1', @$options, '-d',
          $node->connstr('postgres'), map { ('-c', $_) } @sqls ],
        '>', \$out, '2>', \$err)
      or die "psql failed: $err";
    return $out;
}

# Holds Redis's writes for $ms milliseconds (reads go on being answered).
sub pause_writes {
    my ($ms) = @_;
    system('redis-cli', '-p', $port, 'CLIENT', 'PAUSE', $ms, 'WRITE') == 0
      or die 'CLIENT PAUSE failed';
}

# The writes $sql (one simple Query message, psql run with $options) asks of Redis while Redis
# holds them: its l2 errors, each a write that waited a timeout.
sub writes_asked {
    my ($options, $sql) = @_;
    pause_writes(20000);
    my $out = messages($options, q{SELECT ai_scale.reset_stats()}, $sql,
        q{SELECT value FROM ai_scale.stats WHERE section = 'l2' AND metric = 'errors'});
    system('redis-cli', '-p', $port, 'CLIENT', 'UNPAUSE') == 0 or die 'CLIENT UNPAUSE failed';
    return (split /\n/, $out)[-1];
}

# Read by another session with L1 off: from Redis. (An invalidation is read in Redis's counters:
# this server's sessions miss what it invalidated whether Redis took it or not.)
my $later = q{SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_get('later', 1, '{"a": 1}')};
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"old"')});
is($node->safe_psql('postgres', $later), '"old"', 'Redis holds the value put');

# The first put waits its timeout (1 s) while Redis holds writes for 1.2 s; the next statement
# of the message, 0.5 s later, is within the second the hold lasted but finds Redis answering.
my $first_times_out = q{SELECT ai_scale.cache_put('learned', 1, '{"a": 9}', '9');
SELECT pg_sleep(0.5);};
pause_writes(1200);
messages([], $first_times_out . q{SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"new"')});
is($node->safe_psql('postgres', $later), '"new"',
    'a put in the next statement of the same Query message is written');

my $before = generation_counters($port);
pause_writes(1200);
messages([], $first_times_out . q{SELECT ai_scale.cache_invalidate('later', 1)});
cmp_ok(counters_raised($before, generation_counters($port)), '>=', 1,
    'an invalidation in the next statement of the same Query message is sent to Redis');

# A procedure's statements after a COMMIT run in a transaction of their own.
$node->safe_psql('postgres', q{CREATE PROCEDURE put_commit_invalidate() LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ai_scale.cache_put('learned', 1, '{"a": 9}', '9');
    COMMIT;
    PERFORM pg_sleep(0.5);
    PERFORM ai_scale.cache_invalidate('later', 1);
END $$});
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"again"')});
is($node->safe_psql('postgres', $later), '"again"', 'Redis holds the value put again');
$before = generation_counters($port);
pause_writes(1200);
messages([], 'CALL put_commit_invalidate()');
cmp_ok(counters_raised($before, generation_counters($port)), '>=', 1,
    'an invalidation in a transaction a procedure began after its COMMIT is sent');

# Within one statement the hold lasts a second: a put 1.5 s after the write that got no answer,
# Redis answering again, is written (a hold without its bound held a logical apply worker's
# writes for ever). And a strict call asks Redis whatever the hold: one that skipped the round
# trip failed (08006) while Redis answered.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"old"')});
pause_writes(1200);
messages([], q{DO $$
BEGIN
    PERFORM ai_scale.cache_put('learned', 1, '{"a": 9}', '9');
    PERFORM pg_sleep(1.5);
    PERFORM ai_scale.cache_put('later', 1, '{"a": 1}', '"past the second"');
END $$});
is($node->safe_psql('postgres', $later), '"past the second"',
    'a put in the same statement a second after the hold began is written');
pause_writes(1200);
messages([], q{DO $$
BEGIN
    PERFORM ai_scale.cache_put('learned', 1, '{"a": 9}', '9');
    PERFORM pg_sleep(0.5);
    SET LOCAL ai_scale.cache_strict = on;
    PERFORM ai_scale.cache_put('later', 1, '{"a": 1}', '"strict"');
END $$});
is($node->safe_psql('postgres', $later), '"strict"',
    'a strict put within the hold, Redis answering again, is written');

# A deferred trigger's queries at COMMIT run outside the statement's portal, and go on with it:
# counted each as a statement of its own, a trigger putting a value a row waited a timeout a row
# (and so, later, a trigger whose loop over a query opens a cursor's portal there).
$node->safe_psql('postgres', q{CREATE TABLE deferred_puts (g int);
CREATE FUNCTION deferred_put() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    r record;
BEGIN
    FOR r IN SELECT NEW.g AS g LOOP
        PERFORM ai_scale.cache_put('learned', 1, jsonb_build_object('d', r.g), '1');
    END LOOP;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER deferred_put AFTER INSERT ON deferred_puts
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION deferred_put();});
is(writes_asked([], q{INSERT INTO deferred_puts SELECT g FROM generate_series(1, 5) g}), '1',
    'a deferred trigger putting a value for each of five rows asks Redis to write once');

# A cursor fetched from after another statement's write got no answer goes on with the
# statement that opened it: Redis answering again, its puts are written (taking the hold of the
# statement run last, they were skipped).
pause_writes(1200);
messages([], q{BEGIN;
DECLARE later_rows CURSOR FOR
    SELECT ai_scale.cache_put('later', 1, jsonb_build_object('c', g), '"fetched"')
      FROM generate_series(1, 3) g;
SELECT ai_scale.cache_put('learned', 1, '{"a": 9}', '9'), pg_sleep(0.5);
FETCH ALL FROM later_rows;
COMMIT;});
is($node->safe_psql('postgres', q{SET ai_scale.cache_use_l1 = off;
SELECT string_agg(coalesce(ai_scale.cache_get('later', 1, jsonb_build_object('c', g))::text,
                           'miss'), ' ' ORDER BY g) FROM generate_series(1, 3) g}),
    '"fetched" "fetched" "fetched"',
    'the puts of a cursor fetched from after another statement\'s timeout are written');

# So does a cursor a function opens within a client's statement, a refcursor it returns or one
# its EXECUTE of a DECLARE opens (not remembered, its FETCH took the statement run last, and
# that one's hold: its puts were skipped); and one opened where a closed cursor had been.
$node->safe_psql('postgres', q{CREATE FUNCTION open_puts(name text, k text) RETURNS refcursor
LANGUAGE plpgsql AS $$
DECLARE
    c refcursor := name;
BEGIN
    OPEN c FOR SELECT ai_scale.cache_put('later', 1, jsonb_build_object(k, g), '"fetched"')
                 FROM generate_series(1, 3) g;
    RETURN c;
END $$;
CREATE TABLE returned (g int);
CREATE FUNCTION open_returning_puts(name text, k text) RETURNS refcursor LANGUAGE plpgsql AS $$
DECLARE
    c refcursor := name;
BEGIN
    OPEN c FOR INSERT INTO returned SELECT g FROM generate_series(1, 3) g
        RETURNING ai_scale.cache_put('later', 1, jsonb_build_object(k, g), '"fetched"');
    RETURN c;
END $$;
CREATE FUNCTION declare_puts(name text, k text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    EXECUTE format('DECLARE %I CURSOR FOR SELECT ai_scale.cache_put(''later'', 1, '
                   'jsonb_build_object(%L, g), ''"fetched"'') FROM generate_series(1, 3) g',
                   name, k);
END $$;});
my $times_out = q{SELECT ai_scale.cache_put('learned', 1, '{"a": 9}', '9'), pg_sleep(0.5);};
my %opened = (
    'a refcursor a function returns' => qq{SELECT open_puts('opened', 'r');
$times_out
FETCH ALL FROM opened;},
    'a cursor a function\'s EXECUTE declares' => qq{SELECT declare_puts('opened', 'r');
$times_out
FETCH ALL FROM opened;},
    # (runs at its first FETCH, not as it is opened)
    'a refcursor over an INSERT ... RETURNING a function returns' =>
      qq{SELECT open_returning_puts('opened', 'r');
$times_out
FETCH ALL FROM opened;},
    # (the closed cursor's fetch timed out: its statement holds)
    'a refcursor over an INSERT ... RETURNING opened after a cursor closed' =>
      qq{DECLARE opened CURSOR FOR $times_out
FETCH ALL FROM opened;
CLOSE opened;
SELECT open_returning_puts('opened', 'r');
FETCH ALL FROM opened;},
    'a refcursor opened after a cursor closed' => qq{DECLARE closed CURSOR FOR $times_out
FETCH ALL FROM closed;
CLOSE closed;
SELECT open_puts('opened', 'r');
FETCH ALL FROM opened;});
for my $case (sort keys %opened) {
    pause_writes(1200);
    messages([], "BEGIN;\n$opened{$case}\nCOMMIT;");
    is($node->safe_psql('postgres', q{SET ai_scale.cache_use_l1 = off;
SELECT string_agg(coalesce(ai_scale.cache_get('later', 1, jsonb_build_object('r', g))::text,
                           'miss'), ' ' ORDER BY g) FROM generate_series(1, 3) g;
SELECT ai_scale.cache_invalidate('later', 1)}),
        "\"fetched\" \"fetched\" \"fetched\"\n",
        "the puts of $case, fetched after another statement's timeout, are written");
}

# A cursor no statement of the client's opens (a deferred trigger's at COMMIT) goes on with the
# statement before; it took the statement of a closed cursor of the same name at its address,
# and that one's hold (the trigger's put skipped). (The trigger's first cursor takes the chunk
# the COMMIT's own portal would otherwise take first.)
$node->safe_psql('postgres', q{CREATE FUNCTION open_close(name text) RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    c refcursor := name;
BEGIN
    OPEN c FOR SELECT 1;
    CLOSE c;
END $$;
CREATE TABLE deferred_cursor (x int);
CREATE FUNCTION deferred_cursor_put() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    d refcursor := 'first';
    c refcursor := 'reused';
    r record;
BEGIN
    OPEN d FOR SELECT 1;
    OPEN c FOR SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"at commit"');
    FETCH c INTO r;
    CLOSE c;
    CLOSE d;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER deferred_cursor_put AFTER INSERT ON deferred_cursor
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION deferred_cursor_put();});
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"old"')});
pause_writes(1200);
messages([], q{BEGIN;
SELECT open_close('reused'), ai_scale.cache_put('learned', 1, '{"a": 9}', '9');
SELECT pg_sleep(0.35);
INSERT INTO deferred_cursor VALUES (1);
COMMIT;});
is($node->safe_psql('postgres', $later), '"at commit"',
    'a deferred trigger\'s cursor at COMMIT, named as a closed cursor, does not take that one\'s statement');

# A statement whose portal begins with a utility query (the NOTIFY a rule on UPDATE puts before
# the UPDATE) is one of its own: not told so, its UPDATE took the statement an earlier portal
# had left at the same address, and the hold of that one's write; its trigger's puts, Redis
# answering again, were skipped.
$node->safe_psql('postgres', q{CREATE TABLE noted (g int);
INSERT INTO noted SELECT generate_series(1, 3);
CREATE FUNCTION noted_put() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM ai_scale.cache_put('later', 1, jsonb_build_object('n', NEW.g), '"noted"');
    RETURN NULL;
END $$;
CREATE TRIGGER noted_put AFTER UPDATE ON noted FOR EACH ROW EXECUTE FUNCTION noted_put();
CREATE RULE noted_notify AS ON UPDATE TO noted DO ALSO NOTIFY noted_changed;});
pause_writes(1200);
messages([], q{SELECT ai_scale.cache_put('learned', 1, '{"a": 9}', '9'), pg_sleep(0.5);
UPDATE noted SET g = g;});
is($node->safe_psql('postgres', q{SET ai_scale.cache_use_l1 = off;
SELECT string_agg(coalesce(ai_scale.cache_get('later', 1, jsonb_build_object('n', g))::text,
                           'miss'), ' ' ORDER BY g) FROM generate_series(1, 3) g}),
    '"noted" "noted" "noted"',
    'the puts of a statement whose portal begins with a rule\'s NOTIFY are written');

# A statement read through a cursor, one row a fetch, while Redis holds its writes: the fetches
# go on with the statement, which waits one timeout, not one a row.
is(writes_asked([ '-v', 'FETCH_COUNT=1' ],
        q{SELECT ai_scale.cache_put('learned', 1, jsonb_build_object('a', g), '1')
            FROM generate_series(1, 5) g}), '1',
    'five rows fetched one at a time while Redis holds writes ask it to write once');

# Through the extended protocol (pgbench -M extended: a Parse, Bind and Execute a command) a
# portal holds a copy of the client's text: each statement of a transaction is one of its own.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('later', 1, '{"a": 1}', '"old"')});
my $script = $node->basedir . '/extended.sql';
open(my $fh, '>', $script) or die;
print $fh "BEGIN;\n"
  . "SELECT ai_scale.cache_put('learned', 1, '{\"a\": 9}', '9');\n"
  . "SELECT pg_sleep(0.5);\n"
  . "SELECT ai_scale.cache_put('later', 1, '{\"a\": 1}', '\"extended\"');\n"
  . "COMMIT;\n";
close $fh;
pause_writes(1200);
my ($pout, $perr) = ('', '');
IPC::Run::run([ 'pgbench', '-n', '-M', 'extended', '-t', '1', '-c', '1', '-f', $script,
                '-h', $node->host, '-p', $node->port, 'postgres' ], '>', \$pout, '2>', \$perr)
  or die "pgbench failed: $perr";
is($node->safe_psql('postgres', $later), '"extended"',
    'a put in the next statement of a transaction, sent through the extended protocol, is written');

# A cursor declared before more than 1,024 others (the map of cursors is pruned of those gone
# past that size, not of those open) goes on with its own statement.
$node->safe_psql('postgres', q{SELECT ai_scale.cache_put('later', 1, '{"c": 1}', '"old"')});
pause_writes(1500);
messages([], q{BEGIN;
DECLARE first_rows CURSOR FOR
    SELECT ai_scale.cache_put('later', 1, jsonb_build_object('c', g), '"first"')
      FROM generate_series(1, 1) g;
} . join('', map { "DECLARE c$_ CURSOR FOR SELECT 1;\n" } 1 .. 1100) . q{
SELECT ai_scale.cache_put('learned', 1, '{"a": 9}', '9'), pg_sleep(0.7);
FETCH ALL FROM first_rows;
COMMIT;});
is($node->safe_psql('postgres', q{SET ai_scale.cache_use_l1 = off;
SELECT ai_scale.cache_get('later', 1, '{"c": 1}')}), '"first"',
    'the puts of a cursor declared before 1,100 others, fetched after a timeout, are written');

# A rule's added query is no statement of its own: a DO ALSO rule that puts a value for
# each row inserted, Redis holding writes, asks Redis once for the statement.
$node->safe_psql('postgres', q{CREATE TABLE ruled_puts (g int);
CREATE RULE ruled_put AS ON INSERT TO ruled_puts DO ALSO
    SELECT ai_scale.cache_put('learned', 1, jsonb_build_object('r', NEW.g), '1');});
is(writes_asked([], q{INSERT INTO ruled_puts SELECT g FROM generate_series(1, 3) g
       WHERE (ai_scale.cache_put('learned', 1, jsonb_build_object('m', g), '1') IS NULL) IS NOT NULL}),
    '1', 'a statement and its rule\'s added query, putting values, ask Redis to write once');

# A deferred trigger's FETCH through EXECUTE of a cursor over INSERT ... RETURNING it opened
# (whose query runs at that FETCH) is no client's FETCH: it goes on with the statement before.
# Counted as one of its own, each row's waited a timeout (5 errors for 5 rows).
$node->safe_psql('postgres', q{CREATE TABLE deferred_fetched (g int);
CREATE TABLE deferred_sink (g int);
CREATE FUNCTION deferred_fetch() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    c refcursor := 'deferred_returning';
BEGIN
    OPEN c FOR INSERT INTO deferred_sink VALUES (NEW.g)
        RETURNING ai_scale.cache_put('learned', 1, jsonb_build_object('f', g), '1');
    EXECUTE 'FETCH ALL FROM deferred_returning';
    CLOSE c;
    RETURN NULL;
END $$;
CREATE CONSTRAINT TRIGGER deferred_fetch AFTER INSERT ON deferred_fetched
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION deferred_fetch();});
is(writes_asked([], q{INSERT INTO deferred_fetched SELECT g FROM generate_series(1, 5) g}), '1',
    'a deferred trigger\'s EXECUTE of a FETCH of its RETURNING cursor, for each of five rows, '
      . 'asks Redis to write once');

# A portal an Execute with a row limit left suspended (a driver's fetch size: JDBC, asyncpg),
# resumed by another Execute after a statement of the same transaction got no answer from Redis,
# goes on with its own statement: its puts are written once Redis answers. (psql and pgbench
# send no such Execute: the messages below, over the server's socket.)
sub wire_message {
    my ($type, $body) = @_;
    return $type . pack('N', length($body) + 4) . $body;
}

# Sends the messages given; reads up to ReadyForQuery; returns the first column of each row,
# dying on an error.
sub wire_round {
    my ($sock, @messages) = @_;
    print $sock join('', @messages);
    my @rows;
    while (1) {
        read($sock, my $head, 5) == 5 or die 'the server closed the connection';
        my ($type, $len) = unpack('a N', $head);
        my $body = '';
        read($sock, $body, $len - 4) == $len - 4 or die 'short message' if $len > 4;
        die "server error: $body" if $type eq 'E';
        if ($type eq 'D') {
            my $n = unpack('l>', substr($body, 2, 4));
            push @rows, $n < 0 ? undef : substr($body, 6, $n);
        }
        return @rows if $type eq 'Z';
    }
}

sub wire_query {
    my ($sock, $sql) = @_;
    return wire_round($sock, wire_message('Q', "$sql\0"));
}

my $wire = IO::Socket::UNIX->new(Type => SOCK_STREAM,
    Peer => $node->host . '/.s.PGSQL.' . $node->port) or die "connect: $!";
my $startup = pack('N', 196608) . 'user' . "\0" . getpwuid($<) . "\0"
  . "database\0postgres\0\0";
print $wire pack('N', length($startup) + 4) . $startup;
wire_round($wire);
wire_query($wire, q{SELECT ai_scale.cache_invalidate('later', 1)});
wire_query($wire, 'BEGIN');
my $suspended = q{SELECT ai_scale.cache_put('later', 1, jsonb_build_object('s', g), '"suspended"')
                    FROM generate_series(1, 3) g};
wire_round($wire, wire_message('P', "\0$suspended\0" . pack('n', 0)),
    wire_message('B', "suspended\0\0" . pack('n n n', 0, 0, 0)),
    wire_message('E', "suspended\0" . pack('N', 1)), wire_message('S', ''));
pause_writes(1200);
wire_query($wire, q{SELECT ai_scale.cache_put('learned', 1, '{"a": 9}', '9'), pg_sleep(0.5)});
wire_round($wire, wire_message('E', "suspended\0" . pack('N', 0)), wire_message('S', ''));
wire_query($wire, 'COMMIT');
close($wire);
is($node->safe_psql('postgres', q{SET ai_scale.cache_use_l1 = off;
SELECT string_agg(coalesce(ai_scale.cache_get('later', 1, jsonb_build_object('s', g))::text,
                           'miss'), ' ' ORDER BY g)
  FROM generate_series(1, 3) g}), '"suspended" "suspended" "suspended"',
    'a suspended portal resumed after a timeout has its puts written');

done_testing();
