#!/bin/bash
# tools/device_bench.sh -- one call's work on a lent GPU machine (no R there): build and check
# the CUDA plugin with gpu_check, and measure the CPU core against the machine's own dgemm
# rate and Armadillo. Logs go to $OUT (default /tmp/device-out).
#
#   bash tools/device_bench.sh PHASE...   phases, in order:
#     gpu        build tools/, gpu_check (all cases; CHECK_ARGS, CHECK_LIMIT s), --bench --cpu
#     check      gpu_check case by case (CASES, default all) with --wide-models rep
#     shapes     gpu_check --bench on other shapes and sizes (SHAPES, NS: rows), no CPU timing
#     sanitize   compute-sanitizer memcheck/racecheck on the shared-memory boundary cases
#     cpu        ROUNDS rounds (default 3): dgemm ceiling, bench_core anchors per kernel level on
#                2 cores, native vs dispatched on 1 core; then Armadillo and the ceilings
#
# Needs tools/eigen (tools/fetch_eigen.sh). The cpu phase also uses, when present:
#   .dev/bc/bench_core   bench_core built elsewhere as the package builds it (the portable binary)
#   .dev/arma.tar.xz     armalibs/{include,lib}: Armadillo's headers and libraries with their BLAS
# The device tool returns at most 8 files from $OUT: end the call with
#   cd $OUT && tar czf /tmp/all.tgz . && rm -rf ./* && mv /tmp/all.tgz .
set -u
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/device-out}
mkdir -p "$OUT"
J=$(nproc)
B=/tmp/devbuild
mkdir -p "$B"
say() { echo "== $*" | tee -a "$OUT/summary.txt"; }

env_info() {
  { date -u; uname -a; lscpu; echo; lscpu -e; echo; free -g; nvidia-smi 2>&1; nvcc --version 2>&1 | tail -2
    g++ --version 2>&1 | head -1; cmake --version 2>&1 | head -1; } > "$OUT/env.txt" 2>&1
  say "cpu: $(lscpu | sed -n 's/^Model name: *//p' | head -1); $(nproc) cpus;" \
      "avx512f: $(grep -qw avx512f /proc/cpuinfo && echo yes || echo no)"
  say "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | head -1)"
}

G=$B/gpu/gpu_check
build_gpu() {
  [ -x "$G" ] && return 0
  local t0=$(date +%s)
  cmake -S tools -B "$B/gpu" -DCMAKE_CUDA_ARCHITECTURES=90 -DFASTGMM_NATIVE=OFF > "$OUT/gpu_build.log" 2>&1 &&
    cmake --build "$B/gpu" -j "$J" >> "$OUT/gpu_build.log" 2>&1
  say "build: rc $? in $(( $(date +%s) - t0 )) s"
  [ -x "$G" ] || { tail -30 "$OUT/gpu_build.log"; exit 1; }
}

[ $# -gt 0 ] || set -- gpu
env_info
for phase in "$@"; do
case $phase in
gpu)
  build_gpu
  t0=$(date +%s)
  timeout "${CHECK_LIMIT:-300}" "$G" ${CHECK_ARGS:-} > "$OUT/gpu_check.log" 2>&1
  rc=$?
  say "gpu_check ${CHECK_ARGS:-}: rc $rc in $(( $(date +%s) - t0 )) s; $(tail -1 "$OUT/gpu_check.log")"
  grep -E 'DISAGREE|FAILED|DIFF|failed' "$OUT/gpu_check.log" | head -20
  t0=$(date +%s)
  timeout "${BENCH_LIMIT:-240}" "$G" --bench --cpu > "$OUT/gpu_bench.log" 2>&1
  say "gpu_check --bench --cpu: rc $? in $(( $(date +%s) - t0 )) s"
  cat "$OUT/gpu_bench.log"
  ;;
check)
  build_gpu
  n=$("$G" --list | grep -c '^ *[0-9]')
  for c in ${CASES:-$(seq 0 $((n - 1)))}; do
    t0=$(date +%s)
    timeout "${CHECK_LIMIT:-120}" "$G" --case "$c" --wide-models rep > "$OUT/check_$c.log" 2>&1
    say "gpu_check --case $c --wide-models rep: rc $? in $(( $(date +%s) - t0 )) s;" \
        "$(grep -c ' ok' "$OUT/check_$c.log") ok; $(tail -1 "$OUT/check_$c.log" | cut -c1-60)"
    grep -E 'DISAGREE|FAILED|DIFF|failed' "$OUT/check_$c.log" | head -5
  done
  ;;
shapes)
  build_gpu
  for n in ${NS:-1000000 50000}; do
    args=""
    for sh in ${SHAPES:-10,10,VVV 50,20,VVI 128,8,VVV 32,16,VVV 2,3,VVV}; do args="$args --shape $sh"; done
    t0=$(date +%s)
    timeout "${SHAPE_LIMIT:-120}" "$G" --bench --n "$n" $args > "$OUT/shapes_$n.log" 2>&1
    say "gpu_check --bench --n $n$args: rc $? in $(( $(date +%s) - t0 )) s"
    grep -E '^==|ms/iteration|FAILED' "$OUT/shapes_$n.log"
  done
  ;;
sanitize)
  build_gpu
  CS=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
  # d = 48 (double) and d = 96 (single, streamed): both sides of the shared-memory limits.
  for spec in "memcheck --case 6 --precision double" "memcheck --case 10 --precision single" \
              "memcheck --case 12 --model VVV" "racecheck --case 0 --model VVV --precision double"; do
    set -- $spec
    tool=$1; shift
    t0=$(date +%s)
    timeout "${SAN_LIMIT:-150}" "$CS" --tool "$tool" --error-exitcode 9 "$G" "$@" --iters 2 --wide-models rep \
      > "$OUT/san_${tool}_$2$4.log" 2>&1
    say "compute-sanitizer $tool $*: rc $? in $(( $(date +%s) - t0 )) s;" \
        "$(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY' "$OUT/san_${tool}_$2$4.log" | tail -1)"
  done
  ;;
