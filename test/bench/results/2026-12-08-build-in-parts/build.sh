#!/bin/bash
# usage: build.sh LABEL MEM WORKERS
# CREATE INDEX on the 1M x 128 table `pm` of the second cluster (../2026-12-07-10m-fixed-records/pm.sh
# setup: port 54350), m 16, ef_construction 64, timed, with the build's DEBUG1 lines.
psql -h 127.0.0.1 -p 54350 -U postgres -qAt <<SQL 2>&1 | sed "s/^/$1 $2 workers=$3: /"
SET maintenance_work_mem = '$2';
SET max_parallel_maintenance_workers = $3;
SET client_min_messages = debug1;
DROP INDEX IF EXISTS pm_idx;
CHECKPOINT;
\timing on
CREATE INDEX pm_idx ON pm USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
\timing off
SELECT 'index bytes ' || pg_relation_size('pm_idx');
SELECT 'verify problems ' || count(*) FROM vecsearch_verify('pm_idx');
SQL
