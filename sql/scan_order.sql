-- Rows in distance order from every index, filtered or not, for LIMITs below and above what
-- the first pass holds; and LIMIT rows whenever that many rows match (ivf reads every list
-- it must, hnsw goes on past ef_search). strict order is the default; relaxed returns rows
-- as found. See README "Filtered queries and distance order".
SET client_min_messages = notice;

CREATE FUNCTION so_vec(seed int, dim int) RETURNS vector LANGUAGE sql IMMUTABLE AS $$
	SELECT array_agg(round((sin(seed * 0.37 + j * 1.3) + cos(seed * 0.011 * j) +
	                        0.3 * sin(seed * 7.1 + j))::numeric, 4)::real ORDER BY j)::vector
	FROM generate_series(1, dim) j
$$;

CREATE TABLE so_t (id int, v vector(8));
INSERT INTO so_t SELECT i, so_vec(i, 8) FROM generate_series(1, 4000) i;

-- One line per filter and LIMIT: whether every query came back in distance order, and with
-- min(LIMIT, matching rows) rows. A strict-order scan whose LIMIT reaches past most of the
-- rows its filter lets through (41 rows match id % 97 = 0, 572 match id % 7 = 0) can come
-- up short: it leaves out the rows it finds after farther ones were returned, and says so
-- in a NOTICE (silenced here; the last section shows it).
CREATE FUNCTION so_check(op text) RETURNS TABLE (filter text, lim int, ordered bool, full_count bool)
LANGUAGE plpgsql AS $$
DECLARE
	f text;
	k int;
	q int;
	d float8[];
	matching int;
	all_ordered bool;
	all_full bool;
BEGIN
	SET LOCAL enable_seqscan = off;
	SET LOCAL enable_bitmapscan = off;
	SET LOCAL client_min_messages = warning;
	FOREACH f IN ARRAY ARRAY['true', 'id % 7 = 0', 'id % 97 = 0'] LOOP
		EXECUTE format('SELECT count(*) FROM so_t WHERE %s', f) INTO matching;
		FOREACH k IN ARRAY ARRAY[5, 60, 700] LOOP
			all_ordered := true;
			all_full := true;
			FOR q IN 1..4 LOOP
				EXECUTE format('SELECT array_agg(d) FROM (SELECT v %s $1 AS d FROM so_t WHERE %s ORDER BY v %s $1 LIMIT %s) s',
				               op, f, op, k) INTO d USING so_vec(q * 1000 + 17, 8);
				all_ordered := all_ordered AND (SELECT bool_and(d[i] <= d[i + 1]) FROM generate_subscripts(d, 1) i
				                                WHERE i < array_length(d, 1)) IS NOT FALSE;
				all_full := all_full AND coalesce(array_length(d, 1), 0) = least(k, matching);
			END LOOP;
			filter := f;
			lim := k;
			ordered := all_ordered;
			full_count := all_full;
			RETURN NEXT;
		END LOOP;
	END LOOP;
END $$;

-- ---------------------------------------------------------------- ivf: 40 lists, 2 read first
CREATE INDEX so_ivf ON so_t USING ivf (v) WITH (lists = 40);
SET vecsearch.nprobe = 2;
SELECT * FROM so_check('<->');
-- the other opclasses
DROP INDEX so_ivf;
CREATE INDEX so_ivf ON so_t USING ivf (v vector_cosine_ops) WITH (lists = 40);
SELECT * FROM so_check('<=>') WHERE NOT (ordered AND full_count);
DROP INDEX so_ivf;
CREATE INDEX so_ivf ON so_t USING ivf (v vector_ip_ops) WITH (lists = 40);
SELECT * FROM so_check('<#>') WHERE NOT (ordered AND full_count);
-- relaxed order: every row still comes, but a filtered scan returns rows as found
SET vecsearch.ivf_scan_order = relaxed;
SELECT filter, lim, full_count FROM so_check('<#>') WHERE NOT full_count;
SELECT bool_and(ordered) AS relaxed_always_ordered FROM so_check('<#>');
RESET vecsearch.ivf_scan_order;
DROP INDEX so_ivf;

-- ---------------------------------------------------------------- ivfpq: re-ranked batches
CREATE INDEX so_pq ON so_t USING ivfpq (v) WITH (lists = 40, subvectors = 4);
SET vecsearch.rerank = 20;
SELECT * FROM so_check('<->');
SET ivfflat.iterative_scan = relaxed_order;
SELECT bool_and(ordered) AS relaxed_always_ordered, bool_and(full_count) AS relaxed_full FROM so_check('<->');
RESET ivfflat.iterative_scan;
RESET vecsearch.rerank;
DROP INDEX so_pq;
RESET vecsearch.nprobe;

-- ---------------------------------------------------------------- hnsw: ef_search below the LIMITs
CREATE INDEX so_hnsw ON so_t USING hnsw (v) WITH (m = 8, ef_construction = 32);
SET hnsw.ef_search = 20;
SELECT * FROM so_check('<->');
SET hnsw.iterative_scan = relaxed_order;
SELECT bool_and(full_count) AS relaxed_full FROM so_check('<->');
RESET hnsw.iterative_scan;
RESET hnsw.ef_search;
DROP INDEX so_hnsw;

-- ---------------------------------------------------------------- what strict order costs
-- Two lists on a line: the query at 4.9 reads the list around 0 first. Its rows are
-- handed out (the filter rejects them all) before the list around 10 is read, whose row at
-- 5.5 is nearer than they: strict order leaves it out and says so; relaxed returns it.
CREATE TABLE so_line (id int, v vector(1));
INSERT INTO so_line SELECT i, ARRAY[(i % 5)::real]::vector FROM generate_series(1, 200) i;
INSERT INTO so_line SELECT 1000 + i, ARRAY[10 - (i % 4)::real]::vector FROM generate_series(1, 200) i;
INSERT INTO so_line VALUES (5000, '[5.5]');
CREATE INDEX so_line_v ON so_line USING ivf (v) WITH (lists = 2);
SET enable_seqscan = off;
SET vecsearch.nprobe = 1;
SELECT id, v <-> '[4.9]' AS d FROM so_line WHERE id >= 5000 ORDER BY v <-> '[4.9]' LIMIT 1;
SET vecsearch.ivf_scan_order = relaxed;
SELECT id, v <-> '[4.9]' AS d FROM so_line WHERE id >= 5000 ORDER BY v <-> '[4.9]' LIMIT 1;
RESET vecsearch.ivf_scan_order;
-- ivfflat.iterative_scan = off reads one list: no row, and no notice
SET ivfflat.iterative_scan = off;
SELECT id FROM so_line WHERE id >= 5000 ORDER BY v <-> '[4.9]' LIMIT 1;
RESET ivfflat.iterative_scan;
RESET vecsearch.nprobe;
RESET enable_seqscan;

DROP TABLE so_t, so_line;
DROP FUNCTION so_vec(int, int), so_check(text);
