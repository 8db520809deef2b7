#!/bin/sh
# The whole selection benchmark (bench/select_vs_mclust.R), one R process per run, in an order
# that puts the long mclust runs last. About an hour or more on the 2-core development machine.
#   sh bench/select_vs_mclust.sh            (results: bench/results/select_vs_mclust.csv)
# Then: Rscript bench/select_vs_mclust_report.R > bench/results/select_vs_mclust.md
set -e
R=${RSCRIPT:-Rscript}
CACHE="${FASTGMM_BENCH_DIR:-/tmp/fastgmm-bench}/select/cache"
run() { echo "== $*"; $R bench/select_vs_mclust.R "$@"; }
# fastgmm: the first repetition of each case with an empty variant cache (cold: it times its
# kernel variants for each new problem shape), the others warm (see select_vs_mclust.R)
fastgmm_case() {   # N D REPS
  rm -rf "$CACHE"
  i=1
  while [ $i -le $3 ]; do run fastgmm $1 $2 full $i; i=$((i + 1)); done
  run fastgmm $1 $2 reduced 1
}
for d in 5 10; do
  fastgmm_case 1e4 $d 3
  fastgmm_case 1e5 $d 3
  fastgmm_case 1e6 $d 2
done
for d in 5 10; do
  run mclust 1e4 $d full 1
  run mclust 1e4 $d full 2
  run mclust 1e5 $d reduced 1
  run mclust 1e6 $d reduced 1
done
for d in 5 10; do run mclust 1e5 $d full 1; done
lscpu > "${BENCH_RESULTS:-bench/results}/select_vs_mclust_lscpu.txt"
cat /proc/loadavg >> "${BENCH_RESULTS:-bench/results}/select_vs_mclust_lscpu.txt"
