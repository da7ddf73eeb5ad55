#!/bin/bash
# insert-floor.sh: what one client's insert into a 1M x 128 hnsw index (m 16, ef_construction 64)
# costs, against what it cannot avoid. On the second cluster of pm.sh (port 54350, table pm with
# its hnsw index pm_idx, pm_extra: new rows of the same generation, ids from 1,000,000), each
# step 50 s of pgbench from 1 client, one row per transaction, reported in 10 s intervals; the
# rate is the mean of the last four (a new backend first pays page faults on shared_buffers):
#   0. SELECT 1: the round trip;
#   1. INSERT into pm_noidx, the same columns without an index: heap, WAL, commit, round trip;
#   2. the hnsw search an insert makes: a query at ef_search 64 (= ef_construction), LIMIT 10;
#   3. INSERT into pm: all of it.
B=/usr/lib/postgresql/15/bin
P="$B/psql -h 127.0.0.1 -p 54350 -U postgres -Atq"
PGB="$B/pgbench -n -h 127.0.0.1 -p 54350 -U postgres -c 1 -j 1"
D=$(mktemp -d)
cat > $D/noidx.sql <<'SQL'
WITH n AS (SELECT nextval('noidx_next') AS id)
INSERT INTO pm_noidx (id, embedding) SELECT e.id, e.embedding FROM pm_extra e, n WHERE e.id = n.id;
SQL
cat > $D/ins.sql <<'SQL'
WITH n AS (SELECT nextval('pm_next') AS id)
INSERT INTO pm (id, embedding) SELECT e.id, e.embedding FROM pm_extra e, n WHERE e.id = n.id;
SQL
# query vectors: rows of pm_extra that no step inserts (ids 1,200,000 and up)
cat > $D/q.sql <<'SQL'
\set k random(1200000, 1229999)
SET vecsearch.ef_search = 64;
SELECT id FROM pm ORDER BY embedding <-> (SELECT embedding FROM pm_extra WHERE id = :k) LIMIT 10;
SQL
$P -c "CREATE TABLE IF NOT EXISTS pm_noidx (id int, embedding vector(128))" \
   -c "CREATE SEQUENCE IF NOT EXISTS noidx_next" -c "SELECT setval('noidx_next', 1000000, false)" \
   -c "TRUNCATE pm_noidx" -c "SELECT pg_prewarm('pm_idx')" -c "SELECT pg_prewarm('pm')" -c "CHECKPOINT" >/dev/null
step() {
  $PGB -T 50 -P 10 -f $D/$2 postgres 2>&1 | grep "^progress" > $D/p
  echo "$1: $(awk '{print $4}' $D/p | tr '\n' ' ')tps per 10 s; last four: $(tail -4 $D/p | awk '{t+=$4; l+=$7} END {printf "%.1f tps, %.3f ms", t/4, l/4}')"
}
echo "SELECT 1;" > $D/one.sql
step "0 SELECT 1" one.sql
step "1 insert without index" noidx.sql
step "2 query at ef_search 64" q.sql
step "3 insert with hnsw" ins.sql
step "3 insert with hnsw, again" ins.sql
rm -rf $D
