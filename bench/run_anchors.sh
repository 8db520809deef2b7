#!/bin/bash
# bench/run_anchors.sh -- build the anchor benchmarks, generate the shared data, run
# Armadillo, scikit-learn and mclust on it, and measure the machine's ceilings.
#
# Usage: bash bench/run_anchors.sh            (from anywhere; about 6-7 minutes on 2 cores)
# Environment knobs (defaults in brackets):
#   FASTGMM_BENCH_DIR  scratch dir for data and binaries, never committed [/tmp/fastgmm-bench]
#   BENCH_N            rows per case [1000000]; a smaller N is a smoke test
#   BENCH_RESULTS      where results go [bench/results]
#   BENCH_MAXWAIT      seconds to wait for the machine to go quiet before each run [300]
#   BENCH_TRIES        attempts per run when other processes disturb it [3]
#   BENCH_CASES        subset of: full diag uni [all three]
#   BENCH_TOOLS        subset of: armadillo sklearn mclust fastgmm ceiling [all five]
#   BENCH_APPEND       if set, append to anchors.csv and run_anchors.log instead of starting
#                      them afresh (to re-run single cases)
# Outputs (in BENCH_RESULTS):
#   anchors.csv      tool,case,threads,sec_per_iter,loglik_final,e_lo,e_hi,t_lo,t_hi,iters_lo,iters_hi,
#                    cpu_per_iter (process CPU s/iteration), others_cpu (cores other
#                    processes used during the run)
#   ceiling.csv      metric,threads,value,unit
#   environment.txt  machine, compilers, library versions
#   run_anchors.log  per-repetition timings, CPU-busy checks, warnings
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
WORK=${FASTGMM_BENCH_DIR:-/tmp/fastgmm-bench}
N=${BENCH_N:-1000000}
RES=${BENCH_RESULTS:-$HERE/results}
MAXWAIT=${BENCH_MAXWAIT:-300}
CASES=${BENCH_CASES:-full diag uni}
TOOLS=${BENCH_TOOLS:-armadillo sklearn mclust fastgmm ceiling}
DATA=$WORK/data-n$N
BUILD=$WORK/build
PY=/usr/bin/python3          # Debian's python3 (has python3-sklearn), not pyenv's
CXX=${CXX:-g++}
EIGEN_INC=/usr/lib/R/site-library/RcppEigen/include
export OMP_NUM_THREADS=2

mkdir -p "$DATA" "$BUILD" "$RES"
LOG=$RES/run_anchors.log
[ -n "${BENCH_APPEND:-}" ] || : > "$LOG"
log() { echo "[$(date +%T)] $*" | tee -a "$LOG" >&2; }
has() { case " $1 " in *" $2 "*) return 0 ;; *) return 1 ;; esac; }

# Each run goes through quiet_run.py: it waits (<= BENCH_MAXWAIT s) for the shared machine to
# be quiet, measures the CPU other processes took during the run, and retries disturbed runs
# (up to BENCH_TRIES attempts), keeping the least disturbed; that load is the last CSV column.
# Armadillo and the ceilings use both cores: they want an idle machine (< 10% busy to start,
# <= 0.15 cores taken by others). sklearn and mclust run on one core here (reference BLAS,
# serial Fortran), so one busy core elsewhere is tolerated (< 45% busy, <= 0.6 cores).
QRUN=("$PY" "$HERE/quiet_run.py" --tries "${BENCH_TRIES:-3}" --wait "$MAXWAIT" --log "$LOG")
STRICT=(--quiet-below 0.10 --max-others 0.15)
SERIAL=(--quiet-below 0.45 --max-others 0.6)

# --- build -------------------------------------------------------------------------------
log "building in $BUILD"
$CXX -O3 -march=native -fopenmp -std=c++17 -o "$BUILD/arma_bench" "$HERE/arma_bench.cpp" \
  -larmadillo
$CXX -O3 -march=native -fopenmp -std=c++17 -Wno-ignored-attributes -I"$EIGEN_INC" \
  -o "$BUILD/ceiling" "$HERE/ceiling.cpp" -larmadillo

# --- data (regenerated only if missing; deterministic) ------------------------------------
declare -A CASE_NAME=([full]=full_1e6x10_k10 [diag]=diag_1e6x50_k20 [uni]=uni_1e6x1_k4)
need=""
for c in $CASES; do
  [ -s "$DATA/${CASE_NAME[$c]}.data.bin" ] || need="$need,$c"
