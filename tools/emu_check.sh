#!/bin/sh
# Builds the CUDA plugin (src/cuda) against a CPU emulation of the CUDA
# runtime and cuBLAS (tools/emu) as a shared library, and tools/gpu_check
# (which loads it with dlopen, as the R package does), both with
# AddressSanitizer and UBSan, then runs the emulator's own self-test and
# gpu_check's agreement check on smaller data. It exercises the CUDA
# backend's host code and kernels (index arithmetic, barriers, launch and
# shared-memory limits, copies, GEMM arguments, the plugin interface) on a
# machine without a GPU; it says nothing about speed or about how a real GPU
# schedules threads. Needs python3 and a C++17 compiler.
#   tools/emu_check.sh [gpu_check options]
#     (default: three short runs with a small 2-D copy pitch and a small device
#     memory, then all cases with --n-scale 0.1 --iters 3 --wide-models rep)
# EMU_BUILD=dir (default tools/build-emu), EMU_SANITIZE=no (no sanitizers:
# the plugin can then be loaded into R, see tools/README-gpu.md).
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
mkdir -p "$build/gen" "$build/gen-selftest" "$build/obj"
python3 "$here/emu/translate.py" "$root/src/cuda" "$build/gen"
python3 "$here/emu/translate.py" "$here/emu/selftest" "$build/gen-selftest"
if [ "${EMU_SANITIZE:-yes}" = no ]; then
  flags="-std=c++17 -O2 -g -fPIC -Wall -Wno-ignored-attributes -Wno-unknown-pragmas"
else
  flags="-std=c++17 -O2 -g -fPIC -fno-omit-frame-pointer -fsanitize=address,undefined -Wall -Wno-ignored-attributes -Wno-unknown-pragmas"
fi
compile() {  # source object [include flags]
  echo "emu_check.sh: compiling $(basename "$1")"
  $CXX $flags $3 -c "$1" -o "$2"
}
emuinc="-I$build/gen -I$here/emu -I$root/src/cuda"
compile "$here/emu/emu.cpp" "$build/obj/emu.o" "$emuinc"
compile "$build/gen/plugin_emu.cpp" "$build/obj/plugin_emu.o" "$emuinc"
$CXX $flags -shared "$build/obj/plugin_emu.o" "$build/obj/emu.o" -pthread -o "$build/fastgmm_cuda_emu.so"
compile "$build/gen-selftest/smem_selftest_emu.cpp" "$build/obj/smem_selftest.o" "-I$here/emu"
$CXX $flags "$build/obj/smem_selftest.o" "$build/obj/emu.o" -pthread -o "$build/smem_selftest"
objs=""
for src in "$here/gpu_check.cpp" "$root"/src/core/*.cpp "$root"/src/core/*/*.cpp; do
  obj="$build/obj/core_$(basename "$(dirname "$src")")_$(basename "$src" .cpp).o"
  compile "$src" "$obj" "-I$root/src -isystem $eigen -DEIGEN_MAX_ALIGN_BYTES=64"
  objs="$objs $obj"
done
$CXX $flags $objs -pthread -ldl -o "$build/gpu_check_emu"
echo "emu_check.sh: the emulator's shared-memory limit"
ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$build/smem_selftest"
run() { ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1} "$build/gpu_check_emu" --plugin "$build/fastgmm_cuda_emu.so" "$@"; }
if [ $# -eq 0 ]; then
  echo "emu_check.sh: copies beyond the largest 2-D pitch, device memory too small for the data"
  EMU_MAX_PITCH=4096 run --n-scale 0.1 --iters 2 --case 1 --model VVV
  EMU_MAX_PITCH=4096 run --n-scale 0.1 --iters 2 --case 2 --model EEI
  # 32 MiB of cuBLAS workspace + 700 kB: the 960 kB of data do not fit, 3000-row blocks do
  EMU_MEM_LIMIT=34254432 run --iters 2 --case 1 --model VVV --variant cell
  set -- --n-scale 0.1 --iters 3 --wide-models rep
fi
echo "emu_check.sh: running gpu_check $* under the CPU emulation"
run "$@"
