
# Copyright (c) vecsearch contributors
#
# Every index method under one concurrent load.
#
# One table with an index of each method (VsTest's all_methods_sql: ivf on <->, ivfpq on
# <#>, hnsw on <=>) takes, from 6 pgbench clients for $SECONDS seconds: inserts, vector
# updates, HOT updates, deletes, rolled-back writes, VACUUMs, and index scans of every
# index, plain and filtered (WHERE category = 3), at the default search settings. A scan
# that returns fewer than its LIMIT rows fails its transaction (1/0). Then:
#   - pgbench reports no failed statement, and the server log no deadlock and no crash;
#   - vecsearch_verify finds no problem in any index;
#   - ivf and ivfpq at every list (every candidate re-ranked) equal exact search and
#     return every row once; hnsw at ef_search 200 has recall@10 >= $RECALL_FLOOR and
#     returns every row once;
#   - at everyday settings (vecsearch.nprobe = 4 of 16 lists; vecsearch.rerank and
#     vecsearch.ef_search as shipped: 100 and 40) recall@10 against exact search, over 20
#     queries, is at least the floor stated per index in %FLOOR.
# VS_LONG=1 (make check-long) runs the load for 120 s instead of 8.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;

my $RECALL_FLOOR = 0.95;
my $LISTS        = 16;
my $SECONDS      = $ENV{VS_LONG} ? 120 : 8;
my $CLIENTS      = 6;

# Recall@10 at those settings, measured on these data after the load (three runs): ivf
# 1.000, ivfpq 0.990-0.995, hnsw 0.980-1.000; the floors leave room for what the random load
# leaves behind.
my $NPROBE = 4;
my %FLOOR  = (t_ivf => 0.9, t_pq => 0.9, t_hnsw => 0.9);
my %OP = (t_ivf => '<->', t_pq => '<#>', t_hnsw => '<=>');

my $node = start_vec_node('concurrency_all', "max_connections = 30\n");
$node->safe_psql('postgres', all_methods_sql(4000, $LISTS));
my $tmp  = PostgreSQL::Test::Utils::tempdir;
my @load = all_methods_load($tmp);

# ---------------------------------------------------------------- the load
my %scans;
for my $index (sort keys %OP)
{
	for my $filter ('', 'WHERE category = 3')
	{
		my $name = $index . ($filter ? '_filtered' : '');
		# a filtered hnsw scan stops after hnsw_max_scan_tuples elements (20,000 by default,
		# documented): once the long variant's table passes about 60,000 rows, a query near
		# another category's cluster can score that many before it reaches 10 of category
		# 3, so the cap is lifted here; this suite is about concurrency, not that limit
		my $cap = $index eq 't_hnsw' && $filter ? "SET vecsearch.hnsw_max_scan_tuples = 10000000;\n" : '';
		$scans{"scan_$name\@1"} = qq{
\\set s random(1, 1000000)
${cap}SET enable_seqscan = off;
SELECT count(*) AS n FROM (SELECT id FROM t $filter ORDER BY v $OP{$index} gen_vec(:s, :s % 8, 16) LIMIT 10) s \\gset
\\if :n != 10
SELECT 1 / 0 AS scan_returned_fewer_than_10_rows;
\\endif
};
	}
}
$scans{'vacuum@1'} = "VACUUM t;\n";

$node->pgbench(
	"--no-vacuum --client=$CLIENTS --jobs=$CLIENTS --time=$SECONDS " . join(' ', @load),
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	"$CLIENTS clients write, scan every index and VACUUM side by side for $SECONDS s without errors",
	\%scans);
my $processed = $node->safe_psql('postgres', 'SELECT sum(xact_commit + xact_rollback) FROM pg_stat_database');
note("transactions on the server: $processed");

unlike(slurp_file($node->logfile), qr/deadlock detected/, 'no deadlock during the load');
hnsw_check_log($node);

# ---------------------------------------------------------------- afterwards
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t');
my $queries = all_methods_queries($node);
all_methods_check_rows($node, 'after the load');
all_methods_check($node, 'after the load', $LISTS, $queries, $RECALL_FLOOR);

# recall@10 of $index at everyday settings over 20 queries near cluster points
sub everyday_recall
{
	my ($index) = @_;
	my $op = $OP{$index};
	my ($hits, $asked) = (0, 0);
	for my $s (1 .. 20)
	{
		my $q = "gen_vec($s * 7919, $s % 8, 16)";
		my $got = $node->safe_psql('postgres',
			"SET enable_seqscan = off; SET vecsearch.nprobe = $NPROBE; SELECT string_agg(id::text, ',') FROM "
			  . "(SELECT id FROM t ORDER BY v $op $q LIMIT 10) s");
		my $want = $node->safe_psql('postgres',
			force_exact() . "SELECT string_agg(id::text, ',') FROM "
			  . "(SELECT id FROM t ORDER BY v $op $q, id LIMIT 10) s");
		my %w = map { $_ => 1 } split /,/, $want;
		$hits += grep { $w{$_} } split /,/, $got;
		$asked += scalar(keys %w);
	}
	return $hits / $asked;
}

for my $index (sort keys %OP)
{
	my $recall = everyday_recall($index);
	cmp_ok($recall, '>=', $FLOOR{$index},
		sprintf('%s: recall@10 at nprobe %d, the shipped rerank and ef_search, is %.3f', $index, $NPROBE, $recall));
}

$node->stop;
done_testing();
