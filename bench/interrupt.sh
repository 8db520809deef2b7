#!/bin/bash
# bench/interrupt.sh -- how long a fit takes to stop after Ctrl-C (SIGINT), in
# each phase: EM passes over an in-memory matrix, a file and a chunk function,
# the k-means++ initialisation, and the kernel-variant timing. Prints one line
# per case: seconds from the signal to the process's exit.
#   bash bench/interrupt.sh        (needs fastgmm installed; ~1 minute)
set -u
DIR=${FASTGMM_BENCH_DIR:-/tmp/fastgmm-bench}/interrupt
mkdir -p "$DIR"
Rscript -e 'library(fastgmm); set.seed(1); x <- matrix(rnorm(4e6 * 10), ncol = 10)
  saveRDS(x, file.path(commandArgs(TRUE)[1], "x.rds")); gmm_write(x, file.path(commandArgs(TRUE)[1], "x.bin"))' "$DIR"
run() {  # name, R code after loading x (memory) / src (file) / ch (chunks)
  Rscript -e "library(fastgmm); options(fastgmm.cache = FALSE); x <- readRDS('$DIR/x.rds');
    src <- gmm_file('$DIR/x.bin', 10); ch <- gmm_chunks(function(i) if (i > 40) NULL else
    x[(1e5 * (i - 1) + 1):(1e5 * i), ], 10); invisible(ch\$nrow); cat('ready\n'); $2" > "$DIR/$1.log" 2>&1 &
  pid=$!
  until grep -q ready "$DIR/$1.log" 2>/dev/null; do sleep 0.2; done
  sleep "${3:-2}"
  t0=$(date +%s.%N)
  kill -INT $pid
  wait $pid
  t1=$(date +%s.%N)
  echo "$1,$(echo "$t1 - $t0" | bc)"
}
echo "case,seconds_to_stop"
run em_memory "gmm(x, 20, init = 'random_from_data', max_iter = 1000, tol = 0, threads = 2)" 4
run em_file "gmm(src, 20, init = 'random_from_data', max_iter = 1000, tol = 0, threads = 2)" 4
run em_chunks "gmm(ch, 20, init = 'random_from_data', max_iter = 1000, tol = 0, threads = 2)" 4
run init_kmeans "gmm(x, 200, max_iter = 1, threads = 2)" 2
run variant_timing "gmm_time_variants(x, 200, reps = 1000)" 2
