#!/bin/bash
# usage: pm.sh setup | run LABEL MEM   (1M x 128 on a second cluster, port 54350, leader + 1 worker)
set -e
PGB=/usr/lib/postgresql/15/bin
C=${PM_CLUSTER:-/tmp/pmcluster}
P=54350
case "$1" in
setup)
  rm -rf $C; mkdir -p $C; chown postgres $C
  su postgres -c "$PGB/initdb -D $C -A trust >/dev/null"
  cat >> $C/postgresql.conf <<CONF
port = $P
listen_addresses = '127.0.0.1'
shared_buffers = 3GB
max_parallel_maintenance_workers = 1
max_wal_size = 20GB
checkpoint_timeout = 30min
jit = off
CONF
  su postgres -c "$PGB/pg_ctl -D $C -l $C/log -w start >/dev/null"
  cd /work/main/test/bench && /usr/bin/python3 - <<PY
import sys; sys.path.insert(0,'.')
from vsbench import synthetic, pg
base, q = synthetic.generate(1_000_000, 128, seed=1234, n_queries=1000, metric='l2')
conn = pg.connect("host=127.0.0.1 port=$P user=postgres dbname=postgres")
conn.autocommit = True
conn.cursor().execute("CREATE EXTENSION IF NOT EXISTS vecsearch")
pg.load_table(conn, "pm", base)
conn.cursor().execute("VACUUM ANALYZE pm")
print("loaded")
PY
  ;;
restart)
  su postgres -c "$PGB/pg_ctl -D $C -l $C/log -w restart >/dev/null" ;;
run)
  LABEL=$2; MEM=$3
  psql -h 127.0.0.1 -p $P -U postgres -qAt <<SQL 2>&1 | sed "s/^/$LABEL $MEM: /"
SET maintenance_work_mem = '$MEM';
SET max_parallel_maintenance_workers = 1;
DROP INDEX IF EXISTS pm_idx;
CHECKPOINT;
\timing on
CREATE INDEX pm_idx ON pm USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64);
\timing off
SELECT pg_relation_size('pm_idx');
SQL
  ;;
esac
