-- bit: pgvector's distances on PostgreSQL's own bit(n), and binary quantization.
SET client_min_messages = notice;

SELECT '111'::bit(3) <~> '111', '111'::bit(3) <~> '110', '111'::bit(3) <~> '000';
SELECT hamming_distance('1010', '0101'), hamming_distance('', '');
SELECT '1111'::bit(4) <%> '1111', '1100'::bit(4) <%> '1010', '1100'::bit(4) <%> '0011';
-- no bit set in both: 1, also for two empty sets (as pgvector)
SELECT jaccard_distance('0000', '0000'), jaccard_distance('1000', '0000');
SELECT '111'::bit(3) <~> '11';
SELECT '111'::bit(3) <%> '11';
-- varying lengths: only equal lengths compare
SELECT '1011'::varbit <~> '1001'::varbit;

-- binary_quantize: one bit per element, set where it is positive
SELECT binary_quantize('[1,0,-1,2.5,0.001,-0.001,3,4,5]'::vector);
SELECT binary_quantize('[1,0,-1,2.5]'::halfvec);
SELECT binary_quantize(array_fill(1, ARRAY[16000])::vector) = repeat('1', 16000)::bit(16000) AS all_set;
-- the expression pgvector documents: re-rank binary codes by Hamming distance
CREATE TABLE bq (id int, v vector(3));
INSERT INTO bq VALUES (1, '[1,1,1]'), (2, '[1,-1,1]'), (3, '[-1,-1,-1]');
SELECT id, binary_quantize(v)::bit(3) <~> binary_quantize('[1,1,-1]'::vector) AS d
FROM bq ORDER BY d, id;
DROP TABLE bq;

-- every kernel table counts the same, past and within its 8-byte steps
CREATE TABLE bits AS
SELECT i, (SELECT string_agg(CASE WHEN sin(i * j * 1.3) > 0 THEN '1' ELSE '0' END, '')
           FROM generate_series(1, 1 + (i % 12) * 13) j)::varbit AS b
FROM generate_series(1, 60) i;
CREATE FUNCTION bit_counts() RETURNS TABLE (hamming float8, jaccard float8) LANGUAGE sql AS $$
	SELECT sum(x.b <~> y.b), sum(x.b <%> y.b)
	FROM bits x, bits y WHERE length(x.b) = length(y.b)
$$;
-- against a count in SQL
SELECT (SELECT hamming FROM bit_counts()) AS hamming_sum, (SELECT hamming FROM bit_counts()) = (
	SELECT sum(length(replace((x.b # y.b)::text, '0', ''))) FROM bits x, bits y
	WHERE length(x.b) = length(y.b)) AS hamming_matches_sql;
CREATE TEMP TABLE counts_best AS SELECT * FROM bit_counts();
SET vecsearch.simd = scalar;
SELECT c = b AS scalar_same FROM bit_counts() c, counts_best b;
RESET vecsearch.simd;
DROP TABLE bits, counts_best;
DROP FUNCTION bit_counts();

-- a varbit column is not indexed (its rows may be shorter than its length), as in pgvector;
-- a cast to bit(n) is
CREATE TABLE vb (b varbit(3));
CREATE INDEX ON vb USING hnsw (b bit_hamming_ops);
CREATE INDEX ON vb USING ivf (b bit_hamming_ops);
CREATE INDEX vb_cast ON vb USING hnsw ((b::bit(3)) bit_hamming_ops);
INSERT INTO vb VALUES ('101'), ('111');
SET enable_seqscan = off;
SELECT b FROM vb ORDER BY b::bit(3) <~> '100' LIMIT 1;
RESET enable_seqscan;
DROP TABLE vb;
