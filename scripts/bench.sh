#!/usr/bin/env bash
# The benchmark in one command: installs what it needs, builds and installs vecsearch, starts a
# throwaway cluster sized for the data (127.0.0.1:54331), runs test/bench/ann_bench.py, stops it.
#
#   bash scripts/bench.sh                      # full: Fashion-MNIST, GloVe-100, SIFT10K, 1M synthetic
#   bash scripts/bench.sh --quick              # smoke test (a minute): SIFT10K, short sweeps, recall floors
#   bash scripts/bench.sh --datasets glove-100 --methods 'exact|faiss-flat'   # any ann_bench.py options
#   bash scripts/bench.sh --datasets synthetic-10m-96   # the 10M benchmark (about 1.5 hours; 3.9 GB of
#                                              # data cached in test/bench/data/cache or $VS_BENCH_DATA)
#
# Results go to test/bench/results/<date>/ (README.md table, results.jsonl, one PNG per data set)
# unless --out is given. VS_SKIP_DEPS=1 skips the package step; VS_BENCH_PORT picks the port;
# VS_BENCH_CONF adds postgresql.conf lines.
# VS_PGVECTOR_SRC=<pgvector git clone> measures pgvector 0.8.6 in the same run (scripts/pgvector.sh);
# without it, the pgvector methods are reported as skipped.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export VS_BENCH_COMMAND="bash scripts/bench.sh $*"

quick=0
out=""
args=()
while [ $# -gt 0 ]; do
	case "$1" in
		--quick) quick=1; args+=("$1") ;;
		--out) out=$2; shift ;;
		*) args+=("$1") ;;
	esac
	shift
done
if [ -z "$out" ]; then
	if [ $quick = 1 ]; then out=$(mktemp -d /tmp/vecsearch-bench-quick.XXXXXX); else out=test/bench/results/$(date -u +%Y-%m-%d); fi
fi

if [ "${VS_SKIP_DEPS:-0}" != 1 ]; then
	bash scripts/install-deps.sh
fi
make -s
if [ "$(id -u)" = 0 ]; then make -s install >/dev/null; else sudo make -s install >/dev/null; fi
if [ -n "${VS_PGVECTOR_SRC:-}" ]; then
	bash scripts/pgvector.sh
else
	echo "pgvector: VS_PGVECTOR_SRC is not set; its methods are skipped unless an earlier run installed it"
fi

export VS_PORT=${VS_BENCH_PORT:-54331}
export VS_CLUSTER_DIR=${VS_BENCH_CLUSTER_DIR:-/tmp/vecsearch-bench-cluster}
# the anchors' server settings (shared/anchors/pgvector.md): data and index fit in shared_buffers
export VS_EXTRA_CONF="shared_buffers = 4GB
maintenance_work_mem = 4GB
work_mem = 64MB
max_parallel_maintenance_workers = 1
max_parallel_workers_per_gather = 2
jit = off
fsync = on
synchronous_commit = on"
[ $quick = 1 ] && VS_EXTRA_CONF=${VS_EXTRA_CONF/shared_buffers = 4GB/shared_buffers = 512MB}
# 10M rows: the table is 4.4 GB and an index up to 7 GB; give the buffers most of what the
# build's graph (about 7.1 GB, in an 8 GB shared segment) leaves of 24 GB
case " ${args[*]:-} " in
	*synthetic-10m*) VS_EXTRA_CONF=${VS_EXTRA_CONF/shared_buffers = 4GB/shared_buffers = 8GB} ;;
esac
# more server settings, one a line, after these (e.g. huge pages for the 10M build: README)
[ -z "${VS_BENCH_CONF:-}" ] || VS_EXTRA_CONF="$VS_EXTRA_CONF
$VS_BENCH_CONF"
trap 'bash scripts/cluster.sh stop >/dev/null 2>&1 || true' EXIT
bash scripts/cluster.sh start >/dev/null

dsn="host=127.0.0.1 port=$VS_PORT user=postgres dbname=postgres"
if [ $quick = 1 ]; then
	set -- --datasets sift-10k --queries 100 --clients "" "${args[@]}"
else
	set -- --datasets fashion-mnist,glove-100,sift-10k,synthetic-1m-128 "${args[@]}"
fi
/usr/bin/python3 test/bench/ann_bench.py --dsn "$dsn" --out "$out" "$@"
echo "results: $out"
