-- ivf index: DDL, options, results against exact search, inserts, VACUUM, filters, opclasses.
SET client_min_messages = notice;

-- deterministic data with overlapping structure: rows are sums of a few shared waves
CREATE FUNCTION ivf_test_vec(seed int, dim int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(round((sin(seed * 0.37 + j * 1.3) + cos(seed * 0.011 * j) +
	                        0.3 * sin(seed * 7.1 + j))::numeric, 4)::real ORDER BY j)::vector
	FROM generate_series(1, dim) j
$$;

-- exact top k by a distance operator, as a table scan would give it
CREATE FUNCTION ivf_exact(tbl regclass, op text, q vector, k int) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	SET LOCAL enable_indexscan = off;
	SET LOCAL enable_bitmapscan = off;
	EXECUTE format('SELECT array_agg(id ORDER BY d, id) FROM (SELECT id, v %s $1 AS d FROM %s ORDER BY v %s $1, id LIMIT %s) s',
	               op, tbl, op, k) INTO r USING q;
	RETURN r;
END $$;

-- top k through the index (forced), ties broken the same way as ivf_exact
CREATE FUNCTION ivf_indexed(tbl regclass, op text, q vector, k int) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	SET LOCAL enable_seqscan = off;
	EXECUTE format('SELECT array_agg(id ORDER BY d, id) FROM (SELECT id, v %s $1 AS d FROM %s ORDER BY v %s $1 LIMIT %s) s',
	               op, tbl, op, k) INTO r USING q;
	RETURN r;
END $$;

-- ---------------------------------------------------------------- options and errors
CREATE TABLE ivf_t (id int PRIMARY KEY, category int, v vector(8));
CREATE INDEX ON ivf_t USING ivf (v) WITH (lists = 0);
CREATE INDEX ON ivf_t USING ivf (v) WITH (lists = 40000);
CREATE INDEX ON ivf_t USING ivf (v) WITH (nlist = 10);
CREATE INDEX ON ivf_t USING ivf (v, v);
CREATE INDEX ON ivf_t USING ivf (category);
CREATE INDEX ON ivf_t USING ivf (v vector_l1_ops);
-- nor with an opclass of one's own for <+>: k-means does not partition an L1 space
CREATE OPERATOR CLASS ivf_test_l1_ops FOR TYPE vector USING ivf AS
	OPERATOR 1 <+> (vector, vector) FOR ORDER BY float_ops, FUNCTION 1 l1_distance(vector, vector);
CREATE INDEX ON ivf_t USING ivf (v ivf_test_l1_ops);
DROP OPERATOR CLASS ivf_test_l1_ops USING ivf;
CREATE TABLE ivf_nodim (id int, v vector);
CREATE INDEX ON ivf_nodim USING ivf (v);

-- every opclass passes amvalidate
SELECT opcname, amvalidate(c.oid) FROM pg_opclass c JOIN pg_am a ON a.oid = c.opcmethod
WHERE amname = 'ivf' ORDER BY opcname;

-- ---------------------------------------------------------------- an empty table
CREATE INDEX ivf_t_v ON ivf_t USING ivf (v) WITH (lists = 4);
SELECT lists, dimensions, metric, live_rows, empty_lists, advice FROM vecsearch_ivf_health('ivf_t_v');
SELECT ivf_indexed('ivf_t', '<->', ivf_test_vec(1, 8), 5);
INSERT INTO ivf_t SELECT i, i % 7, ivf_test_vec(i, 8) FROM generate_series(1, 50) i;
SET vecsearch.nprobe = 4;
SELECT ivf_indexed('ivf_t', '<->', ivf_test_vec(1, 8), 5) = ivf_exact('ivf_t', '<->', ivf_test_vec(1, 8), 5) AS same;
DROP INDEX ivf_t_v;

-- ---------------------------------------------------------------- a trained index
INSERT INTO ivf_t SELECT i, i % 7, ivf_test_vec(i, 8) FROM generate_series(51, 3000) i;
INSERT INTO ivf_t VALUES (3001, 1, NULL);
CREATE INDEX ivf_t_v ON ivf_t USING ivf (v vector_l2_ops) WITH (lists = 10);
SELECT lists, dimensions, metric, live_rows, dead_slots, empty_lists, build_rows, advice
FROM vecsearch_ivf_health('ivf_t_v');
SELECT min_list_rows > 0 AND max_list_rows < 3000 AS balanced FROM vecsearch_ivf_health('ivf_t_v');

-- the planner uses the index for ORDER BY ... LIMIT, and not without ORDER BY or LIMIT
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t WHERE category = 3 ORDER BY v <-> '[1,1,1,1,1,1,1,1]' LIMIT 10;
EXPLAIN (COSTS OFF) SELECT count(*) FROM ivf_t WHERE v IS NOT NULL;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t ORDER BY v <-> '[1,1,1,1,1,1,1,1]';

-- nprobe = lists gives exact search
SET vecsearch.nprobe = 10;
SELECT q, ivf_indexed('ivf_t', '<->', ivf_test_vec(q, 8), 10) = ivf_exact('ivf_t', '<->', ivf_test_vec(q, 8), 10) AS same
FROM unnest(ARRAY[5, 77, 1234, 99999]) q;
-- and nprobe = 1 already finds most of it
SET vecsearch.nprobe = 1;
SELECT sum(cardinality(ARRAY(SELECT unnest(ivf_indexed('ivf_t', '<->', ivf_test_vec(q, 8), 10))
                            INTERSECT SELECT unnest(ivf_exact('ivf_t', '<->', ivf_test_vec(q, 8), 10)))))
       >= 0.5 * 10 * 20 AS recall_ok
FROM generate_series(10000, 10019) q;

-- the index holds every non-NULL row exactly once
SET vecsearch.nprobe = 10;
SET enable_seqscan = off;
SELECT count(*), count(DISTINCT id) FROM (SELECT id FROM ivf_t ORDER BY v <-> ivf_test_vec(7, 8) LIMIT 100000) s;

-- filters: the scan goes on into further lists until LIMIT rows pass
SET vecsearch.nprobe = 1;
SELECT count(*) FROM (SELECT id FROM ivf_t WHERE category = 3 ORDER BY v <-> ivf_test_vec(42, 8) LIMIT 10) s;
SELECT count(*) FROM (SELECT id FROM ivf_t WHERE id % 500 = 0 ORDER BY v <-> ivf_test_vec(42, 8) LIMIT 6) s;
-- vecsearch.max_probes bounds it: one list holds fewer than 6 of these rows
SET vecsearch.max_probes = 1;
SELECT count(*) < 6 AS bounded FROM (SELECT id FROM ivf_t WHERE id % 500 = 0 ORDER BY v <-> ivf_test_vec(42, 8) LIMIT 6) s;
RESET vecsearch.max_probes;
RESET enable_seqscan;

-- ---------------------------------------------------------------- inserts after the build
INSERT INTO ivf_t SELECT i, i % 7, ivf_test_vec(i, 8) FROM generate_series(3002, 3500) i;
SET vecsearch.nprobe = 10;
SELECT q, ivf_indexed('ivf_t', '<->', ivf_test_vec(q, 8), 10) = ivf_exact('ivf_t', '<->', ivf_test_vec(q, 8), 10) AS same
FROM unnest(ARRAY[3100, 3333, 3500]) q;
-- an inserted row is its own nearest neighbour
SELECT ivf_indexed('ivf_t', '<->', ivf_test_vec(3333, 8), 1);
SELECT live_rows, inserted_since_build, insert_drift < 2 AS drift_small, advice FROM vecsearch_ivf_health('ivf_t_v');
-- wrong dimensions are refused
INSERT INTO ivf_t VALUES (9999, 0, '[1,2,3]');

-- ---------------------------------------------------------------- VACUUM
DELETE FROM ivf_t WHERE id % 2 = 0;
VACUUM ivf_t;
SELECT live_rows, dead_slots FROM vecsearch_ivf_health('ivf_t_v');
-- VACUUM's statistics: the index's row count and size land in pg_class
SELECT reltuples, relpages = pg_relation_size('ivf_t_v') / 8192 AS pages_match
FROM pg_class WHERE relname = 'ivf_t_v';
SELECT q, ivf_indexed('ivf_t', '<->', ivf_test_vec(q, 8), 10) = ivf_exact('ivf_t', '<->', ivf_test_vec(q, 8), 10) AS same
FROM unnest(ARRAY[5, 1234, 3333]) q;
-- inserts reuse freed slots: the index does not grow
SELECT pg_relation_size('ivf_t_v') AS size_before \gset
INSERT INTO ivf_t SELECT i, i % 7, ivf_test_vec(i, 8) FROM generate_series(4000, 4999) i;
SELECT pg_relation_size('ivf_t_v') = :size_before AS same_size;
SELECT live_rows, dead_slots < 1750 AS reused FROM vecsearch_ivf_health('ivf_t_v');
SELECT q, ivf_indexed('ivf_t', '<->', ivf_test_vec(q, 8), 10) = ivf_exact('ivf_t', '<->', ivf_test_vec(q, 8), 10) AS same
FROM unnest(ARRAY[4242, 17]) q;
SET enable_seqscan = off;
SELECT count(*) = (SELECT count(*) FROM ivf_t WHERE v IS NOT NULL) AS all_rows
FROM (SELECT id FROM ivf_t ORDER BY v <-> ivf_test_vec(7, 8) LIMIT 100000) s;
RESET enable_seqscan;

-- ---------------------------------------------------------------- inner product and cosine
CREATE INDEX ivf_t_ip ON ivf_t USING ivf (v vector_ip_ops) WITH (lists = 10);
CREATE INDEX ivf_t_cos ON ivf_t USING ivf (v vector_cosine_ops) WITH (lists = 10);
SELECT q, ivf_indexed('ivf_t', '<#>', ivf_test_vec(q, 8), 10) = ivf_exact('ivf_t', '<#>', ivf_test_vec(q, 8), 10) AS ip_same,
          ivf_indexed('ivf_t', '<=>', ivf_test_vec(q, 8), 10) = ivf_exact('ivf_t', '<=>', ivf_test_vec(q, 8), 10) AS cos_same
FROM unnest(ARRAY[5, 1234, 4242]) q;
SELECT metric FROM vecsearch_ivf_health('ivf_t_cos');
-- a zero vector has no cosine distance (NaN): it is not indexed. A zero query has no
-- distance to anything: like exact search, the index returns rows in no particular order.
INSERT INTO ivf_t VALUES (5001, 0, '[0,0,0,0,0,0,0,0]');
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM ivf_t ORDER BY v <=> '[0,0,0,0,0,0,0,0]' LIMIT 5;
SELECT count(*) FROM (SELECT id FROM ivf_t ORDER BY v <=> '[0,0,0,0,0,0,0,0]' LIMIT 5) s;
SELECT bool_or(id = 5001) AS zero_returned FROM (SELECT id FROM ivf_t ORDER BY v <=> '[1,0,0,0,0,0,0,0]' LIMIT 100000) s;
SELECT bool_or(id = 5001) AS zero_returned_l2 FROM (SELECT id FROM ivf_t ORDER BY v <-> '[0,0,0,0,0,0,0,0]' LIMIT 1) s;
-- so does a NULL query (a parameter here, so that the planner cannot fold it away)
SELECT cardinality(ivf_indexed('ivf_t', '<->', NULL, 5));
-- a query of the wrong dimension is an error
SELECT id FROM ivf_t ORDER BY v <-> '[1,2,3]' LIMIT 5;
RESET enable_seqscan;
DROP INDEX ivf_t_ip, ivf_t_cos;

-- ---------------------------------------------------------------- REINDEX, fewer rows than lists, memory
REINDEX INDEX ivf_t_v;
SET vecsearch.nprobe = 10;
SELECT ivf_indexed('ivf_t', '<->', ivf_test_vec(77, 8), 10) = ivf_exact('ivf_t', '<->', ivf_test_vec(77, 8), 10) AS same;
CREATE TABLE ivf_small (id int, v vector(8));
INSERT INTO ivf_small SELECT i, ivf_test_vec(i, 8) FROM generate_series(1, 5) i;
CREATE INDEX ivf_small_v ON ivf_small USING ivf (v) WITH (lists = 10);
SELECT live_rows, empty_lists FROM vecsearch_ivf_health('ivf_small_v');
SET vecsearch.nprobe = 1;
SELECT ivf_indexed('ivf_small', '<->', ivf_test_vec(3, 8), 3);
SET maintenance_work_mem = '1MB';
CREATE INDEX ivf_t_mem ON ivf_t USING ivf (v) WITH (lists = 300);
RESET maintenance_work_mem;
DROP INDEX ivf_t_mem;

-- a parallel build (leader + 1 worker assign rows; forced, as this table is small) gives
-- the same index contents. Core's "serially" line is about its own planning, which in
-- PostgreSQL 15 covers btree only; the ivf build plans its workers itself.
SET min_parallel_table_scan_size = 0;
SET max_parallel_maintenance_workers = 1;
SET vecsearch.force_parallel_build = on;
SET client_min_messages = debug1;
CREATE INDEX ivf_t_par ON ivf_t USING ivf (v) WITH (lists = 10);
RESET client_min_messages;
RESET vecsearch.force_parallel_build;
RESET max_parallel_maintenance_workers;
RESET min_parallel_table_scan_size;
SELECT live_rows = (SELECT count(*) FROM ivf_t WHERE v IS NOT NULL) AS all_rows, build_rows, advice
FROM vecsearch_ivf_health('ivf_t_par');
DROP INDEX ivf_t_v;
SET vecsearch.nprobe = 10;
SELECT q, ivf_indexed('ivf_t', '<->', ivf_test_vec(q, 8), 10) = ivf_exact('ivf_t', '<->', ivf_test_vec(q, 8), 10) AS same
FROM unnest(ARRAY[5, 1234, 4242]) q;
DROP INDEX ivf_t_par;

-- ---------------------------------------------------------------- vectors larger than a page
CREATE TABLE ivf_big (id int, v vector(4096));
INSERT INTO ivf_big SELECT i, ivf_test_vec(i, 4096) FROM generate_series(1, 40) i;
CREATE INDEX ivf_big_v ON ivf_big USING ivf (v) WITH (lists = 3);
INSERT INTO ivf_big SELECT i, ivf_test_vec(i, 4096) FROM generate_series(41, 60) i;
SET vecsearch.nprobe = 3;
SELECT ivf_indexed('ivf_big', '<->', ivf_test_vec(45, 4096), 5) = ivf_exact('ivf_big', '<->', ivf_test_vec(45, 4096), 5) AS same,
       ivf_indexed('ivf_big', '<->', ivf_test_vec(45, 4096), 1) AS nearest;
DELETE FROM ivf_big WHERE id <= 20;
VACUUM ivf_big;
INSERT INTO ivf_big SELECT i, ivf_test_vec(i, 4096) FROM generate_series(61, 70) i;
SELECT ivf_indexed('ivf_big', '<->', ivf_test_vec(65, 4096), 5) = ivf_exact('ivf_big', '<->', ivf_test_vec(65, 4096), 5) AS same;
CREATE TABLE ivf_max (id int, v vector(16000));
INSERT INTO ivf_max SELECT i, ivf_test_vec(i, 16000) FROM generate_series(1, 6) i;
CREATE INDEX ivf_max_v ON ivf_max USING ivf (v vector_cosine_ops) WITH (lists = 2);
INSERT INTO ivf_max SELECT i, ivf_test_vec(i, 16000) FROM generate_series(7, 9) i;
SET vecsearch.nprobe = 2;
SELECT ivf_indexed('ivf_max', '<=>', ivf_test_vec(8, 16000), 4) = ivf_exact('ivf_max', '<=>', ivf_test_vec(8, 16000), 4) AS same;

-- ---------------------------------------------------------------- unlogged tables
CREATE UNLOGGED TABLE ivf_unlogged (id int, v vector(8));
INSERT INTO ivf_unlogged SELECT i, ivf_test_vec(i, 8) FROM generate_series(1, 200) i;
CREATE INDEX ON ivf_unlogged USING ivf (v) WITH (lists = 5);
SELECT ivf_indexed('ivf_unlogged', '<->', ivf_test_vec(9, 8), 3);

-- ---------------------------------------------------------------- small maintenance_work_mem
-- an empty table trains nothing, so any maintenance_work_mem builds its index; a table
-- with rows needs room to train, and says how much
SET maintenance_work_mem = '1MB';
CREATE TABLE ivf_mwm (id int, v vector(2000));
CREATE INDEX ivf_mwm_v ON ivf_mwm USING ivf (v);
CREATE INDEX ivf_mwm_pq ON ivf_mwm USING ivfpq (v);
INSERT INTO ivf_mwm SELECT i, ivf_test_vec(i, 2000) FROM generate_series(1, 3) i;
SELECT count(*) FROM vecsearch_verify('ivf_mwm_v');
DROP INDEX ivf_mwm_v, ivf_mwm_pq;
CREATE INDEX ivf_mwm_v ON ivf_mwm USING ivf (v);
-- room for fewer training rows than lists (92 of 100 at 3 MB): a table that small trains on
-- all its rows, silently (pgvector builds here too); a larger one trains on what fits and
-- says so, with the memory that would have trained on all it wanted
SET maintenance_work_mem = '3MB';
CREATE INDEX ivf_mwm_v ON ivf_mwm USING ivf (v);
SELECT count(*) FROM vecsearch_verify('ivf_mwm_v');
DROP INDEX ivf_mwm_v;
INSERT INTO ivf_mwm SELECT i, ivf_test_vec(i, 2000) FROM generate_series(4, 150) i;
CREATE INDEX ivf_mwm_v ON ivf_mwm USING ivf (v);
SET vecsearch.nprobe = 100;
SELECT id FROM ivf_mwm ORDER BY v <-> ivf_test_vec(77, 2000) LIMIT 1;
RESET vecsearch.nprobe;
DROP INDEX ivf_mwm_v;
-- the same with one row a block (8 kB, stored plain): the sampler reads only as many blocks
-- as it wants rows, so the rows it saw are the rows it kept; the cut is still said, and
-- counted from the table's blocks
CREATE TABLE ivf_plain (id int, v vector(2000));
ALTER TABLE ivf_plain ALTER v SET STORAGE PLAIN;
INSERT INTO ivf_plain SELECT i, ivf_test_vec(i, 2000) FROM generate_series(1, 150) i;
CREATE INDEX ivf_plain_v ON ivf_plain USING ivf (v);
DROP TABLE ivf_plain;
SET maintenance_work_mem = '1MB';
-- dead rows only: still empty
DELETE FROM ivf_mwm;
VACUUM ivf_mwm;
CREATE INDEX ivf_mwm_v ON ivf_mwm USING ivf (v);
RESET maintenance_work_mem;

-- ---------------------------------------------------------------- health on something else
SELECT * FROM vecsearch_ivf_health('ivf_t_pkey');
SELECT * FROM vecsearch_ivf_health('ivf_t');

DROP TABLE ivf_t, ivf_nodim, ivf_small, ivf_big, ivf_max, ivf_unlogged, ivf_mwm;
DROP FUNCTION ivf_test_vec, ivf_exact, ivf_indexed;
