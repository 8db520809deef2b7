// Portable SIMD vectors (GCC/Clang vector extensions) sized for the widest
// instruction set the compiler targets.
#pragma once
#include <cstring>

namespace fastgmm {

#if defined(__AVX512F__)
constexpr int simd_bytes = 64;
#elif defined(__AVX__)
constexpr int simd_bytes = 32;
#else
constexpr int simd_bytes = 16;
#endif

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
  static V splat(T a) { return V{} + a; }
};

template <typename T>
inline T hsum(typename Simd<T>::V v) {
  T s = 0;
  for (int l = 0; l < Simd<T>::W; ++l) s += v[l];
  return s;
}

}  // namespace fastgmm
