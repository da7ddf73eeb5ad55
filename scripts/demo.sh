#!/usr/bin/env bash
# vecsearch demo: nearest-neighbour search over Fashion-MNIST (60,000 real 28x28 clothing images,
# 784-dimensional vectors) inside PostgreSQL.
#
#   bash scripts/demo.sh          # as root, or as a user with sudo, on Debian 12
#
# Installs the dependencies, builds and installs the extension, starts a local cluster on
# 127.0.0.1:${VS_PORT:-54329} (left running afterwards), loads the data into the database
# vecsearch_demo, builds an ivf and an hnsw index, times a batch of queries on each (p50/p99
# and recall@10 against exact search) and shows some nearest neighbours. Re-running reloads
# the data.
#
# Environment: VS_SKIP_DEPS=1 (skip apt), VS_PORT, VS_CLUSTER_DIR (see scripts/cluster.sh),
# VS_DEMO_QUERIES (test image ids to show, default "0 1 2"), VS_DEMO_TIMED (test images timed,
# default 200), VS_PGVECTOR_COMPAT=1 (install vecsearch also as extension `vector` and use
# that name, as a pgvector application would).
set -euo pipefail

REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$REPO"

PGBIN=/usr/lib/postgresql/15/bin
PY=/usr/bin/python3               # Debian's python, not whatever python3 is first on PATH
LOADER="$REPO/scripts/load_fashion_mnist.py"
DB=vecsearch_demo
export VS_CLUSTER_DIR=${VS_CLUSTER_DIR:-/tmp/vecsearch-cluster}
export VS_PORT=${VS_PORT:-54329}
QUERIES=${VS_DEMO_QUERIES:-"0 1 2"}
K=10
TIMED=${VS_DEMO_TIMED:-200}
# The indexes, and what a query reads of each: 60 lists for 60,000 images, of which 4 probes
# find about 99% of the true 10 nearest; hnsw at m = 16, ef_search 40 (test/bench).
IVF_SQL="CREATE INDEX fashion_items_ivf ON fashion_items USING ivf (embedding vector_l2_ops) WITH (lists = 60)"
HNSW_SQL="CREATE INDEX fashion_items_hnsw ON fashion_items USING hnsw (embedding vector_l2_ops) WITH (m = 16, ef_construction = 64)"
NPROBE=4
EF_SEARCH=40

if [ -t 1 ]; then B=$'\033[1m'; R=$'\033[0m'; else B=; R=; fi
step() { printf '\n%s==> %s%s\n' "$B" "$*" "$R"; }
if [ "$(id -u)" -eq 0 ]; then SUDO=(); else SUDO=(sudo); fi
LOG=$(mktemp /tmp/vecsearch-demo.XXXXXX.log)
T0=$SECONDS

# quiet: run a command with its output in $LOG; on failure show the end of it and stop.
quiet() {
	if ! "$@" >>"$LOG" 2>&1; then
		echo "demo.sh: '$*' failed; last lines of $LOG:" >&2
		tail -n 40 "$LOG" >&2
		exit 1
	fi
}
sql() { "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$VS_PORT" -U postgres -d "$DB" "$@"; }
sql_value() { sql -At -c "$1"; }

# ---------------------------------------------------------------- setup
if [ "${VS_SKIP_DEPS:-0}" != 1 ]; then
	step "Installing Debian packages (PostgreSQL 15, compilers, dataset-fashion-mnist)"
	quiet bash "$REPO/scripts/install-deps.sh"
fi

step "Building and installing the vecsearch extension"
quiet make PG_CONFIG="$PGBIN/pg_config" -j"$(nproc)"
quiet "${SUDO[@]}" make PG_CONFIG="$PGBIN/pg_config" install
EXT=vecsearch
if [ "${VS_PGVECTOR_COMPAT:-0}" = 1 ]; then
	quiet "${SUDO[@]}" make PG_CONFIG="$PGBIN/pg_config" install-pgvector-compat
	EXT=vector
fi
echo "installed into $("$PGBIN/pg_config" --pkglibdir)"

step "Starting a local PostgreSQL 15 cluster"
# room for the table and both indexes (about 650 MB) in shared buffers, as on a server sized
# for its data; a cluster kept from an earlier run keeps its settings
VS_EXTRA_CONF="shared_buffers = 1GB" VS_KEEP=1 bash "$REPO/scripts/cluster.sh" start

step "Loading Fashion-MNIST into database '$DB'"
if ! [ -r "${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}/train-images-idx3-ubyte.gz" ]; then
	echo "demo.sh: Fashion-MNIST not found; install it with: apt-get install dataset-fashion-mnist" >&2
	exit 1
fi
PGOPTIONS='-c client_min_messages=warning' "$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
	-p "$VS_PORT" -U postgres -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
