# past-memory build: 1M x 128 (insert_bench's first 1M rows), leader + 1 worker, in memory vs a quarter of the graph
P="/tmp/alt/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p 54350 -U postgres -Atq"
$P -c "DROP TABLE IF EXISTS pm" -c "CREATE TABLE pm AS SELECT id, embedding FROM insert_bench WHERE id < 1000000" -c "ALTER TABLE pm SET (parallel_workers = 1)" -c "VACUUM ANALYZE pm" -c "SELECT count(*) FROM pm"
for mem in 2GB 223MB; do
  $P -c "DROP INDEX IF EXISTS pm_idx" -c "CHECKPOINT" >/dev/null
  t0=$(date +%s.%N)
  out=$($P -c "SET maintenance_work_mem = '$mem'" -c "SET max_parallel_maintenance_workers = 1" -c "CREATE INDEX pm_idx ON pm USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)" 2>&1 | grep -E "NOTICE|DETAIL" | tr '\n' ' ')
  t1=$(date +%s.%N)
  echo "mem $mem: $(echo "$t1 - $t0" | bc) s; $out"
  $P -c "SELECT count(*) FROM vecsearch_verify('pm_idx')" -c "SELECT pg_size_pretty(pg_relation_size('pm_idx'))"
done
