# bab.sh REPO LABEL: installs REPO into alt, builds pm_idx (1M x 128) in memory with leader + 1 worker, prints the time
P="/tmp/alt/usr/lib/postgresql/15/bin/psql -h 127.0.0.1 -p 54350 -U postgres -Atq"
bash /tmp/s26/alt.sh install $1 >/dev/null
$P -c "DROP INDEX IF EXISTS pm_idx" -c "CHECKPOINT" >/dev/null
t0=$(date +%s.%N)
$P -c "SET maintenance_work_mem = '2GB'" -c "SET max_parallel_maintenance_workers = 1" -c "CREATE INDEX pm_idx ON pm USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)"
t1=$(date +%s.%N)
echo "$2: $(echo "$t1 - $t0" | bc) s"
