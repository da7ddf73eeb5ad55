
# Copyright (c) vecsearch contributors
#
# Crash safety of every index method when the postmaster itself is killed (kill -9) under
# concurrent inserts, updates and deletes.
#
# One 16-d table carries an index of each method, each on its own operator so that the
# planner's choice is fixed: ivf (vector_l2_ops, <->), ivfpq (vector_ip_ops, <#>) and hnsw
# (vector_cosine_ops, <=>). pgbench clients insert rows, update vectors (new index
# entries), update another column (HOT updates), delete rows and roll inserts back. Beside
# them a psql session applies a known sequence of inserts, vector updates and deletes to
# rows of its own (ids from $LOG_BASE), one statement at a time, and echoes each statement's
# number once the server has acknowledged it. The postmaster is then killed with SIGKILL,
# twice, each time under that load; the server restarts once its orphaned backends are
# gone and runs crash recovery.
#
# After each restart:
#   (a) the logged rows are exactly as the acknowledged statements left them (or one
#       statement further: a commit can land without its acknowledgement reaching the
#       client), and every row's vector is the one its seed says (nothing half-written);
#   (b) vecsearch_verify finds no problem in any of the three indexes;
#   (c) ivf and ivfpq, reading every list and re-ranking every candidate, equal exact
#       search for several queries, and a full scan through each returns every row with a
#       vector once, nearest first: every committed row is found through the index;
#   (d) hnsw at ef_search 200 has recall@10 of at least $RECALL_FLOOR against exact search
#       and a full scan through it returns every row once;
# and once more after a VACUUM and further writes on the recovered server, before the next
# crash. VS_LONG=1 (make check-long) crashes ten times instead of twice.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

# On these data hnsw (cosine, ef_search 200) measures recall@10 = 1.000 at every stage.
my $RECALL_FLOOR = 0.95;
my $LISTS        = 16;
my $LOG_BASE     = 1_000_000_000;
# VS_LONG=1 (make check-long): ten crashes and a heavier load before each
my $ROUNDS       = $ENV{VS_LONG} ? 10   : 2;
my $LOAD_ROWS    = $ENV{VS_LONG} ? 5000 : 1000;

my $node = start_vec_node(
	'crash_all', q{
# the server restarts after each kill with the WAL since the builds' checkpoint to replay
checkpoint_timeout = '1h'
max_wal_size = '1GB'
wal_consistency_checking = 'generic'
max_connections = 30
});

$node->safe_psql('postgres', all_methods_sql(4000, $LISTS) . "CHECKPOINT;\n");
my $queries = all_methods_queries($node);

# ---------------------------------------------------------------- the logged sequence
# Statement k (k = 1, 2, ...) on the rows $LOG_BASE + k: k % 5 in 0..2 inserts row k with
# seed k; k % 5 = 3 gives row k - 3 (inserted, (k - 3) % 5 = 0, unless k = 3) a new vector,
# seed k + 5000000; k % 5 = 4 deletes row k - 3 (inserted, (k - 3) % 5 = 1).
sub logged_sql
{
	my ($k) = @_;
	my $id = $LOG_BASE + $k;
	my $m  = $k % 5;
	return "INSERT INTO t (id, category, seed, v) VALUES ($id, $k % 8, $k, gen_vec($k, $k % 8, 16));"
	  if $m <= 2;
	my $target = $id - 3;
	my $seed   = $k + 5_000_000;
	return "UPDATE t SET seed = $seed, v = gen_vec($seed, category, 16) WHERE id = $target;"
	  if $m == 3;
	return "DELETE FROM t WHERE id = $target;";
}

# The logged rows (id => seed) after statements $first .. $last on top of %$state.
sub apply_logged
{
	my ($state, $first, $last) = @_;
	my %s = %$state;
	for my $k ($first .. $last)
	{
		my $m = $k % 5;
		if    ($m <= 2) { $s{ $LOG_BASE + $k } = $k; }
		elsif ($m == 3) { $s{ $LOG_BASE + $k - 3 } = $k + 5_000_000 if exists $s{ $LOG_BASE + $k - 3 }; }
		else            { delete $s{ $LOG_BASE + $k - 3 }; }
	}
	return \%s;
}

sub state_string
{
	my ($s) = @_;
	return join(',', map { "$_:$s->{$_}" } sort { $a <=> $b } keys %$s);
}

# The rows (id:seed) in one state string and not the other, both ways.
sub state_diff
{
	my ($found, $want) = @_;
	my %f = map { $_ => 1 } split /,/, $found;
	my %w = map { $_ => 1 } split /,/, $want;
	return 'found, not expected: ' . join(',', grep { !$w{$_} } sort keys %f)
	  . "\nexpected, not found: " . join(',', grep { !$f{$_} } sort keys %w);
}

my $tmp = PostgreSQL::Test::Utils::tempdir;
my $logged_done = 0;    # statements acknowledged in earlier rounds
my $logged_state = {};

