# Makes a test's clusters by copying one initdb'd data directory (AI_SCALE_TEST_INITDB_TEMPLATE,
# made once by test/run.sh) instead of running initdb for each: the suite made about 190
# clusters, at a second or two of CPU each on a two-core machine. PostgreSQL 16's own tests do
# the same (INITDB_TEMPLATE); PostgreSQL::Test::Cluster in 15 cannot, so its initdb call is taken
# here, the one without options of its own (a test that passes initdb options gets initdb).
#
# A copy would keep the template's system identifier, which namespaces ai_scale's keys and
# generation counters in Redis (docs/cache.md): tests running side by side against one Redis
# would share them. So each copy gets a new identifier in pg_control, and pg_resetwal then
# writes its WAL anew under it (the old WAL's page headers name the template's).
package InitdbTemplate;
use strict;
use warnings;
use PostgreSQL::Test::Utils;
use List::Util qw(first);
use Time::HiRes ();

# The original, which the one below calls for everything else (and for cp and pg_resetwal).
my $system_or_bail = \&PostgreSQL::Test::Utils::system_or_bail;

{
    no warnings 'redefine';
    *PostgreSQL::Test::Utils::system_or_bail = sub {
        my $template = $ENV{AI_SCALE_TEST_INITDB_TEMPLATE};
        return $system_or_bail->(@_)
          unless defined $template
          && @_ == 6
          && $_[0] eq 'initdb'
          && $_[1] eq '-D'
          && "@_[3 .. 5]" eq '-A trust -N';
        copy_template($template, $_[2]);
        return;
    };
}

# CRC-32C (Castagnoli), as pg_control's crc.
my @crc_table = map {
    my $c = $_;
    $c = ($c & 1) ? (($c >> 1) ^ 0x82F63B78) : ($c >> 1) for 1 .. 8;
    $c;
} 0 .. 255;

sub crc32c {
    my ($bytes) = @_;
    my $crc = 0xFFFFFFFF;
    $crc = ($crc >> 8) ^ $crc_table[($crc ^ $_) & 0xFF] for unpack('C*', $bytes);
    return $crc ^ 0xFFFFFFFF;
}

# pg_control with its system identifier (its first 8 bytes) replaced by $id and its crc made
# anew. The crc follows the fields it covers, at an offset that differs between versions: it is
# found as the first 4-byte word equal to the CRC of the bytes before it.
sub with_system_identifier {
    my ($control, $id) = @_;
    my $at = first { unpack('V', substr($control, $_, 4)) == crc32c(substr($control, 0, $_)) }
      map { 4 * $_ } 2 .. 255;
    die "InitdbTemplate: no crc found in pg_control\n" unless defined $at;
    substr($control, 0, 8) = pack('Q<', $id);
    substr($control, $at, 4) = pack('V', crc32c(substr($control, 0, $at)));
    return $control;
}

# An identifier made as initdb makes one: the time in seconds and microseconds, and the pid.
sub new_system_identifier {
    my ($s, $us) = Time::HiRes::gettimeofday();
    return ($s << 32) | ($us << 12) | ($$ & 0xFFF);
}

sub copy_template {
    my ($template, $pgdata) = @_;
    print "# Copying $template to $pgdata, in place of initdb\n";
    $system_or_bail->('cp', '-RPp', $template, $pgdata);
    my $file = "$pgdata/global/pg_control";
    open(my $in, '<:raw', $file) or die "InitdbTemplate: $file: $!\n";
    my $control = do { local $/; <$in> };
    close $in;
    # A second copy in the same microsecond and process would take the same identifier.
    Time::HiRes::usleep(1);
    $control = with_system_identifier($control, new_system_identifier());
    open(my $out, '>:raw', $file) or die "InitdbTemplate: $file: $!\n";
    print $out $control;
    close $out or die "InitdbTemplate: $file: $!\n";
    $system_or_bail->('pg_resetwal', '-D', $pgdata);
    return;
}

1;
