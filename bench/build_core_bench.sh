#!/bin/sh
# Builds tools/bench_core.cpp (the C++ core without R) into ${BUILD:-/tmp/fastgmm-core-bench}.
set -e
cd "$(dirname "$0")/.."
EIGEN=${EIGEN:-$(Rscript -e 'cat(system.file("include", package = "RcppEigen"))')}
BUILD=${BUILD:-/tmp/fastgmm-core-bench}
mkdir -p "$BUILD"
for f in src/core/*.cpp src/core/*/*.cpp tools/bench_core.cpp; do
  g++ -w -O2 -march=native -std=c++17 -DNDEBUG -Isrc -Itools -I"$EIGEN" -c "$f" -o "$BUILD/$(basename "$f" .cpp).o"
done
g++ "$BUILD"/*.o -lpthread -o "$BUILD/bench_core"
echo "$BUILD/bench_core"
