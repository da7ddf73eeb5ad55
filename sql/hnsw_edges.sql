-- hnsw at the edges: an unfiltered scan returns min(LIMIT, rows) whatever the table's
-- size; a cap set by the user stops a scan only with a NOTICE; a graph built on tight
-- clusters has no islands (every live element reachable from the entry point).
SET client_min_messages = notice;

-- ---------------------------------------------------------------- min(LIMIT, rows)
-- 26,000 rows, then deletes not yet vacuumed: the scan scores deleted elements too,
-- which once ran into a default cap of 20,000 elements and came back short
CREATE TABLE he (id int, v vector(4));
INSERT INTO he SELECT i, ARRAY[sin(i), cos(i * 0.7), sin(i * 0.13), cos(i * 0.011)]::vector
FROM generate_series(1, 26000) i;
CREATE INDEX he_v ON he USING hnsw (v) WITH (m = 6, ef_construction = 24);
DELETE FROM he WHERE id % 5 = 0;
SET enable_seqscan = off;
SELECT count(*) AS rows, count(DISTINCT id) AS distinct_rows
FROM (SELECT id FROM he ORDER BY v <-> '[1,0,0,1]' LIMIT 19000) s;
-- every row, in relaxed order (strict order leaves out, with a NOTICE, the few rows a later
-- round finds nearer than rows already returned: sql/scan_order.sql)
SET vecsearch.hnsw_scan_order = relaxed;
SELECT count(*) = (SELECT count(*) FROM he) AS every_row
FROM (SELECT id FROM he ORDER BY v <-> '[1,0,0,1]' LIMIT 100000) s;
VACUUM he;
SELECT count(*) = (SELECT count(*) FROM he) AS every_row_after_vacuum
FROM (SELECT id FROM he ORDER BY v <-> '[0,1,1,0]' LIMIT 100000) s;
RESET vecsearch.hnsw_scan_order;
-- in distance order (strict, the default)
SELECT bool_and(d >= prev) AS ordered FROM (
	SELECT d, lag(d, 1, 0) OVER () AS prev FROM (
		SELECT v <-> '[0,1,1,0]' AS d FROM he ORDER BY v <-> '[0,1,1,0]' LIMIT 5000) s) t;
-- a cap the user sets stops the scan and says so
SET vecsearch.hnsw_max_scan_tuples = 300;
SELECT count(*) < 1000 AS capped FROM (SELECT id FROM he ORDER BY v <-> '[1,0,0,1]' LIMIT 1000) s;
SELECT count(*) FROM (SELECT id FROM he WHERE id % 1000 = 1 ORDER BY v <-> '[1,0,0,1]' LIMIT 10) s;
-- ... and stays silent when the scan ends before it
SELECT count(*) FROM (SELECT id FROM he ORDER BY v <-> '[1,0,0,1]' LIMIT 10) s;
RESET vecsearch.hnsw_max_scan_tuples;
SHOW vecsearch.hnsw_max_scan_tuples;
SET vecsearch.hnsw_max_scan_tuples = 0;
SET vecsearch.hnsw_max_scan_tuples = -2;
RESET enable_seqscan;
DROP TABLE he;

-- ---------------------------------------------------------------- no islands
-- fills tbl (id int, v vector(32)) with n rows in `clusters` tight clusters: components
-- spread by +-noise/2 around random centres, drawn from the session's random()
CREATE FUNCTION hnsw_edges_clusters(tbl regclass, n int, clusters int, noise float8)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
	CREATE TEMP TABLE hnsw_edges_c AS
	SELECT c, array_agg(random() * 2 - 1 ORDER BY j) AS x
	FROM generate_series(0, clusters - 1) c, generate_series(1, 32) j GROUP BY c;
	EXECUTE format('INSERT INTO %s SELECT i, (SELECT array_agg(x[j] + (random() - 0.5) * %s ORDER BY j)
	                FROM generate_series(1, 32) j)::vector(32)
	                FROM generate_series(1, %s) i JOIN hnsw_edges_c ON c = i %% %s',
	               tbl, noise, n, clusters);
	DROP TABLE hnsw_edges_c;
