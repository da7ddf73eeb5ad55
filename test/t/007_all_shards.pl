
# Copyright (c) vecsearch contributors
#
# A table sharded over two other clusters with postgres_fdw.
#
# Two shard nodes each hold half of the rows (by id parity) in a table with an ivf index
# and an hnsw index. The coordinator declares a partitioned table whose partitions are
# foreign tables on the shards, through postgres_fdw with `extensions 'vecsearch'`, so
# that the distance operator is shippable. The coordinator also holds every row in one
# local table. Checks:
#   1. ORDER BY v <op> q LIMIT k over the sharded table pushes the ORDER BY (with the
#      operator) down to each shard (the remote SQL shows it) and merges the shards' ordered
#      results (Merge Append of foreign scans). The LIMIT stays on the coordinator:
#      PostgreSQL does not push it below the merge; the shards stream through cursors;
#   2. it returns the same top k as exact search over the local table, for several
#      queries and all three operators (the shards read their indexes whole:
#      vecsearch.nprobe = lists, ef_search 1000, set for the shards' database);
#   3. a filter on the partition key reads one shard only.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use VsTest;
use Test::More;

my @shards;
for my $s (0, 1)
{
	my $node = start_vec_node("shard$s", "");
	$node->safe_psql('postgres',
		qq{
CREATE TABLE items (id bigint PRIMARY KEY, part int NOT NULL, v vector(16));
INSERT INTO items SELECT g, g % 2, gen_vec(g, g % 8, 16) FROM generate_series(1, 6000) g WHERE g % 2 = $s;
CREATE INDEX items_ivf ON items USING ivf (v vector_l2_ops) WITH (lists = 10);
CREATE INDEX items_cos ON items USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32);
CREATE INDEX items_ip ON items USING ivfpq (v vector_ip_ops) WITH (lists = 5, subvectors = 4);
ANALYZE items;
ALTER DATABASE postgres SET vecsearch.nprobe = 10;
ALTER DATABASE postgres SET vecsearch.ef_search = 1000;
ALTER DATABASE postgres SET vecsearch.rerank = 100000;
});
	push @shards, $node;
}

my $coord = start_vec_node('coordinator', "");
my $setup = "CREATE EXTENSION postgres_fdw;\n"
  . "CREATE TABLE items (id bigint, part int NOT NULL, v vector(16)) PARTITION BY LIST (part);\n";
for my $s (0, 1)
{
	my ($host, $port) = ($shards[$s]->host, $shards[$s]->port);
	$setup .= qq{
CREATE SERVER shard$s FOREIGN DATA WRAPPER postgres_fdw
	OPTIONS (host '$host', port '$port', dbname 'postgres', extensions 'vecsearch');
CREATE USER MAPPING FOR CURRENT_USER SERVER shard$s;
CREATE FOREIGN TABLE items_$s PARTITION OF items FOR VALUES IN ($s)
	SERVER shard$s OPTIONS (table_name 'items');
};
}
$setup .= q{
CREATE TABLE local_items (id bigint PRIMARY KEY, part int NOT NULL, v vector(16));
INSERT INTO local_items SELECT g, g % 2, gen_vec(g, g % 8, 16) FROM generate_series(1, 6000) g;
};
$coord->safe_psql('postgres', $setup);
is($coord->safe_psql('postgres', 'SELECT count(*) FROM items'), '6000',
	'the sharded table holds every row');

my @queries = (
	[ 'near cluster 2', $coord->safe_psql('postgres', 'SELECT gen_vec(900001, 2, 16)') ],
	[ 'near cluster 7', $coord->safe_psql('postgres', 'SELECT gen_vec(900002, 7, 16)') ],
	[ 'row 1234',       $coord->safe_psql('postgres', 'SELECT v FROM local_items WHERE id = 1234') ]);

for my $op ('<->', '<=>', '<#>')
{
	my $q0 = $queries[0][1];
	my $plan = $coord->safe_psql('postgres',
		"EXPLAIN (VERBOSE, COSTS OFF) SELECT id FROM items ORDER BY v $op '$q0' LIMIT 10");
	like($plan, qr/Merge Append/, "$op: the shards' results are merged in order");
	my $shipped = () = $plan =~ /Remote SQL: .*ORDER BY \(v OPERATOR\(public\.\Q$op\E\)/g;
	is($shipped, 2, "$op: both shards get the ORDER BY with the operator") or diag($plan);

	for my $qq (@queries)
	{
		my ($qname, $q) = @$qq;
		my $got = parse_rows($coord->safe_psql('postgres',
			"SELECT id, v $op '$q' FROM items ORDER BY v $op '$q' LIMIT 10"));
		my $want = parse_rows($coord->safe_psql('postgres',
			"SELECT id, v $op '$q' FROM local_items ORDER BY v $op '$q', id LIMIT 10"));
		is(scalar(@$got), 10, "$op $qname: 10 rows from the shards");
		my ($ok, $why) = knn_matches($got, $want);
		ok($ok, "$op $qname: the shards' top 10 equal exact search over one local table")
		  or diag($why);
	}
}

my $q0 = $queries[0][1];
my $plan = $coord->safe_psql('postgres',
	"EXPLAIN (COSTS OFF) SELECT id FROM items WHERE part = 1 ORDER BY v <-> '$q0' LIMIT 10");
like($plan, qr/Foreign Scan on items_1/, 'a filter on the partition key reads its shard');
unlike($plan, qr/items_0/, 'and not the other');
is($coord->safe_psql('postgres',
		"SELECT count(*), bool_and(part = 1) FROM (SELECT id, part FROM items WHERE part = 1 ORDER BY v <-> '$q0' LIMIT 10) s"),
	'10|t', 'the filtered query returns 10 rows of its shard');

$_->stop for ($coord, @shards);
done_testing();
