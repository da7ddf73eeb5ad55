#!/bin/bash
cd "$(dirname "${BASH_SOURCE[0]}")/../../../../.."
mkdir -p /tmp/ord
run() {
  mode=$1; round=$2
  if [ $mode = relaxed ]; then export PGOPTIONS="-c vecsearch.ivf_scan_order=relaxed -c vecsearch.hnsw_scan_order=relaxed"; else unset PGOPTIONS; fi
  VS_SKIP_DEPS=1 bash scripts/bench.sh --datasets fashion-mnist,glove-100 \
    --methods 'vecsearch-(ivf|hnsw|ivfpq)$' --clients "" --out /tmp/ord/bench-$mode-$round > /tmp/ord/bench-$mode-$round.log 2>&1
}
run strict 1; run relaxed 1; run relaxed 2; run strict 2
echo done > /tmp/ord/bench.done
