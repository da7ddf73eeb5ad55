-- ivfpq index: DDL, options, re-ranking on and off, all opclasses, inserts, VACUUM, filters.
SET client_min_messages = notice;

-- deterministic data with overlapping structure: rows are sums of a few shared waves
CREATE FUNCTION pq_test_vec(seed int, dim int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(round((sin(seed * 0.37 + j * 1.3) + cos(seed * 0.011 * j) +
	                        0.3 * sin(seed * 7.1 + j))::numeric, 4)::real ORDER BY j)::vector
	FROM generate_series(1, dim) j
$$;

-- recall@k of the index (forced) against exact search over n queries
CREATE FUNCTION pq_recall(tbl regclass, op text, dim int, seed int, n int, k int) RETURNS float8
LANGUAGE plpgsql AS $$
DECLARE hits int := 0; q vector; got int[]; want int[];
BEGIN
	FOR i IN 1..n LOOP
		q := pq_test_vec(seed + i, dim);
		SET LOCAL enable_seqscan = off;
		SET LOCAL enable_indexscan = on;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s $1 LIMIT %s) s', tbl, op, k)
			INTO got USING q;
		SET LOCAL enable_indexscan = off;
		SET LOCAL enable_seqscan = on;
		EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s $1, id LIMIT %s) s', tbl, op, k)
			INTO want USING q;
		hits := hits + (SELECT count(*) FROM unnest(got) g WHERE g = ANY (want));
	END LOOP;
	RETURN hits::float8 / (n * k);
END $$;

-- ---------------------------------------------------------------- options and errors
CREATE TABLE pq_t (id int PRIMARY KEY, category int, v vector(16));
CREATE INDEX ON pq_t USING ivfpq (v) WITH (subvectors = 5);
CREATE INDEX ON pq_t USING ivfpq (v) WITH (bits = 4);
CREATE INDEX ON pq_t USING ivfpq (v) WITH (lists = 0);
CREATE INDEX ON pq_t USING ivfpq (v) WITH (nbits = 8);
CREATE INDEX ON pq_t USING ivfpq (v vector_l1_ops);
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE amname = 'ivfpq' ORDER BY opcname;

-- ---------------------------------------------------------------- build on an empty table, then rows
CREATE INDEX pq_t_v ON pq_t USING ivfpq (v) WITH (lists = 20, subvectors = 4);
SELECT count(*) FROM (SELECT id FROM pq_t ORDER BY v <-> pq_test_vec(1, 16) LIMIT 5) s;
DROP INDEX pq_t_v;
INSERT INTO pq_t SELECT i, i % 7, pq_test_vec(i, 16) FROM generate_series(1, 5000) i;
INSERT INTO pq_t VALUES (5001, 0, NULL);
CREATE INDEX pq_t_v ON pq_t USING ivfpq (v) WITH (lists = 20, subvectors = 4);
EXPLAIN (COSTS OFF) SELECT id FROM pq_t ORDER BY v <-> pq_test_vec(1, 16) LIMIT 10;

-- 4 subvectors of 16 dimensions: 16-byte slots against ivf's 72 (4.5x), less the pages
-- every index has whatever its size (metapage, centroids, codebooks, a head per list)
CREATE INDEX pq_t_ivf4 ON pq_t USING ivf (v) WITH (lists = 4);
CREATE INDEX pq_t_pq4 ON pq_t USING ivfpq (v) WITH (lists = 4, subvectors = 4);
SELECT pg_relation_size('pq_t_ivf4') / 8192 AS ivf_pages, pg_relation_size('pq_t_pq4') / 8192 AS ivfpq_pages;
DROP INDEX pq_t_ivf4, pq_t_pq4;

-- all lists probed: re-ranked results equal exact search; PQ order alone does not
SET vecsearch.nprobe = 20;
SELECT pq_recall('pq_t', '<->', 16, 10000, 20, 10) AS recall_reranked;
SET vecsearch.rerank = 0;
SELECT pq_recall('pq_t', '<->', 16, 10000, 20, 10) BETWEEN 0.3 AND 0.99 AS recall_pq_only_lower;
RESET vecsearch.rerank;
-- re-ranked rows come back in exact distance order, each once
SET enable_seqscan = off;
SELECT bool_and(d >= prev) AS ordered, count(*) AS n, count(DISTINCT id) AS distinct_ids FROM (
	SELECT id, d, lag(d, 1, 0) OVER () AS prev FROM (
		SELECT id, v <-> pq_test_vec(77, 16) AS d FROM pq_t ORDER BY v <-> pq_test_vec(77, 16) LIMIT 100) s) t;
-- a row is its own nearest neighbour
SELECT id FROM pq_t ORDER BY v <-> pq_test_vec(1234, 16) LIMIT 1;
RESET enable_seqscan;
-- fewer lists probed: recall still high after re-ranking
SET vecsearch.nprobe = 4;
SELECT pq_recall('pq_t', '<->', 16, 20000, 20, 10) >= 0.9 AS recall_nprobe_4;

