#!/bin/sh
# The portable (dispatched) build against a FASTGMM_NATIVE=yes build, on the
# anchors' data (bench/README.md, "CPU instruction-set levels"). Builds are
# interleaved round by round, since the shared machine's load drifts.
#   LIB_DISPATCH=/tmp/rlib-dispatch LIB_NATIVE=/tmp/rlib-dispatch-native \
#     sh bench/dispatch_bench.sh [ROUNDS] > bench/results/dispatch.csv
# Each line: build,level, then fastgmm_bench.R's columns.
ROUNDS=${1:-2}
D=${FASTGMM_BENCH_DIR:-/tmp/fastgmm-bench}/data-n1000000
HERE=$(dirname "$0")
echo "build,level,tool,case,threads,sec_per_iter,loglik_final,e_lo,e_hi,t_lo,t_hi,iters_lo,iters_hi,cpu_per_iter"
r=0
while [ $r -lt "$ROUNDS" ]; do
  for case in full_1e6x10_k10 diag_1e6x50_k20; do
    for b in native:native dispatch:auto dispatch:avx2; do
      build=${b%%:*}; level=${b#*:}
      if [ "$build" = native ]; then lib=$LIB_NATIVE; else lib=$LIB_DISPATCH; fi
      FASTGMM_CPU_LEVEL=$level R_LIBS=$lib Rscript "$HERE/fastgmm_bench.R" "$D" "$case" 10 20 2 1,2 \
        2>>"${BENCH_ERR:-/dev/null}" | sed "s/^/$build,$level,/"
    done
  done
  r=$((r + 1))
done
