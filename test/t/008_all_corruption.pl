
# Copyright (c) vecsearch contributors
#
# Corrupt index pages: vecsearch_verify reports them, and nothing crashes.
#
# With the server stopped, index files are damaged:
#   1. a table with an ivf, an ivfpq and an hnsw index: bytes inside one page of each are
#      overwritten (a list page's slots; an element page's items), the page header left
#      intact, so PostgreSQL reads the page and only vecsearch's own checks can tell;
#   2. three tables with one index each (ivf, ivfpq, hnsw): one page of each becomes pure
#      garbage, header included, which PostgreSQL's own page check refuses;
#   3. an hnsw index of 3000-d vectors (on overflow pages): an overflow page's link to the
#      rest of its vector points beyond the index's end;
#   4. index and table out of step: a table's heap, or its index, gets back the bytes it
#      had 50 rows earlier.
# After a restart:
#   - vecsearch_verify reports every damaged block (a refused page as "unreadable", and
#     the walk goes on), entries naming rows the table lacks and rows without an entry
#     (4), and nothing for an intact index;
#   - (1) scans, inserts and VACUUM either work or raise an ERROR;
#   - (2, 3) scans, inserts and VACUUM raise an ERROR that names the index (PostgreSQL's
#     "invalid page" message names only the file; vecsearch adds the index as context);
#   - no backend crashes (the server log shows no signal) and the server still answers.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;
use File::Copy;

my $node = start_vec_node('corruption', "");
$node->safe_psql('postgres',
	vec_table_sql('t', 4000, 16) . q{
CREATE INDEX t_ivf ON t USING ivf (v vector_l2_ops) WITH (lists = 8);
CREATE INDEX t_pq ON t USING ivfpq (v vector_cosine_ops) WITH (lists = 8, subvectors = 4);
CREATE INDEX t_intact ON t USING ivf (v vector_l2_ops) WITH (lists = 4);
CREATE INDEX t_hnsw ON t USING hnsw (v vector_l1_ops) WITH (m = 8, ef_construction = 32);
}
	  . vec_table_sql('g_ivf', 2000, 16)
	  . vec_table_sql('g_pq', 2000, 16)
	  . vec_table_sql('g_hnsw', 2000, 16)
	  . vec_table_sql('big', 40, 3000) . q{
CREATE INDEX g_ivf_v ON g_ivf USING ivf (v vector_l2_ops) WITH (lists = 4);
CREATE INDEX g_pq_v ON g_pq USING ivfpq (v vector_l2_ops) WITH (lists = 4, subvectors = 4);
CREATE INDEX g_hnsw_v ON g_hnsw USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX big_v ON big USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
CHECKPOINT;
});

# 4: index and heap out of step. Each h_* table has 50 rows and an index; its files are
# saved, 50 more rows go in, and later one file gets its saved bytes back: the heap (so
# the index names 50 rows the table lacks) or the index (so 50 rows have no entry).
my %out_of_step = (
	h_ivf   => [ 'ivf (v vector_l2_ops) WITH (lists = 2)',                 'heap' ],
	h_pq    => [ 'ivfpq (v vector_l2_ops) WITH (lists = 2, subvectors = 4)', 'index' ],
	h_hnsw  => [ 'hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16)', 'index' ],
	h_hnsw2 => [ 'hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16)', 'heap' ]);
for my $t (sort keys %out_of_step)
{
	$node->safe_psql('postgres',
		vec_table_sql($t, 50, 16) . "CREATE INDEX ${t}_v ON $t USING $out_of_step{$t}[0];");
}
$node->safe_psql('postgres', 'CHECKPOINT');
my %saved_files;    # path => saved copy, of every fork
my $saved = PostgreSQL::Test::Utils::tempdir;
for my $t (sort keys %out_of_step)
{
	my $rel = $out_of_step{$t}[1] eq 'heap' ? $t : "${t}_v";
	my $path = $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$rel')");
	$saved_files{$path} = $saved_files{"${path}_fsm"} = $saved_files{"${path}_vm"} = undef;
}
$node->stop;
for my $path (keys %saved_files)
{
	next unless -e $path;
	$saved_files{$path} = "$saved/" . ($path =~ s{.*/}{}r);
	copy($path, $saved_files{$path}) or die "copy $path: $!";
}
$node->start;
$node->safe_psql('postgres', join('', map { vec_insert_sql($_, 16, 51, 50) } sort keys %out_of_step)
	  . 'CHECKPOINT;');