done
if [ -n "$need" ]; then
  log "generating data (N=$N) into $DATA"
  $PY "$HERE/gen_data.py" "$DATA" --n "$N" --cases "${need#,}" 2>&1 | tee -a "$LOG" >&2
fi

# --- environment record --------------------------------------------------------------------
{
  echo "date: $(date -u +%FT%TZ)"
  echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) cores, $(lscpu | sed -n 's/^L3 cache: *//p') L3"
  echo "cpu flags (avx512): $(grep -o 'avx512[a-z_]*' /proc/cpuinfo | sort -u | tr '\n' ' ')"
  echo "memory: $(free -g | awk '/^Mem:/ {print $2}') GiB"
  echo "compiler: $($CXX --version | head -1)"
  echo "armadillo: $(sed -n 's/#define ARMA_VERSION_\(MAJOR\|MINOR\|PATCH\) *\([0-9]*\)/\2/p' /usr/include/armadillo_bits/arma_version.hpp | paste -sd.)"
  echo "system BLAS: $(readlink -f /usr/lib/x86_64-linux-gnu/libblas.so.3)"
  echo "python: $($PY -c 'import sys, numpy, sklearn; print(sys.version.split()[0], "numpy", numpy.__version__, "sklearn", sklearn.__version__)')"
  echo "R: $(Rscript -e 'cat(R.version.string, "mclust", as.character(packageVersion("mclust")))')"
  echo "OMP_NUM_THREADS=$OMP_NUM_THREADS, N=$N"
} > "$RES/environment.txt"
cat "$RES/environment.txt" >> "$LOG"

# --- anchors ---------------------------------------------------------------------------------
# Per tool and case: E_LO E_HI REPS. sec_per_iter = (t(E_HI) - t(E_LO)) / (E_HI - E_LO).
# mclust's two large cases use (t6 - t2)/4 to keep the run short (it is ~3-4 s/iteration).
declare -A ITER=(
  [armadillo:full]="10 20 2" [armadillo:diag]="10 20 2" [armadillo:uni]="10 20 3"
  [sklearn:full]="10 20 1"   [sklearn:diag]="10 20 1"   [sklearn:uni]="10 20 3"
  [mclust:full]="2 6 1"      [mclust:diag]="2 6 1"      [mclust:uni]="10 20 3"
)
CSV=$RES/anchors.csv
[ -n "${BENCH_APPEND:-}" ] && [ -s "$CSV" ] ||
  echo "tool,case,threads,sec_per_iter,loglik_final,e_lo,e_hi,t_lo,t_hi,iters_lo,iters_hi,cpu_per_iter,others_cpu" > "$CSV"

for c in $CASES; do
  name=${CASE_NAME[$c]}
  for tool in armadillo sklearn mclust; do
    has "$TOOLS" "$tool" || continue
    read -r elo ehi reps <<< "${ITER[$tool:$c]}"
    case $tool in
      armadillo) cmd=("$BUILD/arma_bench" "$DATA" "$name" "$elo" "$ehi" "$reps") ;;
      sklearn)   cmd=("$PY" "$HERE/sklearn_bench.py" "$DATA" "$name" "$elo" "$ehi" "$reps") ;;
      mclust)    cmd=(Rscript "$HERE/mclust_bench.R" "$DATA" "$name" "$elo" "$ehi" "$reps") ;;
    esac
    if [ "$tool" = armadillo ]; then q=("${STRICT[@]}"); else q=("${SERIAL[@]}"); fi
    if line=$("${QRUN[@]}" "${q[@]}" -- "${cmd[@]}"); then
      echo "$line" | tee -a "$CSV"
    else
      log "FAILED: ${cmd[*]}"
    fi
  done
done

# --- fastgmm (installed package), same data and starts, 1 and 2 threads, both precisions ---
if has "$TOOLS" fastgmm; then
  FCSV=$RES/fastgmm.csv
  echo "tool,case,threads,sec_per_iter,loglik_final,e_lo,e_hi,t_lo,t_hi,iters_lo,iters_hi,cpu_per_iter" > "$FCSV"
  for c in $CASES; do
    Rscript "$HERE/fastgmm_bench.R" "$DATA" "${CASE_NAME[$c]}" 10 20 3 | tee -a "$FCSV"
  done
fi

# --- ceilings --------------------------------------------------------------------------------
if has "$TOOLS" ceiling; then
  "${QRUN[@]}" "${STRICT[@]}" --raw -- "$BUILD/ceiling" | tee "$RES/ceiling.csv"
fi
log "done: $CSV"
