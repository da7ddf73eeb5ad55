#!/usr/bin/env bash
# Install everything vecsearch needs to build, test and run the demo on Debian 12 (bookworm).
# Idempotent: packages already installed are left alone. Run as root, or as a user with sudo.
#
#   bash scripts/install-deps.sh
set -euo pipefail

PACKAGES=(
	build-essential           # gcc, make
	postgresql-15             # server + client (also creates the `postgres` system user)
	postgresql-server-dev-15  # PGXS, server headers, pg_regress, TAP test modules
	libopenblas-dev           # BLAS for the batch distance kernels
	clang                     # fuzz harness compiler
	libclang-rt-14-dev        # libclang_rt.fuzzer-x86_64.a (libFuzzer runtime) for clang 14
	libpq-dev                 # libpq for the reloptions fuzz harness (test/fuzz/fuzz_reloptions.c)
	python3                   # the demo's loader (stdlib only)
	python3-numpy
	python3-psycopg2
	python3-faiss             # the benchmark's baselines (test/bench), and its ground truth
	python3-hnswlib
	python3-matplotlib        # the benchmark's recall/QPS plots
	dataset-fashion-mnist     # /usr/share/datasets/fashion-mnist/*.gz, used by the demo
	libipc-run-perl           # needed by PostgreSQL::Test::Cluster (TAP tests)
)
# pgvector's own Node.js client against the compat install (test/client) needs node and npm
# (to fetch npm `pgvector` and `pg`); a node that brings its own npm (NodeSource's) is kept,
# as Debian's npm package would conflict with it.
command -v node >/dev/null 2>&1 || PACKAGES+=(nodejs)
command -v npm >/dev/null 2>&1 || PACKAGES+=(npm)

if [ "$(id -u)" -eq 0 ]; then
	SUDO=()
elif command -v sudo >/dev/null 2>&1; then
	SUDO=(sudo)
else
	echo "install-deps: run as root or install sudo" >&2
	exit 1
fi

if ! [ -r /etc/debian_version ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "install-deps: this script supports Debian 12 only (no apt-get here)" >&2
	exit 1
fi

missing=()
for p in "${PACKAGES[@]}"; do
	# "install ok installed" only when the package is fully installed
	if [ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" != "install ok installed" ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -eq 0 ]; then
	echo "install-deps: all ${#PACKAGES[@]} packages already installed"
	exit 0
fi

echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -qq
"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
	-o Dpkg::Use-Pty=0 "${missing[@]}" >/dev/null
echo "install-deps: done"
