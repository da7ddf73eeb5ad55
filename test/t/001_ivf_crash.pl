
# Copyright (c) vecsearch contributors
#
# Crash safety of the ivf and ivfpq index access methods.
#
# A node with three ivf indexes (vector_l2_ops, vector_cosine_ops, vector_ip_ops) and two
# ivfpq indexes (l2, cosine) on one 16-d table and an ivf index on a 3000-d table (slots
# larger than a page) takes concurrent inserts (and rolled-back inserts) from pgbench, and
# is crashed under that load twice:
#
#   1. `pg_ctl stop -m immediate` of the whole node, then a restart (crash recovery);
#   2. SIGKILL of one inserting backend, after deletes and a VACUUM left freed slots for
#      the inserts to reuse: the postmaster reinitialises and recovers by itself.
#
# After each recovery, with vecsearch.nprobe = lists (every list read, so the index must
# equal exact search):
#   (a) ORDER BY v <op> q LIMIT k through the index equals exact search (a sort over a
#       sequential scan) for several query vectors and every opclass; the plans are checked;
#   (b) the index returns every heap row with a vector exactly once, in distance order,
#       and vecsearch_verify finds no structural problem;
#   (c) inserts, deletes and VACUUM keep working, VACUUM leaves the index's live count
#       (vecsearch_ivf_health) equal to the table's, and later inserts reuse freed slots.
#
# The base data are deterministic (a SQL hash of the row number); what the concurrent
# inserts commit before a crash varies, so every check compares the index with the table.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('ivf_crash');
$node->init(extra => ['--data-checksums']);
$node->append_conf(
	'postgresql.conf', q{
# the second crash kills one backend and relies on the postmaster's crash restart
restart_after_crash = on
# recovery replays every index change since the checkpoint after the builds
checkpoint_timeout = '1h'
max_wal_size = '1GB'
# replay compares each generic WAL record's result with a full-page image
wal_consistency_checking = 'generic'
max_connections = 30
});
$node->start;

# ---------------------------------------------------------------- data
# gen_vec(seed, cat, dim): see VsTest.pm
$node->safe_psql('postgres', "CREATE EXTENSION vecsearch;\n" . gen_vec_sql());
$node->safe_psql(
	'postgres', q{

CREATE TABLE t (id bigserial PRIMARY KEY, category int NOT NULL, v vector(16));
-- every 50th row has no vector: it must not be indexed
INSERT INTO t (category, v)
	SELECT g % 8, CASE WHEN g % 50 = 0 THEN NULL ELSE gen_vec(g, g % 8, 16) END
	FROM generate_series(1, 4000) g;
CREATE INDEX t_l2 ON t USING ivf (v vector_l2_ops) WITH (lists = 20);
CREATE INDEX t_cos ON t USING ivf (v vector_cosine_ops) WITH (lists = 20);
CREATE INDEX t_ip ON t USING ivf (v vector_ip_ops) WITH (lists = 20);
-- ivfpq: the same lists holding PQ codes (4 subvectors of 4 dimensions)
CREATE INDEX t_pq_l2 ON t USING ivfpq (v vector_l2_ops) WITH (lists = 20, subvectors = 4);
CREATE INDEX t_pq_cos ON t USING ivfpq (v vector_cosine_ops) WITH (lists = 10, subvectors = 8);

-- 3000 dimensions: a slot is 12,008 bytes, more than a page
CREATE TABLE big (id bigserial PRIMARY KEY, category int NOT NULL, v vector(3000));
INSERT INTO big (category, v)
	SELECT g % 4, gen_vec(g, g % 4, 3000) FROM generate_series(1, 300) g;
CREATE INDEX big_l2 ON big USING ivf (v vector_l2_ops) WITH (lists = 4);
CHECKPOINT;
});

# query vectors: near two cluster centres, an existing row (distance 0 to it), a point
# between the clusters, and a long vector (inner product favours the norm)
my @queries_16 = (
	[ 'near cluster 0', $node->safe_psql('postgres', 'SELECT gen_vec(900001, 0, 16)') ],
	[ 'near cluster 5', $node->safe_psql('postgres', 'SELECT gen_vec(900002, 5, 16)') ],
	[ 'row 123',        $node->safe_psql('postgres', 'SELECT v FROM t WHERE id = 123') ],
	[ 'between clusters', '[' . join(',', map { 0.1 * $_ - 0.8 } 0 .. 15) . ']' ],
	[
		'long vector',
		$node->safe_psql('postgres',
			q{SELECT gen_vec(900003, 2, 16) * '[4,4,4,4,4,4,4,4,4,4,4,4,4,4,4,4]'})
	]);
