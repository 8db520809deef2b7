// One instruction-set level of the CPU kernels: included by level_<level>.cpp
// after it defines FASTGMM_LEVEL_GENERIC, _AVX2 or _AVX512. See dispatch.h
// for why the order below (every outside header first, then the target
// region, then the table outside it) keeps AVX code off baseline paths.
#pragma once
#include <Eigen/Dense>
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>  // (simd.h: vmax)
#endif

#include "../model.h"
#include "../source/source.h"
#include "dispatch.h"
#include "terms.h"

#if defined(FASTGMM_LEVEL_GENERIC)
#define FASTGMM_LEVEL_ON 1
#define FASTGMM_ISA_NS generic
#if FASTGMM_DISPATCH
#define FASTGMM_LEVEL_NAME "generic"
#define FASTGMM_SIMD_BYTES 16
#elif defined(__AVX512F__)
#define FASTGMM_LEVEL_NAME "native"
#define FASTGMM_SIMD_BYTES 64
#elif defined(__AVX__)
#define FASTGMM_LEVEL_NAME "native"
#define FASTGMM_SIMD_BYTES 32
#else
#define FASTGMM_LEVEL_NAME "generic"
#define FASTGMM_SIMD_BYTES 16
#endif
#elif defined(FASTGMM_LEVEL_AVX2) && FASTGMM_DISPATCH
#define FASTGMM_LEVEL_ON 1
#define FASTGMM_ISA_NS avx2
#define FASTGMM_LEVEL_NAME "avx2"
#define FASTGMM_SIMD_BYTES 32
#elif defined(FASTGMM_LEVEL_AVX512) && FASTGMM_DISPATCH
#define FASTGMM_LEVEL_ON 1
#define FASTGMM_ISA_NS avx512
#define FASTGMM_LEVEL_NAME "avx512"
#define FASTGMM_SIMD_BYTES 64
#else
#define FASTGMM_LEVEL_ON 0  // a level this build does not have: an empty unit
#endif

#if FASTGMM_LEVEL_ON

// (The pragmas spell out their targets: GCC does not expand macros in them.)
#if defined(FASTGMM_LEVEL_AVX2) && defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(FASTGMM_LEVEL_AVX2)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#elif defined(FASTGMM_LEVEL_AVX512) && defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma,avx512f,avx512dq,avx512bw,avx512vl"))), apply_to = function)
#elif defined(FASTGMM_LEVEL_AVX512)
#pragma GCC push_options
#pragma GCC target("avx2,fma,avx512f,avx512dq,avx512bw,avx512vl")
#endif

#include "simd.h"
#include "simd_math.h"
#include "tall_kernels.h"
#include "direct_kernel.h"
#include "block.h"
#include "estep.h"
#include "stats.h"

namespace fastgmm {
namespace FASTGMM_ISA_NS {
template <typename T>
void log_density_range(const Terms<T>& t, Variant v, Work<T>& wk, Scratch<T>& sc, Index j0,
                       Index j1) {
  log_density(t, v, wk, sc, j0, j1);
}
}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm

#if (defined(FASTGMM_LEVEL_AVX2) || defined(FASTGMM_LEVEL_AVX512)) && defined(__clang__)
#pragma clang attribute pop
#elif defined(FASTGMM_LEVEL_AVX2) || defined(FASTGMM_LEVEL_AVX512)
#pragma GCC pop_options
#endif

// Baseline code from here: taking the kernels' addresses runs none of them.
namespace fastgmm {
namespace FASTGMM_ISA_NS {
namespace {
template <typename T>
constexpr KernelFns<T> fns() {
  return KernelFns<T>{&load_block<T>,     &block_terms<T>,       &log_density_range<T>,
                      &normalize<T>,      &stats_features<T>,    &accumulate_shared<T>,
                      &accumulate_anchored<T>, &sq_dist};
}
const KernelTable the_table{FASTGMM_LEVEL_NAME, fns<double>(), fns<float>()};
}  // namespace
const KernelTable& table() { return the_table; }
}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm

#endif  // FASTGMM_LEVEL_ON
