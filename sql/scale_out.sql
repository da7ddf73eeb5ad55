-- Scaling out on PostgreSQL's own machinery: a partitioned table with an index per
-- partition. The planner merges the partitions' ordered index scans (Merge Append), so
-- ORDER BY ... LIMIT k over the whole table equals exact search when each index is read
-- exhaustively; a filter on the partition key prunes to one partition's index.
SET client_min_messages = notice;
CREATE TABLE pt (id int, region int, v vector(8)) PARTITION BY LIST (region);
CREATE TABLE pt0 PARTITION OF pt FOR VALUES IN (0);
CREATE TABLE pt1 PARTITION OF pt FOR VALUES IN (1);
CREATE TABLE pt2 PARTITION OF pt FOR VALUES IN (2);
INSERT INTO pt SELECT i, i % 3, ARRAY[sin(i), cos(i), sin(2 * i), cos(2 * i), sin(3 * i), cos(3 * i), i % 7, i % 5]::real[]::vector
FROM generate_series(1, 6000) i;
ANALYZE pt;

-- the exact top 10 (a sort over sequential scans), and each method through its indexes
CREATE FUNCTION pt_top(q vector, via text) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE r int[];
BEGIN
	IF via = 'exact' THEN
		SET LOCAL enable_indexscan = off;
	ELSE
		SET LOCAL enable_seqscan = off;
	END IF;
	SELECT array_agg(id ORDER BY d, id) INTO r
	FROM (SELECT id, v <-> q AS d FROM pt ORDER BY v <-> q LIMIT 10) s;
	RETURN r;
END $$;

-- every partition read whole: nprobe = lists, ef_search and rerank above its size
SET vecsearch.nprobe = 8;
SET vecsearch.ef_search = 1000;
SET vecsearch.rerank = 10000;

CREATE INDEX pt_ivf ON pt USING ivf (v) WITH (lists = 8);
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM pt ORDER BY v <-> '[0,1,0,1,0,1,3,2]' LIMIT 10;
RESET enable_seqscan;
SELECT pt_top('[0,1,0,1,0,1,3,2]', 'ivf') = pt_top('[0,1,0,1,0,1,3,2]', 'exact') AS ivf_equals_exact,
       pt_top('[1,0,1,0,1,0,0,4]', 'ivf') = pt_top('[1,0,1,0,1,0,0,4]', 'exact') AS ivf_equals_exact_2;
DROP INDEX pt_ivf;

CREATE INDEX pt_ivfpq ON pt USING ivfpq (v) WITH (lists = 8, subvectors = 4);
SELECT pt_top('[0,1,0,1,0,1,3,2]', 'ivfpq') = pt_top('[0,1,0,1,0,1,3,2]', 'exact') AS ivfpq_equals_exact;
DROP INDEX pt_ivfpq;

CREATE INDEX pt_hnsw ON pt USING hnsw (v) WITH (m = 8, ef_construction = 32);
SELECT pt_top('[0,1,0,1,0,1,3,2]', 'hnsw') = pt_top('[0,1,0,1,0,1,3,2]', 'exact') AS hnsw_equals_exact;
-- a filter on the partition key reads one partition's index only
SET enable_seqscan = off;
EXPLAIN (COSTS OFF) SELECT id FROM pt WHERE region = 1 ORDER BY v <-> '[0,1,0,1,0,1,3,2]' LIMIT 10;
SELECT count(*), bool_and(region = 1) FROM (SELECT id, region FROM pt WHERE region = 1 ORDER BY v <-> '[0,1,0,1,0,1,3,2]' LIMIT 10) s;
-- a partition added later gets its own index; rows inserted through the parent are found
CREATE TABLE pt3 PARTITION OF pt FOR VALUES IN (3);
INSERT INTO pt VALUES (7001, 3, '[9,9,9,9,9,9,9,9]');
SELECT id FROM pt ORDER BY v <-> '[9,9,9,9,9,9,9,9]' LIMIT 1;
SELECT indexrelid::regclass FROM pg_index WHERE indrelid = 'pt3'::regclass;
RESET enable_seqscan;
RESET vecsearch.nprobe;
RESET vecsearch.ef_search;
RESET vecsearch.rerank;
DROP TABLE pt;
DROP FUNCTION pt_top(vector, text);
