#!/bin/bash
# 10M x 96 built in parts at maintenance_work_mem 2GB (the graph needs about 7.3 GB), leader + 1 worker
psql -h 127.0.0.1 -p 54350 -U postgres -qAt <<SQL 2>&1 | sed "s/^/parts10m 2GB: /"
SET maintenance_work_mem = '2GB';
SET max_parallel_maintenance_workers = 1;
SET client_min_messages = debug1;
DROP INDEX IF EXISTS big10m_idx;
CHECKPOINT;
\timing on
CREATE INDEX big10m_idx ON big10m USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
\timing off
SELECT 'index bytes ' || pg_relation_size('big10m_idx');
SQL
