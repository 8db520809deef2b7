#!/bin/sh
# Which CPU kernel variant wins, over d and k, for each covariance model:
# seconds of CPU per E-step pass (one thread) on N = 1e5 rows.
#   sh bench/variant_grid.sh > bench/results/variant_grid.csv
set -e
B=$(sh "$(dirname "$0")/build_core_bench.sh")
echo "model,n,d,k,threads,variant,precision,wall_s,cpu_s,loglik"
for model in full diag spherical tied; do
  for d in 1 2 5 10 20 50 100; do
    for k in 2 10 50; do
      "$B" 100000 $d $k $model 1 3
    done
  done
done
