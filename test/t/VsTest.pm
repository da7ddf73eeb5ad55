
# Copyright (c) vecsearch contributors
#
# Helpers shared by the ivf and hnsw TAP tests: test data (gen_vec, a node that has it, a
# table of it), SET lines that force a plan, the comparison of an index's top k with exact
# search, and the hnsw checks (recall against exact search, full scan).
package VsTest;

use strict;
use warnings;

use Exporter 'import';
use IPC::Run;
use List::Util qw(max);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils ();
use Test::More;

our @EXPORT = qw(gen_vec_sql force_index force_exact parse_rows knn_matches
  start_bg_pgbench finish_bg_pgbench
  ivf_through_index ivf_check_knn ivf_check_full check_verify check_verify_connected
  all_methods_sql all_methods_queries all_methods_load all_methods_check_rows all_methods_check
  start_vec_node vec_table_sql vec_insert_sql sum_table_sql hnsw_force_index hnsw_check_recall hnsw_check_full
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

# SQL for a table base of 1000 gen_vec vectors and a table $table (id bigserial, v
# vector($dim)) of the 1000 x $n sums a + b/2 of two of them, b among the first $n: fast to
# make, all distinct, in clusters that overlap. Also returns the vector of halves.
sub sum_table_sql
{
	my ($table, $dim, $n) = @_;
	my $half = '[' . join(',', (0.5) x $dim) . ']';
	return (
		"CREATE TABLE base AS SELECT g, gen_vec(g, g % 8, $dim) AS v FROM generate_series(1, 1000) g;\n"
		  . "CREATE TABLE $table (id bigserial PRIMARY KEY, v vector($dim));\n"
		  . "INSERT INTO $table (v) SELECT a.v + b.v * '$half' FROM base a, base b "
		  . "WHERE b.g <= $n ORDER BY b.g, a.g;\n",
		$half);
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

# ---------------------------------------------------------------- background pgbench
# pgbench against $node in the background: $clients clients (one thread each), random
# seed $seed, and @args (scripts, -T or -t, ...). The test framework sets PGAPPNAME for
# every client; $appname (if defined) names these apart. Returns { h, err }.
sub start_bg_pgbench
{
	my ($node, $clients, $seed, $appname, @args) = @_;
	local $ENV{PGAPPNAME} = $appname // $ENV{PGAPPNAME};
	my ($out, $err) = ('', '');
	my $h = IPC::Run::start(
		[
			'pgbench', '-n', '-h', $node->host, '-p', $node->port, '-c', $clients, '-j', $clients,
			"--random-seed=$seed", @args, 'postgres'
		],
		'<', \undef, '>', \$out, '2>', \$err);
	return { h => $h, err => \$err };
}

# Waits for a start_bg_pgbench run to end; its exit status.
sub finish_bg_pgbench
{
	my ($pb) = @_;
	$pb->{h}->finish;
	return $pb->{h}->full_result(0);
}

# ---------------------------------------------------------------- ivf and ivfpq
# With every list read and every ivfpq candidate re-ranked, ivf and ivfpq must equal exact
# search.

# $sql through an ivf or ivfpq index with every list read and every candidate re-ranked;
# the index $hide (if given) on the same operator is dropped in a transaction that rolls
# back, so that the plan cannot pick it.
sub ivf_through_index
{
	my ($lists, $hide, $sql) = @_;
	return "BEGIN;\n"
	  . (defined $hide ? "DROP INDEX $hide;\n" : '')
	  . force_index($lists)
	  . "SET vecsearch.rerank = 100000;\n$sql;\nROLLBACK;\n";
}

# (a) ORDER BY v <op> q LIMIT k through the index equals exact search (a sort over a
# sequential scan), for every [name, vector] in $queries; the plans are checked.
sub ivf_check_knn
{
	my ($node, $stage, $table, $index, $op, $lists, $queries, $k, $hide) = @_;
	for my $qq (@$queries)
	{
		my ($qname, $q) = @$qq;
		my $label = "$stage: $index $qname k=$k";
		my $sql = "SELECT id, v $op '$q' FROM $table ORDER BY v $op '$q' LIMIT $k";
		like($node->safe_psql('postgres', ivf_through_index($lists, $hide, "EXPLAIN (COSTS OFF) $sql")),
			qr/Index Scan using $index on $table/, "$label: index scan plan");
		my $got = parse_rows($node->safe_psql('postgres', ivf_through_index($lists, $hide, $sql)));

		my $exact_sql = "SELECT id, v $op '$q' FROM $table ORDER BY v $op '$q', id LIMIT $k";
		unlike($node->safe_psql('postgres', force_exact() . "EXPLAIN (COSTS OFF) $exact_sql"),
			qr/Index Scan using \w+ on $table\b/, "$label: exact search does not use the index");
		my $want = parse_rows($node->safe_psql('postgres', force_exact() . $exact_sql));

		is(scalar(@$got), $k, "$label: index returned $k rows");
		my ($ok, $why) = knn_matches($got, $want);
		ok($ok, "$label: index equals exact search") or diag($why);
		diag("$label: $why") if $ok && $why ne '';
	}
}

# (b) The whole index in distance order: every row with a vector exactly once.
sub ivf_check_full
{
	my ($node, $stage, $table, $index, $op, $lists, $q, $hide) = @_;
	my $label = "$stage: $index full scan";
	my $sql = qq{
SELECT count(*), count(DISTINCT id),
	count(*) FILTER (WHERE d < pd - 1e-4 * greatest(1, abs(pd)))
FROM (SELECT id, d, lag(d) OVER () AS pd
	FROM (SELECT id, v $op '$q' AS d FROM $table ORDER BY v $op '$q' LIMIT 1000000) s) s2};
	like($node->safe_psql('postgres', ivf_through_index($lists, $hide, "EXPLAIN (COSTS OFF) $sql")),
		qr/Index Scan using $index on $table/, "$label: index scan plan");
	my $got = $node->safe_psql('postgres', ivf_through_index($lists, $hide, $sql));
	my $n = $node->safe_psql('postgres', "SELECT count(*) FROM $table WHERE v IS NOT NULL");
	ok($n > 0, "$label: table has rows");
	is($got, "$n|$n|0",
		"$label: returns all $n rows with a vector, once each, nearest first (rows|distinct|out of order)");
}

# vecsearch_verify reports no problem in $index (any index method). For hnsw, elements
# that inserts left out of reach of the entry point are no damage: the next VACUUM links
# them in (check_verify_connected asserts that), so they are counted in a note here.
sub check_verify
{
	my ($node, $stage, $index) = @_;
	my $unreached = q{problem LIKE '%cannot be reached%'};
	is( $node->safe_psql('postgres',
			"SELECT count(*) FROM vecsearch_verify('$index') WHERE NOT $unreached"),
		'0', "$stage: vecsearch_verify finds no problem in $index")
	  or diag($node->safe_psql('postgres', "SELECT * FROM vecsearch_verify('$index') LIMIT 10"));
	my $n = $node->safe_psql('postgres',
		"SELECT count(*) FROM vecsearch_verify('$index') WHERE $unreached");
	note("$stage: $index: $n rows of elements inserts left out of reach, for the next VACUUM")
	  if $n ne '0';
}

# After a VACUUM with no write since: no problem at all, every live element reachable.
sub check_verify_connected
{
	my ($node, $stage, $index) = @_;
	is($node->safe_psql('postgres', "SELECT count(*) FROM vecsearch_verify('$index')"),
		'0', "$stage: vecsearch_verify finds no problem in $index, and every element is reachable")
	  or diag($node->safe_psql('postgres', "SELECT * FROM vecsearch_verify('$index') LIMIT 10"));
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

# ---------------------------------------------------------------- every method on one table
# A 16-d table t (id, category, seed, note, v) whose every row's vector is
# gen_vec(seed, category, 16), with an index of each method, each on its own operator so
# that the planner's choice is fixed: t_ivf (ivf, vector_l2_ops, <->), t_pq (ivfpq,
# vector_ip_ops, <#>) and t_hnsw (hnsw, vector_cosine_ops, <=>). Every 40th row has no vector.
sub all_methods_sql
{
	my ($rows, $lists) = @_;
	return qq{
CREATE TABLE t (id bigserial PRIMARY KEY, category int NOT NULL, seed bigint NOT NULL,
	note text, v vector(16));
INSERT INTO t (category, seed, v)
	SELECT g % 8, g, CASE WHEN g % 40 = 0 THEN NULL ELSE gen_vec(g, g % 8, 16) END
	FROM generate_series(1, $rows) g;
CREATE INDEX t_ivf ON t USING ivf (v vector_l2_ops) WITH (lists = $lists);
CREATE INDEX t_pq ON t USING ivfpq (v vector_ip_ops) WITH (lists = $lists, subvectors = 4);
CREATE INDEX t_hnsw ON t USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32);
};
}

# Query vectors for that table: near three cluster centres, and the own vector of the
# lowest-numbered row that has one (a load may have deleted any given row).
sub all_methods_queries
{
	my ($node) = @_;
	return [
		(map { [ "near cluster $_", $node->safe_psql('postgres', "SELECT gen_vec(90000$_, $_, 16)") ] }
			  0, 3, 6),
		[ 'a row', $node->safe_psql('postgres', 'SELECT v FROM t WHERE v IS NOT NULL ORDER BY id LIMIT 1') ] ];
}

# pgbench arguments (-f script@weight ...) for a mixed load on that table, scripts written
# to $dir: inserts, vector updates (new index entries), HOT updates of another column,
# deletes, and rolled-back inserts and updates. Ids up to 8000 are touched.
sub all_methods_load
{
	my ($dir) = @_;
	my %scripts = (
		insert => q{
\set s random(100000, 899999)
\set c random(0, 7)
INSERT INTO t (category, seed, v) VALUES (:c, :s, gen_vec(:s, :c, 16));
},
		update => q{
\set s random(1000000, 1899999)
\set id random(1, 8000)
UPDATE t SET seed = :s, v = gen_vec(:s, category, 16) WHERE id = :id;
},
		hot => q{
\set id random(1, 8000)
UPDATE t SET note = 'touched ' || :id WHERE id = :id;
},
		delete => q{
\set id random(1, 8000)
DELETE FROM t WHERE id = :id;
},
		rollback => q{
\set s random(100000, 899999)
BEGIN;
INSERT INTO t (category, seed, v) VALUES (1, :s, gen_vec(:s, 1, 16));
UPDATE t SET seed = :s, v = gen_vec(:s, category, 16) WHERE id = :s % 4000 + 1;
ROLLBACK;
});
	my %weight = (insert => 5, update => 3, hot => 1, delete => 2, rollback => 1);
	my @args;
	for my $name (sort keys %scripts)
	{
		PostgreSQL::Test::Utils::append_to_file("$dir/$name.sql", $scripts{$name});
		push @args, '-f', "$dir/$name.sql\@$weight{$name}";
	}
	return @args;
}

# Every row's vector is the one its seed gives (nothing half-written or stale).
sub all_methods_check_rows
{
	my ($node, $stage) = @_;
	is($node->safe_psql('postgres',
			'SELECT count(*) FROM t WHERE v IS NOT NULL AND v <> gen_vec(seed, category, 16)'),
		'0', "$stage: every row's vector is the one its seed gives on the " . $node->name);
}

# The three indexes: vecsearch_verify finds nothing (unless $no_verify: it takes a
# ShareLock, which a hot standby cannot); ivf and ivfpq at every list, every candidate
# re-ranked, equal exact search and return every row once; hnsw at ef_search 200 clears
# the recall floor and returns every row once.
sub all_methods_check
{
	my ($node, $stage, $lists, $queries, $floor, $no_verify) = @_;
	$stage .= ' (' . $node->name . ')';
	unless ($no_verify)
	{
		check_verify($node, $stage, $_) for qw(t_ivf t_pq t_hnsw);
	}
	ivf_check_knn($node, $stage, 't', 't_ivf', '<->', $lists, $queries, 10);
	ivf_check_full($node, $stage, 't', 't_ivf', '<->', $lists, $queries->[0][1]);
	ivf_check_knn($node, $stage, 't', 't_pq', '<#>', $lists, $queries, 10);
	ivf_check_full($node, $stage, 't', 't_pq', '<#>', $lists, $queries->[0][1]);
	hnsw_check_recall($node, $stage, 't', 't_hnsw', '<=>', $queries, 10, $floor);
	hnsw_check_full($node, $stage, 't', 't_hnsw', '<=>', $queries->[0][1]);
}

1;
