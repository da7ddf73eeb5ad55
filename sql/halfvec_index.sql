-- Indexes on halfvec, sparsevec and bit: pgvector's opclasses and its expression-index
-- idioms, on hnsw, ivf (and pgvector's name ivfflat) and ivfpq; answers equal to exact
-- search where the index reads everything.
SET client_min_messages = notice;

CREATE FUNCTION hx_vec(seed int, dim int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(round((sin(seed * 0.37 + j * 1.3) + cos(seed * 0.011 * j) +
	                        0.3 * sin(seed * 7.1 + j))::numeric, 3)::real ORDER BY j)::vector
	FROM generate_series(1, dim) j
$$;
-- the k nearest's distances through the plan the settings allow, as text (sorted: the ids
-- of ties may differ; order itself is sql/scan_order.sql's)
CREATE FUNCTION hx_top(expr text, op text, q text, k int, use_index bool) RETURNS text
LANGUAGE plpgsql AS $$
DECLARE r text;
BEGIN
	PERFORM set_config('enable_seqscan', (NOT use_index)::text, true);
	PERFORM set_config('enable_indexscan', use_index::text, true);
	PERFORM set_config('enable_bitmapscan', 'off', true);
	EXECUTE format('SELECT string_agg(round(d::numeric, 4)::text, '','' ORDER BY d) FROM
	                (SELECT %1$s %2$s %3$s AS d FROM hx
	                 ORDER BY %1$s %2$s %3$s LIMIT %4$s) s', expr, op, q, k) INTO r;
	RETURN r;
END $$;
CREATE FUNCTION hx_same(expr text, op text, q text, k int) RETURNS bool LANGUAGE sql AS $$
	SELECT hx_top(expr, op, q, k, true) = hx_top(expr, op, q, k, false)
$$;

CREATE TABLE hx (id int, e vector(16), h halfvec(16), b bit(16), s sparsevec(16));
INSERT INTO hx SELECT i, hx_vec(i, 16), hx_vec(i, 16), binary_quantize(hx_vec(i, 16)),
	(SELECT array_agg(CASE WHEN x > 1 THEN x ELSE 0 END) FROM unnest(hx_vec(i, 16)::real[]) x)::sparsevec
FROM generate_series(1, 2000) i;

-- ---------------------------------------------------------------- pgvector's idioms
-- (embedding::halfvec(n)) halfvec_*_ops: the expression index serves the same expression
CREATE INDEX hx_e_half ON hx USING hnsw ((e::halfvec(16)) halfvec_l2_ops);
SET hnsw.ef_search = 400;
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hx ORDER BY e::halfvec(16) <-> '[1,1,1,1,1,1,1,1,1,1,1,1,1,1,1,1]' LIMIT 5;
RESET enable_seqscan;
SELECT hx_same('e::halfvec(16)', '<->', quote_literal(hx_vec(7, 16)::halfvec(16)::text) || '::halfvec(16)', 20) AS half_l2;
DROP INDEX hx_e_half;
-- (binary_quantize(embedding)::bit(n)) bit_hamming_ops: distances are whole numbers, so
-- compare the distances in order, not the ids of ties
CREATE INDEX hx_e_bits ON hx USING hnsw ((binary_quantize(e)::bit(16)) bit_hamming_ops);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hx ORDER BY binary_quantize(e)::bit(16) <~> '1010101010101010' LIMIT 5;
RESET enable_seqscan;
SELECT hx_same('binary_quantize(e)::bit(16)', '<~>', '''1010101010101010''::bit(16)', 50) AS bits_hamming;
DROP INDEX hx_e_bits;
RESET hnsw.ef_search;

-- ---------------------------------------------------------------- every opclass, columns
CREATE FUNCTION hx_check(am text, opclass text, col text, op text, setting text) RETURNS bool
LANGUAGE plpgsql AS $$
DECLARE ok bool;
BEGIN
	EXECUTE format('CREATE INDEX hx_i ON hx USING %s (%s %s)', am, col, opclass);
	EXECUTE setting;
	SELECT bool_and(hx_same(col, op, format('(SELECT %s FROM hx WHERE id = %s)', col, q), 10))
	INTO ok FROM generate_series(1, 5) q;
	EXECUTE 'DROP INDEX hx_i';
	RETURN ok;
END $$;
SELECT am, opclass, hx_check(am, opclass, col, op, setting) AS same_as_exact
FROM (VALUES
	('hnsw', 'halfvec_l2_ops', 'h', '<->', 'SET hnsw.ef_search = 400'),
	('hnsw', 'halfvec_ip_ops', 'h', '<#>', 'SET hnsw.ef_search = 400'),
	('hnsw', 'halfvec_cosine_ops', 'h', '<=>', 'SET hnsw.ef_search = 400'),
	('hnsw', 'halfvec_l1_ops', 'h', '<+>', 'SET hnsw.ef_search = 400'),
	('hnsw', 'bit_hamming_ops', 'b', '<~>', 'SET hnsw.ef_search = 400'),
	('hnsw', 'bit_jaccard_ops', 'b', '<%>', 'SET hnsw.ef_search = 400'),
	('hnsw', 'sparsevec_l2_ops', 's', '<->', 'SET hnsw.ef_search = 400'),
	('hnsw', 'sparsevec_ip_ops', 's', '<#>', 'SET hnsw.ef_search = 400'),
	('hnsw', 'sparsevec_cosine_ops', 's', '<=>', 'SET hnsw.ef_search = 400'),
	('hnsw', 'sparsevec_l1_ops', 's', '<+>', 'SET hnsw.ef_search = 400'),
	('ivf', 'halfvec_l2_ops', 'h', '<->', 'SET ivfflat.probes = 20'),
	('ivf', 'halfvec_ip_ops', 'h', '<#>', 'SET ivfflat.probes = 20'),
	('ivf', 'halfvec_cosine_ops', 'h', '<=>', 'SET ivfflat.probes = 20'),
	('ivf', 'bit_hamming_ops', 'b', '<~>', 'SET ivfflat.probes = 20'),
	('ivfflat', 'halfvec_l2_ops', 'h', '<->', 'SET ivfflat.probes = 20'),
	('ivfflat', 'bit_hamming_ops', 'b', '<~>', 'SET ivfflat.probes = 20'),
	('ivfpq', 'halfvec_l2_ops', 'h', '<->', 'SET ivfflat.probes = 20')
) t(am, opclass, col, op, setting);
RESET hnsw.ef_search;
RESET ivfflat.probes;
-- inserts after the build, NULLs, and a dimension the column does not have
CREATE INDEX hx_h ON hx USING hnsw (h halfvec_cosine_ops);
INSERT INTO hx (id, h, b) VALUES (5001, hx_vec(5001, 16), NULL), (5002, NULL, NULL);
SET enable_seqscan = off;
SELECT id FROM hx ORDER BY h <=> hx_vec(5001, 16)::halfvec(16) LIMIT 1;
SELECT id FROM hx ORDER BY h <=> '[1,2]'::halfvec LIMIT 1;
RESET enable_seqscan;
SELECT count(*) AS problems FROM vecsearch_verify('hx_h');
DROP INDEX hx_h;
-- bit_jaccard_ops scores whole vectors: bit strings that would go to overflow pages are an
-- error at CREATE INDEX. The index keeps one bit a dimension, so only a large m leaves too
-- little room (16,000 bits with m = 64); ivf has no Jaccard
CREATE TABLE hx_wide_bits (id int, b bit(16000));
INSERT INTO hx_wide_bits SELECT i, (SELECT string_agg(CASE WHEN (j * i) % 7 < 3 THEN '1' ELSE '0' END, '')
	FROM generate_series(1, 16000) j)::bit(16000) FROM generate_series(1, 20) i;
CREATE INDEX ON hx_wide_bits USING hnsw (b bit_jaccard_ops) WITH (m = 64, ef_construction = 128);
CREATE INDEX hx_wide_bits_j ON hx_wide_bits USING hnsw (b bit_jaccard_ops);
SET enable_seqscan = off;
SELECT string_agg(id::text, ',') AS nearest_by_index FROM
	(SELECT id FROM hx_wide_bits ORDER BY b <%> (SELECT b FROM hx_wide_bits WHERE id = 3), id LIMIT 5) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT string_agg(id::text, ',') AS nearest_exact FROM
	(SELECT id FROM hx_wide_bits ORDER BY b <%> (SELECT b FROM hx_wide_bits WHERE id = 3), id LIMIT 5) s;
RESET enable_indexscan;
SELECT count(*) AS problems FROM vecsearch_verify('hx_wide_bits_j');
DROP TABLE hx_wide_bits;
CREATE INDEX ON hx USING ivf (b bit_jaccard_ops);
-- sparsevec indexes hold up to 16,000 dimensions here (pgvector: a billion, 1,000 non-zeros)
CREATE TABLE hx_sparse (s sparsevec(30522));
CREATE INDEX ON hx_sparse USING hnsw (s);
DROP TABLE hx_sparse;

-- ---------------------------------------------------------------- 16,000 dimensions
-- halfvec indexes take what the type takes (pgvector's hnsw stops at 4,000)
CREATE TABLE hx_wide (id int, h halfvec(16000));
INSERT INTO hx_wide SELECT i, array_fill((i % 7)::real / 7, ARRAY[16000])::halfvec FROM generate_series(1, 30) i;
CREATE INDEX hx_wide_h_idx ON hx_wide USING hnsw (h);
SET enable_seqscan = off;
SELECT id % 7 AS nearest_kind FROM hx_wide ORDER BY h <-> array_fill(3::real / 7, ARRAY[16000])::halfvec LIMIT 3;
RESET enable_seqscan;

SELECT count(*) AS problems FROM vecsearch_verify('hx_wide_h_idx');
DROP INDEX hx_wide_h_idx;
-- ivf: a slot of 16,000 halves spans four pages and is scored a page at a time
CREATE INDEX hx_wide_h_idx ON hx_wide USING ivf (h) WITH (lists = 2);
SET ivfflat.probes = 2;
SET enable_seqscan = off;
SELECT round((h <-> array_fill(3::real / 7, ARRAY[16000])::halfvec)::numeric, 3) AS d FROM hx_wide
ORDER BY h <-> array_fill(3::real / 7, ARRAY[16000])::halfvec LIMIT 6;
RESET enable_seqscan;
RESET ivfflat.probes;
SELECT count(*) AS problems FROM vecsearch_verify('hx_wide_h_idx');

-- ---------------------------------------------------------------- what the pages hold
-- An index keeps the column's own precision: halves for halfvec (half a vector index's
-- vector bytes), bits for bit (a 32nd); the neighbour lists are the same size in all three
CREATE TABLE hx_size (id int, e vector(256));
INSERT INTO hx_size SELECT i, hx_vec(i, 256) FROM generate_series(1, 1000) i;
CREATE INDEX hx_size_e ON hx_size USING hnsw (e);
CREATE INDEX hx_size_h ON hx_size USING hnsw ((e::halfvec(256)) halfvec_l2_ops);
CREATE INDEX hx_size_b ON hx_size USING hnsw ((binary_quantize(e)::bit(256)) bit_hamming_ops);
SELECT round(pg_relation_size('hx_size_h')::numeric / pg_relation_size('hx_size_e'), 1) AS half_to_vector,
       pg_relation_size('hx_size_b') < pg_relation_size('hx_size_e') / 4 AS bits_under_a_quarter;
-- the halfvec index answers as exact search on the halves does
CREATE FUNCTION hx_size_top(q halfvec, use_index bool) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	PERFORM set_config('enable_seqscan', (NOT use_index)::text, true);
	PERFORM set_config('enable_indexscan', use_index::text, true);
	-- EXECUTE: a fresh plan under each setting
	EXECUTE 'SELECT array_agg(id ORDER BY d, id) FROM (SELECT id, e::halfvec(256) <-> $1 AS d
		FROM hx_size ORDER BY e::halfvec(256) <-> $1 LIMIT 10) s' INTO r USING q;
	RETURN r;
END $$;
-- (ef_search 1000: every element of the connected graph, so no neighbour may be missed)
SET hnsw.ef_search = 1000;
SELECT bool_and(hx_size_top(q, true) = hx_size_top(q, false)) AS half_same_as_exact
FROM (SELECT hx_vec(k * 31, 256)::halfvec(256) AS q FROM generate_series(1, 5) k) qs;
RESET hnsw.ef_search;
SELECT count(*) AS problems FROM vecsearch_verify('hx_size_h');
SELECT count(*) AS problems FROM vecsearch_verify('hx_size_b');
DROP INDEX hx_size_e, hx_size_h, hx_size_b;
-- ivf's slots likewise (10 lists, all probed: the answers are exact)
CREATE INDEX hx_size_e ON hx_size USING ivf (e) WITH (lists = 10);
CREATE INDEX hx_size_h ON hx_size USING ivf ((e::halfvec(256)) halfvec_l2_ops) WITH (lists = 10);
CREATE INDEX hx_size_b ON hx_size USING ivf ((binary_quantize(e)::bit(256)) bit_hamming_ops) WITH (lists = 10);
SELECT round(pg_relation_size('hx_size_h')::numeric / pg_relation_size('hx_size_e'), 1) AS half_to_vector,
       pg_relation_size('hx_size_b') < pg_relation_size('hx_size_e') / 8 AS bits_under_an_eighth;
SET ivfflat.probes = 10;
SELECT bool_and(hx_size_top(q, true) = hx_size_top(q, false)) AS half_same_as_exact
FROM (SELECT hx_vec(k * 31, 256)::halfvec(256) AS q FROM generate_series(1, 5) k) qs;
SET enable_seqscan = off;
SELECT count(*) AS bit_rows, bool_and(d >= prev) AS in_order FROM (
	SELECT d, lag(d, 1, 0) OVER () AS prev FROM (
		SELECT binary_quantize(e)::bit(256) <~> binary_quantize(hx_vec(7, 256)) AS d FROM hx_size
		ORDER BY binary_quantize(e)::bit(256) <~> binary_quantize(hx_vec(7, 256)) LIMIT 1000) s) t;
RESET enable_seqscan;
RESET ivfflat.probes;
SELECT count(*) AS problems FROM vecsearch_verify('hx_size_h');
SELECT count(*) AS problems FROM vecsearch_verify('hx_size_b');
DROP TABLE hx_size;
DROP FUNCTION hx_size_top(halfvec, bool);

DROP TABLE hx, hx_wide;
DROP FUNCTION hx_vec(int, int), hx_top(text, text, text, int, bool), hx_same(text, text, text, int),
	hx_check(text, text, text, text, text);
