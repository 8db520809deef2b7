#!/bin/bash
# bench/paired_ab.sh -- two builds of tools/bench_core.cpp compared on a shared, noisy machine:
# both run at once, one per core (taskset), swapping cores every round, so that each pair of
# figures meets the same disturbance. Prints each round's best-pass seconds (A B) and the
# geometric mean of B / A. For one-thread runs (THREADS = 1 in the arguments).
#
# Usage: bash bench/paired_ab.sh A B ROUNDS N D K MODEL 1 REPS [PRECISION [VARIANT]]
#   e.g. bash bench/paired_ab.sh /tmp/old/bench_core /tmp/fastgmm-core-bench/bench_core 4 \
#          1000000 10 10 VVV 1 10
set -euo pipefail
A=$1; B=$2; R=$3; shift 3
ta=$(mktemp); tb=$(mktemp)
trap 'rm -f "$ta" "$tb"' EXIT
for i in $(seq "$R"); do
  if [ $((i % 2)) = 1 ]; then ca=0; cb=1; else ca=1; cb=0; fi
  taskset -c $ca "$A" "$@" > "$ta" & taskset -c $cb "$B" "$@" > "$tb"; wait
  echo "$(cut -d, -f8 "$ta") $(cut -d, -f8 "$tb")"
done | awk '{ print; s += log($2 / $1); n++ } END { printf "geomean B/A = %.4f\n", exp(s / n) }'
