#!/bin/bash
# ab-clusters.sh start|stop: the two servers of ab_interleaved.py, through scripts/cluster.sh:
# A is the system's PostgreSQL (port 54360), B the copy under /tmp/alt with the other build
# (port 54361); shared_buffers 2GB each, leader + 1 worker for builds, jit off. Run from the
# repository root. (Session 30 ran an earlier form of this script that called initdb and pg_ctl
# itself with the same settings.)
set -e
conf='shared_buffers = 2GB
max_parallel_maintenance_workers = 1
jit = off
max_wal_size = 10GB'
for side in a b; do
  bin=/usr/lib/postgresql/15/bin; port=54360
  if [ $side = b ]; then bin=/tmp/alt/usr/lib/postgresql/15/bin; port=54361; fi
  VS_PGBIN=$bin VS_PORT=$port VS_CLUSTER_DIR=/tmp/ab-cluster-$side VS_EXTRA_CONF="$conf" \
    bash scripts/cluster.sh "$1" >/dev/null
done