END $$;
-- how many of tbl's rows with id % every = 1 find themselves among their 10 nearest
-- through the index at this ef_search (each row's own vector is its nearest)
CREATE FUNCTION hnsw_edges_found_itself(tbl regclass, ef int, every int,
                                        OUT queries bigint, OUT found_itself bigint)
LANGUAGE plpgsql AS $$
BEGIN
	PERFORM set_config('vecsearch.ef_search', ef::text, true);
	PERFORM set_config('enable_seqscan', 'off', true);
	EXECUTE format('SELECT count(*), count(*) FILTER (WHERE q.id IN
	                    (SELECT id FROM %1$s ORDER BY v <=> q.v LIMIT 10))
	                FROM (SELECT id, v FROM %1$s WHERE id %% %2$s = 1) q', tbl, every)
	INTO queries, found_itself;
END $$;
-- 20 tight clusters of 1,000 rows in 32 dimensions under cosine: the neighbour heuristic
-- keeps one or two links into a group of near-equal vectors, and a full list that shrinks
-- can drop the last link to an element or a whole group. Level 0 fell apart: 2,779 elements
-- no level-0 path from the entry point reached (vecsearch_verify now names them), found by a
-- scan's final sweep only, and 175 of these 200 rows were not among the 10 nearest of their
-- own vector even at ef_search 1000. The build now keeps level 0 connected. Within a group
-- cosine distances are about 1e-7, float's resolution, so a row's own vector ties with its
-- neighbours and may rank below ten of them: the floor is 90%, not all.
SELECT setseed(0.15);
CREATE TABLE hi (id int, v vector(32));
SELECT hnsw_edges_clusters('hi', 20000, 20, 0.001);
CREATE INDEX hi_v ON hi USING hnsw (v vector_cosine_ops);
SELECT count(*) AS problems FROM vecsearch_verify('hi_v');
SELECT queries, found_itself >= 0.9 * queries AS found FROM hnsw_edges_found_itself('hi', 1000, 100);
DROP TABLE hi;

-- ---------------------------------------------------------------- no islands after VACUUM
-- the same kind of data inserted row by row into an index on disk, then a third deleted:
-- a list that drops a member can drop the last link to it, so VACUUM ends by linking in
-- every live element that no scan could find any more
SELECT setseed(0.25);
CREATE TABLE hd (id int, v vector(32));
CREATE INDEX hd_v ON hd USING hnsw (v vector_cosine_ops);
SELECT hnsw_edges_clusters('hd', 3000, 10, 0.001);
DELETE FROM hd WHERE id % 3 = 0;
VACUUM hd;
SELECT count(*) AS problems FROM vecsearch_verify('hd_v');
SELECT * FROM hnsw_edges_found_itself('hd', 400, 20);
DROP TABLE hd;
-- rows inserted one by one into a small-m index on 256-d rows, a third deleted: VACUUM's
-- links could cut off elements it had counted as reached (11 were left unreachable), and
-- each insert took a page of its own (1,501 pages for 1,500 rows of about 1.2 kB)
CREATE FUNCTION hv_vec(i int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(round((sin(i * 0.37 + j * 1.3) + cos(i * 0.011 * j) +
		0.3 * sin(i * 7.1 + j))::numeric, 3)::real ORDER BY j)::vector FROM generate_series(1, 256) j
$$;
CREATE TABLE hv (id int, e vector(256));
ALTER TABLE hv SET (autovacuum_enabled = off);
CREATE INDEX hv_e ON hv USING hnsw (e) WITH (m = 4, ef_construction = 16);
INSERT INTO hv SELECT i, hv_vec(i) FROM generate_series(1, 1500) i;
SELECT pg_relation_size('hv_e') / current_setting('block_size')::int < 300 AS pages_shared;
DELETE FROM hv WHERE id % 3 = 0;
VACUUM hv;
SELECT count(*) AS problems FROM vecsearch_verify('hv_e');
-- twice more, each third inserted again and the next one deleted: inserts fill their
-- level-0 lists, so VACUUM's last step mostly links elements in past full lists. When it
-- replaced a member that other links were counted to reach, the first VACUUM alone left
-- 2 to 4 elements unreachable in 5 runs of 20
INSERT INTO hv SELECT i, hv_vec(i) FROM generate_series(1, 1500) i WHERE i % 3 = 0;
DELETE FROM hv WHERE id % 3 = 1;
VACUUM hv;
SELECT count(*) AS problems FROM vecsearch_verify('hv_e');
INSERT INTO hv SELECT i, hv_vec(i) FROM generate_series(1, 1500) i WHERE i % 3 = 1;
DELETE FROM hv WHERE id % 3 = 2;
VACUUM hv;
SELECT count(*) AS problems FROM vecsearch_verify('hv_e');
DROP TABLE hv;
DROP FUNCTION hv_vec(int), hnsw_edges_clusters, hnsw_edges_found_itself;
