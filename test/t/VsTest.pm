
# Copyright (c) vecsearch contributors
#
# Helpers shared by the ivf and hnsw TAP tests: test data (gen_vec, a node that has it, a
# table of it), SET lines that force a plan, the comparison of an index's top k with exact
# search, and the hnsw checks (recall against exact search, full scan).
package VsTest;

use strict;
use warnings;

use Exporter 'import';
use List::Util qw(max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils ();
use Test::More;

our @EXPORT = qw(gen_vec_sql force_index force_exact parse_rows knn_matches
  start_vec_node vec_table_sql vec_insert_sql hnsw_force_index hnsw_check_recall hnsw_check_full
  hnsw_check_log);

# SQL that creates gen_vec(seed, cat, dim): cluster centre `cat` (of 8, overlapping) plus
# deterministic noise from a sine hash of (seed, i). Never a zero vector.
sub gen_vec_sql
{
	return <<'SQL';
CREATE FUNCTION gen_vec(seed bigint, cat int, dim int) RETURNS vector
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
	SELECT array_agg(2.0 * sin(cat * 1.37 + i * 0.71)
		+ 3.0 * ((sin(seed * 12.9898 + i * 78.233 + cat) * 43758.5453)
			- floor(sin(seed * 12.9898 + i * 78.233 + cat) * 43758.5453) - 0.5)
		ORDER BY i)::vector
	FROM generate_series(1, dim) i
$$;
SQL
}

# An index scan that reads every list (so it must equal exact search).
sub force_index
{
	my ($lists) = @_;
	return "SET enable_seqscan = off; SET enable_bitmapscan = off; "
	  . "SET vecsearch.nprobe = $lists; SET vecsearch.max_probes = -1;\n";
}

# Exact search: a sort over a sequential scan.
sub force_exact
{
	return "SET enable_indexscan = off; SET enable_bitmapscan = off;\n";
}

# psql's "id|distance" lines as [[id, distance], ...].
sub parse_rows
{
	my ($out) = @_;
	return [ map { [ split /\|/ ] } grep { $_ ne '' } split /\n/, $out ];
}

# The index's top k against exact search. Identical id lists pass; otherwise the lists
# may differ only where distances tie (within float rounding): position by position the
# distances must agree, and the index must not return a row twice. Returns (ok, why).
sub knn_matches
{
	my ($got, $want) = @_;
	my $gids = join(',', map { $_->[0] } @$got);
	my $wids = join(',', map { $_->[0] } @$want);
	return (1, '') if $gids eq $wids;
	return (0, "index returned " . scalar(@$got) . " rows, exact search " . scalar(@$want))
	  if @$got != @$want;
	my %seen;
	for my $i (0 .. $#$want)
	{
		my ($gi, $gd) = @{ $got->[$i] };
		my ($wi, $wd) = @{ $want->[$i] };
		return (0, "index returned id $gi twice") if $seen{$gi}++;
		return (0, "position $i: index id $gi at distance $gd, exact id $wi at distance $wd")
		  if abs($gd - $wd) > 1e-4 * max(1, abs($wd));
	}
	return (1, "ids differ only among equal distances:\n index $gids\n exact $wids");
}

# A started node named $name (PostgreSQL::Test::Cluster->new($name)->init(@init)) with
# $conf appended to postgresql.conf, vecsearch created and gen_vec defined.
sub start_vec_node
{
	my ($name, $conf, @init) = @_;
	my $node = PostgreSQL::Test::Cluster->new($name);
	$node->init(@init);
	$node->append_conf('postgresql.conf', $conf);
	$node->start;
	$node->safe_psql('postgres', "CREATE EXTENSION vecsearch;\n" . gen_vec_sql());
	return $node;
}

# SQL for a table $table (id, category, v vector($dim)) of $rows rows: row g has category
# g % 8 and vector gen_vec(g, g % 8, $dim), except that every $null_every-th row (if
# given) has no vector.
sub vec_table_sql
{
	my ($table, $rows, $dim, $null_every) = @_;
	my $v = "gen_vec(g, g % 8, $dim)";
	$v = "CASE WHEN g % $null_every = 0 THEN NULL ELSE $v END" if $null_every;
	return "CREATE TABLE $table (id bigserial PRIMARY KEY, category int NOT NULL, v vector($dim));\n"
	  . "INSERT INTO $table (category, v) SELECT g % 8, $v FROM generate_series(1, $rows) g;\n";
}

# SQL that inserts rows g = $from .. $from + $n - 1 into such a table (as vec_table_sql
# makes them, all with vectors).
sub vec_insert_sql
{
	my ($table, $dim, $from, $n) = @_;
	return "INSERT INTO $table (category, v) SELECT g % 8, gen_vec(g, g % 8, $dim) "
	  . "FROM generate_series($from, $from + $n - 1) g;\n";
}

# ---------------------------------------------------------------- hnsw
# hnsw is approximate: no setting makes it equal exact search. Its checks are recall
# against exact search at a high ef_search, and a full scan that returns every row.

# A forced hnsw index scan keeping $ef candidates (default 200), allowed to score every
# element (so a scan without LIMIT reaches the whole graph).
sub hnsw_force_index
{
	my ($ef) = @_;
	$ef //= 200;
	return "SET enable_seqscan = off; SET enable_bitmapscan = off; "
	  . "SET vecsearch.ef_search = $ef; SET vecsearch.hnsw_max_scan_tuples = 1000000;\n";
}

# (a) ORDER BY v <op> q LIMIT k through the index, for every [name, vector] in $queries:
# an index scan plan, k distinct rows nearest first, and recall@k against exact search of
# at least $floor over all queries. A returned row counts as a hit when its distance is
# within the exact k-th distance (ties between equal vectors count either way). Returns
# the recall.
sub hnsw_check_recall
{
	my ($node, $stage, $table, $index, $op, $queries, $k, $floor) = @_;
	my ($hits, $asked) = (0, 0);
	my @missed;
	for my $qq (@$queries)
	{
		my ($qname, $q) = @$qq;
		my $label = "$stage: $index $qname k=$k";
		my $sql = "SELECT id, v $op '$q' FROM $table ORDER BY v $op '$q' LIMIT $k";
		like(
			$node->safe_psql('postgres', hnsw_force_index() . "EXPLAIN (COSTS OFF) $sql"),
			qr/Index Scan using $index on $table/,
			"$label: index scan plan");
		my $got = parse_rows($node->safe_psql('postgres', hnsw_force_index() . $sql));
		my $want = parse_rows(
			$node->safe_psql('postgres',
				force_exact() . "SELECT id, v $op '$q' FROM $table ORDER BY v $op '$q', id LIMIT $k"));
		is(scalar(@$got), $k, "$label: index returned $k rows");
		my %ids = map { $_->[0] => 1 } @$got;
		is(scalar(keys %ids), scalar(@$got), "$label: no row twice");
		my @out_of_order =
		  grep { $got->[$_][1] < $got->[ $_ - 1 ][1] - 1e-4 * max(1, abs($got->[ $_ - 1 ][1])) }
		  1 .. $#$got;
		is(scalar(@out_of_order), 0, "$label: nearest first");
		next unless @$want;
		my $kth = $want->[-1][1];
		my $h = grep { $_->[1] <= $kth + 1e-4 * max(1, abs($kth)) } @$got;
		$hits += $h;
		$asked += scalar(@$want);
		push @missed, "$qname: " . (scalar(@$want) - $h) if $h < @$want;
	}
	my $recall = $asked ? $hits / $asked : 0;
	cmp_ok($recall, '>=', $floor,
		sprintf('%s: %s recall@%d over %d queries is %.3f', $stage, $index, $k, scalar(@$queries), $recall))
	  or diag('misses: ' . join(', ', @missed));
	return $recall;
}

# (b) With enable_seqscan off and no bound on the elements scored, ORDER BY v <op> q
# through the index returns every row with a vector exactly once (rows|distinct = n|n),
# and the first 100 nearest first (the index returns its first ef_search = 200 elements
# sorted; dead rows among them, e.g. of rolled-back inserts, are dropped by the executor,
# so the first 200 rows returned can reach into the next batch). Returns n.
sub hnsw_check_full
{
	my ($node, $stage, $table, $index, $op, $q, $ordered) = @_;
	$ordered //= 100;
	my $label = "$stage: $index full scan on the " . $node->name;
	my $sql = qq{SELECT count(*), count(DISTINCT id),
	count(*) FILTER (WHERE n <= $ordered AND d < lag_d - 1e-4 * greatest(1, abs(lag_d)))
FROM (SELECT id, d, row_number() OVER () AS n, lag(d) OVER () AS lag_d
	FROM (SELECT id, v $op '$q' AS d FROM $table ORDER BY v $op '$q' LIMIT 1000000) s) s2};
	like($node->safe_psql('postgres', hnsw_force_index() . "EXPLAIN (COSTS OFF) $sql"),
		qr/Index Scan using $index on $table/, "$label: index scan plan");
	my $n = $node->safe_psql('postgres', "SELECT count(*) FROM $table WHERE v IS NOT NULL");
	# every row: the relaxed order returns the rows a later round finds nearer, too
	is($node->safe_psql('postgres',
			hnsw_force_index() . "SET vecsearch.hnsw_scan_order = relaxed;\n" . $sql),
		"$n|$n|0",
		"$label: all $n rows with a vector, once each, the first $ordered nearest first (rows|distinct|out of order)"
	);
	return $n;
}

# The node's server log reports no index corruption, failed consistency check or crashed
# backend (backends killed on purpose with SIGKILL excepted).
sub hnsw_check_log
{
	my ($node) = @_;
	unlike(
		PostgreSQL::Test::Utils::slurp_file($node->logfile),
		qr/hnsw build:|could not add an element|inconsistent page found|PANIC:|TRAP:|
			server\ process\ .*\ was\ terminated\ by\ signal\ (?!9:)/x,
		$node->name . ': server log has no corruption reports or crashes');
}

1;