sql -c "CREATE EXTENSION $EXT"
echo "CREATE EXTENSION $EXT"
sql <<'EOF'
CREATE TABLE fashion_labels (label int PRIMARY KEY, name text NOT NULL);
CREATE TABLE fashion_items (id int PRIMARY KEY, label int NOT NULL, embedding vector(784) NOT NULL);
CREATE TABLE fashion_queries (id int PRIMARY KEY, label int NOT NULL, embedding vector(784) NOT NULL);
-- 784 floats (3 KB) would be moved to TOAST by the type's default EXTERNAL storage; PLAIN keeps
-- each vector in its heap row, so a scan reads it without a TOAST lookup (about 2x faster here)
ALTER TABLE fashion_items ALTER COLUMN embedding SET STORAGE PLAIN;
ALTER TABLE fashion_queries ALTER COLUMN embedding SET STORAGE PLAIN;
EOF
"$PY" "$LOADER" labels | sql -c '\copy fashion_labels (label, name) from pstdin'
t=$SECONDS
"$PY" "$LOADER" copy train | sql -c '\copy fashion_items (id, label, embedding) from pstdin'
echo "fashion_items:   $(sql_value 'SELECT count(*) FROM fashion_items') training images ($((SECONDS - t))s)"
"$PY" "$LOADER" copy test --limit 1000 | sql -c '\copy fashion_queries (id, label, embedding) from pstdin'
echo "fashion_queries: $(sql_value 'SELECT count(*) FROM fashion_queries') test images (the first 1,000 of 10,000)"
for ddl in "$IVF_SQL" "$HNSW_SQL"; do
	t=$SECONDS
	sql -c "$ddl"
	echo "built in $((SECONDS - t))s: $ddl"
done
sql -c "ALTER DATABASE $DB SET vecsearch.nprobe = $NPROBE" -c "ALTER DATABASE $DB SET vecsearch.ef_search = $EF_SEARCH"
echo "queries read $NPROBE ivf lists and keep $EF_SEARCH hnsw candidates (ALTER DATABASE $DB SET ...)"
sql -c 'VACUUM ANALYZE'
# what a running server keeps in memory: the table and both indexes, read once now
sql -c 'CREATE EXTENSION pg_prewarm' -c "SELECT sum(pg_prewarm(c)) FROM unnest(ARRAY['fashion_items',
	'fashion_items_ivf', 'fashion_items_hnsw']::regclass[]) c" >/dev/null
size() { sql_value "SELECT pg_size_pretty(pg_relation_size('$1'))"; }
echo "table $(size fashion_items) (vectors in the row: STORAGE PLAIN), ivf index $(size fashion_items_ivf)," \
	"hnsw index $(size fashion_items_hnsw), all prewarmed; SIMD kernels: $(sql_value 'SELECT vecsearch_simd()')"

# ---------------------------------------------------------------- speed and recall
step "Speed and recall: the $K nearest training images of $TIMED test images, per index"
# Each search runs inside the server as a prepared statement (a PL/pgSQL loop) timed with
# clock_timestamp(): the index's own cost, without a client's round trip (about 0.05 ms over
# loopback). Exact search (no index) gives the true neighbours; recall@10 is the share of
# them an index finds. A query uses the index the planner picks, so each index is timed on
# its own: the other is dropped in a transaction that is rolled back.
sql -v n="$TIMED" <<'EOF'
CREATE FUNCTION demo_knn(n int, OUT query_id int, OUT ids int[], OUT ms float8)
RETURNS SETOF record LANGUAGE plpgsql AS $$
DECLARE
	q vector;
	t0 timestamptz;
BEGIN
	FOR query_id, q IN SELECT id, embedding FROM fashion_queries WHERE id < n ORDER BY id LOOP
		t0 := clock_timestamp();
		SELECT array_agg(id) INTO ids
		  FROM (SELECT id FROM fashion_items ORDER BY embedding <-> q LIMIT 10) nn;
		ms := 1000 * extract(epoch FROM clock_timestamp() - t0);
		RETURN NEXT;
	END LOOP;
END $$;
-- the true neighbours, from exact search
SET enable_indexscan = off;
CREATE TABLE demo_exact AS SELECT query_id, ids FROM demo_knn(:n);
RESET enable_indexscan;
-- p50 / p99 per query and recall@10 against them
CREATE FUNCTION demo_report(label text, n int)
RETURNS TABLE (method text, p50_ms numeric, p99_ms numeric, recall10 numeric)
LANGUAGE sql AS $$
	SELECT label,
	       round(percentile_cont(0.5) WITHIN GROUP (ORDER BY r.ms)::numeric, 3),
	       round(percentile_cont(0.99) WITHIN GROUP (ORDER BY r.ms)::numeric, 3),
	       round(avg((SELECT count(*) FROM unnest(r.ids) i WHERE i = ANY (e.ids)) / 10.0), 4)
	FROM demo_knn(n) r JOIN demo_exact e USING (query_id)
