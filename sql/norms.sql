-- Norms and cosine at the ends of float's range: the squares of large components overflow
-- a float and those of tiny ones flush to zero, so they are summed in double through the
-- square root, in every kernel; only a vector of zeros is a "zero vector".
SELECT vector_norm('[3e37,4e37]'::vector) AS five_e37;
SELECT vector_norm('[1e-25,1e-25]'::vector) AS tiny;
SELECT vector_norm('[3e38,3e38,3e38]'::vector) > 5e38 AS finite_past_float;
SELECT l2_normalize('[3e38]'::vector), l2_normalize('[1e20,1e20]'::vector), l2_normalize('[1e-40,0]'::vector);
SELECT l2_normalize('[0,0]'::vector) AS zero_stays_zero;
-- cosine distance of parallel vectors is 0 at any scale, under every kernel this CPU has
CREATE TABLE norm_isa AS SELECT unnest(ARRAY['scalar', 'avx2', 'avx512']) AS isa;
CREATE FUNCTION norm_cosines(isa text) RETURNS TABLE (pair text, distance float8) AS $$
BEGIN
	PERFORM set_config('vecsearch.simd', isa, true);
	RETURN QUERY SELECT p.pair, round((p.a <=> p.b)::numeric, 6)::float8 FROM (VALUES
		('1e20 x4', '[1e20,1e20,1e20,1e20]'::vector, '[1,1,1,1]'::vector),
		('5e19 x40', array_fill(5e19::real, ARRAY[40])::vector, array_fill(2::real, ARRAY[40])::vector),
		('3e38 / 1', '[3e38,0,3e38]'::vector, '[1,0,1]'::vector),
		('1e-25 x17', array_fill(1e-25::real, ARRAY[17])::vector, array_fill(7::real, ARRAY[17])::vector),
		('1e-40 x3', '[1e-40,1e-40,1e-40]'::vector, '[1,1,1]'::vector),
		('opposite 1e20', '[1e20,-1e20]'::vector, '[-1,1]'::vector),
		('orthogonal 1e30', '[1e30,0]'::vector, '[0,1e-30]'::vector)) p(pair, a, b);
END $$ LANGUAGE plpgsql;
-- each supported kernel gives the same answers (an unsupported one is refused: skipped)
CREATE FUNCTION norm_try(isa text) RETURNS SETOF text AS $$
BEGIN
	RETURN QUERY SELECT pair || ': ' || distance FROM norm_cosines(isa);
EXCEPTION WHEN invalid_parameter_value THEN
	RETURN;
END $$ LANGUAGE plpgsql;
SELECT count(DISTINCT isa) > 0 AS some_isa, count(DISTINCT r) AS answers
FROM norm_isa, LATERAL norm_try(isa) r;
SELECT * FROM norm_cosines('scalar');
RESET vecsearch.simd;
SELECT '[0,0]'::vector <=> '[1,1]' AS zero_vector_is_nan;

-- cosine indexes hold such rows: none is taken for a zero vector
CREATE TABLE norm_t (id int, v vector(4));
INSERT INTO norm_t SELECT i, ARRAY[i % 7 + 1, i % 5, 3, i % 3]::vector FROM generate_series(1, 400) i;
INSERT INTO norm_t SELECT 1000 + i, ARRAY[i * 1e18 + 1e18, 5e19, 3e18, 1e19]::vector FROM generate_series(1, 32) i;
INSERT INTO norm_t SELECT 2000 + i, ARRAY[i * 1e-25, 1e-25, 0, 1e-26]::vector FROM generate_series(1, 8) i;
INSERT INTO norm_t VALUES (3000, '[0,0,0,0]');
CREATE INDEX norm_ivf ON norm_t USING ivf (v vector_cosine_ops) WITH (lists = 4);
CREATE INDEX norm_h ON norm_t USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32);
SET enable_seqscan = off;
SET vecsearch.nprobe = 4;
DROP INDEX norm_h;
SELECT count(*) AS ivf_rows, count(*) FILTER (WHERE id > 1000) AS extreme_rows
FROM (SELECT id FROM norm_t ORDER BY v <=> '[1,1,1,1]' LIMIT 1000) s;
CREATE INDEX norm_h ON norm_t USING hnsw (v vector_cosine_ops) WITH (m = 8, ef_construction = 32);
DROP INDEX norm_ivf;
SELECT count(*) AS hnsw_rows, count(*) FILTER (WHERE id > 1000) AS extreme_rows
FROM (SELECT id FROM norm_t ORDER BY v <=> '[1,1,1,1]' LIMIT 1000) s;
-- the nearest row to a huge query is the row in its direction
SELECT id FROM norm_t ORDER BY v <=> '[2e18,5e19,3e18,1e19]' LIMIT 1;
SELECT count(*) AS problems FROM vecsearch_verify('norm_h');
RESET enable_seqscan;
RESET vecsearch.nprobe;
DROP TABLE norm_t, norm_isa;
DROP FUNCTION norm_cosines(text), norm_try(text);
