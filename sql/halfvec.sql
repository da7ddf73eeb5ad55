-- halfvec: IEEE half-precision vectors with pgvector's text and binary forms, typmods,
-- limits, casts, operators, functions and aggregates.
SET client_min_messages = notice;

-- ---------------------------------------------------------------- text form
SELECT '[1,2,3]'::halfvec, '[-1,-2,-3]'::halfvec, ' [ 1,  2 ,    3  ] '::halfvec;
-- elements round to the nearest half: 3 significant digits
SELECT '[1.23456]'::halfvec, '[0.1]'::halfvec, '[2049]'::halfvec;
-- the range: +-65504; 65519 still rounds to it, 65520 does not
SELECT '[65519,-65519]'::halfvec;
SELECT '[65520,-65520]'::halfvec;
SELECT '[4e38,1]'::halfvec;
-- tiny values underflow to (signed) zero, also below float's range, as in pgvector
SELECT '[1e-8,-1e-8]'::halfvec, '[1e-46,1]'::halfvec;
-- subnormal halves survive the round trip
SELECT '[6e-8,6.1e-5]'::halfvec::text::halfvec = '[6e-8,6.1e-5]'::halfvec AS subnormals_round_trip;
SELECT '[NaN,1]'::halfvec;
SELECT '[Infinity,1]'::halfvec;
SELECT '[hello,1]'::halfvec;
SELECT '[1,2,3]9'::halfvec;
SELECT '1,2,3'::halfvec;
SELECT '[]'::halfvec;
SELECT '[1,,3]'::halfvec;

-- ---------------------------------------------------------------- typmods and limits
SELECT '[1,2,3]'::halfvec(3);
SELECT '[1,2,3]'::halfvec(2);
SELECT '[1,2,3]'::halfvec(3, 2);
SELECT '[1,2,3]'::halfvec(0);
SELECT '[1,2,3]'::halfvec(16001);
CREATE TABLE hv_t (id int, v halfvec(3));
INSERT INTO hv_t VALUES (1, '[1,2,3]'), (2, '[4,5,6]'), (3, '[1,2,3]'), (4, NULL);
INSERT INTO hv_t VALUES (5, '[1,2]');
\d hv_t
-- 16,000 dimensions, pgvector's limit for the type too
SELECT vector_dims(array_fill(1, ARRAY[16000])::halfvec) AS dims;
SELECT vector_dims(array_fill(1, ARRAY[16001])::halfvec) AS dims;
-- half the storage of a vector
SELECT pg_column_size(array_fill(1, ARRAY[1000])::halfvec) AS halfvec_bytes,
       pg_column_size(array_fill(1, ARRAY[1000])::vector) AS vector_bytes;

-- ---------------------------------------------------------------- binary form (COPY BINARY)
CREATE TABLE hv_copy (v halfvec);
COPY (SELECT v FROM hv_t WHERE v IS NOT NULL ORDER BY id) TO '/tmp/vecsearch_halfvec.bin' WITH (FORMAT binary);
COPY hv_copy FROM '/tmp/vecsearch_halfvec.bin' WITH (FORMAT binary);
SELECT v FROM hv_copy;
-- the bytes: int16 dim, int16 0, then each half big-endian (1.0 is 0x3c00)
SELECT halfvec_send('[1,-2]');
DROP TABLE hv_copy;

-- ---------------------------------------------------------------- casts
SELECT '[1,2,3]'::vector::halfvec, '[1.5,2,3]'::halfvec::vector;
SELECT '[70000]'::vector::halfvec;
SELECT ARRAY[1,2,3]::halfvec, ARRAY[1.5,2,3]::real[]::halfvec,
       ARRAY[1.5,2,3]::float8[]::halfvec, ARRAY[1.5,2,3]::numeric[]::halfvec;
SELECT ARRAY[1e-46]::float8[]::halfvec;
SELECT '[1,2,3]'::halfvec::real[];
SELECT ARRAY[1,NULL]::halfvec;
SELECT ARRAY[[1,2],[3,4]]::halfvec;
-- a vector column takes a halfvec on assignment, and the other way round
CREATE TABLE hv_assign (v vector(3), h halfvec(3));
INSERT INTO hv_assign VALUES ('[1,2,3]'::halfvec, '[1,2,3]'::vector);
SELECT * FROM hv_assign;
DROP TABLE hv_assign;

