
# Copyright (c) vecsearch contributors
#
# The ivf and ivfpq indexes on a streaming standby, and unlogged ivf indexes.
#
# The primary builds an ivf index, a base backup (pg_basebackup) carries it to a new
# streaming standby, and everything after that reaches the standby through WAL: rows
# inserted after the build, deletes and a VACUUM that frees slots, inserts that reuse the
# freed slots, and a second ivf index built while the standby runs. Once the standby has
# replayed it all, forced index scans on the standby must return exactly what they return
# on the primary (and what exact search returns), the whole index must hold every row, and
# the index's own statistics must match page for page.
#
# Two UNLOGGED tables with ivf indexes ride along, `u` in the base backup and `u2` created
# while the standby streams (so its index's init fork reaches the standby only through
# WAL, and the primary crashes before any checkpoint wrote it): the standby must refuse to
# read them without crashing; after an immediate stop of the primary, the tables are empty
# and their indexes (reset from the init forks) empty but valid, so inserts and index scans
# work; after the standby's promotion the same holds there.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
# replay (on the standby and in crash recovery) checks each generic WAL record's result
# against a full-page image
wal_consistency_checking = 'generic'
});
$primary->start;

# gen_vec(seed, cat, dim): see VsTest.pm
$primary->safe_psql('postgres', "CREATE EXTENSION vecsearch;\n" . gen_vec_sql());
$primary->safe_psql(
	'postgres', q{

CREATE TABLE t (id bigserial PRIMARY KEY, category int NOT NULL, v vector(16));
INSERT INTO t (category, v)
	SELECT g % 8, CASE WHEN g % 40 = 0 THEN NULL ELSE gen_vec(g, g % 8, 16) END
	FROM generate_series(1, 3000) g;
CREATE INDEX t_l2 ON t USING ivf (v vector_l2_ops) WITH (lists = 20);
-- ivfpq: the same lists holding PQ codes
CREATE INDEX t_pq_cos ON t USING ivfpq (v vector_cosine_ops) WITH (lists = 10, subvectors = 4);

-- 1500 dimensions: slots straddle page boundaries
CREATE TABLE wide (id bigserial PRIMARY KEY, v vector(1500));
INSERT INTO wide (v) SELECT gen_vec(g, g % 3, 1500) FROM generate_series(1, 200) g;
CREATE INDEX wide_l2 ON wide USING ivf (v vector_l2_ops) WITH (lists = 3);

CREATE UNLOGGED TABLE u (id bigserial PRIMARY KEY, v vector(16));
INSERT INTO u (v) SELECT gen_vec(g, g % 8, 16) FROM generate_series(1, 500) g;
CREATE INDEX u_l2 ON u USING ivf (v vector_l2_ops) WITH (lists = 8);
});

# the standby starts from a base backup that holds the built index
$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

# after the backup, through WAL only
$primary->safe_psql(
	'postgres', q{
INSERT INTO t (category, v)
	SELECT g % 8, gen_vec(g, g % 8, 16) FROM generate_series(100001, 101500) g;
-- a second index, built while the standby streams
CREATE INDEX t_ip ON t USING ivf (v vector_ip_ops) WITH (lists = 10);
-- and an ivfpq index whose 383-byte slots straddle pages (1500 / 4 = 375 subvectors)
CREATE INDEX wide_pq_cos ON wide USING ivfpq (v vector_cosine_ops) WITH (lists = 3);
DELETE FROM t WHERE id % 6 = 1;
DELETE FROM wide WHERE id % 4 = 0;
VACUUM (INDEX_CLEANUP ON) t;
VACUUM (INDEX_CLEANUP ON) wide;
});
my %freed = map {
	$_ => $primary->safe_psql('postgres',
		"SELECT dead_slots FROM vecsearch_ivf_health('$_')")
} qw(t_l2 t_ip t_pq_cos wide_l2 wide_pq_cos);
$primary->safe_psql(
	'postgres', q{
INSERT INTO t (category, v)
	SELECT g % 8, gen_vec(g, g % 8, 16) FROM generate_series(200001, 200300) g;
INSERT INTO wide (v) SELECT gen_vec(g, g % 3, 1500) FROM generate_series(200001, 200030) g;
INSERT INTO u (v) SELECT gen_vec(g, g % 8, 16) FROM generate_series(200001, 200100) g;
-- an unlogged index whose init fork exists only in WAL and shared buffers
CREATE UNLOGGED TABLE u2 (id bigserial PRIMARY KEY, v vector(16));
INSERT INTO u2 (v) SELECT gen_vec(g, g % 8, 16) FROM generate_series(1, 300) g;
CREATE INDEX u2_l2 ON u2 USING ivf (v vector_l2_ops) WITH (lists = 4);
});
for my $index (sort keys %freed)
{
	my $dead = $primary->safe_psql('postgres',
		"SELECT dead_slots FROM vecsearch_ivf_health('$index')");
	cmp_ok($freed{$index}, '>', 0, "VACUUM freed slots of $index");
	cmp_ok($dead, '<', $freed{$index}, "later inserts reused freed slots of $index");
}

