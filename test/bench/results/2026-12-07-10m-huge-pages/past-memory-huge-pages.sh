# past-memory build with huge pages: pm (1M x 128), leader + 1 worker, 1GB (in memory) then 223MB (a quarter)
P="/tmp/alt/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p 54350 -U postgres -Atq"
$P -c "SHOW huge_pages" -c "SHOW min_dynamic_shared_memory"
for mem in 1GB 223MB; do
  $P -c "DROP INDEX IF EXISTS pm_idx" -c "CHECKPOINT" >/dev/null 2>&1
  t0=$(date +%s.%N)
  out=$($P -c "SET maintenance_work_mem = '$mem'" -c "SET max_parallel_maintenance_workers = 1" -c "CREATE INDEX pm_idx ON pm USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)" 2>&1 | grep -E "NOTICE|DETAIL|ERROR" | tr '\n' ' ')
  t1=$(date +%s.%N)
  echo "mem $mem: $(echo "$t1 - $t0" | bc) s; $out; /dev/shm segments over 10MB: $(ls -la /dev/shm | awk '$5 > 10000000' | wc -l)"
  $P -c "SELECT count(*) FROM vecsearch_verify('pm_idx')"
done
