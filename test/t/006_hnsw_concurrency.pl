
# Copyright (c) vecsearch contributors
#
# Concurrency and progress reporting of the hnsw index access method.
#
#   1. pgbench runs inserts, index scans (plain and filtered), deletes and VACUUMs side by
#      side on one table with an hnsw index for a few seconds. No statement may fail, no
#      backend may crash, and every scan must return its LIMIT rows (the scripts raise an
#      error otherwise). Afterwards recall@10 against exact search clears a floor, a full
#      index scan returns every row once, vecsearch_verify finds nothing, and a filtered
#      query returns 10 rows.
#   2. Builds are watched from a second session through pg_stat_progress_create_index:
#      one in memory on a larger table ('building graph', then 'writing pages'), and one
#      that outgrows maintenance_work_mem ('inserting on disk' follows); the phases appear
#      in order, and the on-disk build gives a sound index too.
#   3. Parallel builds: the leader and two workers insert into one shared graph, in memory
#      and beyond maintenance_work_mem (the participant that finds the graph full writes it
#      out, then all of them insert on disk). Each index clears the recall floor against
#      exact search and returns every row once, and the build says how many workers took
#      part.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;
use Time::HiRes qw(usleep);

my $RECALL_FLOOR = 0.95;

# gen_vec(seed, cat, dim): see VsTest.pm
my $node = start_vec_node('hnsw_concurrency', "max_parallel_maintenance_workers = 0\n");
$node->safe_psql('postgres',
	vec_table_sql('t', 4000, 16)
	  . 'CREATE INDEX t_v ON t USING hnsw (v) WITH (m = 8, ef_construction = 32);');

# ---------------------------------------------------------------- 1. mixed load
# A scan that returns fewer than 10 rows fails its transaction: 1/0.
my $scan = q{
\set s random(1, 1000000)
SET enable_seqscan = off;
SET vecsearch.ef_search = 40;
SELECT count(*) AS n FROM (SELECT id FROM t %s ORDER BY v <-> gen_vec(:s, :s %% 8, 16) LIMIT 10) s \gset
\if :n != 10
SELECT 1 / 0 AS scan_returned_fewer_than_10_rows;
\endif
};
$node->pgbench(
	'--no-vacuum --client=5 --time=6',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'inserts, scans, filtered scans, deletes and VACUUM run side by side without errors',
	{
		'insert@4' => q{
\set s random(1, 1000000)
INSERT INTO t (category, v) VALUES (:s % 8, gen_vec(:s, :s % 8, 16));
},
		'scan@4' => sprintf($scan, ''),
		'filtered@2' => sprintf($scan, 'WHERE category = 3'),
		'delete@1' => q{
\set s random(1, 8000)
DELETE FROM t WHERE id = :s;
},
		'vacuum@1' => q{
VACUUM (INDEX_CLEANUP ON) t;
}
	});

$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t');
my @queries = (
	(map { [ "near cluster $_", $node->safe_psql('postgres', "SELECT gen_vec(90000$_, $_, 16)") ] } 0, 2, 7),
	# a row that survived the load (pgbench deletes random ids)
	[ 'a surviving row', $node->safe_psql('postgres', 'SELECT v FROM t ORDER BY id LIMIT 1 OFFSET 41') ],
	[ 'between clusters', '[' . join(',', map { 0.1 * $_ - 0.8 } 0 .. 15) . ']' ]);
hnsw_check_recall($node, 'after the load', 't', 't_v', '<->', \@queries, 10, $RECALL_FLOOR);
hnsw_check_full($node, 'after the load', 't', 't_v', '<->', $queries[0][1]);
check_verify_connected($node, 'after the load and a VACUUM', 't_v');

# a filtered query returns LIMIT rows, all of them matching, at the default ef_search
is( $node->safe_psql(
		'postgres', qq{SET enable_seqscan = off;
	SELECT count(*), count(*) FILTER (WHERE category = 3) FROM
		(SELECT id, category FROM t WHERE category = 3 ORDER BY v <-> '$queries[1][1]' LIMIT 10) s}),
	'10|10',
	'a filtered query returns 10 matching rows');

# ---------------------------------------------------------------- 2. progress reporting
# Runs $sql (a CREATE INDEX on $table) in a second session and samples
# pg_stat_progress_create_index until the build ends. Returns the phases in the order
# first seen, and the largest tuples_total seen in each phase.
sub watch_build
{
	my ($table, $sql) = @_;
	my $build = $node->background_psql('postgres');
	$build->query_until(qr/start/, "\\echo start\n$sql\n");
	my (@order, %total);
	my $deadline = time() + 60;
	while (time() < $deadline)
	{
		my $row = $node->safe_psql('postgres',
			"SELECT phase || '|' || tuples_total FROM pg_stat_progress_create_index "
			  . "WHERE relid = '$table'::regclass");
		if ($row eq '')
		{
			last if @order;
			usleep(2_000);
			next;
		}
		my ($phase, $tot) = split /\|/, $row;
		$phase =~ s/^building index: //;
		push @order, $phase unless exists $total{$phase};
		$total{$phase} = $tot if !defined $total{$phase} || $tot > $total{$phase};
	}
	$build->quit;
	note("$table: phases seen: " . join(', ', @order));
	return (\@order, \%total);
}