$$;
EOF
time_method() {	# label, what sets the other index aside (or turns indexes off)
	sql -At -F '|' -v n="$TIMED" -v label="$1" <<-EOF
	BEGIN;
	$2;
	SELECT count(*) FROM demo_knn(:n) \g /dev/null
	SELECT * FROM demo_report(:'label', :n);
	ROLLBACK;
	EOF
}
{
	echo "search|p50 ms|p99 ms|recall@10"
	time_method "ivf, nprobe $NPROBE" "DROP INDEX fashion_items_hnsw"
	time_method "hnsw, ef_search $EF_SEARCH" "DROP INDEX fashion_items_ivf"
	time_method "exact (no index)" "SET LOCAL enable_indexscan = off"
} | awk -F '|' '{ printf "  %-22s %8s %8s %10s\n", $1, $2, $3, $4 }'
echo "(per query, measured inside the server on this machine just now; they vary from run to run)"

# ---------------------------------------------------------------- queries
for qid in $QUERIES; do
	qlabel=$(sql_value "SELECT l.name FROM fashion_queries q JOIN fashion_labels l USING (label) WHERE q.id = $qid")
	step "Test image #$qid, label ${qlabel:-?}: the $K nearest training images by L2 distance (<->)"
	# The query a user would write: ORDER BY embedding <-> query LIMIT k, the form an index can serve.
	sql -v qid="$qid" -v k="$K" <<-'EOF'
	\pset footer off
	SELECT row_number() OVER (ORDER BY nn.distance) AS rank,
	       nn.id AS item_id,
	       l.name AS label,
	       round(nn.distance::numeric, 1) AS distance
	FROM (SELECT i.id, i.label,
	             i.embedding <-> (SELECT embedding FROM fashion_queries WHERE id = :qid) AS distance
	      FROM fashion_items i
	      ORDER BY distance
	      LIMIT :k) nn
	JOIN fashion_labels l USING (label)
	ORDER BY nn.distance;
	EOF
	nn=$(sql_value "SELECT i.id FROM fashion_items i
	                ORDER BY i.embedding <-> (SELECT embedding FROM fashion_queries WHERE id = $qid) LIMIT 1")
	nnlabel=$(sql_value "SELECT l.name FROM fashion_items i JOIN fashion_labels l USING (label) WHERE i.id = $nn")
	echo
	sql_value "SELECT embedding::text FROM fashion_queries WHERE id = $qid
	           UNION ALL SELECT embedding::text FROM fashion_items WHERE id = $nn" |
		"$PY" "$LOADER" ascii --title "query: test #$qid" --title "nearest: train #$nn" \
			--subtitle "$qlabel" --subtitle "$nnlabel"
done

# ---------------------------------------------------------------- quality
step "How good is it? 1-NN classification of the first 100 test images"
t=$SECONDS
read -r hits total < <(sql -At -F ' ' <<-'EOF'
	SELECT count(*) FILTER (WHERE q.label = nn.label), count(*)
	FROM (SELECT * FROM fashion_queries WHERE id < 100) q
	CROSS JOIN LATERAL (SELECT i.label FROM fashion_items i
	                    ORDER BY i.embedding <-> q.embedding LIMIT 1) nn;
	EOF
)
secs=$((SECONDS - t))
awk -v h="$hits" -v n="$total" -v s="$secs" 'BEGIN {
	printf "%d of %d test images have a nearest neighbour with the same label: accuracy %.2f\n", h, n, h / n
	printf "(%d searches over 60,000 images in %ds. Reference, computed apart with numpy: exact\n", n, s
	printf " 1-NN by L2 on raw pixels gets 0.85 on these 100 and 0.850 on all 10,000 test images.)\n"
}'

# ---------------------------------------------------------------- done
step "Done in $((SECONDS - T0))s. The cluster is still running:"
again=""
[ "$VS_CLUSTER_DIR" = /tmp/vecsearch-cluster ] || again+="VS_CLUSTER_DIR=$VS_CLUSTER_DIR "
[ "$VS_PORT" = 54329 ] || again+="VS_PORT=$VS_PORT "
cat <<EOF
  connect:  $PGBIN/psql -h 127.0.0.1 -p $VS_PORT -U postgres $DB
       or:  ${again}bash scripts/cluster.sh psql -d $DB
  try:      SELECT id, label, embedding <-> (SELECT embedding FROM fashion_queries WHERE id = 7) AS d
            FROM fashion_items ORDER BY d LIMIT 5;
  stop it (and delete its data):  ${again}bash scripts/cluster.sh stop
EOF
rm -f "$LOG"
