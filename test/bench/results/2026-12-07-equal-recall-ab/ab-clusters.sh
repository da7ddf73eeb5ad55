#!/bin/bash
# ab-clusters.sh start|stop: server A (system PostgreSQL, port 54360) and B (the copy under
# /tmp/alt, port 54361), shared_buffers 2GB each, leader + 1 worker for builds, jit off
set -e
for side in a b; do
  if [ $side = a ]; then B=/usr/lib/postgresql/15/bin; P=54360; else B=/tmp/alt/usr/lib/postgresql/15/bin; P=54361; fi
  C=/tmp/ab-cluster-$side
  case "$1" in
  start)
    rm -rf $C; mkdir -p $C; chown postgres $C
    su postgres -c "$B/initdb -D $C -A trust >/dev/null"
    cat >> $C/postgresql.conf <<CONF
port = $P
listen_addresses = '127.0.0.1'
shared_buffers = 2GB
max_parallel_maintenance_workers = 1
jit = off
max_wal_size = 10GB
CONF
    su postgres -c "$B/pg_ctl -D $C -l $C/log -w start >/dev/null" ;;
  stop)
    su postgres -c "$B/pg_ctl -D $C -w stop >/dev/null" || true ;;
  esac
done