$primary->wait_for_catchup($standby, 'replay');

# ---------------------------------------------------------------- checks

# A forced scan of $index reading all lists; an ivfpq index re-ranks every candidate, so
# it too must equal exact search.
sub through_index
{
	my ($lists, $index) = @_;
	return force_index($lists) . ($index =~ /_pq_/ ? "SET vecsearch.rerank = 100000;\n" : '');
}


# ORDER BY v <op> q LIMIT 10 through the index: the standby equals the primary, and both
# equal exact search on the standby.
sub compare_knn
{
	my ($stage, $table, $index, $op, $lists, $qname, $q) = @_;
	my $label = "$stage: $index $qname";
	my $sql = "SELECT id, v $op '$q' FROM $table ORDER BY v $op '$q' LIMIT 10";
	my %res;
	for my $node ($primary, $standby)
	{
		my $name = $node->name;
		my $plan = $node->safe_psql('postgres',
			through_index($lists, $index) . "EXPLAIN (COSTS OFF) $sql");
		like($plan, qr/Index Scan using $index on $table/,
			"$label: index scan plan on the $name");
		$res{$name} = $node->safe_psql('postgres', through_index($lists, $index) . $sql);
	}
	my $got = parse_rows($res{standby});
	is(scalar(@$got), 10, "$label: 10 rows on the standby");
	is($res{standby}, $res{primary}, "$label: standby returns what the primary returns");

	my $want = parse_rows(
		$standby->safe_psql('postgres',
			force_exact()
			  . "SELECT id, v $op '$q' FROM $table ORDER BY v $op '$q', id LIMIT 10"));
	my ($ok, $why) = knn_matches($got, $want);
	ok($ok, "$label: standby's index equals exact search") or diag($why);
	diag("$label: $why") if $ok && $why ne '';
}

# The whole index through a forced scan: every row with a vector, once, nearest first.
sub check_full
{
	my ($node, $stage, $table, $index, $op, $lists, $q) = @_;
	my $label = "$stage: $index full scan on the " . $node->name;
	my $sql = qq{
SELECT count(*), count(DISTINCT id),
	count(*) FILTER (WHERE d < pd - 1e-4 * greatest(1, abs(pd)))
FROM (SELECT id, d, lag(d) OVER () AS pd
	FROM (SELECT id, v $op '$q' AS d FROM $table ORDER BY v $op '$q' LIMIT 1000000) s) s2};
	like(
		$node->safe_psql('postgres', through_index($lists, $index) . "EXPLAIN (COSTS OFF) $sql"),
		qr/Index Scan using $index on $table/,
		"$label: index scan plan");
	my $got = $node->safe_psql('postgres', through_index($lists, $index) . $sql);
	my $n = $node->safe_psql('postgres',
		"SELECT count(*) FROM $table WHERE v IS NOT NULL");
	is($got, "$n|$n|0",
		"$label: all $n rows with a vector, once each, nearest first (rows|distinct|out of order)"
	);
	return $n;
}

