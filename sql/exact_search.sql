-- Exact nearest-neighbour search without an index: ORDER BY <op> LIMIT k over 100,000 rows,
-- serial and with a parallel sequential scan, checked against distances computed
-- independently in SQL (double precision over the array elements).

SELECT setseed(0.42);
-- overlapping clusters: 50 centres, spread comparable to the distance between them
CREATE TABLE es_items AS
SELECT i AS id,
	   (SELECT array_agg(((i % 50) * 0.37 + j * 1.3) % 5 + (random() - 0.5) * 4)::real[]
		FROM generate_series(1, 12) j)::vector(12) AS embedding
FROM generate_series(1, 100000) i;
CREATE TABLE es_queries AS
SELECT q AS qid,
	   (SELECT array_agg((random() * 5)::real) FROM generate_series(1, 12))::vector(12) AS embedding
FROM generate_series(1, 3) q;
ANALYZE es_items;
SELECT count(*) FROM es_items;

-- the reference: all four distances from the raw elements, in double precision
CREATE TABLE es_truth AS
SELECT q.qid, i.id,
	   sqrt(sum((u.a::float8 - u.b::float8) ^ 2)) AS l2,
	   -sum(u.a::float8 * u.b::float8) AS neg_ip,
	   1 - sum(u.a::float8 * u.b::float8)
		   / sqrt(sum(u.a::float8 ^ 2) * sum(u.b::float8 ^ 2)) AS cos,
	   sum(abs(u.a::float8 - u.b::float8)) AS l1
FROM es_queries q CROSS JOIN es_items i,
	 LATERAL unnest(i.embedding::real[], q.embedding::real[]) AS u(a, b)
GROUP BY q.qid, i.id;

-- top 10 by each metric per query, from the reference
CREATE VIEW es_expected AS
SELECT metric, qid, array_agg(id ORDER BY d, id) AS ids, max(d) AS kth
FROM (
	SELECT 'l2' AS metric, qid, id, l2 AS d, row_number() OVER (PARTITION BY qid ORDER BY l2, id) rn FROM es_truth
	UNION ALL
	SELECT 'ip', qid, id, neg_ip, row_number() OVER (PARTITION BY qid ORDER BY neg_ip, id) FROM es_truth
	UNION ALL
	SELECT 'cos', qid, id, cos, row_number() OVER (PARTITION BY qid ORDER BY cos, id) FROM es_truth
	UNION ALL
	SELECT 'l1', qid, id, l1, row_number() OVER (PARTITION BY qid ORDER BY l1, id) FROM es_truth
) t WHERE rn <= 10 GROUP BY metric, qid;

-- what vecsearch's operators return, one ORDER BY ... LIMIT 10 query per (metric, query)
CREATE FUNCTION es_found(metric text, q vector) RETURNS int[] LANGUAGE plpgsql AS $$
DECLARE
	op text := CASE metric WHEN 'l2' THEN '<->' WHEN 'ip' THEN '<#>' WHEN 'cos' THEN '<=>' ELSE '<+>' END;
	ids int[];
BEGIN
	EXECUTE format('SELECT array_agg(id) FROM (SELECT id FROM es_items ORDER BY embedding %s $1 LIMIT 10) t', op)
		INTO ids USING q;
	RETURN ids;
END $$;

-- for every metric and query: the same ten ids as the reference, and none farther than its 10th
CREATE VIEW es_check AS
SELECT e.metric, e.qid, found = e.ids AS same_ids,
	   (SELECT bool_and(CASE e.metric WHEN 'l2' THEN t.l2 WHEN 'ip' THEN t.neg_ip
							WHEN 'cos' THEN t.cos ELSE t.l1 END <= e.kth + 1e-9)
		FROM es_truth t WHERE t.qid = e.qid AND t.id = ANY (found)) AS none_farther
FROM es_expected e JOIN es_queries q USING (qid),
	 LATERAL es_found(e.metric, q.embedding) AS found;

-- serial
SET max_parallel_workers_per_gather = 0;
SELECT * FROM es_check ORDER BY metric, qid;

-- parallel sequential scan (forced, so the plan does not depend on costing); the queries run
-- at top level with the query vector inlined, so the plan shown is the plan that runs
SELECT embedding AS q1 FROM es_queries WHERE qid = 1 \gset
SELECT embedding AS q2 FROM es_queries WHERE qid = 2 \gset
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT id FROM es_items ORDER BY embedding <-> :'q1' LIMIT 10;
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'l2' AND qid = 1) AS l2_q1
FROM (SELECT id FROM es_items ORDER BY embedding <-> :'q1' LIMIT 10) t;
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'l2' AND qid = 2) AS l2_q2
FROM (SELECT id FROM es_items ORDER BY embedding <-> :'q2' LIMIT 10) t;
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'ip' AND qid = 1) AS ip_q1
FROM (SELECT id FROM es_items ORDER BY embedding <#> :'q1' LIMIT 10) t;
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'ip' AND qid = 2) AS ip_q2
FROM (SELECT id FROM es_items ORDER BY embedding <#> :'q2' LIMIT 10) t;
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'cos' AND qid = 1) AS cos_q1
FROM (SELECT id FROM es_items ORDER BY embedding <=> :'q1' LIMIT 10) t;
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'cos' AND qid = 2) AS cos_q2
FROM (SELECT id FROM es_items ORDER BY embedding <=> :'q2' LIMIT 10) t;
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'l1' AND qid = 1) AS l1_q1
FROM (SELECT id FROM es_items ORDER BY embedding <+> :'q1' LIMIT 10) t;
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'l1' AND qid = 2) AS l1_q2
FROM (SELECT id FROM es_items ORDER BY embedding <+> :'q2' LIMIT 10) t;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;

-- a prepared statement with a parameter, as clients send it
RESET max_parallel_workers_per_gather;
PREPARE knn(vector) AS SELECT id FROM es_items ORDER BY embedding <-> $1 LIMIT 10;
CREATE TEMP TABLE knn_result AS EXECUTE knn(:'q1');
SELECT array_agg(id) = (SELECT ids FROM es_expected WHERE metric = 'l2' AND qid = 1) AS prepared_matches
FROM knn_result;

DROP VIEW es_check;
DROP FUNCTION es_found;
DROP VIEW es_expected;
DROP TABLE es_truth, es_queries, es_items;
