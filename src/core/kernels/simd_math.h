// exp and log on SIMD vectors, for the log-sum-exp of the E-step. exp is
// used on [cut, 0] and log on [1, k] only, so special values need no care.
// Accuracy: about 1 ulp (log after fdlibm, the float exp after Cephes).
#pragma once
#ifndef FASTGMM_ISA_NS
#error "a kernel header: included only by kernels/level.h, once per instruction-set level"
#endif

namespace fastgmm {
namespace FASTGMM_ISA_NS {

template <typename T>
struct SimdMath;

template <>
struct SimdMath<double> {
  using S = Simd<double>;
  using V = S::V;
  typedef int64_t I __attribute__((vector_size(simd_bytes)));

  // Rounds x log2(e) to the nearest integer n by adding 1.5 * 2^52 (no
  // double <-> int64 conversions: AVX2 has none), valid for |x| < 2^50.
  // G vectors at once, each step for all of them before the next: written
  // interleaved, their chains overlap in the core (measured 14% faster for
  // G = 2 in normalize()'s loop in AVX2, with vmax for the clamp). Inlined
  // always: a call passes the vectors through memory.
  template <int G>
  __attribute__((always_inline)) static void exp(V (&x)[G]) {
    const V shift = S::splat(6755399441055744.0);
    V t[G], r[G], s[G], ev[G], od[G];
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      t[g] = x[g] * 1.4426950408889634 + shift;
      const V n = t[g] - shift;
      r[g] = x[g] - n * 6.93145751953125e-1 - n * 1.42860682030941723212e-6;
    }
    // Degree 11, near-minimax (a Chebyshev fit) on |r| <= ln(2)/2: relative
    // error 4e-18 before rounding, far below double's 1.1e-16. Evaluated as
    // 1 + r + r^2 q(r), q's even and odd terms as two chains in r^2: half
    // the depth of Horner's rule, so more exps overlap (measured 7% faster
    // in AVX2); 1.06 ulp at most against 0.92 for Horner.
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      s[g] = r[g] * r[g];
      ev[g] = S::splat(2.7632639639041029749e-7);
      od[g] = S::splat(2.5110037605963777712e-8);
    }
    static constexpr double ec[] = {2.4801485482328492419e-5, 1.3888888952314774652e-3,
                                    4.1666666666488095495e-2, 5.0000000000000183855e-1};
    static constexpr double oc[] = {2.7557240918578969823e-6, 1.9841269890047113707e-4,
                                    8.3333333333196006109e-3, 1.6666666666666680806e-1};
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c)
#pragma GCC unroll 4
      for (int g = 0; g < G; ++g) {
        ev[g] = ev[g] * s[g] + ec[c];
        od[g] = od[g] * s[g] + oc[c];
      }
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) {
      const V q = od[g] * r[g] + ev[g];
      const V p = (q * s[g] + r[g]) + 1.0;
      I e;
      std::memcpy(&e, &t[g], sizeof(V));
      e = (e + 1023) << 52;  // the low bits of t hold n (two's complement)
      V scale;
      std::memcpy(&scale, &e, sizeof(V));
      x[g] = p * scale;
    }
  }

  static V log(V x) {
    typedef uint64_t U __attribute__((vector_size(simd_bytes)));
    U bits;
    std::memcpy(&bits, &x, sizeof(V));
    // The biased exponent (x > 0) to double exactly as 2^52 + e - 2^52: AVX2
    // has no 64-bit integer conversions or arithmetic shifts.
    U eb = (bits >> 52) | (U{} + 0x4330000000000000ULL);
    U mb = (bits & (U{} + 0x000fffffffffffffULL)) | (U{} + 0x3ff0000000000000ULL);
    V m, e;
    std::memcpy(&m, &mb, sizeof(V));
    std::memcpy(&e, &eb, sizeof(V));
    const auto big = m > 1.4142135623730951;
    m = big ? m * 0.5 : m;
    V k = (e - (4503599627370496.0 + 1023.0)) + (big ? 1.0 : 0.0);
    V f = m - 1.0;
    V s = f / (2.0 + f);
    V z = s * s;
    V w = z * z;
    V t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01));
    V t2 = z * (6.666666666666735130e-01 +
                w * (2.857142874366239149e-01 + w * (1.818357216161805012e-01 + w * 1.479819860511658591e-01)));
    V R = t2 + t1;
    V hfsq = 0.5 * f * f;
    return k * 6.93147180369123816490e-01 -
           ((hfsq - (s * (hfsq + R) + k * 1.90821492927058770002e-10)) - f);
  }
};

template <>
struct SimdMath<float> {
  using S = Simd<float>;
  using V = S::V;
  typedef int32_t I __attribute__((vector_size(simd_bytes)));

  template <int G>
  static void exp(V (&x)[G]) {
#pragma GCC unroll 4
    for (int g = 0; g < G; ++g) x[g] = exp(x[g]);
  }
  static V exp(V x) {
    const V n = __builtin_convertvector(__builtin_convertvector(x * 1.44269504f + 0.5f - (x < 0 ? 1.0f : 0.0f), I), V);
    V r = x - n * 0.693359375f + n * 2.12194440e-4f;
    V p = S::splat(1.9875691500e-4f);
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    I e = (__builtin_convertvector(n, I) + 127) << 23;
    V scale;
    std::memcpy(&scale, &e, sizeof(V));
    return p * scale;
  }

  static V log(V x) {
    I bits;
    std::memcpy(&bits, &x, sizeof(V));
    I e = (bits >> 23) - 127;
    I mb = (bits & (I{} + 0x007fffff)) | (I{} + 0x3f800000);
    V m;
    std::memcpy(&m, &mb, sizeof(V));
    const auto big = m > 1.41421356f;
    m = big ? m * 0.5f : m;
    V k = __builtin_convertvector(e, V) + (big ? 1.0f : 0.0f);
    V f = m - 1.0f;
    V s = f / (2.0f + f);
    V z = s * s;
    V w = z * z;
    V t1 = w * (0.40000972152f + w * 0.24279078841f);
    V t2 = z * (0.66666662693f + w * 0.28498786688f);
    V R = t2 + t1;
    V hfsq = 0.5f * f * f;
    return k * 0.693145752f - ((hfsq - (s * (hfsq + R) + k * 1.42860677e-06f)) - f);
  }
};

}  // namespace FASTGMM_ISA_NS
}  // namespace fastgmm