my @q16 = (
	[ 'near cluster 1', $primary->safe_psql('postgres', 'SELECT gen_vec(900001, 1, 16)') ],
	[ 'near cluster 6', $primary->safe_psql('postgres', 'SELECT gen_vec(900002, 6, 16)') ],
	[ 'row 42',         $primary->safe_psql('postgres', 'SELECT v FROM t WHERE id = 42') ],
	[ 'between clusters', '[' . join(',', map { 0.1 * $_ - 0.8 } 0 .. 15) . ']' ]);
my @q1500 = (
	[ 'near cluster 2', $primary->safe_psql('postgres', 'SELECT gen_vec(900003, 2, 1500)') ],
	[ 'row 5',          $primary->safe_psql('postgres', 'SELECT v FROM wide WHERE id = 5') ]);
my @indexes = (
	[ 't',    't_l2',        '<->', 20, \@q16 ],
	[ 't',    't_ip',        '<#>', 10, \@q16 ],
	[ 't',    't_pq_cos',    '<=>', 10, \@q16 ],
	[ 'wide', 'wide_l2',     '<->', 3,  \@q1500 ],
	[ 'wide', 'wide_pq_cos', '<=>', 3,  \@q1500 ]);

sub check_standby
{
	my ($stage) = @_;
	for my $ix (@indexes)
	{
		my ($table, $index, $op, $lists, $queries) = @$ix;
		compare_knn($stage, $table, $index, $op, $lists, @$_) for @$queries;
		my $np = check_full($primary, $stage, $table, $index, $op, $lists, $queries->[0][1]);
		my $ns = check_full($standby, $stage, $table, $index, $op, $lists, $queries->[0][1]);
		is($ns, $np, "$stage: $table has as many rows on the standby as on the primary");
		my $health = "SELECT * FROM vecsearch_ivf_health('$index')";
		is( $standby->safe_psql('postgres', $health),
			$primary->safe_psql('postgres', $health),
			"$stage: vecsearch_ivf_health($index) is the same on both");
	}
}

check_standby('streamed');

# ---------------------------------------------------------------- unlogged on the standby
for my $u (qw(u u2))
{
	my ($ret, $out, $err) = $standby->psql('postgres',
		force_index(8) . "SELECT id FROM $u ORDER BY v <-> '$q16[0][1]' LIMIT 5");
	isnt($ret, 0, "standby refuses to read the unlogged table $u");
	like($err, qr/cannot access temporary or unlogged relations during recovery/,
		"standby: the refusal for $u is the usual error, not a crash");
}
is($standby->safe_psql('postgres', 'SELECT count(*) FROM t'),
	$primary->safe_psql('postgres', 'SELECT count(*) FROM t'),
	'standby still serves queries');

# the unlogged index works on the primary before any crash
is(check_full($primary, 'before the crash', 'u', 'u_l2', '<->', 8, $q16[0][1]),
	600, 'unlogged table u holds 600 rows before the crash');
is(check_full($primary, 'before the crash', 'u2', 'u2_l2', '<->', 4, $q16[0][1]),
	300, 'unlogged table u2 holds 300 rows before the crash');

# ---------------------------------------------------------------- immediate stop
$primary->stop('immediate');
$primary->start;

# the unlogged tables and their indexes were reset from their init forks
for my $u (qw(u u2))
{
	is($primary->safe_psql('postgres', "SELECT count(*) FROM $u"),
		0, "after the crash: unlogged table $u is empty");
	is( $primary->safe_psql('postgres',
			force_index(8)
			  . "SELECT count(*) FROM (SELECT id FROM $u ORDER BY v <-> '$q16[0][1]' LIMIT 1000) s"
		),
		0,
		"after the crash: index scan of the empty unlogged index ${u}_l2 returns nothing");
}

