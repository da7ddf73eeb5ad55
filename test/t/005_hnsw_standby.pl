
# Copyright (c) vecsearch contributors
#
# The hnsw index on a streaming standby, and unlogged hnsw indexes.
#
# The primary builds hnsw indexes, a base backup carries them to a new streaming standby,
# and everything after that reaches the standby through WAL: inserts, a second index built
# while the standby streams, builds past maintenance_work_mem (serial and parallel), deletes, a VACUUM (marking, repairing the graph, freeing
# elements) and inserts that reuse the freed room. The graph is replicated page by page,
# so once the standby has replayed it all, index scans there return exactly what they
# return on the primary: the same rows in the same order, for several queries and for a
# full scan of the index; the full scan holds every row with a vector (count and distinct
# count equal the table's), and recall@10 against exact search clears a floor (measured
# on these data: 1.000 everywhere).
#
# Unlogged tables with hnsw indexes: `u` is in the base backup, `u2` is created while the
# standby streams (its init fork reaches the standby only through WAL). The standby refuses
# to read them, without crashing; after an immediate stop of the primary both are empty
# and their indexes (reset from the init forks) valid, so inserts and index scans work;
# after the standby's promotion the same holds there.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;

my $RECALL_FLOOR = 0.95;

# replay (on the standby, and in crash recovery) checks each generic WAL record's result
# against a full-page image
my $primary = start_vec_node('primary', "wal_consistency_checking = 'generic'\n",
	allows_streaming => 1);

# gen_vec(seed, cat, dim): see VsTest.pm. t: every 40th row without a vector; wide: 2500
# dimensions, vectors on overflow pages.
$primary->safe_psql('postgres',
	vec_table_sql('t', 3000, 16, 40) . vec_table_sql('wide', 150, 2500) . q{
CREATE INDEX t_l2 ON t USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX wide_l2 ON wide USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
CREATE UNLOGGED TABLE u (id bigserial PRIMARY KEY, category int NOT NULL, v vector(16));
} . vec_insert_sql('u', 16, 1, 500) . q{
CREATE INDEX u_l2 ON u USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
});

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
$standby->start;

my @q16 = (
	(map { [ "near cluster $_", $primary->safe_psql('postgres', "SELECT gen_vec(90000$_, $_, 16)") ] }
		  1, 4, 6),
	[ 'row 42', $primary->safe_psql('postgres', 'SELECT v FROM t WHERE id = 42') ],
	[ 'between clusters', '[' . join(',', map { 0.1 * $_ - 0.8 } 0 .. 15) . ']' ]);
my @q2500 =
  map { [ "near cluster $_", $primary->safe_psql('postgres', "SELECT gen_vec(90001$_, $_, 2500)") ] } 0, 2;
my @indexes = (
	[ 't',    't_l2',    '<->', \@q16 ],
	[ 't',    't_cos',   '<=>', \@q16 ],
	[ 'wide', 'wide_l2', '<->', \@q2500 ]);

# Changes that reach the standby through WAL only: inserts (seeds from $base), deletes of
# one row in $del, VACUUM, and inserts into the freed room: the 16-d indexes must not grow
# for them.
sub churn
{
	my ($stage, $base, $del) = @_;
	$primary->safe_psql('postgres',
		vec_insert_sql('t', 16, $base, 1000) . vec_insert_sql('wide', 2500, $base, 20)
		  . "DELETE FROM t WHERE id % $del = 1; VACUUM (INDEX_CLEANUP ON) t;");
	my @ix = map { $_->[1] } grep { $_->[0] eq 't' } @indexes;
	my %size = map { $_ => $primary->safe_psql('postgres', "SELECT pg_relation_size('$_')") } @ix;
	$primary->safe_psql('postgres', vec_insert_sql('t', 16, $base + 100000, 300));
	is($primary->safe_psql('postgres', "SELECT pg_relation_size('$_')"),
		$size{$_}, "$stage: inserts after VACUUM reuse the room freed in $_")
	  for @ix;
}

# a second index, built while the standby streams, then the first changes
$primary->safe_psql('postgres',
	'CREATE INDEX t_cos ON t USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32);');
# builds past maintenance_work_mem while the standby streams, serial and with 2 workers: the
# rows inserted on disk after the graph is written change pages without WAL until the build
# logs every page at its end, which must bring the standby the same index
$primary->safe_psql('postgres',
	vec_table_sql('past', 6000, 48) . q{ALTER TABLE past SET (parallel_workers = 2);
SET maintenance_work_mem = '1MB';
SET max_parallel_maintenance_workers = 0;
CREATE INDEX past_serial ON past USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
SET max_parallel_maintenance_workers = 2;
CREATE INDEX past_parallel ON past USING hnsw (v vector_l1_ops) WITH (m = 8, ef_construction = 32);
});
my @q48 =
  map { [ "near cluster $_", $primary->safe_psql('postgres', "SELECT gen_vec(90002$_, $_, 48)") ] } 1, 5;