my @queries_big = (
	[ 'near cluster 1', $node->safe_psql('postgres', 'SELECT gen_vec(900011, 1, 3000)') ],
	[ 'row 7',          $node->safe_psql('postgres', 'SELECT v FROM big WHERE id = 7') ]);

# (table, index, operator, lists, queries, the index on the same operator to hide): the
# ivfpq indexes re-rank every candidate (vecsearch.rerank above the table's size), so with
# every list read they too must equal exact search: every row's TID must have survived
# the crash, once
my @indexes = (
	[ 't',   't_l2',     '<->', 20, \@queries_16, 't_pq_l2' ],
	[ 't',   't_cos',    '<=>', 20, \@queries_16, 't_pq_cos' ],
	[ 't',   't_ip',     '<#>', 20, \@queries_16, undef ],
	[ 't',   't_pq_l2',  '<->', 20, \@queries_16, 't_l2' ],
	[ 't',   't_pq_cos', '<=>', 10, \@queries_16, 't_cos' ],
	[ 'big', 'big_l2',   '<->', 4,  \@queries_big, undef ]);

# ---------------------------------------------------------------- checks
# (a), (b) and verification for every index (VsTest's ivf helpers)
sub check_all
{
	my ($stage) = @_;
	for my $ix (@indexes)
	{
		my ($table, $index, $op, $lists, $queries, $hide) = @$ix;
		check_verify($node, $stage, $index);
		ivf_check_knn($node, $stage, $table, $index, $op, $lists, $queries, 10, $hide);
		ivf_check_full($node, $stage, $table, $index, $op, $lists, $queries->[0][1], $hide);
	}
	# a deeper k on the l2 indexes
	ivf_check_knn($node, $stage, 't', 't_l2', '<->', 20, [ @queries_16[ 0, 3 ] ], 100, 't_pq_l2');
	ivf_check_knn($node, $stage, 't', 't_pq_l2', '<->', 20, [ @queries_16[ 0, 3 ] ], 100, 't_l2');
}

# (c): after a VACUUM with nothing running, the index's live count is the table's.
sub check_health_after_vacuum
{
	my ($stage) = @_;
	$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t; VACUUM (INDEX_CLEANUP ON) big;');
	for my $ix (@indexes)
	{
		my ($table, $index) = @$ix;
		my $r = $node->safe_psql('postgres',
			"SELECT (SELECT live_rows FROM vecsearch_ivf_health('$index')), "
			  . "(SELECT count(*) FROM $table WHERE v IS NOT NULL)");
		my ($live, $n) = split /\|/, $r;
		is($live, $n, "$stage: after VACUUM $index holds $n live rows");
	}
}

sub dead_slots
{
	my ($index) = @_;
	return $node->safe_psql('postgres',
		"SELECT dead_slots FROM vecsearch_ivf_health('$index')");
}

# ---------------------------------------------------------------- concurrent inserts
my $tmp = PostgreSQL::Test::Utils::tempdir;
PostgreSQL::Test::Utils::append_to_file(
	"$tmp/insert.sql", q{
\set s random(100000, 899999)
\set c random(0, 7)
BEGIN;
INSERT INTO t (category, v) VALUES
	(:c, gen_vec(:s, :c, 16)),
	(:c, gen_vec(:s + 1000000, :c, 16)),
	((:c + 3) % 8, gen_vec(:s + 2000000, (:c + 3) % 8, 16)),
	(:c, NULL);
INSERT INTO big (category, v) SELECT :c % 4, gen_vec(:s, :c % 4, 3000) WHERE :s % 8 = 0;
COMMIT;
});
PostgreSQL::Test::Utils::append_to_file(
	"$tmp/rollback.sql", q{
\set s random(100000, 899999)
\set c random(0, 7)
BEGIN;
INSERT INTO t (category, v) VALUES (:c, gen_vec(:s + 3000000, :c, 16));
INSERT INTO big (category, v) SELECT :c % 4, gen_vec(:s, :c % 4, 3000) WHERE :s % 4 = 0;
ROLLBACK;
});

