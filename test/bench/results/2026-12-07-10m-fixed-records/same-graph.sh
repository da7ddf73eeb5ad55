#!/bin/bash
# usage: same-graph.sh OUTFILE (the second cluster of pm.sh, with its table pm loaded)
# serial build of 200k rows, then top-10 of 200 queries at ef_search 40: same graph => same output
P=54350
psql -h 127.0.0.1 -p $P -U postgres -qAt <<SQL
CREATE TABLE IF NOT EXISTS pm200 AS SELECT * FROM pm WHERE id < 200000;
SET max_parallel_maintenance_workers = 0;
SET maintenance_work_mem = '1GB';
DROP INDEX IF EXISTS pm200_idx;
\timing on
CREATE INDEX pm200_idx ON pm200 USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
\timing off
SELECT pg_relation_size('pm200_idx');
SQL
psql -h 127.0.0.1 -p $P -U postgres -qAt > $1 <<SQL
SET vecsearch.ef_search = 40;
SELECT q.id, (SELECT string_agg(id::text, ',') FROM (SELECT id FROM pm200 ORDER BY embedding <-> q.embedding LIMIT 10) t) FROM pm q WHERE q.id BETWEEN 500000 AND 500199 ORDER BY q.id;
SQL
md5sum $1
