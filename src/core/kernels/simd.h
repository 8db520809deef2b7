// Portable SIMD vectors (GCC/Clang vector extensions) of the level's width,
// FASTGMM_SIMD_BYTES (set by kernels/level_*.cpp).
#pragma once
#ifndef FASTGMM_ISA_NS
#error "a kernel header: included only by kernels/level.h, once per instruction-set level"
#endif

namespace fastgmm {
namespace FASTGMM_ISA_NS {

constexpr int simd_bytes = FASTGMM_SIMD_BYTES;

template <typename T>
struct Simd {
  typedef T V __attribute__((vector_size(simd_bytes)));
  static constexpr int W = simd_bytes / sizeof(T);
  static V load(const T* p) {
    V v;
    std::memcpy(&v, p, sizeof(V));
    return v;
  }
  static void store(T* p, V v) { std::memcpy(p, &v, sizeof(V)); }
  static V splat(T a) { return a - V{}; }  // (0 + a would be a scalar add: -0 + 0 is +0)
};

// Keeps v in a register where it is used several times: GCC would rather fold
// its load into each use (a memory operand), which can make a loop wait on loads.
template <typename V>
inline void in_register(V& v) {
#if (defined(__x86_64__) || defined(__i386__)) && (defined(__GNUC__) || defined(__clang__))
  asm("" : "+x"(v));
#else
  (void)v;
#endif
}

// a > b ? a : b lane by lane, so b where either is NaN: one max instruction
// on x86 (the same rule), where GCC compiles the comparison to a compare and a blend.
template <typename V>
inline V vmax(V a, V b) {
#if defined(__x86_64__) || defined(__i386__)
  constexpr bool dbl = sizeof(a[0]) == 8;
  if constexpr (simd_bytes == 16 && dbl) return V(_mm_max_pd(a, b));
  if constexpr (simd_bytes == 16 && !dbl) return V(_mm_max_ps(a, b));
#if FASTGMM_SIMD_BYTES >= 32
  if constexpr (simd_bytes == 32 && dbl) return V(_mm256_max_pd(a, b));
  if constexpr (simd_bytes == 32 && !dbl) return V(_mm256_max_ps(a, b));
#endif
#if FASTGMM_SIMD_BYTES >= 64
  if constexpr (simd_bytes == 64 && dbl) return V(_mm512_max_pd(a, b));
  if constexpr (simd_bytes == 64 && !dbl) return V(_mm512_max_ps(a, b));
#endif
#endif
  return a > b ? a : b;
}

template <typename T>
inline T hsum(typename Simd<T>::V v) {
  T s = 0;
  for (int l = 0; l < Simd<T>::W; ++l) s += v[l];
  return s;
}

}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm
