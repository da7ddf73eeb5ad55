#!/bin/bash
# 1M x 128 parallel builds (leader + 1 worker) and recall sweeps: new, old, new, old
# NEW, OLD: checkouts of 7cd33c2 and 1cff3c6; run in this order: new, old, new, old
for i in 1 2; do
  for v in new old; do
    d=${NEW:?}; [ $v = old ] && d=${OLD:?}
    (cd $d && VS_SKIP_DEPS=1 bash scripts/bench.sh --datasets synthetic-1m-128 --methods '^vecsearch-hnsw$' --clients '' --out ${OUT:-/tmp}/q1m-$v-$i > ${OUT:-/tmp}/q1m-$v-$i.log 2>&1)
  done
done
echo done