cpu)
  ROUNDS=${ROUNDS:-3}
  # Two logical CPUs on different physical cores.
  cpus=$(lscpu -p=CPU,CORE | grep -v '^#' | sort -t, -k2,2n -k1,1n | awk -F, '!seen[$2]++ { print $1 }' | head -2 | paste -sd,)
  PIN="taskset -c $cpus"
  $PIN true 2>/dev/null || PIN=""
  say "2-thread runs pinned with: ${PIN:-nothing}"
  EI=tools/eigen
  g++ -O3 -march=native -fopenmp -std=c++17 -Wno-ignored-attributes -DCEILING_NO_ARMA -I"$EI" \
    -o "$B/ceiling" bench/ceiling.cpp &
  g++ -O3 -march=x86-64-v3 -fopenmp -std=c++17 -Wno-ignored-attributes -DCEILING_NO_ARMA -I"$EI" \
    -o "$B/ceiling-avx2" bench/ceiling.cpp &
  BUILD=$B/bcn EXTRA=-march=native JOBS=$J EIGEN=$EI sh bench/build_core_bench.sh > "$OUT/bcn_build.log" 2>&1 &
  if [ -f .dev/arma.tar.xz ]; then
    tar xJf .dev/arma.tar.xz -C "$B"
    A=$B/armalibs
    g++ -O3 -march=native -fopenmp -std=c++17 -I"$A/include" -o "$B/arma_bench" bench/arma_bench.cpp \
      -L"$A/lib" -larmadillo -Wl,-rpath,"$A/lib" -Wl,-rpath-link,"$A/lib" > "$OUT/arma_build.log" 2>&1 &
  fi
  python3 bench/gen_data.py "$B/data" --n 1000000 --cases full,diag > "$OUT/gen_data.log" 2>&1 &
  wait
  BC=.dev/bc/bench_core
  [ -x "$BC" ] || { BUILD=$B/bcd JOBS=$J EIGEN=$EI sh bench/build_core_bench.sh > "$OUT/bcd_build.log" 2>&1; BC=$B/bcd/bench_core; }
  BN=$B/bcn/bench_core
  levels="generic avx2"
  grep -qw avx512f /proc/cpuinfo && levels="avx2 avx512"
  say "levels: $levels; dispatched $BC; native $BN"
  full="1000000 10 10 VVV"
  diag="1000000 50 20 VVI"
  echo "round,case,level,build,threads,dgemm_gflops,sec_per_pass,pass_gflops,fraction" > "$OUT/cpu_fraction.csv"
  for r in $(seq "$ROUNDS"); do
    for lv in $levels; do
      ce=$B/ceiling
      [ "$lv" = avx2 ] && grep -qw avx512f /proc/cpuinfo && ce=$B/ceiling-avx2
      s=$($PIN "$ce" 2>&1 | sed -n 's/.*eigen n=3072 threads=2 best=\([0-9.]*\)s.*/\1/p')
      g=$(awk -v s="$s" 'BEGIN { printf "%.1f", 2 * 3072^3 / s / 1e9 }')
      for c in full diag; do
        if [ $c = full ]; then args="$full 2 5 double direct"; f=$(awk 'BEGIN { print 2*2*1e6*10*10*13/2 }')
        else args="$diag 2 5 double gemm"; f=$(awk 'BEGIN { print 2*2*1e6*20*2*50 }'); fi
        t=$(FASTGMM_LEVEL=$lv $PIN "$BC" $args | tail -1 | awk -F, '{ print $(NF-2) }')
        awk -v r="$r" -v c="$c" -v l="$lv" -v g="$g" -v t="$t" -v f="$f" \
          'BEGIN { p = f / t / 1e9; printf "%d,%s,%s,dispatched,2,%.1f,%s,%.1f,%.3f\n", r, c, l, g, t, p, p / g }' |
          tee -a "$OUT/cpu_fraction.csv"
      done
    done
    # dispatched against native, best level, one thread
    for c in full diag; do
      if [ $c = full ]; then args="$full 1 5 double direct"; else args="$diag 1 5 double gemm"; fi
      for b in dispatched native; do
        bin=$BC; [ $b = native ] && bin=$BN
        [ -x "$bin" ] || continue
        echo "$r,$c,$b,1thread,$(${PIN%%,*} "$bin" $args | tail -1)" | tee -a "$OUT/cpu_native.csv"
      done
    done
  done
  if [ -x "$B/arma_bench" ]; then
    for c in full_1e6x10_k10 diag_1e6x50_k20; do
      LD_LIBRARY_PATH=$B/armalibs/lib OMP_NUM_THREADS=2 $PIN "$B/arma_bench" "$B/data" "$c" 3 6 1 2>>"$OUT/arma.log" |
        tee -a "$OUT/arma.csv"
    done
  else
    say "no arma_bench: $(tail -3 "$OUT/arma_build.log" 2>/dev/null)"
  fi
  # the one-thread ceilings and bandwidth, for the record
  $PIN "$B/ceiling" > "$OUT/ceiling.csv" 2>> "$OUT/ceiling.log"
  cat "$OUT/ceiling.csv"
  ;;
*) echo "usage: $0 [gpu|check|sanitize|cpu]..." >&2; exit 3 ;;
esac
done