# The hnsw phases among @$order must be in build order.
sub phases_in_order
{
	my ($label, $order) = @_;
	my %rank = ('building graph' => 1, 'writing pages' => 2, 'inserting on disk' => 3);
	my @ranks = map { $rank{$_} } grep { exists $rank{$_} } @$order;
	is_deeply(\@ranks, [ sort { $a <=> $b } @ranks ], "$label: phases appear in build order")
	  or diag('phases: ' . join(', ', @$order));
}

$node->safe_psql('postgres',
	vec_table_sql('big', 30000, 32) . vec_table_sql('mid', 12000, 16) . 'ANALYZE big; ANALYZE mid;');

my ($order, $total) =
  watch_build('big', 'CREATE INDEX big_v ON big USING hnsw (v) WITH (m = 16);');
ok((grep { $_ eq 'building graph' } @$order), 'in-memory build: the building graph phase is seen');
is($total->{'building graph'}, 30000, 'in-memory build: the graph phase counts the table\'s rows');
ok(!(grep { $_ eq 'inserting on disk' } @$order),
	'in-memory build: no inserting on disk phase while maintenance_work_mem suffices');
phases_in_order('in-memory build', $order);
hnsw_check_full($node, 'in-memory build', 'big', 'big_v', '<->',
	$node->safe_psql('postgres', 'SELECT gen_vec(900005, 5, 32)'));

($order, $total) = watch_build('mid',
	"SET maintenance_work_mem = '1MB';\n"
	  . 'CREATE INDEX mid_v ON mid USING hnsw (v) WITH (m = 8, ef_construction = 32);');
ok((grep { $_ eq 'inserting on disk' } @$order),
	'build beyond maintenance_work_mem: the inserting on disk phase is seen');
phases_in_order('build beyond maintenance_work_mem', $order);
hnsw_check_recall($node, 'build beyond maintenance_work_mem', 'mid', 'mid_v', '<->',
	[ map { [ "near cluster $_", $node->safe_psql('postgres', "SELECT gen_vec(90000$_, $_, 16)") ] } 1, 4, 6 ],
	10, $RECALL_FLOOR);
hnsw_check_full($node, 'build beyond maintenance_work_mem', 'mid', 'mid_v', '<->', $queries[0][1]);

# ---------------------------------------------------------------- 3. parallel builds
# the tables are small for a parallel scan: min_parallel_table_scan_size = 0 lets them have one
my $parallel = "SET min_parallel_table_scan_size = 0;\nSET max_parallel_maintenance_workers = 2;\n"
  . "SET client_min_messages = debug1;\n";
for my $case (
	[ 'parallel in memory', 'big', 'big_p', 32, 'm = 16', '' ],
	[ 'parallel beyond maintenance_work_mem', 'mid', 'mid_p', 16, 'm = 8, ef_construction = 32',
		"SET maintenance_work_mem = '1MB';\n" ])
{
	my ($label, $table, $index, $dim, $with, $set) = @$case;
	my ($ret, $out, $err) = $node->psql('postgres',
		$parallel . $set . "CREATE INDEX $index ON $table USING hnsw (v) WITH ($with);");
	is($ret, 0, "$label: CREATE INDEX succeeds") or diag($err);
	like($err, qr/hnsw build of "$index": using 2 parallel workers and the leader to insert rows/,
		"$label: two workers take part");
	if ($set)
	{
		like($err, qr/hnsw graph no longer fits into maintenance_work_mem/,
			"$label: a NOTICE says the graph is written out");
	}
	else
	{
		unlike($err, qr/no longer fits/, "$label: the graph fits");
	}
	$node->safe_psql('postgres', "DROP INDEX ${table}_v");
	hnsw_check_recall($node, $label, $table, $index, '<->',
		[ map { [ "near cluster $_", $node->safe_psql('postgres', "SELECT gen_vec(80000$_, $_, $dim)") ] }
			  2, 3, 5 ],
		10, $RECALL_FLOOR);
	hnsw_check_full($node, $label, $table, $index, '<->',
		$node->safe_psql('postgres', "SELECT gen_vec(800007, 7, $dim)"));
}

$node->stop;
done_testing();
