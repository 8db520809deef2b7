#!/bin/bash
# bench/anchor_fraction.sh -- fastgmm's fused pass against the machine's Eigen dgemm rate,
# measured in alternation: ROUNDS rounds of (dgemm ceiling, full anchor, diag anchor), 2 threads,
# so that each round's fraction compares figures taken a minute apart (on a shared machine the
# dgemm rate itself moved between 65 and 94 GFLOP/s within an hour). Needs the data and the
# ceiling binary of bench/run_anchors.sh, and fastgmm installed.
#
# Usage: bash bench/anchor_fraction.sh [ROUNDS]   (about 70 s per round on 2 cores)
#   LEVEL=avx2 forces fastgmm's kernel level (FASTGMM_CPU_LEVEL; default: the CPU's best), and
#   CEILING=<binary> names the dgemm ceiling (default $WORK/build/ceiling, -march=native; for
#   LEVEL=avx2, bench/ceiling.cpp built as run_anchors.sh builds it but with -march=x86-64-v3).
# Output: $BENCH_RESULTS/anchor_fraction[-LEVEL].csv (default bench/results):
#   round,case,level,dgemm_gflops,sec_per_iter,pass_gflops,fraction
# pass_gflops counts a pass as its two products: 2 x 2NK D(D+3)/2 flops (full), 2 x 2NK 2D (diag).
set -euo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${FASTGMM_BENCH_DIR:-/tmp/fastgmm-bench}
DATA=$WORK/data-n1000000
RES=${BENCH_RESULTS:-$HERE/results}
ROUNDS=${1:-5}
LEVEL=${LEVEL:-auto}
CEILING=${CEILING:-$WORK/build/ceiling}
OUT=$RES/anchor_fraction$([ "$LEVEL" = auto ] || echo "-$LEVEL").csv
echo "round,case,level,dgemm_gflops,sec_per_iter,pass_gflops,fraction" > "$OUT"
for r in $(seq "$ROUNDS"); do
  # eigen n=3072 threads=2 best=S s: 2 n^3 flops in S seconds
  s=$("$CEILING" 2>&1 | sed -n 's/.*eigen n=3072 threads=2 best=\([0-9.]*\)s.*/\1/p')
  g=$(awk -v s="$s" 'BEGIN { printf "%.1f", 2 * 3072^3 / s / 1e9 }')
  for c in full_1e6x10_k10 diag_1e6x50_k20; do
    t=$(FASTGMM_CPU_LEVEL=$LEVEL Rscript "$HERE/fastgmm_bench.R" "$DATA" "$c" 10 20 3 2 2>/dev/null | grep '^fastgmm-double' | cut -d, -f4)
    case $c in
      full*) flops=$(awk 'BEGIN { print 2 * 2 * 1e6 * 10 * 10 * 13 / 2 }') ;;
      diag*) flops=$(awk 'BEGIN { print 2 * 2 * 1e6 * 20 * 2 * 50 }') ;;
    esac
    awk -v r="$r" -v c="$c" -v l="$LEVEL" -v g="$g" -v t="$t" -v f="$flops" \
      'BEGIN { p = f / t / 1e9; printf "%d,%s,%s,%.1f,%s,%.1f,%.3f\n", r, c, l, g, t, p, p / g }' | tee -a "$OUT"
  done
done
