-- hnsw index: DDL, options, recall against exact search, inserts, VACUUM, filters, opclasses.
SET client_min_messages = notice;

CREATE FUNCTION hnsw_test_vec(seed int, dim int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(round((sin(seed * 0.37 + j * 1.3) + cos(seed * 0.011 * j) +
	                        0.3 * sin(seed * 7.1 + j))::numeric, 4)::real ORDER BY j)::vector
	FROM generate_series(1, dim) j
$$;

-- ids of the exact top k (a sort over a sequential scan)
CREATE FUNCTION hnsw_exact(tbl regclass, op text, q vector, k int) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_bitmapscan = off;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s $1, id LIMIT %s) s',
	               tbl, op, k) INTO r USING q;
	RETURN r;
END $$;

-- ids of the top k through the index (forced)
CREATE FUNCTION hnsw_indexed(tbl regclass, op text, q vector, k int) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	SET LOCAL enable_seqscan = off;
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM %s ORDER BY v %s $1 LIMIT %s) s',
	               tbl, op, k) INTO r USING q;
	RETURN r;
END $$;

-- recall@k over queries seed .. seed + n - 1
CREATE FUNCTION hnsw_recall(tbl regclass, op text, dim int, seed int, n int, k int) RETURNS float8
LANGUAGE sql AS $$
	SELECT sum(cardinality(ARRAY(SELECT unnest(hnsw_indexed(tbl, op, hnsw_test_vec(q, dim), k))
	                             INTERSECT SELECT unnest(hnsw_exact(tbl, op, hnsw_test_vec(q, dim), k)))))::float8
	       / (n * k)
	FROM generate_series(seed, seed + n - 1) q
$$;

-- ---------------------------------------------------------------- options and errors
CREATE TABLE hnsw_t (id int PRIMARY KEY, category int, v vector(8));
CREATE INDEX ON hnsw_t USING hnsw (v) WITH (m = 1);
CREATE INDEX ON hnsw_t USING hnsw (v) WITH (m = 101);
CREATE INDEX ON hnsw_t USING hnsw (v) WITH (m = 16, ef_construction = 20);
CREATE INDEX ON hnsw_t USING hnsw (v) WITH (ef_construction = 1001);
CREATE INDEX ON hnsw_t USING hnsw (v) WITH (efconstruction = 10);
CREATE INDEX ON hnsw_t USING hnsw (v, v);
CREATE TABLE hnsw_nodim (id int, v vector);
CREATE INDEX ON hnsw_nodim USING hnsw (v);
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE amname = 'hnsw' ORDER BY opcname;

-- ---------------------------------------------------------------- empty table, one row
CREATE INDEX hnsw_t_v ON hnsw_t USING hnsw (v) WITH (m = 8, ef_construction = 32);
SELECT hnsw_indexed('hnsw_t', '<->', hnsw_test_vec(1, 8), 5);
INSERT INTO hnsw_t VALUES (1, 1, hnsw_test_vec(1, 8));
SELECT hnsw_indexed('hnsw_t', '<->', hnsw_test_vec(2, 8), 5);
INSERT INTO hnsw_t SELECT i, i % 7, hnsw_test_vec(i, 8) FROM generate_series(2, 300) i;
SELECT hnsw_recall('hnsw_t', '<->', 8, 5000, 20, 10) >= 0.95 AS recall_ok;
DROP INDEX hnsw_t_v;

-- ---------------------------------------------------------------- a built graph
INSERT INTO hnsw_t SELECT i, i % 7, hnsw_test_vec(i, 8) FROM generate_series(301, 3000) i;
INSERT INTO hnsw_t VALUES (3001, 1, NULL);
CREATE INDEX hnsw_t_v ON hnsw_t USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_t ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_t ORDER BY v <-> '[1,1,1,1,1,1,1,1]';
EXPLAIN (COSTS OFF) SELECT count(*) FROM hnsw_t WHERE v IS NOT NULL;
-- recall@10 on 50 queries, ef_search 40: the floor is 0.95
SELECT hnsw_recall('hnsw_t', '<->', 8, 10000, 50, 10) >= 0.95 AS recall_ok;
-- a larger ef_search does not do worse
SET vecsearch.ef_search = 200;
SELECT hnsw_recall('hnsw_t', '<->', 8, 10000, 50, 10) >= 0.98 AS recall_ok_200;
RESET vecsearch.ef_search;
-- a row is its own nearest neighbour
SELECT hnsw_indexed('hnsw_t', '<->', hnsw_test_vec(1234, 8), 1);
-- results come back nearest first
SET enable_seqscan = off;
SELECT bool_and(d >= prev) AS ordered FROM (
	SELECT v <-> hnsw_test_vec(77, 8) AS d, lag(v <-> hnsw_test_vec(77, 8), 1, 0) OVER () AS prev
	FROM (SELECT v FROM hnsw_t ORDER BY v <-> hnsw_test_vec(77, 8) LIMIT 40) s) t;
