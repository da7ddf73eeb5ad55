# inserts-after-checkpoint.sh REPO LABEL [N] (session 28's ab.sh): installs REPO into the second
# PostgreSQL tree (/tmp/alt, cluster on port 54350, made by session 26's alt.sh); N distinct new rows into insert_bench (1M) from 1 client, after DELETE + VACUUM (index cleanup on) + CHECKPOINT
A=/tmp/alt/usr/lib/postgresql/15/bin
N=${3:-5000}
bash /tmp/s26/alt.sh install $1 | grep -q installed || { echo "INSTALL FAILED: $1"; exit 1; }
P="$A/psql -h 127.0.0.1 -p 54350 -U postgres -Atq"
S=$(mktemp)
cat > $S <<SQL
WITH n AS (SELECT nextval('insert_bench_next') AS id)
INSERT INTO insert_bench (id, embedding) SELECT e.id, e.embedding FROM insert_bench_extra e, n WHERE e.id = n.id;
SQL
$P -c "DELETE FROM insert_bench WHERE id >= 1000000" -c "VACUUM (INDEX_CLEANUP on) insert_bench" -c "SELECT setval('insert_bench_next', 1000000)" -c "SELECT pg_prewarm('insert_bench_idx')" -c "CHECKPOINT" >/dev/null
w0=$($P -c "select wal_fpi||' '||wal_bytes from pg_stat_wal")
r1=$($A/pgbench -n -h 127.0.0.1 -p 54350 -U postgres -c 1 -j 1 -t $N -f $S postgres 2>&1 | grep -o "tps = [0-9.]*")
w1=$($P -c "select wal_fpi||' '||wal_bytes from pg_stat_wal")
echo "$2: 1 client $r1 | fpi/bytes per row $(python3 -c "
a='$w0'.split();b='$w1'.split();print('%.1f %.0f'%((int(b[0])-int(a[0]))/$N,(int(b[1])-int(a[1]))/$N))")"
