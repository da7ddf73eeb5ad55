
# Copyright (c) vecsearch contributors
#
# Corrupt index pages: vecsearch_verify reports them, and nothing crashes.
#
# A table with an ivf, an ivfpq and an hnsw index. With the server stopped, bytes inside
# one page of each are overwritten (a list page's slots; an element page's items; the page
# header left intact, so PostgreSQL reads the page), and a second ivf index gets a page of
# pure garbage (which PostgreSQL's own page check refuses). After a restart:
#   - vecsearch_verify reports the damaged blocks, and nothing for an intact index;
#   - scans, inserts and VACUUM on the damaged indexes either work or raise an ERROR (an
#     hnsw link beyond the index's end names the index), and no backend crashes (the
#     server log shows no signal);
#   - the page of garbage gives PostgreSQL's "invalid page" ERROR naming the index's file.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;

my $node = start_vec_node('corruption', "");
$node->safe_psql('postgres',
	vec_table_sql('t', 4000, 16) . q{
CREATE INDEX t_ivf ON t USING ivf (v vector_l2_ops) WITH (lists = 8);
CREATE INDEX t_pq ON t USING ivfpq (v vector_cosine_ops) WITH (lists = 8, subvectors = 4);
CREATE INDEX t_ivf2 ON t USING ivf (v vector_ip_ops) WITH (lists = 8);
CREATE INDEX t_intact ON t USING ivf (v vector_l2_ops) WITH (lists = 4);
CREATE INDEX t_hnsw ON t USING hnsw (v vector_l1_ops) WITH (m = 8, ef_construction = 32);
CHECKPOINT;
});
for my $ix (qw(t_ivf t_pq t_ivf2 t_intact t_hnsw))
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('$ix')"),
		'0', "$ix: no problems before the damage");
}

# the last block of an index is a list page (lists are written after the other pages)
my %file = map {
	$_ => $node->data_dir . '/' . $node->safe_psql('postgres', "SELECT pg_relation_filepath('$_')")
} qw(t_ivf t_pq t_ivf2 t_hnsw);
my %last = map {
	$_ => $node->safe_psql('postgres', "SELECT pg_relation_size('$_') / 8192 - 1")
} qw(t_ivf t_pq t_ivf2 t_hnsw);
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
# slot headers and vectors, past the 24-byte page header: flags and TIDs become garbage
overwrite($file{t_ivf}, $last{t_ivf} * 8192 + 24, "\xAB" x 400);
overwrite($file{t_pq},  $last{t_pq} * 8192 + 24,  "\xAB" x 400);
# hnsw: the items at the end of an element page (neighbour lists and vectors), before
# its 8-byte special space
overwrite($file{t_hnsw}, $last{t_hnsw} * 8192 + 8192 - 8 - 600, "\xAB" x 600);
# a whole page of garbage, header included
overwrite($file{t_ivf2}, $last{t_ivf2} * 8192, join('', map { chr(($_ * 37 + 11) % 256) } 0 .. 8191));
$node->start;

for my $ix (qw(t_ivf t_pq t_hnsw))
{
	my $rows = $node->safe_psql('postgres', "SELECT blkno, problem FROM vecsearch_verify('$ix')");
	like($rows, qr/^$last{$ix}\|/m, "$ix: vecsearch_verify reports the damaged block $last{$ix}")
	  or diag($rows);
	note("$ix: $rows");
}
is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('t_intact')"),
	'0', 't_intact: still no problems');

my ($ret, $out, $err) = $node->psql('postgres', "SELECT count(*) FROM vecsearch_verify('t_ivf2')");
like($err, qr/invalid page in block $last{t_ivf2}/, 't_ivf2: a page of garbage is PostgreSQL\'s invalid page ERROR');

# scans (every list), inserts and VACUUM: a result or an ERROR, never a crash
my $q = $node->safe_psql('postgres', 'SELECT gen_vec(900001, 1, 16)');
for my $case (
	[ 't_ivf', "SET enable_seqscan = off; SET vecsearch.nprobe = 8; SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> '$q' LIMIT 5000) s" ],
	[ 't_pq',  "SET enable_seqscan = off; SET vecsearch.nprobe = 8; SELECT count(*) FROM (SELECT id FROM t ORDER BY v <=> '$q' LIMIT 5000) s" ],
	[ 't_ivf2', "SET enable_seqscan = off; SET vecsearch.nprobe = 8; SELECT count(*) FROM (SELECT id FROM t ORDER BY v <#> '$q' LIMIT 5000) s" ],
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
