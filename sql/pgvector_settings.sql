-- pgvector's setting names (hnsw.*, ivfflat.*): the same types, ranges and meanings, honoured;
-- a vecsearch.* setting at its default defers to the pgvector name, away from it it wins.
CREATE EXTENSION IF NOT EXISTS vecsearch;

-- Until a session loads the library, PostgreSQL cannot tell a misspelt name from a setting
-- still to come, so it keeps a placeholder (as for pgvector); loading the library then
-- rejects it with a WARNING. shared_preload_libraries = 'vecsearch' makes every session
-- check at SET time.
SET hnsw.ef_serach = 10;
LOAD 'vecsearch';
SHOW hnsw.ef_serach;

-- defaults: pgvector's, except where vecsearch goes further by default (README)
SHOW hnsw.ef_search;
SHOW hnsw.iterative_scan;
SHOW hnsw.max_scan_tuples;
SHOW hnsw.scan_mem_multiplier;
SHOW ivfflat.probes;
SHOW ivfflat.iterative_scan;
SHOW ivfflat.max_probes;

-- bad values and misspelt names are errors, never silence: both prefixes are reserved
SET hnsw.ef_search = 'abc';
SET hnsw.ef_search = 0;
SET hnsw.ef_search = 1001;
SET hnsw.iterative_scan = sideways;
SET hnsw.max_scan_tuples = 0;
SET ivfflat.probes = 0;
SET ivfflat.probes = 32769;
SET ivfflat.iterative_scan = sideways;
SET ivfflat.max_probes = 0;
SET hnsw.scan_mem_multiplier = 0.5;
SET hnsw.scan_mem_multiplier = 1001;
SET vecsearch.ivf_scan_order = sideways;
SET hnsw.efsearch = 10;
SET ivfflat.probe = 10;

CREATE TABLE gucs (id int, v vector(8));
INSERT INTO gucs
  SELECT i, ARRAY(SELECT sin(i * 0.37 + j * 1.3) + cos(i * 0.11 * j) FROM generate_series(1, 8) j)::vector
  FROM generate_series(1, 1000) i;
CREATE FUNCTION gucs_count(q vector, lim int, filtered bool) RETURNS bigint LANGUAGE sql AS $$
  SELECT count(*) FROM (SELECT id FROM gucs WHERE NOT filtered OR id % 10 = 0
                        ORDER BY v <-> q LIMIT lim) s
$$;
SET enable_seqscan = off;

-- ---------------------------------------------------------------- hnsw
CREATE INDEX gucs_hnsw ON gucs USING hnsw (v) WITH (m = 4, ef_construction = 16);
-- off is pgvector's single pass: at most ef_search rows, whatever the LIMIT
SET hnsw.iterative_scan = off;
SET hnsw.ef_search = 10;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, false) AS one_pass_ef10;
SET hnsw.ef_search = 25;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, false) AS one_pass_ef25;
-- vecsearch.ef_search away from its default wins
SET vecsearch.ef_search = 30;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, false) AS vecsearch_ef30;
RESET vecsearch.ef_search;
-- vecsearch.hnsw_scan_order = relaxed wins over off
SET vecsearch.hnsw_scan_order = relaxed;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, false) AS relaxed_goes_on;
RESET vecsearch.hnsw_scan_order;
-- strict_order (the default here) and relaxed_order go on to the LIMIT
SET hnsw.iterative_scan = strict_order;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, false) AS strict_goes_on;
SET hnsw.iterative_scan = relaxed_order;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, true) AS relaxed_filtered;
-- hnsw.max_scan_tuples caps the elements scored, with the NOTICE that names it
SET hnsw.iterative_scan = strict_order;
SET hnsw.max_scan_tuples = 30;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, true) < 50 AS capped;
RESET hnsw.max_scan_tuples;
-- hnsw.scan_mem_multiplier: the scan may hold work_mem x it; past that it stops, saying so
SET work_mem = '64kB';
SET hnsw.scan_mem_multiplier = 1.5;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, true) < 50 AS memory_capped;
SET hnsw.scan_mem_multiplier = 1000;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, true) AS within_memory;
RESET hnsw.scan_mem_multiplier;
RESET work_mem;
-- SET LOCAL ends with its transaction
BEGIN;
SET LOCAL hnsw.ef_search = 5;
SET LOCAL hnsw.iterative_scan = off;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 50, false) AS local_one_pass;
COMMIT;
SHOW hnsw.ef_search;
SHOW hnsw.iterative_scan;
RESET hnsw.ef_search;
RESET hnsw.iterative_scan;
DROP INDEX gucs_hnsw;

-- ---------------------------------------------------------------- ivf
CREATE INDEX gucs_ivf ON gucs USING ivf (v) WITH (lists = 10);
-- off reads ivfflat.probes lists only: a filtered LIMIT 100 (100 rows match) comes up short
SET ivfflat.iterative_scan = off;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 100, true) < 100 AS one_list_short;
SET ivfflat.probes = 10;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 100, true) AS all_lists;
-- all lists: the same rows, in the same order, as exact search
SELECT array_agg(id) AS probes10
  FROM (SELECT id FROM gucs ORDER BY v <-> '[1,0,1,0,1,0,1,0]' LIMIT 5) s;
RESET enable_seqscan;
SET enable_indexscan = off;
SELECT array_agg(id) AS exact
  FROM (SELECT id FROM gucs ORDER BY v <-> '[1,0,1,0,1,0,1,0]' LIMIT 5) s;
RESET enable_indexscan;
SET enable_seqscan = off;
-- vecsearch.nprobe away from its default wins over ivfflat.probes
SET ivfflat.probes = 1;
SET vecsearch.nprobe = 10;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 100, true) AS vecsearch_nprobe_wins;
RESET vecsearch.nprobe;
-- strict_order (vecsearch's own value, the default here) and relaxed_order read on, up to
-- ivfflat.max_probes lists
SET ivfflat.iterative_scan = strict_order;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 100, true) AS strict_reads_on;
SET ivfflat.iterative_scan = relaxed_order;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 100, true) AS reads_on;
SET ivfflat.max_probes = 2;
SELECT gucs_count('[0,0,0,0,0,0,0,0]', 100, true) < 100 AS max_probes_short;
RESET ivfflat.max_probes;
RESET ivfflat.probes;
RESET ivfflat.iterative_scan;
RESET enable_seqscan;

DROP TABLE gucs;
DROP FUNCTION gucs_count(vector, int, bool);