-- the scan can go on past its first ef_search candidates, round after round, to every
-- row, each once (NULLs are not indexed), with relaxed order. With strict order (the
-- default) rows come in distance order; a row a later round finds nearer than one returned
-- already is left out, and a scan that runs dry having left rows out says so (NOTICE)
SET vecsearch.hnsw_max_scan_tuples = 100000;
SELECT count(*) = count(DISTINCT id) AS each_once, count(*) > 2900 AS nearly_all,
       bool_and(d >= prev) AS ordered
FROM (SELECT id, d, lag(d, 1, 0) OVER () AS prev FROM (
	SELECT id, v <-> hnsw_test_vec(7, 8) AS d FROM hnsw_t ORDER BY v <-> hnsw_test_vec(7, 8) LIMIT 100000) s) t;
SET vecsearch.hnsw_scan_order = relaxed;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM hnsw_t ORDER BY v <-> hnsw_test_vec(7, 8) LIMIT 100000) s;
RESET vecsearch.hnsw_scan_order;
RESET vecsearch.hnsw_max_scan_tuples;
-- filters: the scan explores on until LIMIT rows pass, in distance order
SELECT count(*) FROM (SELECT id FROM hnsw_t WHERE category = 3 ORDER BY v <-> hnsw_test_vec(42, 8) LIMIT 10) s;
SELECT count(*), bool_and(d >= prev) AS ordered
FROM (SELECT d, lag(d, 1, 0) OVER () AS prev FROM (
	SELECT v <-> hnsw_test_vec(42, 8) AS d FROM hnsw_t WHERE id % 100 = 0
	ORDER BY v <-> hnsw_test_vec(42, 8) LIMIT 25) s) t;
-- vecsearch.hnsw_max_scan_tuples bounds it
SET vecsearch.hnsw_max_scan_tuples = 50;
SELECT count(*) < 25 AS bounded FROM (SELECT id FROM hnsw_t WHERE id % 100 = 0 ORDER BY v <-> hnsw_test_vec(42, 8) LIMIT 25) s;
-- exactly: an expansion that would pass the cap scores only what it leaves room for
SET vecsearch.hnsw_max_scan_tuples = 7;
SELECT count(*) < 25 AS bounded FROM (SELECT id FROM hnsw_t WHERE id % 100 = 0 ORDER BY v <-> hnsw_test_vec(42, 8) LIMIT 25) s;
RESET vecsearch.hnsw_max_scan_tuples;
RESET enable_seqscan;

-- ---------------------------------------------------------------- inserts and VACUUM
INSERT INTO hnsw_t SELECT i, i % 7, hnsw_test_vec(i, 8) FROM generate_series(3002, 4000) i;
SELECT hnsw_indexed('hnsw_t', '<->', hnsw_test_vec(3500, 8), 1);
SELECT hnsw_recall('hnsw_t', '<->', 8, 20000, 50, 10) >= 0.95 AS recall_after_inserts;
INSERT INTO hnsw_t VALUES (9999, 0, '[1,2,3]');
DELETE FROM hnsw_t WHERE id % 2 = 0;
VACUUM hnsw_t;
SELECT reltuples FROM pg_class WHERE relname = 'hnsw_t_v';
SELECT hnsw_recall('hnsw_t', '<->', 8, 30000, 50, 10) >= 0.95 AS recall_after_vacuum;
SET enable_seqscan = off;
SET vecsearch.hnsw_max_scan_tuples = 100000;
SET vecsearch.hnsw_scan_order = relaxed;
SELECT count(*) = (SELECT count(*) FROM hnsw_t WHERE v IS NOT NULL) AS all_rows
FROM (SELECT id FROM hnsw_t ORDER BY v <-> hnsw_test_vec(7, 8) LIMIT 100000) s;
RESET vecsearch.hnsw_max_scan_tuples;
RESET vecsearch.hnsw_scan_order;
RESET enable_seqscan;
-- freed space is reused: new rows do not grow the index
SELECT pg_relation_size('hnsw_t_v') AS size_before \gset
INSERT INTO hnsw_t SELECT i, i % 7, hnsw_test_vec(i, 8) FROM generate_series(5000, 5999) i;
SELECT pg_relation_size('hnsw_t_v') = :size_before AS same_size;
SELECT hnsw_recall('hnsw_t', '<->', 8, 40000, 50, 10) >= 0.95 AS recall_after_reuse;

-- ---------------------------------------------------------------- parallel build
-- the leader and two workers insert into one shared graph (forced onto this small table);
-- the index is as good as the serial one and holds every row once
DROP INDEX hnsw_t_v;
SET min_parallel_table_scan_size = 0;
SET max_parallel_maintenance_workers = 2;
CREATE INDEX hnsw_t_par ON hnsw_t USING hnsw (v vector_l2_ops) WITH (m = 8, ef_construction = 32);
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
SELECT hnsw_recall('hnsw_t', '<->', 8, 60000, 50, 10) >= 0.95 AS parallel_recall_ok;
SET enable_seqscan = off;
SET vecsearch.hnsw_max_scan_tuples = 100000;
SET vecsearch.hnsw_scan_order = relaxed;
SELECT count(*) = (SELECT count(*) FROM hnsw_t WHERE v IS NOT NULL) AS all_rows,
       count(DISTINCT id) = count(*) AS each_once
