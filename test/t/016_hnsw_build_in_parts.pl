
# Copyright (c) vecsearch contributors
#
# An hnsw build whose graph does not fit into maintenance_work_mem builds it in parts that
# do (hnswpartition.c), serially and with parallel workers:
#   1. a NOTICE says so, how much memory the whole graph needs and what to set; the build
#      is in several parts;
#   2. the index verifies (vecsearch_verify), holds every row exactly once (a scan of the
#      whole index), and its recall@10 is within a small margin of the graph built in memory;
#   3. rows with equal vectors (31 copies of one, more than an element holds) are all found;
#   4. a crash right after the build (the pages are logged once at its end) leaves the same
#      index;
#   5. a table larger than its statistics say, built in parts, still indexes every row;
#   6. without the fix, the graph's first quarter was built in memory and the rest
#      inserted on disk: the NOTICE said "no longer fits" instead;
#   7. vectors on overflow pages (2000-d) are written from the temporary file.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use VsTest;

my $dim = 32;
# recall@10 over the queries at ef_search 200 (hnsw_force_index): in parts 1.000 serial and
# parallel, in memory 1.000 (measured); a part's graph sees fewer rows, the merge more lists.
my $RECALL_FLOOR = 0.9;
my $MARGIN = 0.05;

my $node = start_vec_node('parts',
	"max_parallel_maintenance_workers = 2\nmax_parallel_workers_per_gather = 0\njit = off\n");

# 20,000 sums of two of 1000 gen_vec vectors (all distinct), 30 more copies of row 7's,
# and 4 of row 11's.
my ($t_sql, $half) = sum_table_sql('t', $dim, 20);
$node->safe_psql(
	'postgres', $t_sql . qq{
	INSERT INTO t (v) SELECT v FROM t, generate_series(1, 30) WHERE id = 7;
	INSERT INTO t (v) SELECT v FROM t, generate_series(1, 4) WHERE id = 11;
	ALTER TABLE t SET (parallel_workers = 2);
	ANALYZE t;
});
my $rows = $node->safe_psql('postgres', 'SELECT count(*) FROM t');

my @queries = map {
	[ "query $_", $node->safe_psql('postgres',
		"SELECT (gen_vec($_, $_ % 8, $dim) + gen_vec(" . ($_ + 500) . ", 1, $dim) * '$half')::text") ]
} 1 .. 8;

sub build
{
	my ($mem, $workers, $index) = @_;
	my ($ret, $out, $err) = $node->psql('postgres',
		"SET maintenance_work_mem = '$mem';\nSET max_parallel_maintenance_workers = $workers;\n"
		  . "SET min_parallel_table_scan_size = 0;\nSET client_min_messages = debug1;\n"
		  . "CREATE INDEX $index ON t USING hnsw (v) WITH (m = 8, ef_construction = 32);");
	is($ret, 0, "$index: CREATE INDEX succeeds") or diag($err);
	return $err;
}

sub recall
{
	my ($label, $index) = @_;
	return hnsw_check_recall($node, $label, 't', $index, '<->', \@queries, 10, $RECALL_FLOOR);
}

sub copies_found
{
	my ($label, $index, $of, $copies) = @_;
	my $q = $node->safe_psql('postgres', "SELECT v::text FROM t WHERE id = $of");
	my $got = $node->safe_psql('postgres',
		hnsw_force_index()
		  . "SELECT count(*) FROM (SELECT v <-> '$q' AS d FROM t ORDER BY v <-> '$q' LIMIT 40) s WHERE d = 0");
	is($got, $copies, "$label: all $copies rows equal to row $of are found");
}

# the graph in memory, for the recall to compare with
my $err = build('64MB', 0, 'mem');
unlike($err, qr/in parts|no longer fits/, 'in memory: the graph fits into 64MB');
my $mem_recall = recall('in memory', 'mem');
$node->safe_psql('postgres', 'DROP INDEX mem');