# pgbench in the background: 6 clients, until stopped (or the server goes away)
sub start_pgbench
{
	my ($seed, $extra) = @_;
	return start_bg_pgbench($node, 6, $seed, 'ivf_pgbench',
		'-f', "$tmp/insert.sql\@9", '-f', "$tmp/rollback.sql\@1", @$extra);
}

sub count_t
{
	return $node->safe_psql('postgres', 'SELECT count(*) FROM t');
}

# ---------------------------------------------------------------- before any crash
check_all('after build');

# ---------------------------------------------------------------- crash 1: immediate stop
my $before = count_t();
my $pb = start_pgbench(1, [ '-T', '120' ]);
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) >= $before + 600 FROM t"),
	'crash 1: concurrent inserts committed');
my $committed = count_t();
$node->stop('immediate');
my $rc = finish_bg_pgbench($pb);
note("pgbench exited $rc after the crash");
ok($rc != 0, 'crash 1: pgbench was cut off by the crash, not finished');
$node->start;
cmp_ok(count_t(), '>=', $committed,
	'crash 1: every insert committed before the crash survived');
check_all('after crash 1');

# ---------------------------------------------------------------- (c) life after recovery
$pb = start_pgbench(2, [ '-t', '40' ]);
is(finish_bg_pgbench($pb), 0, 'after crash 1: pgbench inserts run to completion')
  or diag(${ $pb->{err} });
$node->safe_psql('postgres',
	'DELETE FROM t WHERE id % 7 = 3; DELETE FROM big WHERE id % 5 = 2;');
check_health_after_vacuum('after crash 1');
my %dead = map { $_->[1] => dead_slots($_->[1]) } @indexes;
for my $ix (@indexes)
{
	cmp_ok($dead{ $ix->[1] }, '>', 0, "after crash 1: VACUUM freed slots of $ix->[1]");
}
# new rows should go into the freed slots
$node->safe_psql(
	'postgres', q{
INSERT INTO t (category, v)
	SELECT g % 8, gen_vec(g, g % 8, 16) FROM generate_series(5000001, 5000400) g;
INSERT INTO big (category, v)
	SELECT g % 4, gen_vec(g, g % 4, 3000) FROM generate_series(5000001, 5000040) g;
});
for my $ix (@indexes)
{
	cmp_ok(dead_slots($ix->[1]), '<', $dead{ $ix->[1] },
		"after crash 1: inserts reused freed slots of $ix->[1]");
}
check_all('after crash 1, inserts, deletes and VACUUM');

# ---------------------------------------------------------------- crash 2: kill -9 a backend
# free slots again, so that the inserts under way at the crash reuse them
$node->safe_psql('postgres',
	'DELETE FROM t WHERE id % 5 = 1; DELETE FROM big WHERE id % 3 = 0;');
$node->safe_psql('postgres', 'VACUUM (INDEX_CLEANUP ON) t; VACUUM (INDEX_CLEANUP ON) big;');
$before = count_t();
$pb = start_pgbench(3, [ '-T', '120' ]);
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) >= $before + 600 FROM t"),
	'crash 2: concurrent inserts committed');
$committed = count_t();
my $victim = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE application_name = 'ivf_pgbench' ORDER BY pid LIMIT 1"
);
ok($victim =~ /^\d+$/, 'crash 2: found an inserting backend');
my $log_offset = -s $node->logfile;
kill 'KILL', $victim;
$node->wait_for_log(qr/all server processes terminated; reinitializing/, $log_offset);
$node->wait_for_log(qr/database system is ready to accept connections/, $log_offset);
$rc = finish_bg_pgbench($pb);
note("pgbench exited $rc after the crash");
ok($rc != 0, 'crash 2: pgbench was cut off by the crash');
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'crash 2: node is back');
cmp_ok(count_t(), '>=', $committed,
	'crash 2: every insert committed before the crash survived');
check_all('after crash 2');

$node->safe_psql(
	'postgres', q{
INSERT INTO t (category, v)
	SELECT g % 8, gen_vec(g, g % 8, 16) FROM generate_series(6000001, 6000200) g;
DELETE FROM t WHERE id % 11 = 4;
});
check_health_after_vacuum('after crash 2');
check_all('after crash 2, inserts, deletes and VACUUM');

# nothing in the log that a correct index never causes
my $log = slurp_file($node->logfile);
unlike($log, qr/ivf list at block|not an ivf|PANIC:.*(?:ivf|generic)|inconsistent page found/i,
	'server log has no index corruption reports');

$node->stop;
done_testing();
