#!/bin/sh
# Builds tools/gpu_check against a CPU emulation of the CUDA runtime and cuBLAS
# (tools/emu), with AddressSanitizer and UBSan, and runs its agreement check on
# smaller data. It exercises the CUDA backend's host code and kernels (index
# arithmetic, barriers, launch limits, copies, GEMM arguments, task lists)
# on a machine without a GPU; it says nothing about speed or about how a real
# GPU schedules threads. Needs python3 and a C++17 compiler.
#   tools/emu_check.sh [gpu_check options]    (default: --n-scale 0.1 --iters 4)
set -e
here=$(cd "$(dirname "$0")" && pwd)
root=$(dirname "$here")
build=${EMU_BUILD:-$here/build-emu}
CXX=${CXX:-g++}
eigen=${EIGEN_DIR:-}
for dir in "$here/eigen" /usr/lib/R/site-library/RcppEigen/include /usr/local/lib/R/site-library/RcppEigen/include /usr/include/eigen3; do
  [ -n "$eigen" ] && break
  [ -f "$dir/Eigen/Dense" ] && eigen=$dir
done
[ -f "$eigen/Eigen/Dense" ] || { echo "emu_check.sh: Eigen not found; set EIGEN_DIR" >&2; exit 1; }
mkdir -p "$build/gen" "$build/obj"
python3 "$here/emu/translate.py" "$root/src/cuda" "$build/gen"
flags="-std=c++17 -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -Wall -Wno-ignored-attributes"
inc="-I$build/gen -I$here/emu -I$root/src -I$root/src/cuda -isystem $eigen"
objs=""
for src in "$build/gen/cuda_engine_emu.cpp" "$here/emu/emu.cpp" "$here/gpu_check.cpp" "$root"/src/core/*.cpp; do
  obj="$build/obj/$(basename "$src" .cpp).o"
  echo "emu_check.sh: compiling $(basename "$src")"
  $CXX $flags $inc -c "$src" -o "$obj"
  objs="$objs $obj"
done
$CXX $flags $objs -pthread -o "$build/gpu_check_emu"
[ $# -gt 0 ] || set -- --n-scale 0.1 --iters 4
echo "emu_check.sh: running gpu_check $* under the CPU emulation"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$build/gpu_check_emu" "$@"