for my $mode ([ 'serial', 0 ], [ 'parallel', 2 ])
{
	my ($label, $workers) = @$mode;
	my $index = "parts_$label";
	$err = build('4MB', $workers, $index);

	# 1. and 6.
	like($err,
		qr/NOTICE:  hnsw graph of the table's $rows rows needs about \d+ MB, more than maintenance_work_mem: building it in parts that fit/,
		"$label: a NOTICE says the graph is built in parts");
	unlike($err, qr/no longer fits/, "$label: no row is inserted on disk");
	my ($hint_mb) = $err =~ /HINT:  Set maintenance_work_mem to (\d+) MB or more to build the graph in memory/;
	ok(defined $hint_mb && $hint_mb > 4, "$label: the HINT names the memory of the whole graph")
	  or diag($err);
	my ($parts, $used) = $err =~ /in (\d+) parts of at most \d+ bytes, (\d+) workers/;
	cmp_ok($parts // 0, '>=', 2, "$label: the graph is built in several parts") or diag($err);
	is($used, $workers, "$label: $workers workers take part") or diag($err);

	# 2.
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('$index')"),
		'0', "$label: vecsearch_verify finds no problem");
	hnsw_check_full($node, $label, 't', $index, '<->', $queries[0][1]);
	my $r = recall($label, $index);
	cmp_ok($r, '>=', $mem_recall - $MARGIN, "$label: recall within $MARGIN of the graph in memory");

	# 3.
	copies_found($label, $index, 7, 31);
	copies_found($label, $index, 11, 5);

	# the hinted setting builds the graph in memory
	$err = build("${hint_mb}MB", $workers, "hinted_$label");
	unlike($err, qr/in parts|no longer fits/, "$label at the hinted ${hint_mb}MB: the graph fits in memory");
	$node->safe_psql('postgres', "DROP INDEX hinted_$label");
}

# 4. a crash after the builds: the same indexes come back from the WAL
my $before = $node->safe_psql('postgres',
	hnsw_force_index() . "SELECT id FROM t ORDER BY v <-> '$queries[1][1]' LIMIT 10");
$node->stop('immediate');
$node->start;
for my $index (qw(parts_serial parts_parallel))
{
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('$index')"),
		'0', "after a crash: $index verifies");
}
is($node->safe_psql('postgres',
	hnsw_force_index() . "SELECT id FROM t ORDER BY v <-> '$queries[1][1]' LIMIT 10"),
	$before, 'after a crash: the same rows come back');
$node->safe_psql('postgres', 'DROP INDEX parts_serial; DROP INDEX parts_parallel');

# 5. twice the rows the statistics say: the parts are planned from the rows the scan found
$node->safe_psql('postgres', "INSERT INTO t (v) SELECT v + '$half' FROM t WHERE id <= 20000");
$err = build('6MB', 2, 'grown');
like($err, qr/building it in parts/, 'grown table: built in parts');
is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('grown')"),
	'0', 'grown table: vecsearch_verify finds no problem');
hnsw_check_full($node, 'grown table', 't', 'grown', '<->', $queries[0][1]);

# 7. vectors too long to share a page with their element (2000-d: overflow pages), read
# back from the temporary file for the overflow pass
$node->safe_psql('postgres',
	"CREATE TABLE w AS SELECT g AS id, gen_vec(g, g % 8, 2000)::vector(2000) AS v FROM generate_series(1, 1200) g;\n"
	  . "ANALYZE w;");
my ($ret, $out);
($ret, $out, $err) = $node->psql('postgres',
	"SET maintenance_work_mem = '6MB';\nSET max_parallel_maintenance_workers = 0;\n"
	  . "CREATE INDEX w_idx ON w USING hnsw (v) WITH (m = 8, ef_construction = 32);");
is($ret, 0, '2000-d: CREATE INDEX succeeds') or diag($err);
like($err, qr/building it in parts/, '2000-d: built in parts');
is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('w_idx')"),
	'0', '2000-d: vecsearch_verify finds no problem');
hnsw_check_full($node, '2000-d', 'w', 'w_idx', '<->',
	$node->safe_psql('postgres', "SELECT gen_vec(5000, 3, 2000)::text"));

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/temporary file leak|TRAP|PANIC|terminated by signal/, 'the server log has no leak or crash');
done_testing();
