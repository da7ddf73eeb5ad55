
# Copyright (c) vecsearch contributors
#
# Concurrency and progress reporting of the ivf index access method.
#
#   1. pgbench runs inserts, index scans (plain and filtered), deletes and VACUUMs side by
#      side on one table with an ivf index for a few seconds. No statement may fail and no
#      backend may crash; afterwards, with vecsearch.nprobe = lists, the index must equal
#      exact search, hold every heap row once, pass vecsearch_verify, and its health
#      counters must match the table.
#   2. A build on a larger table is watched from a second session through
#      pg_stat_progress_create_index: the ivf phases appear in order and the writing phase
#      counts the table's rows.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use VsTest;

my $node = PostgreSQL::Test::Cluster->new('ivf_concurrency');
$node->init;
$node->append_conf('postgresql.conf', "max_parallel_maintenance_workers = 0\n");
$node->start;

my $lists = 8;
$node->safe_psql(
	'postgres', qq{
	CREATE EXTENSION vecsearch;
	CREATE FUNCTION vec(seed int) RETURNS vector LANGUAGE sql IMMUTABLE AS \$\$
		SELECT array_agg(sin(seed * 0.37 + j * 1.3) + cos(seed * 0.011 * j) ORDER BY j)::real[]::vector
		FROM generate_series(1, 16) j \$\$;
	CREATE TABLE t (id bigserial PRIMARY KEY, category int, v vector(16));
	INSERT INTO t (category, v) SELECT i % 5, vec(i) FROM generate_series(1, 4000) i;
	CREATE INDEX t_v ON t USING ivf (v) WITH (lists = $lists);
});

# ---------------------------------------------------------------- 1. mixed load
my %scripts = (
	'insert@4' => q{
\set s random(1, 1000000)
INSERT INTO t (category, v) VALUES (:s % 5, vec(:s));
},
	'scan@4' => q{
\set s random(1, 1000000)
SET vecsearch.nprobe = 2;
SELECT count(*) FROM (SELECT id FROM t ORDER BY v <-> vec(:s) LIMIT 10) s;
},
	'filtered@2' => q{
\set s random(1, 1000000)
SET vecsearch.nprobe = 1;
SELECT count(*) FROM (SELECT id FROM t WHERE category = 3 ORDER BY v <-> vec(:s) LIMIT 10) s;
},
	'delete@1' => q{
\set s random(1, 8000)
DELETE FROM t WHERE id = :s;
},
	'vacuum@1' => q{
VACUUM t;
});
$node->pgbench(
	'--no-vacuum --client=5 --time=6',
	0,
	[qr{processed: [1-9]}],
	[qr{^$}],
	'inserts, scans, filtered scans, deletes and VACUUM run side by side without errors',
	\%scripts);

# INDEX_CLEANUP ON: with few dead rows VACUUM would otherwise skip the index (PostgreSQL 14+
# bypasses index vacuuming below 2% of pages) and leave their slots counted as live
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t');

sub ids
{
	my ($sql) = @_;
	return $node->safe_psql('postgres', $sql);
}

my $count = $node->safe_psql('postgres', 'SELECT count(*) FROM t');
my $via_index = $node->safe_psql(
	'postgres', qq{
	SET enable_seqscan = off; SET vecsearch.nprobe = $lists;
	SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM t ORDER BY v <-> vec(1) LIMIT 1000000) s});
is($via_index, "$count|$count", 'after the load the index returns every row exactly once');
check_verify($node, 'after the load', 't_v');

# Inserts draw seeds at random, so a row may repeat another's vector: ids may then differ
# where distances tie (knn_matches), never otherwise.
for my $q (7, 4242, 99999)
{
	my $exact = parse_rows(
		ids(qq{SET enable_indexscan = off; SET enable_bitmapscan = off;
		   SELECT id, v <-> vec($q) AS d FROM t ORDER BY d, id LIMIT 10}));
	my $indexed = parse_rows(
		ids(qq{SET enable_seqscan = off; SET vecsearch.nprobe = $lists;
		   SELECT id, v <-> vec($q) FROM t ORDER BY v <-> vec($q) LIMIT 10}));
	my ($ok, $why) = knn_matches($indexed, $exact);
	ok($ok, "query $q: index at nprobe = lists equals exact search") or diag($why);
	note($why) if $why ne '';
}

is($node->safe_psql('postgres', 'SELECT live_rows FROM vecsearch_ivf_health(\'t_v\')'),
	$count, 'the health function counts the rows the table has');

# a filtered query still returns LIMIT rows with one probe
is( $node->safe_psql(
		'postgres', qq{
	SET enable_seqscan = off; SET vecsearch.nprobe = 1;
	SELECT count(*) FROM (SELECT id FROM t WHERE category = 3 ORDER BY v <-> vec(5) LIMIT 10) s}),
	'10',
	'a filtered query returns LIMIT rows');

# ---------------------------------------------------------------- 2. progress reporting
$node->safe_psql(
	'postgres', q{
	CREATE TABLE big (id int, v vector(32));
	INSERT INTO big SELECT i, array_agg(sin(i * 0.37 + j * 1.3) + cos(i * 0.011 * j) ORDER BY j)::real[]::vector
	FROM generate_series(1, 100000) i, generate_series(1, 32) j GROUP BY i;
});

my $build = $node->background_psql('postgres');
$build->query_until(qr/start/, q{
	\echo start
	CREATE INDEX big_v ON big USING ivf (v) WITH (lists = 1000);
});

my %seen;
my @order;
my $write_total;
my $deadline = time() + 120;
while (time() < $deadline)
{
	my $row = $node->safe_psql(
		'postgres', q{
		SELECT phase || '|' || tuples_total FROM pg_stat_progress_create_index
		WHERE relid = 'big'::regclass});
	if ($row eq '')
	{
		last if %seen;
		usleep(5_000);
		next;
	}
	my ($phase, $total) = split /\|/, $row;
	$phase =~ s/^building index: //;
	push @order, $phase unless $seen{$phase}++;
	$write_total = $total if $phase eq 'writing lists';
	usleep(5_000);
}
$build->quit;

note('phases seen: ' . join(', ', @order));
ok($seen{'performing k-means'}, 'the build reports the k-means phase');
ok($seen{'assigning rows to lists'} || $seen{'writing lists'},
	'the build reports the assignment or writing phase');
my @ivf_phases = grep { /^(sampling rows|performing k-means|assigning rows to lists|writing lists)$/ } @order;
ok(@ivf_phases >= 2, 'at least two ivf phases were seen');
my %rank = (
	'sampling rows' => 1,
	'performing k-means' => 2,
	'assigning rows to lists' => 3,
	'writing lists' => 4);
my @ranks = map { $rank{$_} } @ivf_phases;
is_deeply(\@ranks, [ sort { $a <=> $b } @ranks ], 'phases appear in build order');
is($write_total, '100000', 'the writing phase was seen and counts every row');
is($node->safe_psql('postgres', q{SELECT live_rows FROM vecsearch_ivf_health('big_v')}),
	'100000', 'the watched build indexed every row');

$node->stop;
done_testing();
