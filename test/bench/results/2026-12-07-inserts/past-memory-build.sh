# pastmem.sh: hnsw builds of insert_bench (1M x 128) in memory and with a quarter of the graph's memory
P="psql -h 127.0.0.1 -p 54340 -U postgres -At"
$P -c "DELETE FROM insert_bench WHERE id >= 1000000" -c "VACUUM ANALYZE insert_bench" >/dev/null
for cfg in "4GB 1" "180MB 1"; do
  set -- $cfg
  $P -c "DROP INDEX IF EXISTS pm_idx" -c "CHECKPOINT" >/dev/null
  s=$(date +%s.%N)
  $P -c "SET maintenance_work_mem = '$1'" -c "SET max_parallel_maintenance_workers = $2" -c "SET client_min_messages = notice" \
     -c "CREATE INDEX pm_idx ON insert_bench USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)" 2>&1 | grep -E "NOTICE|DETAIL|HINT|ERROR"
  e=$(date +%s.%N)
  echo "mwm $1 workers $2: $(echo "$e - $s" | bc) s, index $($P -c "SELECT pg_size_pretty(pg_relation_size('pm_idx'))")"
done
