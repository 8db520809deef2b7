// Run-time dispatch of the CPU kernels by instruction set (DESIGN.md section 4).
//
// The kernels (the fused E-step + statistics pass: simd.h, simd_math.h,
// tall_kernels.h, direct_kernel.h, block.h, estep.h, stats.h) are compiled
// once per level by kernels/level_<level>.cpp through kernels/level.h:
// "generic" (the compiler's baseline: SSE2 on x86-64, whatever the target
// has elsewhere), "avx2" (AVX2 + FMA, 256-bit vectors) and "avx512" (AVX-512
// F/DQ/BW/VL, 512-bit vectors), the last two on x86-64 only. The engine calls
// them through a table of function pointers (one indirect call per block of
// rows), chosen when the package loads from the CPU's features
// (__builtin_cpu_supports) and changeable with set_cpu_level().
//
// Why this cannot run an AVX instruction on a CPU without it: the package is
// compiled without -m flags, and level.h switches the code generation target
// (`#pragma GCC target`, or `#pragma clang attribute push` with Clang) only
// *after* it has included every outside header (the standard library, Eigen,
// the core's shared types), and only around the kernel headers, whose
// functions live in a namespace of their own per level (fastgmm::avx2, ...).
// A target pragma applies to the functions defined after it, so every inline
// or template function from outside is compiled for the baseline wherever it
// is instantiated (the copies the linker merges are all baseline code; it may
// still be inlined into a kernel and get the wider code there), and each
// kernel symbol exists once, in its level's namespace. tools/check_dispatch.sh
// checks the built library with objdump.
//
// With FASTGMM_NATIVE=yes (configure adds -march=native), or when the
// compiler's flags already enable AVX2, or off x86-64, or when configure
// found no support (FASTGMM_NO_DISPATCH), one level is built: the generic
// code at the compiler's own width, reported as "native" when the flags
// enable AVX2 or more, else "generic".
#pragma once
#include <string>
#include <vector>

#include "terms.h"

#if defined(__x86_64__) && (defined(__GNUC__) || defined(__clang__)) && !defined(_WIN32) && \
    !defined(__AVX2__) && !defined(FASTGMM_NO_DISPATCH)
#define FASTGMM_DISPATCH 1
#else
#define FASTGMM_DISPATCH 0
#endif

namespace fastgmm {

// The kernels of one level for compute type T.
template <typename T>
struct KernelFns {
  void (*load_block)(const TileView& v, const double* w, Index i0, Index b, Index bp,
                     const double* origin, Index d, Work<T>& wk, bool squares);
  void (*block_terms)(const Terms<T>& t, Variant v, Work<T>& wk);
  void (*log_density)(const Terms<T>& t, Variant v, Work<T>& wk, Scratch<T>& sc, Index j0,
                      Index j1);
  double (*normalize)(Work<T>& wk, double* rowll, double* rowent);
  void (*stats_features)(ScatterKind kind, Work<T>& wk);
  void (*accumulate_shared)(ScatterKind kind, const Mat<T>& R, const Work<T>& wk, Scratch<T>& sc,
                            Stats& st, Index j0, Index j1);
  void (*accumulate_anchored)(ScatterKind kind, const Mat<T>& A, const Mat<T>& R,
                              const Work<T>& wk, Scratch<T>& sc, Stats& st, Index j0, Index j1);
  // out[i] = sum_j (S[i + j m] - c[j cs])^2 for i < m (S: m x d, column-major).
  void (*sq_dist)(const double* S, Index m, Index d, const double* c, Index cs, double* out);
};

struct KernelTable {
  const char* level;
  KernelFns<double> d;
  KernelFns<float> f;
  template <typename T>
  const KernelFns<T>& fns() const;
};
template <>
inline const KernelFns<double>& KernelTable::fns<double>() const { return d; }
template <>
inline const KernelFns<float>& KernelTable::fns<float>() const { return f; }

// Each level's table (defined in its level_*.cpp, outside the target region).
namespace generic { const KernelTable& table(); }
#if FASTGMM_DISPATCH
namespace avx2 { const KernelTable& table(); }
namespace avx512 { const KernelTable& table(); }
#endif

struct CpuLevelInfo {
  std::string name;
  bool compiled;   // built into this library
  bool supported;  // this CPU (and OS) can run it
};
// Every level this build knows, from the baseline up.
std::vector<CpuLevelInfo> cpu_levels();
// The best level this build has and this CPU supports.
std::string best_cpu_level();
// Selects the level by name ("auto" or "": the best); throws std::invalid_argument
// with a message for a level that is unknown, not compiled, or not supported here.
void set_cpu_level(const std::string& name);
// The table in use (the best level until set_cpu_level() is called).
const KernelTable& cpu_kernels();

}  // namespace fastgmm