my @all = (qw(t_ivf t_pq t_intact t_hnsw g_ivf_v g_pq_v g_hnsw_v big_v),
	map { "${_}_v" } sort keys %out_of_step);
for my $ix (@all)
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('$ix')"),
		'0', "$ix: no problems before the damage");
}

# the last block of an ivf index is a list page (lists are written after the other
# pages), of an hnsw index an element page
my %file = map {
	$_ => $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$_')")
} @all;
my %last = map {
	$_ => $node->safe_psql('postgres', "SELECT pg_relation_size('$_') / 8192 - 1")
} @all;
$node->stop;

sub overwrite
{
	my ($path, $offset, $bytes) = @_;
	open(my $fh, '+<', $path) or die "open $path: $!";
	binmode $fh;
	seek($fh, $offset, 0) or die "seek: $!";
	print $fh $bytes;
	close $fh;
}

sub read_bytes
{
	my ($path, $offset, $n) = @_;
	open(my $fh, '<', $path) or die "open $path: $!";
	binmode $fh;
	seek($fh, $offset, 0) or die "seek: $!";
	read($fh, my $bytes, $n) == $n or die "read: $!";
	close $fh;
	return $bytes;
}

# 1: slot headers and vectors, past the 24-byte page header: flags and TIDs become garbage
overwrite($file{t_ivf}, $last{t_ivf} * 8192 + 24, "\xAB" x 400);
overwrite($file{t_pq},  $last{t_pq} * 8192 + 24,  "\xAB" x 400);
# hnsw: the items at the end of an element page (neighbour lists and vectors), before
# its 8-byte special space
overwrite($file{t_hnsw}, $last{t_hnsw} * 8192 + 8192 - 8 - 600, "\xAB" x 600);

# 2: a whole page of garbage, header included
for my $ix (qw(g_ivf_v g_pq_v g_hnsw_v))
{
	overwrite($file{$ix}, $last{$ix} * 8192, join('', map { chr(($_ * 37 + 11) % 256) } 0 .. 8191));
}

# 3: the first overflow page (special space: next block, kind 3, page id) that links to
# another gets a link beyond the index's end
my $chain_block;
for my $b (1 .. $last{big_v})
{
	my ($next, $kind) = unpack('L S', read_bytes($file{big_v}, $b * 8192 + 8192 - 8, 6));
	next unless $kind == 3 && $next != 0xFFFFFFFF;
	$chain_block = $b;
	overwrite($file{big_v}, $b * 8192 + 8192 - 8, pack('L', 0x7FFFFFF0));
	last;
}
ok(defined $chain_block, "big_v: an overflow page linking to the next was found");
# 4: the saved files back (forks made since removed)
for my $path (keys %saved_files)
{
	if (defined $saved_files{$path}) { copy($saved_files{$path}, $path) or die "restore $path: $!"; }
	else { unlink $path; }
}
$node->start;

for my $t (sort keys %out_of_step)
{
	my $rows = $node->safe_psql('postgres', "SELECT problem FROM vecsearch_verify('${t}_v')");
	my $n = () = $rows =~ /^/mg;
	if ($out_of_step{$t}[1] eq 'heap')
	{
		like($rows, qr/^heap tuple \(\d+,\d+\) is not in the table|outside the table/m,
			"${t}_v: vecsearch_verify reports entries naming rows the table lacks");
		unlike($rows, qr/has no index entry/, "${t}_v: and no row without an entry");
	}
	else
	{
		like($rows, qr/^heap tuple \(\d+,\d+\) has no index entry/m,
			"${t}_v: vecsearch_verify reports rows without an entry");
		is(scalar(() = $rows =~ /has no index entry/g), 50, "${t}_v: all 50 of them");
	}
	note("${t}_v: $n rows; " . substr($rows, 0, 300));
}

for my $ix (qw(t_ivf t_pq t_hnsw))
{
	my $rows = $node->safe_psql('postgres', "SELECT blkno, problem FROM vecsearch_verify('$ix')");
	like($rows, qr/^$last{$ix}\|/m, "$ix: vecsearch_verify reports the damaged block $last{$ix}")
	  or diag($rows);
	note("$ix: $rows");
}
is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('t_intact')"),
	'0', 't_intact: still no problems');