# psql applying statements $from .. $from + 99999, echoing "ack k" after each.
sub start_logger
{
	my ($from) = @_;
	my $file = "$tmp/logged_$from.sql";
	open my $fh, '>', $file or die $!;
	print $fh logged_sql($_), "\n\\echo ack $_\n" for $from .. $from + 99_999;
	close $fh;
	my $out = '';
	my @cmd = ('psql', '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-h', $node->host,
		'-p', $node->port, '-f', $file, 'postgres');
	my $h = IPC::Run::start(\@cmd, '<', \undef, '>', \$out, '2>', \my $err);
	return { h => $h, out => \$out };
}

sub last_ack
{
	my ($logger) = @_;
	my @acks = ${ $logger->{out} } =~ /^ack (\d+)$/mg;
	return @acks ? $acks[-1] : 0;
}

# ---------------------------------------------------------------- the pgbench load
my @load = all_methods_load($tmp);

# ---------------------------------------------------------------- checks
sub check_logged
{
	my ($stage, $acked) = @_;
	my $found = $node->safe_psql('postgres',
		"SELECT string_agg(id || ':' || seed, ',' ORDER BY id) FROM t WHERE id >= $LOG_BASE");
	my $want  = state_string(apply_logged($logged_state, $logged_done + 1, $acked));
	my $ahead = state_string(apply_logged($logged_state, $logged_done + 1, $acked + 1));
	ok($found eq $want || $found eq $ahead,
		"$stage: the logged rows are as the $acked acknowledged statements left them")
	  or diag(state_diff($found, $want));
	$logged_state = apply_logged($logged_state, $logged_done + 1, $found eq $want ? $acked : $acked + 1);
	$logged_done = $found eq $want ? $acked : $acked + 1;
	all_methods_check_rows($node, $stage);
}

sub check_indexes
{
	my ($stage) = @_;
	all_methods_check($node, $stage, $LISTS, $queries, $RECALL_FLOOR);
}

# True once no process of this node is left (the postmaster $postmaster included) (their titles start "postgres: <cluster name>:").
# Backends orphaned by the postmaster's death exit when they notice it; until the last one
# has, the shared memory is in use and a new postmaster would refuse to start.
sub process_title
{
	my ($cmdline) = @_;
	open(my $fh, '<', $cmdline) or return '';    # the process may be gone already
	local $/;
	return <$fh> // '';
}

sub wait_orphans_gone
{
	my ($postmaster) = @_;
	my $name = $node->name;
	for (1 .. 600)
	{
		my @left = grep { process_title($_) =~ /^postgres: \Q$name\E: / } glob('/proc/[0-9]*/cmdline');
		# the postmaster itself, until its parent reaps it (a new postmaster takes a
		# zombie for a live one holding the lock file)
		push @left, $postmaster if -e "/proc/$postmaster";
		return 1 unless @left;
		usleep(100_000);
	}
	return 0;
}

# SIGKILL of the postmaster under the load, then a restart (crash recovery).
sub crash_round
{
	my ($round) = @_;
	my $stage = "kill -9 $round";
	my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
	my $logger = start_logger($logged_done + 1);
	my $pgbench = start_bg_pgbench($node, 5, $round, undef, '-T', '120', @load);
	ok($node->poll_query_until('postgres', "SELECT count(*) >= $before + $LOAD_ROWS FROM t"),
		"$stage: the load committed rows");
	usleep(300_000);
	my $postmaster = $node->{_pid};
	$node->kill9;
	my $pgbench_rc = finish_bg_pgbench($pgbench);
	$logger->{h}->finish;
	my $acked = last_ack($logger);
	cmp_ok($acked, '>', 0, "$stage: the logging session had statements acknowledged ($acked)");
	ok($pgbench_rc != 0, "$stage: pgbench was cut off by the crash");

	ok(wait_orphans_gone($postmaster), "$stage: the orphaned backends exit");
	$node->start;
	check_logged($stage, $acked);
	check_indexes($stage);
}

check_indexes('after build');
for my $round (1 .. $ROUNDS)
{
	crash_round($round);
	next if $round == $ROUNDS;
	# life after recovery: VACUUM frees the dead entries, new writes reuse them
	my $g = 7_000_000 + 1000 * $round;
	$node->safe_psql('postgres', qq{
DELETE FROM t WHERE id % 9 = $round % 9 AND id < $LOG_BASE;
VACUUM (INDEX_CLEANUP ON) t;
INSERT INTO t (category, seed, v)
	SELECT g % 8, g, gen_vec(g, g % 8, 16) FROM generate_series($g, $g + 299) g;
UPDATE t SET seed = seed + 1, v = gen_vec(seed + 1, category, 16)
	WHERE id % 11 = $round % 11 AND id < $LOG_BASE;
});
	check_indexes("after crash $round, VACUUM and writes");
}
note(sprintf('%d crashes survived; %s rows in the table; %d logged statements acknowledged',
	$ROUNDS, $node->safe_psql('postgres', 'SELECT count(*) FROM t'), $logged_done));
unlike(slurp_file($node->logfile),
	qr/inconsistent page found|PANIC:|TRAP:|server process .* was terminated by signal (?!9:)/,
	'server log: no failed WAL consistency check, no crashed backend');
$node->stop;
done_testing();