-- ---------------------------------------------------------------- filters
SET enable_seqscan = off;
SET vecsearch.nprobe = 1;
SELECT count(*) FROM (SELECT id FROM pq_t WHERE category = 3 ORDER BY v <-> pq_test_vec(42, 16) LIMIT 10) s;
SELECT count(*) FROM (SELECT id FROM pq_t WHERE id % 100 = 0 ORDER BY v <-> pq_test_vec(42, 16) LIMIT 25) s;
RESET vecsearch.nprobe;
RESET enable_seqscan;

-- ---------------------------------------------------------------- inserts, VACUUM, slot reuse
INSERT INTO pq_t SELECT i, i % 7, pq_test_vec(i, 16) FROM generate_series(5002, 6000) i;
SET enable_seqscan = off;
SET vecsearch.nprobe = 20;
SELECT id FROM pq_t ORDER BY v <-> pq_test_vec(5500, 16) LIMIT 1;
DELETE FROM pq_t WHERE id % 2 = 0;
VACUUM pq_t;
-- every live row once, in relaxed order (strict order may leave out, with a NOTICE, a row
-- whose exact distance is below one returned from an earlier re-ranking batch)
SET vecsearch.ivf_scan_order = relaxed;
SELECT count(*), count(DISTINCT id), bool_and(id % 2 = 1) AS only_odd
FROM (SELECT id FROM pq_t ORDER BY v <-> pq_test_vec(7, 16) LIMIT 100000) s;
RESET vecsearch.ivf_scan_order;
SELECT pg_relation_size('pq_t_v') AS size_before \gset
INSERT INTO pq_t SELECT i, i % 7, pq_test_vec(i, 16) FROM generate_series(7000, 8000) i;
SELECT pg_relation_size('pq_t_v') = :size_before AS same_size;
SELECT pq_recall('pq_t', '<->', 16, 30000, 20, 10) AS recall_after_vacuum_and_inserts;
RESET vecsearch.nprobe;
RESET enable_seqscan;

-- ---------------------------------------------------------------- inner product and cosine
DROP INDEX pq_t_v;
CREATE INDEX pq_t_ip ON pq_t USING ivfpq (v vector_ip_ops) WITH (lists = 10);
CREATE INDEX pq_t_cos ON pq_t USING ivfpq (v vector_cosine_ops) WITH (lists = 10);
SET vecsearch.nprobe = 10;
SELECT pq_recall('pq_t', '<#>', 16, 40000, 20, 10) AS ip_recall,
       pq_recall('pq_t', '<=>', 16, 40000, 20, 10) AS cos_recall;
RESET vecsearch.nprobe;
-- a zero vector goes in (the cosine index leaves it out); a wrong dimension is an error
INSERT INTO pq_t VALUES (9001, 0, '[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]');
SET enable_seqscan = off;
SELECT id FROM pq_t ORDER BY v <-> '[1,2,3]' LIMIT 1;
RESET enable_seqscan;

-- ---------------------------------------------------------------- unlogged, default subvectors
CREATE UNLOGGED TABLE pq_u (id int, v vector(32));
INSERT INTO pq_u SELECT i, pq_test_vec(i, 32) FROM generate_series(1, 1000) i;
CREATE INDEX pq_u_v ON pq_u USING ivfpq (v) WITH (lists = 5);
SET vecsearch.nprobe = 5;
SELECT pq_recall('pq_u', '<->', 32, 50000, 10, 10) AS unlogged_recall;
RESET vecsearch.nprobe;

-- ---------------------------------------------------------------- codes longer than a page
-- 16,000 one-dimension subvectors: a code spans up to three list pages. With four rows each
-- subspace's codebook holds every value exactly, so code distances are the exact ones and,
-- without re-ranking, the index must order rows as an exact search does.
CREATE TABLE pq_wide (id int, v vector(16000));
INSERT INTO pq_wide SELECT i, (SELECT array_agg(((i * 7 + j) % 13)::real / 13 + i)
                               FROM generate_series(1, 16000) j)::vector
  FROM generate_series(1, 4) i;
CREATE INDEX ON pq_wide USING ivfpq (v vector_l2_ops) WITH (lists = 1, subvectors = 16000);
SET vecsearch.rerank = 0;
SET enable_seqscan = off;
SELECT array_agg(id) AS index_order
  FROM (SELECT id FROM pq_wide ORDER BY v <-> (SELECT v FROM pq_wide WHERE id = 2) LIMIT 4) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(id) AS exact_order
  FROM (SELECT id FROM pq_wide ORDER BY v <-> (SELECT v FROM pq_wide WHERE id = 2) LIMIT 4) s;
RESET enable_indexscan;
RESET vecsearch.rerank;

DROP TABLE pq_t, pq_u, pq_wide;
DROP FUNCTION pq_test_vec(int, int), pq_recall(regclass, text, int, int, int, int);
