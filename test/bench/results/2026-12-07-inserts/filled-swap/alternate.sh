# ab.sh REPO LABEL: installs REPO's build into the alt tree, then inserts into insert_bench (1M) from 1 and 4 clients
A=/tmp/alt/usr/lib/postgresql/15/bin
bash /tmp/s26/alt.sh install $1 >/dev/null
P="$A/psql -h 127.0.0.1 -p 54350 -U postgres -Atq"
$P -c "DELETE FROM insert_bench WHERE id >= 1000000" -c "VACUUM insert_bench" -c "SELECT setval('insert_bench_next', 1000000)" -c "CREATE EXTENSION IF NOT EXISTS pg_prewarm" -c "SELECT pg_prewarm('insert_bench_idx')" >/dev/null
S=/tmp/s27/insert.sql
cat > $S <<SQL
WITH n AS (SELECT nextval('insert_bench_next') AS id)
INSERT INTO insert_bench (id, embedding) SELECT e.id, e.embedding FROM insert_bench_extra e, n WHERE e.id = n.id;
SQL
r1=$($A/pgbench -n -h 127.0.0.1 -p 54350 -U postgres -c 1 -j 1 -t 4000 -f $S postgres 2>&1 | grep -o "tps = [0-9.]*")
r4=$($A/pgbench -n -h 127.0.0.1 -p 54350 -U postgres -c 4 -j 4 -t 2000 -f $S postgres 2>&1 | grep -o "tps = [0-9.]*")
echo "$2: 1 client $r1 | 4 clients $r4"