sub check_unlogged
{
	my ($node, $stage, $u, $lists) = @_;
	my $name  = $node->name;
	my $index = "${u}_l2";
	my $health = $node->safe_psql('postgres',
		"SELECT lists, dimensions, live_rows, dead_slots FROM vecsearch_ivf_health('$index')");
	is($health, "$lists|16|0|0", "$stage: $index is empty with its $lists lists ($name)");
	$node->safe_psql('postgres',
		"INSERT INTO $u (v) SELECT gen_vec(g, g % 8, 16) FROM generate_series(300001, 300400) g;"
		  . "DELETE FROM $u WHERE id % 9 = 0; VACUUM (INDEX_CLEANUP ON) $u;"
		  . "INSERT INTO $u (v) SELECT gen_vec(g, g % 8, 16) FROM generate_series(400001, 400050) g;");
	my $n = check_full($node, $stage, $u, $index, '<->', $lists, $q16[1][1]);
	cmp_ok($n, '>', 400, "$stage: unlogged table $u took new rows ($name)");
	for my $qq (@q16)
	{
		my ($qname, $q) = @$qq;
		my $sql = "SELECT id, v <-> '$q' FROM $u ORDER BY v <-> '$q' LIMIT 10";
		like($node->safe_psql('postgres', force_index($lists) . "EXPLAIN (COSTS OFF) $sql"),
			qr/Index Scan using $index on $u/, "$stage: $index $qname: index scan plan ($name)");
		my $got = parse_rows($node->safe_psql('postgres', force_index($lists) . $sql));
		my $want = parse_rows(
			$node->safe_psql('postgres',
				force_exact()
				  . "SELECT id, v <-> '$q' FROM $u ORDER BY v <-> '$q', id LIMIT 10"));
		is(scalar(@$got), 10, "$stage: $index $qname: 10 rows ($name)");
		my ($ok, $why) = knn_matches($got, $want);
		ok($ok, "$stage: $index $qname: index equals exact search ($name)") or diag($why);
	}
	is( $node->safe_psql('postgres',
			"SELECT live_rows FROM vecsearch_ivf_health('$index')"),
		$n, "$stage: ${index}'s live rows after VACUUM ($name)");
}
check_unlogged($primary, 'after the crash', 'u', 8);
check_unlogged($primary, 'after the crash', 'u2', 4);

# the standby reconnects; more changes stream to it
$primary->safe_psql(
	'postgres', q{
INSERT INTO t (category, v)
	SELECT g % 8, gen_vec(g, g % 8, 16) FROM generate_series(500001, 500500) g;
DELETE FROM t WHERE id % 13 = 5;
VACUUM (INDEX_CLEANUP ON) t;
INSERT INTO t (category, v)
	SELECT g % 8, gen_vec(g, g % 8, 16) FROM generate_series(600001, 600100) g;
INSERT INTO wide (v) SELECT gen_vec(g, g % 3, 1500) FROM generate_series(600001, 600020) g;
});
$primary->wait_for_catchup($standby, 'replay');
check_standby('after the primary\'s crash');

# ---------------------------------------------------------------- promotion
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
for my $u (qw(u u2))
{
	is($standby->safe_psql('postgres', "SELECT count(*) FROM $u"),
		0, "promoted standby: unlogged table $u is empty");
}
check_unlogged($standby, 'promoted standby', 'u', 8);
check_unlogged($standby, 'promoted standby', 'u2', 4);
$standby->safe_psql('postgres',
	'INSERT INTO t (category, v) SELECT g % 8, gen_vec(g, g % 8, 16) FROM generate_series(700001, 700200) g;'
);
check_full($standby, 'promoted standby', 't', 't_l2', '<->', 20, $q16[2][1]);
check_full($standby, 'promoted standby', 't', 't_ip', '<#>', 10, $q16[2][1]);

for my $node ($primary, $standby)
{
	unlike(slurp_file($node->logfile),
		qr/ivf list at block|inconsistent page found|PANIC:|server process .* was terminated/,
		$node->name . ': server log has no corruption reports or crashes');
}

$standby->stop;
$primary->stop;
done_testing();
