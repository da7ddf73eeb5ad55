# Copyright (c) vecsearch contributors
#
# vecsearch under pgvector's extension name (make install-pgvector-compat), as a pgvector
# application and pg_dump meet it.
#
# A database runs CREATE EXTENSION IF NOT EXISTS vector and gets vecsearch (version 0.8.6,
# vecsearch's library). pgvector's DDL builds hnsw and ivfflat indexes on vector, halfvec,
# sparsevec and bit columns and on pgvector's expression idioms, pgvector's
# settings (hnsw.ef_search, ivfflat.probes) take effect, and at ivfflat.probes = lists the
# ivfflat index answers as exact search does. Then pg_dump of that database is restored into
# a new one with psql: every index comes back, with its access method, opclass and
# reloptions, valid, finding nothing wrong in vecsearch_verify and answering as before.
#
# Skipped where the compat files are not installed (pgvector itself owns the name there),
# unless scripts/test.sh installed them (VS_REQUIRE_COMPAT=1): then their absence fails.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('compat');
$node->init;
$node->start;

my $ours = $node->safe_psql('postgres',
	"SELECT count(*) FROM pg_available_extensions WHERE name = 'vector' AND comment LIKE 'vecsearch%'");
if ($ours ne '1')
{
	# scripts/test.sh says when it installed the compat files: then this is a failure
	BAIL_OUT('extension "vector" is not vecsearch, though scripts/test.sh installed it')
	  if $ENV{VS_REQUIRE_COMPAT};
	$node->stop;
	plan skip_all => 'extension "vector" is not vecsearch here (make install-pgvector-compat)';
}

$node->safe_psql('postgres', 'CREATE DATABASE app');
$node->safe_psql('app', q{
CREATE EXTENSION IF NOT EXISTS vector;
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE items (id bigserial PRIMARY KEY, embedding vector(3), half_embedding halfvec(3),
  sparse_embedding sparsevec(5), binary_embedding bit(3));
INSERT INTO items (embedding)
  SELECT ARRAY[sin(g), cos(g * 0.7), sin(g * 0.13)]::vector FROM generate_series(1, 3000) g;
UPDATE items SET half_embedding = embedding, sparse_embedding = (embedding::real[] || ARRAY[0, 0]::real[])::sparsevec,
  binary_embedding = binary_quantize(embedding)::bit(3);
CREATE INDEX items_hnsw ON items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
CREATE INDEX items_ivfflat ON items USING ivfflat (embedding vector_cosine_ops) WITH (lists = 30);
CREATE INDEX items_half ON items USING hnsw (half_embedding halfvec_l2_ops);
CREATE INDEX items_half_expr ON items USING hnsw ((embedding::halfvec(3)) halfvec_cosine_ops);
CREATE INDEX items_sparse ON items USING hnsw (sparse_embedding sparsevec_l2_ops);
CREATE INDEX items_bits ON items USING hnsw (binary_embedding bit_hamming_ops);
CREATE INDEX items_bits_expr ON items USING hnsw ((binary_quantize(embedding)::bit(3)) bit_hamming_ops);
CREATE INDEX items_half_ivfflat ON items USING ivfflat (half_embedding halfvec_l2_ops) WITH (lists = 30);
});
is($node->safe_psql('app', "SELECT extversion FROM pg_extension WHERE extname = 'vector'"),
	'0.8.6', 'CREATE EXTENSION vector installs vecsearch as version 0.8.6');
like($node->safe_psql('app', 'SELECT vecsearch_simd()'), qr/^(scalar|avx2|avx512)$/,
	"vecsearch's library serves it");
is($node->safe_psql('app', "SET hnsw.ef_search = 100; SHOW hnsw.ef_search"), '100',
	"pgvector's hnsw.ef_search is a real setting");