push @indexes, [ 'past', 'past_serial', '<->', \@q48 ], [ 'past', 'past_parallel', '<+>', \@q48 ];
churn('streamed', 100001, 6);
$primary->safe_psql('postgres',
	vec_insert_sql('u', 16, 200001, 100) . q{
CREATE UNLOGGED TABLE u2 (id bigserial PRIMARY KEY, category int NOT NULL, v vector(16));
} . vec_insert_sql('u2', 16, 1, 300) . q{
CREATE INDEX u2_l2 ON u2 USING hnsw (v vector_l2_ops) WITH (m = 4, ef_construction = 16);
});

# ---------------------------------------------------------------- checks
# The same scan on both nodes: LIMIT 10 at ef_search 200, LIMIT 50 at the default 40, and
# the whole index (its order as an md5 of the ids).
sub same_on_both
{
	my ($stage, $table, $index, $op, $qname, $q) = @_;
	my %sql = (
		'k=10' => hnsw_force_index() . "SELECT id, v $op '$q' FROM $table ORDER BY v $op '$q' LIMIT 10",
		'k=50 ef=40' => hnsw_force_index(40) . "SELECT id FROM $table ORDER BY v $op '$q' LIMIT 50",
		'full scan order' => hnsw_force_index()
		  . "SELECT count(*) || ' ' || md5(string_agg(id::text, ',')) FROM "
		  . "(SELECT id FROM $table ORDER BY v $op '$q' LIMIT 1000000) s");
	for my $what (sort keys %sql)
	{
		my $p = $primary->safe_psql('postgres', $sql{$what});
		my $s = $standby->safe_psql('postgres', $sql{$what});
		isnt($p, '', "$stage: $index $qname $what: the primary returns rows");
		is($s, $p, "$stage: $index $qname $what: the standby returns what the primary returns");
	}
}

sub check_standby
{
	my ($stage) = @_;
	$primary->wait_for_catchup($standby, 'replay');
	for my $ix (@indexes)
	{
		my ($table, $index, $op, $queries) = @$ix;
		same_on_both($stage, $table, $index, $op, @$_) for @$queries;
		hnsw_check_recall($standby, "$stage (standby)", $table, $index, $op, $queries, 10,
			$RECALL_FLOOR);
		is(hnsw_check_full($standby, $stage, $table, $index, $op, $queries->[0][1]),
			hnsw_check_full($primary, $stage, $table, $index, $op, $queries->[0][1]),
			"$stage: $table has as many rows on the standby as on the primary");
	}
}

check_standby('streamed');

# ---------------------------------------------------------------- unlogged tables
for my $u (qw(u u2))
{
	my ($ret, $out, $err) = $standby->psql('postgres',
		hnsw_force_index() . "SELECT id FROM $u ORDER BY v <-> '$q16[0][1]' LIMIT 5");
	isnt($ret, 0, "standby refuses to read the unlogged table $u");
	like($err, qr/cannot access temporary or unlogged relations during recovery/,
		"standby: refusing $u is the usual error, not a crash");
}
is(hnsw_check_full($primary, 'before the crash', 'u', 'u_l2', '<->', $q16[0][1]),
	600, 'unlogged table u holds 600 rows before the crash');
is(hnsw_check_full($primary, 'before the crash', 'u2', 'u2_l2', '<->', $q16[0][1]),
	300, 'unlogged table u2 holds 300 rows before the crash');

# An unlogged table after a crash (or promotion): empty, its index empty but valid, and
# both take rows (inserts, deletes, VACUUM, inserts) that index scans then find.
sub check_unlogged
{
	my ($node, $stage, $u) = @_;
	my $index = "${u}_l2";
	my $label = "$stage: $u on the " . $node->name;
	is($node->safe_psql('postgres', "SELECT count(*) FROM $u"), 0, "$label: the table is empty");
	is( $node->safe_psql('postgres',
			hnsw_force_index() . "SELECT count(*) FROM (SELECT id FROM $u ORDER BY v <-> '$q16[0][1]') s"),
		0,
		"$label: a scan of the empty index returns nothing");
	$node->safe_psql('postgres',
		vec_insert_sql($u, 16, 300001, 400)
		  . "DELETE FROM $u WHERE id % 9 = 0; VACUUM (INDEX_CLEANUP ON) $u;"
		  . vec_insert_sql($u, 16, 400001, 50));
	cmp_ok(hnsw_check_full($node, $stage, $u, $index, '<->', $q16[1][1]),
		'>', 400, "$label: the table took new rows");
	hnsw_check_recall($node, $label, $u, $index, '<->', \@q16, 10, $RECALL_FLOOR);
}

$primary->stop('immediate');
$primary->start;
check_unlogged($primary, 'after the crash', $_) for qw(u u2);

# the standby reconnects and replays more changes
churn("after the primary's crash", 500001, 13);
check_standby("after the primary's crash");

# ---------------------------------------------------------------- promotion
$standby->promote;
$standby->poll_query_until('postgres', 'SELECT NOT pg_is_in_recovery()');
check_unlogged($standby, 'promoted standby', $_) for qw(u u2);
$standby->safe_psql('postgres', vec_insert_sql('t', 16, 700001, 200));
hnsw_check_full($standby, 'promoted standby', 't', 't_l2', '<->', $q16[2][1]);
hnsw_check_full($standby, 'promoted standby', 't', 't_cos', '<=>', $q16[2][1]);

hnsw_check_log($_) for $primary, $standby;
$standby->stop;
$primary->stop;
done_testing();
