
# Copyright (c) vecsearch contributors
#
# Random damage to index pages never crashes a backend.
#
# A table with an ivf, an ivfpq and an hnsw index (16-d; and a 3000-d table whose hnsw
# vectors live on overflow pages) is copied while the server is stopped. Then, $ROUNDS
# times per index, from a fixed seed: the pristine files are put back, one block of the
# index (any block: metapage, centroids, directory, codebooks, list, element or overflow
# page) gets 1 to 64 random bytes at a random place (sometimes the page header), and the
# server starts. vecsearch_verify, a scan through the index that reads all of it, inserts,
# and DELETE + VACUUM each either work or raise an ERROR; none may lose the connection,
# and the server log must show no backend terminated by a signal. The verify call must
# report a problem or finish cleanly (damage to bytes nothing reads, such as free space,
# is invisible). VS_LONG=1 (make check-long) runs 100 rounds per index instead of 6;
# VS_FUZZ_SEED=n draws another sequence of damage.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;
use File::Copy;

my $ROUNDS = $ENV{VS_LONG} ? 100 : 6;
# VS_FUZZ_SEED picks another sequence of damage (the default is what CI runs)
srand($ENV{VS_FUZZ_SEED} // 20261126);

my $node = start_vec_node('corruption_fuzz', "");
$node->safe_psql('postgres',
	vec_table_sql('t', 3000, 16)
	  . vec_table_sql('big', 40, 3000) . q{
CREATE INDEX t_ivf ON t USING ivf (v vector_l2_ops) WITH (lists = 8);
CREATE INDEX t_pq ON t USING ivfpq (v vector_cosine_ops) WITH (lists = 8, subvectors = 4);
CREATE INDEX t_hnsw ON t USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX big_hnsw ON big USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
CHECKPOINT;
});

# (index, table, ORDER BY operator, dimensions)
my @cases = (
	[ 't_ivf',    't',   '<->', 16 ],
	[ 't_pq',     't',   '<=>', 16 ],
	[ 't_hnsw',   't',   '<->', 16 ],
	[ 'big_hnsw', 'big', '<->', 3000 ]);

# every file of both tables and their indexes (all forks), to restore after each round
my @rels = qw(t big t_ivf t_pq t_hnsw big_hnsw);
my %path = map {
	$_ => $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$_')")
} @rels;
my %queries = map {
	$_ => $node->safe_psql('postgres', "SELECT gen_vec(900001, 1, $_)")
} (16, 3000);
$node->stop;

my $pristine = PostgreSQL::Test::Utils::tempdir;
my @files = map { glob("$path{$_}*") } @rels;
copy($_, "$pristine/" . (s{.*/}{}r)) or die "copy $_: $!" for @files;

# with the server stopped cleanly (nothing to replay): forks created since go, the rest
# get their pristine bytes back
sub restore
{
	my %keep = map { $_ => 1 } @files;
	for my $rel (@rels)
	{
		unlink($_) for grep { !$keep{$_} } glob("$path{$rel}*");
	}
	copy("$pristine/" . (s{.*/}{}r), $_) or die "restore $_: $!" for @files;
}

# 1 to 64 random bytes somewhere in one random block; the header only now and then
sub damage
{
	my ($file) = @_;
	my $blocks = (-s $file) / 8192;
	my $block  = int(rand($blocks));
	my $len    = 1 + int(rand(64));
	my $offset = rand() < 0.15 ? int(rand(24)) : 24 + int(rand(8192 - 24 - $len));
	open(my $fh, '+<', $file) or die "open $file: $!";
	binmode $fh;
	seek($fh, $block * 8192 + $offset, 0) or die "seek: $!";
	print $fh join('', map { chr(int(rand(256))) } 1 .. $len);
	close $fh;
	return "block $block of $blocks, $len bytes at $offset";
}

my ($rounds, $errors, $reported) = (0, 0, 0);
for my $case (@cases)
{
	my ($index, $table, $op, $dim) = @$case;
	my $q = $queries{$dim};
	my $scan = "SET enable_seqscan = off; SET vecsearch.nprobe = 8; SET vecsearch.rerank = 10000; "
	  . "SET vecsearch.ef_search = 400; SET vecsearch.hnsw_max_scan_tuples = 100000; "
	  . "SELECT count(*) FROM (SELECT id FROM $table ORDER BY v $op '$q' LIMIT 5000) s";
	for my $round (1 .. $ROUNDS)
	{
		restore();
		my $where = damage($path{$index});
		$node->start;
		my $log_offset = -s $node->logfile;
		my @lost;
		for my $op (
			[ 'verify', "SELECT count(*) FROM vecsearch_verify('$index')" ],
			[ 'scan',   $scan ],
			[ 'insert', vec_insert_sql($table, $dim, 200001 + 100 * $round, $dim > 16 ? 5 : 50) ],
			[ 'vacuum', "DELETE FROM $table WHERE id % 7 = $round % 7; VACUUM $table" ])
		{
			my ($what, $sql) = @$op;
			my ($ret, $out, $err) = $node->psql('postgres', $sql);
			$errors++ if $ret == 3;
			$reported++ if $what eq 'verify' && $ret == 0 && $out > 0;
			push @lost, "$what (ret $ret: $err)" unless $ret == 0 || ($ret == 3 && $err =~ /ERROR/);
		}
		my $log = slurp_file($node->logfile, $log_offset);
		ok(!@lost && $log !~ /terminated by signal|PANIC|TRAP/,
			"$index round $round ($where): every statement worked or raised an ERROR, no crash")
		  or diag(join("\n", @lost) . "\n" . ($log =~ /(.*terminated by signal.*)/ ? $1 : ''));
		$rounds++;
		$node->stop;
	}
}
note("$rounds rounds; $errors statements raised an ERROR; verify reported damage in $reported rounds");
cmp_ok($reported, '>', 0, 'vecsearch_verify reported damage in some rounds');
done_testing();