FROM (SELECT id FROM hnsw_t ORDER BY v <-> hnsw_test_vec(11, 8) LIMIT 100000) s;
RESET vecsearch.hnsw_max_scan_tuples;
RESET vecsearch.hnsw_scan_order;
RESET enable_seqscan;
DROP INDEX hnsw_t_par;

-- ---------------------------------------------------------------- inner product, cosine, L1, duplicates
CREATE INDEX hnsw_t_ip ON hnsw_t USING hnsw (v vector_ip_ops);
CREATE INDEX hnsw_t_cos ON hnsw_t USING hnsw (v vector_cosine_ops);
CREATE INDEX hnsw_t_l1 ON hnsw_t USING hnsw (v vector_l1_ops);
SELECT hnsw_recall('hnsw_t', '<#>', 8, 50000, 30, 10) >= 0.9 AS ip_recall_ok,
       hnsw_recall('hnsw_t', '<=>', 8, 50000, 30, 10) >= 0.95 AS cos_recall_ok,
       hnsw_recall('hnsw_t', '<+>', 8, 50000, 30, 10) >= 0.95 AS l1_recall_ok;
INSERT INTO hnsw_t VALUES (7001, 0, '[0,0,0,0,0,0,0,0]');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM hnsw_t ORDER BY v <+> '[1,1,1,1,1,1,1,1]' LIMIT 10;
SELECT count(*) FROM (SELECT id FROM hnsw_t ORDER BY v <=> '[0,0,0,0,0,0,0,0]' LIMIT 5) s;
SELECT id FROM hnsw_t ORDER BY v <-> '[1,2,3]' LIMIT 5;
RESET enable_seqscan;
DROP INDEX hnsw_t_ip, hnsw_t_cos, hnsw_t_l1;
-- identical vectors share an element (up to 10 rows each): 45 copies, before and after the build
CREATE TABLE hnsw_dup (id int, v vector(3));
INSERT INTO hnsw_dup SELECT i, '[1,1,1]' FROM generate_series(1, 25) i;
INSERT INTO hnsw_dup SELECT i, ARRAY[i, i % 7, 1]::real[]::vector FROM generate_series(201, 400) i;
CREATE INDEX ON hnsw_dup USING hnsw (v);
INSERT INTO hnsw_dup SELECT i, '[1,1,1]' FROM generate_series(26, 45) i;
SET enable_seqscan = off;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM hnsw_dup ORDER BY v <-> '[1,1,1]' LIMIT 45) s;
DELETE FROM hnsw_dup WHERE id % 3 = 0 AND id <= 45;
VACUUM hnsw_dup;
SELECT count(*) FROM (SELECT id FROM hnsw_dup ORDER BY v <-> '[1,1,1]' LIMIT 45) s WHERE id <= 45;
SELECT count(*) FROM (SELECT id FROM hnsw_dup ORDER BY v <-> '[300,6,1]' LIMIT 3) s;
RESET enable_seqscan;

-- ---------------------------------------------------------------- vectors larger than a page
CREATE TABLE hnsw_big (id int, v vector(4096));
INSERT INTO hnsw_big SELECT i, hnsw_test_vec(i, 4096) FROM generate_series(1, 60) i;
CREATE INDEX hnsw_big_v ON hnsw_big USING hnsw (v) WITH (m = 4, ef_construction = 16);
INSERT INTO hnsw_big SELECT i, hnsw_test_vec(i, 4096) FROM generate_series(61, 80) i;
SELECT hnsw_indexed('hnsw_big', '<->', hnsw_test_vec(70, 4096), 1) AS nearest,
       hnsw_recall('hnsw_big', '<->', 4096, 1, 10, 5) >= 0.9 AS recall_ok;
DELETE FROM hnsw_big WHERE id <= 30;
VACUUM hnsw_big;
SELECT hnsw_indexed('hnsw_big', '<->', hnsw_test_vec(75, 4096), 1) AS nearest_after_vacuum;

-- ---------------------------------------------------------------- unlogged tables
CREATE UNLOGGED TABLE hnsw_unlogged (id int, v vector(8));
INSERT INTO hnsw_unlogged SELECT i, hnsw_test_vec(i, 8) FROM generate_series(1, 200) i;
CREATE INDEX ON hnsw_unlogged USING hnsw (v);
SELECT hnsw_indexed('hnsw_unlogged', '<->', hnsw_test_vec(9, 8), 1);

DROP TABLE hnsw_t, hnsw_nodim, hnsw_dup, hnsw_big, hnsw_unlogged;
DROP FUNCTION hnsw_test_vec, hnsw_exact, hnsw_indexed, hnsw_recall;