for my $ix (qw(g_ivf_v g_pq_v g_hnsw_v))
{
	my $rows = $node->safe_psql('postgres', "SELECT blkno, problem FROM vecsearch_verify('$ix')");
	like($rows, qr/^$last{$ix}\|unreadable: invalid page in block $last{$ix}/m,
		"$ix: vecsearch_verify reports the page of garbage, block $last{$ix}, as unreadable")
	  or diag($rows);
	note("$ix: $rows");
}
my $big_rows = $node->safe_psql('postgres', "SELECT blkno, problem FROM vecsearch_verify('big_v')");
like($big_rows, qr/vector chain breaks after 1 of 2 overflow pages \(next block 2147483632\)/,
	'big_v: vecsearch_verify reports the broken overflow chain')
  or diag($big_rows);

# 2, 3: scans (every list, every element), inserts and VACUUM raise an ERROR naming the index
my $q = $node->safe_psql('postgres', 'SELECT gen_vec(900001, 1, 16)');
my $qbig = $node->safe_psql('postgres', 'SELECT gen_vec(900001, 1, 3000)');
my $scan_all = 'SET enable_seqscan = off; SET vecsearch.nprobe = 8; '
  . 'SET vecsearch.hnsw_max_scan_tuples = 100000; SET vecsearch.ef_search = 400; ';
for my $case (
	[ 'g_ivf_v',  'g_ivf',  "SELECT count(*) FROM (SELECT id FROM g_ivf ORDER BY v <-> '$q' LIMIT 5000) s" ],
	[ 'g_pq_v',   'g_pq',   "SELECT count(*) FROM (SELECT id FROM g_pq ORDER BY v <-> '$q' LIMIT 5000) s" ],
	[ 'g_hnsw_v', 'g_hnsw', "SELECT count(*) FROM (SELECT id FROM g_hnsw ORDER BY v <-> '$q' LIMIT 5000) s" ],
	[ 'big_v',    'big',    "SELECT count(*) FROM (SELECT id FROM big ORDER BY v <-> '$qbig' LIMIT 100) s" ])
{
	my ($ix, $table, $scan) = @$case;
	my $dim = $table eq 'big' ? 3000 : 16;
	for my $op (
		[ 'scan',    $scan_all . $scan ],
		[ 'insert',  vec_insert_sql($table, $dim, 100001, $table eq 'big' ? 20 : 400) ],
		[ 'VACUUM',  "DELETE FROM $table WHERE id % 5 = 0; VACUUM $table" ])
	{
		my ($what, $sql) = @$op;
		my ($r, $o, $e) = $node->psql('postgres', $sql);
		ok($r != 0 && $e =~ /ERROR/ && $e =~ /index "$ix"/,
			"$ix: $what raises an ERROR that names the index")
		  or diag("ret $r, stdout $o, stderr $e");
		note("$ix $what: $e");
	}
}

# 1: scans (every list), inserts and VACUUM: a result or an ERROR, never a crash
for my $case (
	[ 't_ivf', "SET enable_seqscan = off; SET vecsearch.nprobe = 8; SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> '$q' LIMIT 5000) s" ],
	[ 't_pq',  "SET enable_seqscan = off; SET vecsearch.nprobe = 8; SELECT count(*) FROM (SELECT id FROM t ORDER BY v <=> '$q' LIMIT 5000) s" ],
	[ 't_hnsw', "SET enable_seqscan = off; SET vecsearch.hnsw_max_scan_tuples = 100000; SELECT count(*) FROM (SELECT id FROM t ORDER BY v <+> '$q' LIMIT 5000) s" ],
	[ 'inserts', vec_insert_sql('t', 16, 100001, 200) ],
	[ 'VACUUM', 'DELETE FROM t WHERE id % 5 = 0; VACUUM t' ])
{
	my ($what, $sql) = @$case;
	my ($r, $o, $e) = $node->psql('postgres', $sql);
	ok($r == 0 || $e =~ /ERROR/, "$what on damaged indexes: a result or an ERROR")
	  or diag("ret $r, stderr $e");
	like($e, qr/index "t_hnsw"/, 'the hnsw scan\'s ERROR names the index')
	  if $what eq 't_hnsw' && $r != 0;
	note("$what: " . ($r == 0 ? "ok ($o)" : $e));
}
is($node->safe_psql('postgres', 'SELECT 1'), '1', 'the server still answers');
my $log = slurp_file($node->logfile);
unlike($log, qr/terminated by signal/, 'no backend crashed');

$node->stop;
done_testing();
