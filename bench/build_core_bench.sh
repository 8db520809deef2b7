#!/bin/sh
# Builds tools/bench_core.cpp (the C++ core without R, with the same runtime
# dispatch and flags as the package; EXTRA: more flags) into ${BUILD:-/tmp/fastgmm-core-bench}, two compiles at a time.
set -e
cd "$(dirname "$0")/.."
EIGEN=${EIGEN:-$(Rscript -e 'cat(system.file("include", package = "RcppEigen"))')}
BUILD=${BUILD:-/tmp/fastgmm-core-bench}
mkdir -p "$BUILD"
export EIGEN BUILD
ls src/core/*.cpp src/core/*/*.cpp tools/bench_core.cpp |
  xargs -P "${JOBS:-2}" -I{} sh -c \
    'g++ -w -O2 -std=c++17 -DNDEBUG -DEIGEN_MAX_ALIGN_BYTES=64 $EXTRA -Isrc -Itools -I"$EIGEN" -c {} -o "$BUILD/$(basename {} .cpp).o"'
g++ "$BUILD"/*.o -lpthread -o "$BUILD/bench_core"
echo "$BUILD/bench_core"
