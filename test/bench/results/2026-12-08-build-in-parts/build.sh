#!/bin/bash
# usage: [TABLE=pm] [VERIFY=1] build.sh LABEL MEM WORKERS
# CREATE INDEX ${TABLE}_idx on the second cluster's table (port 54350; `pm`: 1M x 128,
# ../2026-12-07-10m-fixed-records/pm.sh setup; `big10m`: 10m/load.py), m 16,
# ef_construction 64, timed, with the build's DEBUG1 lines, then the index's size and (unless
# VERIFY=0) vecsearch_verify's problem count.
T=${TABLE:-pm}
VERIFY_SQL="SELECT 'verify problems ' || count(*) FROM vecsearch_verify('${T}_idx');"
[ "${VERIFY:-1}" = 0 ] && VERIFY_SQL=
psql -h 127.0.0.1 -p 54350 -U postgres -qAt <<SQL 2>&1 | sed "s/^/$1 $2 workers=$3: /"
SET maintenance_work_mem = '$2';
SET max_parallel_maintenance_workers = $3;
SET client_min_messages = debug1;
DROP INDEX IF EXISTS ${T}_idx;
CHECKPOINT;
\timing on
CREATE INDEX ${T}_idx ON $T USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
\timing off
SELECT 'index bytes ' || pg_relation_size('${T}_idx');
$VERIFY_SQL
SQL