-- ---------------------------------------------------------------- distances: as vector's
SELECT '[0,0]'::halfvec <-> '[3,4]', l2_distance('[0,0]'::halfvec, '[3,4]');
SELECT '[1,2]'::halfvec <#> '[3,4]', inner_product('[1,2]'::halfvec, '[3,4]');
SELECT '[1,2]'::halfvec <=> '[2,4]', cosine_distance('[1,2]'::halfvec, '[-1,-2]');
SELECT '[0,0]'::halfvec <+> '[3,4]', l1_distance('[0,0]'::halfvec, '[3,4]');
-- a zero vector has no direction: NaN, as for vector
SELECT '[0,0]'::halfvec <=> '[1,1]';
SELECT '[1,2]'::halfvec <-> '[1,2,3]';
-- equal to the distances of the same values as vectors, for every kernel table
CREATE TABLE hv_rows AS
SELECT i, ARRAY(SELECT round((sin(i * j * 0.7) * 10)::numeric, 2) FROM generate_series(1, 37) j)::halfvec AS h
FROM generate_series(1, 50) i;
CREATE FUNCTION hv_same_as_vector() RETURNS bool LANGUAGE sql AS $$
	SELECT bool_and(a.h <-> b.h = a.h::vector <-> b.h::vector
	            AND a.h <#> b.h = a.h::vector <#> b.h::vector
	            AND a.h <=> b.h = a.h::vector <=> b.h::vector
	            AND a.h <+> b.h = a.h::vector <+> b.h::vector)
	FROM hv_rows a, hv_rows b
$$;
SET vecsearch.simd = scalar;
SELECT hv_same_as_vector() AS scalar_same;
RESET vecsearch.simd;
SELECT hv_same_as_vector() AS best_same;
DROP FUNCTION hv_same_as_vector();

-- ---------------------------------------------------------------- functions
SELECT vector_dims('[1,2,3]'::halfvec), l2_norm('[3,4]'::halfvec), l2_norm('[0,0]'::halfvec);
SELECT l2_normalize('[3,4]'::halfvec), l2_normalize('[0,0]'::halfvec);
SELECT subvector('[1,2,3,4,5]'::halfvec, 2, 3), subvector('[1,2,3,4,5]'::halfvec, 4, 5);
SELECT subvector('[1,2,3]'::halfvec, 5, 1);
SELECT binary_quantize('[1,0,-1,2]'::halfvec);

-- ---------------------------------------------------------------- arithmetic
SELECT '[1,2,3]'::halfvec + '[4,5,6]', '[1,2,3]'::halfvec - '[4,5,6]', '[1,2,3]'::halfvec * '[4,5,6]';
SELECT '[1,2]'::halfvec || '[3]';
SELECT '[65504]'::halfvec + '[65504]';
-- a product that half rounds to zero is an underflow, as the float product's (pgvector too)
SELECT '[1e-4]'::halfvec * '[1e-4]';
SELECT '[1e-4,0]'::halfvec * '[0,1e-4]';
SELECT '[1,2]'::halfvec + '[1,2,3]';

-- ---------------------------------------------------------------- comparisons and btree
SELECT '[1,2,3]'::halfvec < '[1,2,4]', '[1,2]'::halfvec < '[1,2,3]', '[1,2,3]'::halfvec = '[1,2,3]';
SELECT v, count(*) FROM hv_t GROUP BY v ORDER BY v;
SELECT DISTINCT v FROM hv_t WHERE v IS NOT NULL ORDER BY v DESC;
CREATE INDEX ON hv_t (v);
SET enable_seqscan = off;
SELECT id FROM hv_t WHERE v = '[1,2,3]' ORDER BY id;
RESET enable_seqscan;

-- ---------------------------------------------------------------- aggregates
SELECT avg(v), sum(v) FROM hv_t;
SELECT avg(v), sum(v) FROM hv_t WHERE false;
SELECT sum(v) FROM (VALUES ('[60000]'::halfvec), ('[60000]')) t(v);
-- in parallel: the partial states combine
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
SET max_parallel_workers_per_gather = 2;
SELECT avg(h) = (SELECT avg(h::vector)::halfvec FROM hv_rows) AS parallel_avg FROM hv_rows;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
RESET max_parallel_workers_per_gather;

-- ---------------------------------------------------------------- exact search
SELECT id FROM hv_t WHERE v IS NOT NULL ORDER BY v <-> '[3,3,3]', id LIMIT 2;

DROP TABLE hv_t, hv_rows;
