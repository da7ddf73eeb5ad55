#!/bin/bash
# Fashion-MNIST and GloVe-100, vecsearch-hnsw only, the graph (old: 5f53d8f, picks-only
# lists) and today's (new: ee6a93c) in turn: new, old, new, old. One client.
OUT=${OUT:-/tmp/s30/ab5}
mkdir -p $OUT
for i in 1 2; do
  for v in new old; do
    (cd /tmp/s30/$v && VS_SHARED=/work/shared VS_SKIP_DEPS=1 bash scripts/bench.sh --datasets fashion-mnist,glove-100 --methods '^vecsearch-hnsw$' --clients '' --repeats 5 --out $OUT/$v-$i > $OUT/$v-$i.log 2>&1)
    echo "$v-$i done $(date +%T)"
  done
done
