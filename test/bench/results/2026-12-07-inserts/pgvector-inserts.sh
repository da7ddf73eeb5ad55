# pgvins.sh: pgvector 0.8.6's hnsw on insert_bench's first 1M rows (database pgv, second cluster), then 3,000 new rows from 1 client, twice
A=/tmp/alt/usr/lib/postgresql/15/bin
P="$A/psql -h 127.0.0.1 -p 54350 -U postgres -Atq"
$P -c "DROP DATABASE IF EXISTS pgv" -c "CREATE DATABASE pgv"
Q="$P -d pgv"
$Q -c "CREATE EXTENSION pgvector" -c "CREATE TABLE pgv (id bigint, embedding vector(128))" -c "CREATE TABLE pgv_extra (id bigint PRIMARY KEY, embedding vector(128))" -c "CREATE SEQUENCE pgv_next" -c "ALTER TABLE pgv SET (parallel_workers = 1)"
$P -c "COPY (SELECT id, embedding::text FROM insert_bench WHERE id < 1000000) TO STDOUT" | $Q -c "COPY pgv FROM STDIN"
$P -c "COPY (SELECT id, embedding::text FROM insert_bench_extra) TO STDOUT" | $Q -c "COPY pgv_extra FROM STDIN"
$Q -c "VACUUM ANALYZE pgv" -c "SELECT count(*) FROM pgv" -c "SELECT count(*) FROM pgv_extra"
t0=$(date +%s.%N)
$Q -c "SET maintenance_work_mem = '2GB'" -c "SET max_parallel_maintenance_workers = 1" -c "CREATE INDEX pgv_idx ON pgv USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)"
echo "pgvector build: $(echo "$(date +%s.%N) - $t0" | bc) s"
cat > /tmp/s28/pgvins.sql <<SQL
WITH n AS (SELECT nextval('pgv_next') AS id)
INSERT INTO pgv (id, embedding) SELECT e.id, e.embedding FROM pgv_extra e, n WHERE e.id = n.id;
SQL
$Q -c "SELECT setval('pgv_next', 1000000)" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" -c "SELECT pg_prewarm('pgv_idx')" -c CHECKPOINT >/dev/null
for i in 1 2; do
  $A/pgbench -n -h 127.0.0.1 -p 54350 -U postgres -c 1 -j 1 -t 3000 -f /tmp/s28/pgvins.sql pgv 2>&1 | grep -o "tps = [0-9.]*" | sed "s/^/pgvector run $i: /"
  $Q -c "DELETE FROM pgv WHERE id >= 1000000" -c "VACUUM (INDEX_CLEANUP on) pgv" -c "SELECT setval('pgv_next', 1000000)" -c CHECKPOINT >/dev/null
done
