-- avg(vector) and sum(vector), serial and parallel.

CREATE TEMP TABLE agg (g int, v vector(3));
INSERT INTO agg VALUES (1, '[1,2,3]'), (1, '[3,4,5]'), (2, '[10,20,30]'), (2, NULL), (3, NULL);
SELECT avg(v), sum(v) FROM agg;
SELECT g, avg(v), sum(v) FROM agg GROUP BY g ORDER BY g;

-- no rows: NULL, as for numbers
SELECT avg(v), sum(v) FROM agg WHERE false;

-- avg accumulates in double precision: no drift over many rows
SELECT avg(v) FROM (SELECT '[0.1,1e6,3]'::vector AS v FROM generate_series(1, 100000)) t;

-- mixed dimensions are an error
SELECT avg(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);
SELECT sum(v) FROM (VALUES ('[1,2]'::vector), ('[1,2,3]')) t(v);

-- sum overflow is an error
SELECT sum(v) FROM (VALUES ('[3e38]'::vector), ('[3e38]')) t(v);

-- parallel aggregation gives the same answer as serial
CREATE TABLE agg_big AS
SELECT i, ARRAY[i % 7, (i % 11) - 5, i % 3]::vector(3) AS v FROM generate_series(1, 200000) i;
ANALYZE agg_big;
SET max_parallel_workers_per_gather = 2;
SET parallel_setup_cost = 0;
SET parallel_tuple_cost = 0;
SET min_parallel_table_scan_size = 0;
EXPLAIN (COSTS OFF) SELECT avg(v), sum(v) FROM agg_big;
SELECT avg(v), sum(v) FROM agg_big;
RESET max_parallel_workers_per_gather;
RESET parallel_setup_cost;
RESET parallel_tuple_cost;
RESET min_parallel_table_scan_size;
SET max_parallel_workers_per_gather = 0;
SELECT avg(v), sum(v) FROM agg_big;
RESET max_parallel_workers_per_gather;
DROP TABLE agg_big;

-- the state functions are callable from SQL: a state they are handed is checked
SELECT vector_avg('{0}');                                  -- no rows: NULL
SELECT vector_avg('{2,4,6}');                              -- two rows summing to [4,6]
SELECT vector_avg('{1}');                                  -- a row count without sums
SELECT vector_avg('{0,1,2}');                              -- no rows yet, 2 dimensions: NULL, as pgvector
SELECT vector_avg('{1.5,1}');                              -- a row count that is no count
SELECT vector_avg('{-1,1}');
SELECT vector_avg('{}');
SELECT vector_avg(array_fill(1::float8, ARRAY[16002]));    -- 16,001 sums: too many dimensions
SELECT vector_dims(vector_avg(array_fill(1::float8, ARRAY[16001])));  -- 16,000: the limit
SELECT vector_combine('{1,1,2}', '{1,1}');                 -- dimensions differ
SELECT vector_combine(array_fill(1::float8, ARRAY[16002]), array_fill(1::float8, ARRAY[16002]));
SELECT vector_combine('{0}', '{3}');
SELECT vector_combine('{1,1,2}', '{2,3,4}');
SELECT vector_accum('{1}', '[1,2]');
SELECT vector_accum(array_fill(1::float8, ARRAY[16002]), '[1]');
SELECT vector_accum('{0}', '[1,2]');
SELECT vector_accum('{0,0,0}', '[1,2]');                  -- no rows yet, 2 dimensions: as pgvector
SELECT vector_accum('{0,0}', '[1,2]');                    -- 1 dimension, not 2
SELECT vector_combine('{0,0,0}', '{1,1,2}');
