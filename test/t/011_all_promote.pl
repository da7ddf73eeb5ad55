
# Copyright (c) vecsearch contributors
#
# Every index method on a streaming standby that is built while writes run, then promoted.
#
# The primary has one table with an index of each method (VsTest's all_methods_sql: ivf on
# <->, ivfpq on <#>, hnsw on <=>). pgbench inserts, updates and deletes rows while
# pg_basebackup copies the primary, and goes on while the new standby catches up by
# streaming. Once the load has stopped and the standby has replayed everything:
#   1. forced index scans on the standby return exactly what they return on the primary,
#      for every index and several queries (ORDER BY ... LIMIT 10 and a deeper LIMIT 100);
#   2. on the standby, ivf and ivfpq (every list, every candidate re-ranked) equal exact
#      search and return every row once; hnsw clears its recall floor and returns every row;
# then the standby is promoted, and
#   3. it still answers as the primary did, vecsearch_verify finds nothing in its indexes,
#      and after writes of its own (pgbench again, then VACUUM) the checks of 2 hold there.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;

# On these data hnsw (cosine, ef_search 200) measures recall@10 = 1.000 on both nodes.
my $RECALL_FLOOR = 0.95;
my $LISTS        = 16;

my $primary = start_vec_node('primary', "max_connections = 30\n", allows_streaming => 1);
$primary->safe_psql('postgres', all_methods_sql(4000, $LISTS));
my $queries = all_methods_queries($primary);
my $tmp     = PostgreSQL::Test::Utils::tempdir;
my @load    = all_methods_load($tmp);

sub start_pgbench
{
	my ($node, $seed, $seconds) = @_;
	return start_bg_pgbench($node, 4, $seed, undef, '-T', $seconds, @load);
}

sub finish_pgbench
{
	my ($label, $pb) = @_;
	is(finish_bg_pgbench($pb), 0, "$label: the load ran without errors")
	  or diag(${ $pb->{err} });
}

# ---------------------------------------------------------------- base backup under load
my $before = $primary->safe_psql('postgres', 'SELECT count(*) FROM t');
my $pb = start_pgbench($primary, 1, 8);
$primary->poll_query_until('postgres', "SELECT count(*) >= $before + 200 FROM t");
$primary->backup('backup');
ok($pb->{h}->pumpable, 'the load was still running when the base backup finished');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;
finish_pgbench('during the base backup', $pb);
$primary->wait_for_catchup($standby, 'replay', $primary->lsn('insert'));
cmp_ok($primary->safe_psql('postgres', 'SELECT count(*) FROM t'), '>', $before + 200,
	'rows were written during the backup and streamed afterwards');

# ---------------------------------------------------------------- standby = primary
my %op = (t_ivf => '<->', t_pq => '<#>', t_hnsw => '<=>');

# The forced index scan's rows (id|distance lines) for every index, query and k, as one
# string per (index, query, k).
sub answers
{
	my ($node) = @_;
	my %out;
	for my $index (sort keys %op)
	{
		for my $qq (@$queries)
		{
			my ($qname, $q) = @$qq;
			for my $k (10, 100)
			{
				my $sql = "SELECT id, v $op{$index} '$q' FROM t ORDER BY v $op{$index} '$q' LIMIT $k";
				my $full = $index eq 't_hnsw'
				  ? hnsw_force_index() . $sql
				  : ivf_through_index($LISTS, undef, $sql);
				$out{"$index $qname k=$k"} = $node->safe_psql('postgres', $full);
			}
		}
	}
	return \%out;
}

sub compare_answers
{
	my ($stage, $want, $node) = @_;
	my $got = answers($node);
	for my $key (sort keys %$want)
	{
		is($got->{$key}, $want->{$key}, "$stage: $key: the " . $node->name . " answers as the primary");
	}
}

my $primary_answers = answers($primary);
compare_answers('streaming', $primary_answers, $standby);
all_methods_check_rows($standby, 'streaming');
all_methods_check($standby, 'streaming', $LISTS, $queries, $RECALL_FLOOR, 'no verify on a standby');

# ---------------------------------------------------------------- promotion
$standby->promote;
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 'f', 'the standby is promoted');
compare_answers('promoted', $primary_answers, $standby);
all_methods_check($standby, 'promoted', $LISTS, $queries, $RECALL_FLOOR);

$pb = start_pgbench($standby, 2, 4);
finish_pgbench('on the promoted standby', $pb);
$standby->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t');
all_methods_check_rows($standby, 'promoted, after writes and VACUUM');
all_methods_check($standby, 'promoted, after writes and VACUUM', $LISTS, $queries, $RECALL_FLOOR);

hnsw_check_log($_) for ($primary, $standby);
$standby->stop;
$primary->stop;
done_testing();