# the answers of both indexes, and exact search, for a few queries
sub answers
{
	my ($db) = @_;
	my %a;
	for my $q ('[1,0,0]', '[0,1,0]', '[-0.5,0.5,0.2]')
	{
		$a{"hnsw $q"} = $node->safe_psql($db, qq{
SET enable_seqscan = off; SET hnsw.ef_search = 200;
SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <-> '$q' LIMIT 10) s});
		$a{"ivfflat $q"} = $node->safe_psql($db, qq{
SET enable_seqscan = off; SET ivfflat.probes = 30;
SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <=> '$q' LIMIT 10) s});
		$a{"exact cos $q"} = $node->safe_psql($db, qq{
SET enable_indexscan = off;
SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY embedding <=> '$q' LIMIT 10) s});
		$a{"halfvec $q"} = $node->safe_psql($db, qq{
SET enable_seqscan = off; SET hnsw.ef_search = 200;
SELECT string_agg(id::text, ',') FROM (SELECT id FROM items ORDER BY half_embedding <-> '$q' LIMIT 10) s});
		$a{"sparsevec $q"} = $node->safe_psql($db, qq{
SET enable_seqscan = off; SET hnsw.ef_search = 200;
SELECT string_agg(id::text, ',') FROM (SELECT id FROM items
  ORDER BY sparse_embedding <-> ('$q'::vector::real[] || ARRAY[0, 0]::real[])::sparsevec LIMIT 10) s});
		$a{"bits $q"} = $node->safe_psql($db, qq{
SET enable_seqscan = off; SET hnsw.ef_search = 200;
SELECT string_agg(d::text, ',') FROM (SELECT binary_embedding <~> binary_quantize('$q'::vector) AS d
  FROM items ORDER BY binary_embedding <~> binary_quantize('$q'::vector) LIMIT 10) s});
	}
	return \%a;
}
my $before = answers('app');
for my $q ('[1,0,0]', '[0,1,0]', '[-0.5,0.5,0.2]')
{
	is($before->{"ivfflat $q"}, $before->{"exact cos $q"},
		"ivfflat at probes = lists equals exact search for $q");
}
like($node->safe_psql('app', q{SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM items ORDER BY embedding <=> '[1,0,0]' LIMIT 5}),
	qr/Index Scan using items_ivfflat/, 'the planner uses the ivfflat index');

# pg_dump, restored into a new database
my $dump = $node->basedir . '/app.sql';
$node->command_ok([ 'pg_dump', '-d', $node->connstr('app'), '-f', $dump ], 'pg_dump of the database');
my $text = slurp_file($dump);
like($text, qr/CREATE EXTENSION IF NOT EXISTS vector/, 'the dump creates extension vector');
like($text, qr/USING ivfflat/, 'the dump has the ivfflat index');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'psql', '-X', '-v', 'ON_ERROR_STOP=1', '-q', '-d', $node->connstr('restored'), '-f', $dump ],
	'the dump restores without an error');
my $indexes = q{SELECT string_agg(c.relname || ' ' || a.amname || ' ' || opc.opcname || ' ' ||
                                 coalesce(array_to_string(c.reloptions, ','), '') || ' ' || i.indisvalid, '; '
                                 ORDER BY c.relname)
  FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_am a ON a.oid = c.relam
  JOIN pg_opclass opc ON opc.oid = i.indclass[0]
 WHERE i.indrelid = 'items'::regclass AND a.amname <> 'btree'};
is($node->safe_psql('restored', $indexes), $node->safe_psql('app', $indexes),
	'every index comes back with its access method, opclass and reloptions, valid');
for my $index ('items_hnsw', 'items_ivfflat', 'items_half', 'items_half_expr', 'items_sparse',
	'items_bits', 'items_bits_expr', 'items_half_ivfflat')
{
	is($node->safe_psql('restored', "SELECT count(*) FROM vecsearch_verify('$index')"), '0',
		"vecsearch_verify finds nothing wrong in the restored $index");
}
is_deeply(answers('restored'), $before, 'the restored indexes answer as the originals');

$node->stop;
done_testing();
